//! The errors of octopus's HTTP client, before `classify.rs` makes each a `Failure`: a
//! wait that ran out (and whose timeout it was), an I/O error (the resolver's `DnsError`,
//! rustls's errors and the proxies' `ProxyError` travel inside it), a URL that cannot be
//! sent, a response head or body over its limit, and an answer that is not HTTP as it must
//! be, said in words.
//!
//! Invariants: an `Error` put inside an `io::Error` (a body reader's) comes back out whole
//! (`Error::from`).

use std::fmt;
use std::io;

/// The largest response head read (status line and headers), with any number of lines.
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// Whose timeout ran out, and during which step of the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timeout {
    /// The request's (`timeout`).
    Global(Step),
    /// The connection's (`connect_timeout`: the TCP connect, the proxy's handshake, the TLS
    /// handshake, once begun).
    Connect(Step),
}

/// The step of an exchange a timeout ran out in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Looking up the name (the host's, or the proxy's).
    Lookup,
    /// The TCP connect.
    Connect,
    /// The proxy's handshake (TLS to the proxy, CONNECT, SOCKS).
    Proxy,
    /// The TLS handshake with the origin (or, for HTTP/2, the connection's preface).
    Tls,
    /// Waiting for a connection another request is making (HTTP/2: its protocol decides).
    Connection,
    /// Before the request went out, or while it did.
    Send,
    /// Waiting for the response head.
    Head,
    /// Reading the body.
    Body,
}

impl Step {
    /// The step, as a message says it.
    fn said(self) -> &'static str {
        match self {
            Step::Lookup => "during the name lookup",
            Step::Connect => "during the TCP connect",
            Step::Proxy => "during the proxy's handshake",
            Step::Tls => "during the TLS handshake",
            Step::Connection => "waiting for a connection being made",
            Step::Send => "sending the request",
            Step::Head => "waiting for the response head",
            Step::Body => "reading the body",
        }
    }
}

impl Timeout {
    /// The request's timeout, run out in `step`.
    pub fn request(step: Step) -> Error {
        Error::Timeout(Timeout::Global(step))
    }
}

/// What went wrong with an exchange.
#[derive(Debug)]
pub(crate) enum Error {
    Timeout(Timeout),
    Io(io::Error),
    /// The URL cannot be sent (why).
    BadUri(String),
    /// The response head is larger than the most read.
    HeadTooLarge,
    /// The answer is not HTTP as it must be.
    Protocol(String),
    /// The server did not take the request (HTTP/2: refused, or above the last stream a
    /// GOAWAY kept): it may be sent again, whatever its method (why).
    Refused(String),
}

impl Error {
    /// A protocol error, said in words.
    pub fn protocol(what: impl Into<String>) -> Error {
        Error::Protocol(what.into())
    }

    /// As an I/O error (for a reader), to come back out whole with `Error::from`.
    pub fn into_io(self) -> io::Error {
        match self {
            Error::Io(e) => e,
            other => io::Error::other(other),
        }
    }
}

/// Whether `io` says the connection was closed under the request: reset, aborted, a broken
/// pipe, or its end before an answer.
pub(crate) fn closed_under(io: &io::Error) -> bool {
    matches!(
        io.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}

/// Whether `io` says the process (or the system) has no file descriptor left to open.
pub(crate) fn out_of_descriptors(io: &io::Error) -> bool {
    matches!(io.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        if !e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            return Error::Io(e);
        }
        let kind = e.kind();
        match e.into_inner().map(|inner| inner.downcast::<Error>()) {
            Some(Ok(error)) => *error,
            Some(Err(other)) => Error::Io(io::Error::new(kind, other)),
            None => Error::Io(io::Error::from(kind)),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Timeout(Timeout::Global(step)) => {
                write!(f, "deadline passed (timeout) {}", step.said())
            }
            Error::Timeout(Timeout::Connect(step)) => {
                write!(f, "no connection in time (connect-timeout) {}", step.said())
            }
            Error::Io(e) => write!(f, "{e}"),
            Error::BadUri(why) => write!(f, "URL cannot be sent: {why}"),
            Error::HeadTooLarge => write!(
                f,
                "response head larger than {} KiB (the most octopus reads)",
                MAX_HEAD / 1024
            ),
            Error::Protocol(what) | Error::Refused(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for Error {}
