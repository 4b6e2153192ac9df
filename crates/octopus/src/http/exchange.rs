//! HTTP/1.1 exchanges of octopus's own, for `http` and `https` URLs sent to the server
//! directly (no proxy): a connection found or made (its host looked up first, on no thread:
//! `Begun::Looking`), the request written in one buffer and the response head parsed
//! (`head.rs`), the body framed by `body_reader.rs`, on the same connections
//! (`socket.rs`, with TLS from `tls.rs` for `https`) and kept in the same kind of pool
//! (`pool.rs`) as ureq's exchanges. Proxies stay with ureq (`client.rs` picks).
//!
//! Why: on raw throughput ureq's exchange was most of octopus's own CPU per URL; ureq alone
//! on threads reached about 0.8 of wget2's rate on W3, this path about 1.5 (BENCHMARKS.md,
//! "An exchange of our own").
//!
//! Invariants, as with ureq's exchange: the same request head goes out and the same
//! response heads are read (`head.rs`); errors are ureq's, so that `classify.rs` and the retry of a stale connection see one
//! kind of error whichever path ran; every wait ends by `deadline`; a connection goes
//! back to the pool only after a body read to its end that leaves nothing unread.

use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::{self, HeaderName, HeaderValue, Method, Version};
use ureq::unversioned::transport::time::Duration as UreqDuration;
use ureq::unversioned::transport::{NextTimeout, Transport};
use ureq::{Error, Timeout};
use url::Url;

use crate::timings::Timings;

use super::body_reader::{Back, BodyReader, Framing};
use super::head::{asks_to_close, read_head, request_bytes};
use super::pool::{Key, Parked, going_out_on};
use super::resolver::{OctopusResolver, Resolution, Resolving};
use super::socket::{Socket, io_error};
use super::tls::{Tls, server_name};

/// Where an exchange's connections come from and go back to.
pub(super) struct Route<'a> {
    pub parked: &'a Arc<Parked<Socket>>,
    pub config: &'a Config,
    pub resolver: &'a OctopusResolver,
    pub connect_timeout: Duration,
    /// The TLS configuration, for an `https` URL.
    pub tls: Option<&'a Arc<rustls::ClientConfig>>,
}

/// A request as the exchange sends it.
#[derive(Clone)]
pub(super) struct Outgoing<'a, H> {
    pub method: &'a Method,
    pub url: &'a Url,
    /// Every header to send but those the exchange adds (`Host`, `Authorization` from the
    /// URL, `Content-Length`).
    pub headers: H,
    pub body: Option<&'a [u8]>,
}

/// A response head read (its body left to its reader), and where the request's time went.
pub(super) struct Answered {
    pub response: http::Response<ureq::Body>,
    pub timings: Timings,
}

/// Send `request` to its server and read the response head; the body is left to the
/// returned response's reader. Everything ends by `deadline`.
pub(super) fn exchange<'a, H>(
    route: &Route<'_>,
    request: Outgoing<'a, H>,
    deadline: Instant,
) -> Result<Answered, Error>
where
    H: Iterator<Item = (&'a HeaderName, &'a HeaderValue)> + Clone,
{
    let mut looking = None;
    loop {
        match send(route, request.clone(), deadline, looking)? {
            Begun::Sent(sending) => return sending.response(deadline),
            // The lookup waits on this thread when it goes on (`dns/`).
            Begun::Looking(waiting) => looking = Some(waiting),
        }
    }
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
    /// For a new connection, how long its lookup (none for an address host) and its TCP
    /// connection took.
    made: Option<Made>,
}

/// How long a new connection's lookup (`None` for an address host) and TCP connect took.
#[derive(Debug, Clone, Copy)]
struct Made {
    dns: Option<Duration>,
    connect: Duration,
}

/// A new connection's host being looked up, on no thread.
#[derive(Debug)]
pub(crate) struct Looking {
    resolving: Resolving,
    /// When the lookup began.
    asked: Instant,
}

impl Looking {
    /// The descriptor to wait on, and whether it was waited on before.
    pub fn watch(&mut self) -> (RawFd, bool) {
        self.resolving.watch()
    }

    /// When the wait must end, for a request that must end by `deadline`.
    pub fn deadline(&self, deadline: Instant) -> Instant {
        self.resolving.deadline(deadline)
    }
}

/// How far `send` took a request.
pub(super) enum Begun {
    /// Sent: its answer is to be waited for.
    Sent(Sending),
    /// Its host is being looked up: `send` it again with this once the lookup can go on.
    Looking(Looking),
}

