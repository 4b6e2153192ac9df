//! HTTP/1.1 exchanges of octopus's own, for every request, direct or through a proxy, on a
//! connection found or made (`client/dispatch.rs`, `route/dial.rs`): the request written
//! in one buffer and the response head parsed (`head.rs`), the body framed by
//! `body_reader.rs`, on octopus's connections (`connect/socket.rs`, with TLS from
//! `connect/tls.rs` for `https`) kept in its pools (`connect/pool.rs`).
//!
//! Why: on raw throughput ureq's exchange was most of octopus's own CPU per URL; ureq alone
//! on threads reached about 0.8 of wget2's rate on W3, this path about 1.5 (BENCHMARKS.md,
//! "An exchange of our own").
//!
//! Invariants: the request head that goes out is the one archived (`head.rs`); errors are
//! `http/error.rs`'s, so that `classify.rs` and the retry of a stale connection see one
//! kind of error; every wait ends by `deadline`; a connection goes back to the pool only
//! after a body read to its end that leaves nothing unread.

use std::os::fd::RawFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use http::{self, HeaderName, HeaderValue, Method, Version, header};
use url::Url;

use crate::timings::Timings;

use crate::http::connect::pool::{Key, Parked};
use crate::http::connect::socket::{Socket, io_error};
use crate::http::error::{Error, Step, Timeout};
use crate::http::h1::body_reader::{Back, BodyReader, Framing};
use crate::http::h1::head::{Outgoing, asks_to_close, read_head, request_bytes, says_close};
use crate::http::route::dial::Route;
use crate::http::route::made::Made;

/// A response head read (its body left to its reader), and where the request's time went.
pub(crate) struct Answered {
    pub response: http::Response<BodyReader>,
    pub timings: Timings,
}

/// A request sent, its response not read yet. It holds no thread: it may wait for its
/// answer in `run/waiting.rs` while the worker that sent it goes on.
#[derive(Debug)]
pub(crate) struct Sending {
    socket: Socket,
    key: Key,
    parked: Arc<Parked<Socket>>,
    /// A HEAD request: the response has no body, whatever its head says.
    head: bool,
    /// The request said `Connection: close`: the connection is not kept.
    closes: bool,
    /// For a new connection, how long its lookup (none for an address host) and its TCP
    /// connection took.
    made: Option<Made>,
}

/// Send `request` on `socket` (kept under `key`; `made`: how long making it took, for a
/// new one) by `deadline`.
pub(crate) fn send<'a, H>(
    route: &Route<'_>,
    key: Key,
    (mut socket, made): (Socket, Option<Made>),
    request: Outgoing<'a, H>,
    deadline: Instant,
) -> Result<Sending, Error>
where
    H: Iterator<Item = (&'a HeaderName, &'a HeaderValue)> + Clone,
{
    let bytes = request_bytes(&request, route.via.as_ref())?;
    // A request that says `Connection: close` leaves its connection unkept, whatever the
    // server answers.
    let closes = (request.headers.clone())
        .any(|(name, value)| name == header::CONNECTION && says_close(value));
    socket
        .send(&bytes, Some(deadline))
        .map_err(|e| io_error(e, socket.timeout_reason(Timeout::Global(Step::Send))))?;
    route.counts.sent.fetch_add(1, Ordering::Relaxed);
    Ok(Sending {
        socket,
        key,
        parked: Arc::clone(route.parked),
        head: *request.method == Method::HEAD,
        closes,
        made,
    })
}

/// What connections to `url` are kept under: TLS or not, the authority, and through a
/// proxy the proxy's (or the tunnel's), apart from direct ones.
pub(crate) fn key(route: &Route<'_>, url: &Url) -> Key {
    let target = authority(url);
    match &route.via {
        Some(via) => Key::new(route.tls.is_some(), &via.key(&target)),
        None => Key::new(route.tls.is_some(), &target),
    }
}

impl Sending {
    /// The connection's descriptor, to wait on for the response; whether it was waited on
    /// before (see `Socket::watched`). Its buffers are let go for the wait, and the first
    /// read after it does not wait first.
    pub fn watch(&mut self) -> (RawFd, bool) {
        self.socket.release_buffers();
        self.socket.woken = true;
        let before = std::mem::replace(&mut self.socket.watched, true);
        (self.socket.fd(), before)
    }

    /// Whether the answer can be read without waiting (see `Socket::ready`): a TLS
    /// connection may have been woken by its handshake or a session ticket only.
    pub fn ready(&mut self, deadline: Instant) -> bool {
        self.socket.ready(Some(deadline))
    }

    /// When the request went out (`None` while a new TLS connection's handshake is not
    /// done).
    pub fn went_out(&self) -> Option<Instant> {
        self.socket.went_out()
    }

    /// When the wait for the answer must end: `deadline`, or earlier while the TLS
    /// handshake is not done (the connect timeout bounds it).
    pub fn deadline(&self, deadline: Instant) -> Instant {
        self.socket.deadline(Some(deadline)).unwrap_or(deadline)
    }

    /// Read the final response head (by `deadline`); the body is left to the returned
    /// response's reader.
    pub fn response(self, deadline: Instant) -> Result<Answered, Error> {
        let Sending {
            mut socket,
            key,
            parked,
            head,
            closes,
            made,
        } = self;
        let deadline = Some(deadline);
        let (version, status, headers) = read_head(&mut socket, deadline)?;
        let mut timings = Made::timings(made, &socket);
        timings.ttfb = socket.time_to_first_byte();
        let bodiless = head || matches!(status.as_u16(), 204 | 304);
        let framing = Framing::of(&headers, bodiless)?;
        let reusable =
            version == Version::HTTP_11 && !closes && !asks_to_close(&headers) && framing.ends();
        let back = Back::new(parked, key);
        let body = BodyReader::new(socket, framing, deadline, reusable.then_some(back));
        let mut response = http::Response::new(body);
        *response.version_mut() = version;
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        Ok(Answered { response, timings })
    }
}

/// `host:port`, the port always given: what connections are kept under.
fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(80);
    format!("{host}:{port}")
}
