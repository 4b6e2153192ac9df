//! The HTTP/2 exchange, beside `h1/` over the same connections and the same request and
//! response types: a connection shared by many streams (`conn.rs`, and how they are woken:
//! `wake.rs`) on the socket the `h2` crate reads and writes without waiting (`io.rs`), a
//! stream's request sent and its answer and body read (`stream.rs`), and the connections of each origin that have room
//! for another stream, or are being made (`pool.rs`).
//!
//! Why the `h2` crate: the implementation hyper, reqwest and tonic speak HTTP/2 with,
//! tested against h2spec; it needs only tokio's I/O traits, not its runtime, and is polled
//! here from the engine's waiting set (ARCHITECTURE.md).
//!
//! Invariants: a request the server did not take (refused, or above a GOAWAY's last
//! stream) is `Error::Refused`, to be sent again; a stream's other failures are its own,
//! and a connection's failures are every stream's on it.

pub(crate) mod coalesce;
pub(crate) mod conn;
pub(crate) mod io;
pub(crate) mod pool;
pub(crate) mod stream;
pub(crate) mod wake;

use std::io::ErrorKind;

use h2::Reason;

use crate::http::error::{Error, closed_under};

/// `e` as the exchange's error: what the server did not take (refused, or above the last
/// stream a GOAWAY kept) is `Refused`; an I/O error is one; the rest is said in words.
pub(crate) fn error(e: &h2::Error) -> Error {
    let refused = e.is_remote() && (e.is_go_away() || e.reason() == Some(Reason::REFUSED_STREAM));
    if refused {
        return Error::Refused(format!(
            "the server did not take the request ({})",
            reason(e)
        ));
    }
    if let Some(io) = e.get_io() {
        // A connection lost under its streams is their failure, retried by the usual rules
        // (RFC 9113: they may have been processed). Not a kept HTTP/1.1 connection found
        // closed before the request was read, which `classify.rs` calls stale and which is
        // sent again on this thread: its kind of error is not passed on.
        let kind = match closed_under(io) {
            true => ErrorKind::Other,
            false => io.kind(),
        };
        return Error::Io(std::io::Error::new(
            kind,
            format!("the HTTP/2 connection was lost: {io}"),
        ));
    }
    match (e.is_reset(), e.is_go_away(), e.is_remote()) {
        (true, _, true) => Error::protocol(format!("the server reset the stream ({})", reason(e))),
        (_, true, true) => Error::protocol(format!(
            "the server ended the connection (GOAWAY, {})",
            reason(e)
        )),
        _ => Error::protocol(format!("HTTP/2: {e}")),
    }
}

/// The error code of `e`, as the spec names it.
fn reason(e: &h2::Error) -> String {
    match e.reason() {
        Some(reason) => reason_name(reason),
        None => "no error code".to_string(),
    }
}

/// An HTTP/2 error code's name (RFC 9113, 7), or its number.
fn reason_name(reason: Reason) -> String {
    let name = match reason {
        Reason::NO_ERROR => "NO_ERROR",
        Reason::PROTOCOL_ERROR => "PROTOCOL_ERROR",
        Reason::INTERNAL_ERROR => "INTERNAL_ERROR",
        Reason::FLOW_CONTROL_ERROR => "FLOW_CONTROL_ERROR",
        Reason::SETTINGS_TIMEOUT => "SETTINGS_TIMEOUT",
        Reason::STREAM_CLOSED => "STREAM_CLOSED",
        Reason::FRAME_SIZE_ERROR => "FRAME_SIZE_ERROR",
        Reason::REFUSED_STREAM => "REFUSED_STREAM",
        Reason::CANCEL => "CANCEL",
        Reason::COMPRESSION_ERROR => "COMPRESSION_ERROR",
        Reason::CONNECT_ERROR => "CONNECT_ERROR",
        Reason::ENHANCE_YOUR_CALM => "ENHANCE_YOUR_CALM",
        Reason::INADEQUATE_SECURITY => "INADEQUATE_SECURITY",
        Reason::HTTP_1_1_REQUIRED => "HTTP_1_1_REQUIRED",
        other => return format!("error code {}", u32::from(other)),
    };
    name.to_string()
}