/// Send `request` to its server (on a kept connection, or a new one), by `deadline`;
/// `looking`: the lookup of its host begun by an earlier call, to go on with.
pub(super) fn send<'a, H>(
    route: &Route<'_>,
    request: Outgoing<'a, H>,
    deadline: Instant,
    looking: Option<Looking>,
) -> Result<Begun, Error>
where
    H: Iterator<Item = (&'a HeaderName, &'a HeaderValue)> + Clone,
{
    let bytes = request_bytes(&request)?;
    let key = Key::new(route.tls.is_some(), &authority(request.url));
    let (mut socket, made) = match connection(route, &key, request.url, deadline, looking)? {
        Connection::Ready(socket, made) => (socket, made),
        Connection::Looking(looking) => return Ok(Begun::Looking(looking)),
    };
    socket
        .send(&bytes, Some(deadline))
        .map_err(|e| io_error(e, Timeout::Global))?;
    Ok(Begun::Sent(Sending {
        socket,
        key,
        parked: Arc::clone(route.parked),
        head: *request.method == Method::HEAD,
        made,
    }))
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
            made,
        } = self;
        let deadline = Some(deadline);
        let (version, status, headers) = read_head(&mut socket, deadline)?;
        let timings = timings(&socket, made);
        let bodiless = head || matches!(status.as_u16(), 204 | 304);
        let framing = Framing::of(&headers, bodiless)?;
        let reusable = version == Version::HTTP_11 && !asks_to_close(&headers) && framing.ends();
        let back = Back::new(parked, key);
        let body = BodyReader::new(socket, framing, deadline, reusable.then_some(back));
        let mut response = http::Response::new(ureq::Body::builder().reader(body));
        *response.version_mut() = version;
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        Ok(Answered { response, timings })
    }
}

/// Where the time of a request on `socket` went, its head read (`made`: a new connection).
fn timings(socket: &Socket, made: Option<Made>) -> Timings {
    let mut timings = Timings::default();
    if let Some(made) = made {
        timings.dns = made.dns;
        timings.connect = Some(made.connect);
        timings.tls = socket.handshake_time();
    }
    timings.ttfb = socket.time_to_first_byte();
    timings
}

/// `host:port`, the port always given: what connections are kept under.
fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(80);
    format!("{host}:{port}")
}

/// A connection for a request: ready, or waiting for its host's lookup.
enum Connection {
    /// The connection, and for a new one how long making it took.
    Ready(Socket, Option<Made>),
    Looking(Looking),
}

/// An idle connection to `key`'s host that is still open, else a new one (its host looked
/// up first: `looking` goes on with a lookup begun before); for `https`, its handshake
/// begun by the first send. Says on this thread which it is and where it goes (see
/// `pool.rs`).
fn connection(
    route: &Route<'_>,
    key: &Key,
    url: &Url,
    deadline: Instant,
    looking: Option<Looking>,
) -> Result<Connection, Error> {
    let max_age = route.config.max_idle_age();
    // A lookup under way goes on to its end (a connection parked since is not taken).
    if looking.is_none()
        && let Some(resting) = route.parked.take_open(key, max_age, |s| s.is_open())
    {
        going_out_on(resting.peer, false);
        return Ok(Connection::Ready(resting.transport, None));
    }
    let uri = url
        .as_str()
        .parse::<http::Uri>()
        .map_err(|e| Error::BadUri(e.to_string()))?;
    let (resolution, asked) = match looking {
        Some(Looking { resolving, asked }) => (
            route.resolver.resume(resolving, route.config, deadline)?,
            asked,
        ),
        None => {
            let asked = Instant::now();
            (route.resolver.begin(&uri, route.config, deadline)?, asked)
        }
    };
    let addrs = match resolution {
        Resolution::Ready(addrs) => addrs,
        Resolution::Waiting(resolving) => {
            return Ok(Connection::Looking(Looking { resolving, asked }));
        }
    };
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Error::Timeout(Timeout::Global));
    }
    let (after, reason) = match route.connect_timeout < left {
        true => (route.connect_timeout, Timeout::Connect),
        false => (left, Timeout::Global),
    };
    let timeout = NextTimeout {
        after: UreqDuration::Exact(after),
        reason,
        per_read: None,
        per_write: None,
    };
    let connecting = Instant::now();
    let mut socket = Socket::open(&addrs, timeout, route.config)?;
    let made = Made {
        dns: matches!(url.host(), Some(url::Host::Domain(_)))
            .then(|| connecting.saturating_duration_since(asked)),
        connect: connecting.elapsed(),
    };
    going_out_on(socket.peer, true);
    if let Some(config) = route.tls {
        let name = server_name(url).map_err(Error::Io)?;
        let handshake_by = match reason {
            Timeout::Connect => connecting.checked_add(after),
            _ => None,
        };
        socket.start_tls(Tls::new(config, name, handshake_by).map_err(Error::Io)?);
    }
    Ok(Connection::Ready(socket, Some(made)))
}
