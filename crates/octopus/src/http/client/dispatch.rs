//! One request of a chain to its server, on HTTP/1.1 or HTTP/2 (hyper's `dispatch`): a
//! stream on an HTTP/2 connection of its origin that has room (`h2/pool.rs`), else a wait
//! for the connection being made to it, else a connection of its own (`route/dial.rs`,
//! on no thread: `Begun::Underway`), on which the protocol the server chose (ALPN, or
//! prior knowledge) decides the exchange (`h1/`, `h2/`). Before a new `https` connection
//! is made, once the host is looked up, a stream on an HTTP/2 connection another name made
//! to one of its addresses, under a certificate valid for it too, is taken instead
//! (`h2/coalesce.rs`); a `421` on it sends the request again on a connection of its own.
//!
//! Invariants: a request waits for another's connection only while that connection's
//! protocol is not known; whatever the protocol, the answer is an `Answered` whose body
//! reads the same way (`Incoming`), and every wait ends by the request's deadline.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use http::{HeaderName, HeaderValue, StatusCode, Version};

use crate::http::bell::Bell;
use crate::http::connect::pool::{Key, going_out_on};
use crate::http::connect::tls::server_name;
use crate::http::error::{Error, Step, Timeout};
use crate::http::h1::body_reader::BodyReader;
use crate::http::h1::exchange::{self as h1, key};
use crate::http::h1::head::Outgoing;
use crate::http::h2::conn::{Shared, Slot};
use crate::http::h2::pool::{Claim, Multiplexed, Opening};
use crate::http::h2::stream::{self as h2, StreamBody};
use crate::http::route::dial::{Connection, Route, Underway, connection};
use crate::http::route::made::Made;
use crate::http::wire::{Watch, wait_watch};
use crate::timings::Timings;

/// How HTTP/2 may be spoken on a route.
#[derive(Debug, Clone, Copy)]
pub(crate) struct H2<'a> {
    /// The client's HTTP/2 connections.
    pub pool: &'a Arc<Multiplexed>,
    /// Spoken without asking (`--http2-prior-knowledge`, plain `http`); else only when the
    /// server chooses it in the TLS handshake.
    pub assumed: bool,
}

/// A request sent, its answer not read yet.
#[derive(Debug)]
pub(crate) enum Sending {
    H1(h1::Sending),
    /// On a stream; on a connection made for another name, where a `421` is to be told.
    H2(h2::Sending, Option<Box<Borrowed>>),
}

/// A stream on a connection made for another name (`h2/coalesce.rs`).
#[derive(Debug)]
pub(crate) struct Borrowed {
    pool: Arc<Multiplexed>,
    key: Key,
}

impl Borrowed {
    /// A stream of a request to `key`'s origin on a connection of `h2`'s pool made for
    /// another name.
    fn new(h2: H2<'_>, key: Key) -> Box<Borrowed> {
        let pool = Arc::clone(h2.pool);
        Box::new(Borrowed { pool, key })
    }
}

/// How far `send` took a request.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Begun {
    /// Sent: its answer is to be waited for.
    Sent(Sending),
    /// Its connection is on its way: `send` it again with this once it can go on.
    Underway(Underway, Option<Opening>),
    /// A connection being made to its origin may take it: `send` it again once this rings.
    Awaiting(Arc<Bell>),
}

/// Where an earlier call left a request.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Toward {
    /// Nowhere yet.
    Start,
    /// Its connection on its way.
    Dialing(Underway, Option<Opening>),
    /// Woken by the connection it waited for (`Begun::Awaiting`).
    Awaited,
}

/// A response's body, read the same way whatever the protocol.
pub(crate) enum Incoming {
    H1(BodyReader),
    H2(StreamBody),
}

impl Read for Incoming {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Incoming::H1(body) => body.read(buf),
            Incoming::H2(body) => body.read(buf),
        }
    }
}

/// A response head read (its body left to its reader), and where the request's time went.
pub(crate) struct Answered {
    pub response: http::Response<Incoming>,
    pub timings: Timings,
}

/// Send `request` to its server and read the response head, waiting on this thread; the
/// body is left to the returned response's reader. Everything ends by `deadline`.
pub(crate) fn exchange<'a, H>(
    route: &Route<'_>,
    h2: Option<H2<'_>>,
    request: Outgoing<'a, H>,
    deadline: Instant,
) -> Result<Answered, Error>
where
    H: Iterator<Item = (&'a HeaderName, &'a HeaderValue)> + Clone,
{
    let mut toward = Toward::Start;
    loop {
        // A connection's step past its own time (the connect timeout) says so when sent on.
        let (watch, until, during) = match send(route, h2, request.clone(), deadline, toward)? {
            Begun::Sent(sending) => return sending.response(deadline),
            Begun::Underway(mut underway, opening) => {
                let watch = (underway.watch(), underway.deadline(deadline));
                let during = underway.step();
                toward = Toward::Dialing(underway, opening);
                (watch.0, watch.1, during)
            }
            Begun::Awaiting(bell) => {
                toward = Toward::Awaited;
                (bell.watch(), deadline, Step::Connection)
            }
        };
        if Instant::now() >= deadline {
            return Err(Timeout::request(during));
        }
        wait_watch(watch, until);
    }
}

/// Send `request` to its server by `deadline`: on a stream of an HTTP/2 connection with
/// room, else on a kept or new connection (`toward`: where an earlier call left it).
pub(crate) fn send<'a, H>(
    route: &Route<'_>,
    h2: Option<H2<'_>>,
    request: Outgoing<'a, H>,
    deadline: Instant,
    toward: Toward,
) -> Result<Begun, Error>
where
    H: Iterator<Item = (&'a HeaderName, &'a HeaderValue)> + Clone,
{
    let key = key(route, request.url);
    let (underway, opening) = match (toward, h2) {
        (Toward::Dialing(underway, opening), _) => (Some(underway), opening),
        (Toward::Start | Toward::Awaited, None) => (None, None),
        (toward @ (Toward::Start | Toward::Awaited), Some(h2)) => {
            if Instant::now() >= deadline {
                return Err(Timeout::request(match toward {
                    Toward::Awaited => Step::Connection,
                    _ => Step::Send,
                }));
            }
            match h2.pool.claim(&key).map_err(Error::Io)? {
                Claim::Stream(slot) => {
                    return on_stream(route, slot, request, Timings::default(), None);
                }
                Claim::Borrowed(slot) => {
                    let borrowed = Some(Borrowed::new(h2, key));
                    return on_stream(route, slot, request, Timings::default(), borrowed);
                }
                Claim::Wait(bell) => return Ok(Begun::Awaiting(bell)),
                Claim::Dial(opening) => (None, opening),
            }
        }
    };
    let mut underway = underway;
    let (socket, made) = loop {
        match connection(route, &key, request.url, deadline, underway)? {
            Connection::Ready(socket, made) => break (socket, made),
            Connection::Underway(underway) => return Ok(Begun::Underway(underway, opening)),
            Connection::LookedUp(looked_up) => {
                if let Some(h2) = h2
                    && let Some(slot) = borrow(h2, &key, request.url, looked_up.addresses())?
                {
                    // Those waiting for this origin's connection find the borrowed one.
                    if let Some(opening) = opening {
                        opening.borrowed();
                    }
                    let timings = Timings {
                        dns: looked_up.lookup_time(),
                        ..Timings::default()
                    };
                    let borrowed = Some(Borrowed::new(h2, key));
                    return on_stream(route, slot, request, timings, borrowed);
                }
                underway = Some(looked_up);
            }
        }
    };
    let Some(h2) = h2.filter(|h2| h2.assumed || socket.speaks_h2()) else {
        if let Some(opening) = opening {
            opening.h1();
        }
        let sending = h1::send(route, key, (socket, made), request, deadline)?;
        return Ok(Begun::Sent(Sending::H1(sending)));
    };
    let timings = Made::timings(made, &socket);
    let leaf = route.coalesce.then(|| socket.leaf()).flatten();
    let shared = Shared::handshake(socket, deadline)?;
    match opening {
        Some(opening) => opening.made(&shared),
        None => h2.pool.add(&key, &shared),
    }
    if let Some(leaf) = leaf {
        h2.pool.offer(&shared, leaf);
    }
    let slot = shared
        .reserve()
        .map_err(Error::Io)?
        .ok_or_else(|| Error::Refused("the new connection took no stream".into()))?;
    on_stream(route, slot, request, timings, None)
}

/// A stream for a request to `url` (`key`'s origin, looked up as `addrs`) on an HTTP/2
/// connection another name made (`h2/coalesce.rs`), if one may carry it; never on a
/// connection spoken to without asking (prior knowledge).
fn borrow(
    h2: H2<'_>,
    key: &Key,
    url: &url::Url,
    addrs: &[std::net::SocketAddr],
) -> Result<Option<Slot>, Error> {
    if h2.assumed || addrs.is_empty() {
        return Ok(None);
    }
    let Ok(name) = server_name(url) else {
        return Ok(None);
    };
    h2.pool.coalesce(key, &name, addrs).map_err(Error::Io)
}

/// Send `request` on the stream `slot` (of a connection made for another name: `borrowed`).
fn on_stream<'a, H>(
    route: &Route<'_>,
    slot: Slot,
    request: Outgoing<'a, H>,
    timings: Timings,
    borrowed: Option<Box<Borrowed>>,
) -> Result<Begun, Error>
where
    H: Iterator<Item = (&'a HeaderName, &'a HeaderValue)> + Clone,
{
    going_out_on(slot.conn.peer, timings.connect.is_some());
    let sending = h2::send(slot, request, timings)?;
    route.counts.sent.fetch_add(1, Ordering::Relaxed);
    Ok(Begun::Sent(Sending::H2(sending, borrowed)))
}

impl Sending {
    /// What to wait for: the connection's descriptor (or, for an HTTP/2 stream, its bell).
    pub fn watch(&mut self) -> Watch {
        match self {
            Sending::H1(sending) => {
                let (fd, watched) = sending.watch();
                Watch::read(fd, watched)
            }
            Sending::H2(sending, _) => sending.watch(),
        }
    }

    /// Whether the answer can be read without waiting.
    pub fn ready(&mut self, deadline: Instant) -> bool {
        match self {
            Sending::H1(sending) => sending.ready(deadline),
            Sending::H2(sending, _) => sending.ready(),
        }
    }

    /// When the request went out, once it has (see `Socket::went_out`).
    pub fn went_out(&self) -> Option<Instant> {
        match self {
            Sending::H1(sending) => sending.went_out(),
            Sending::H2(sending, _) => Some(sending.sent_at()),
        }
    }

    /// When the wait for the answer must end.
    pub fn deadline(&self, deadline: Instant) -> Instant {
        match self {
            Sending::H1(sending) => sending.deadline(deadline),
            Sending::H2(..) => deadline,
        }
    }

    /// Read the final response head (by `deadline`); the body is left to its reader.
    pub fn response(self, deadline: Instant) -> Result<Answered, Error> {
        match self {
            Sending::H1(sending) => {
                let answered = sending.response(deadline)?;
                let (parts, body) = answered.response.into_parts();
                Ok(Answered {
                    response: http::Response::from_parts(parts, Incoming::H1(body)),
                    timings: answered.timings,
                })
            }
            Sending::H2(sending, borrowed) => {
                let answered = sending.response(deadline)?;
                if answered.response.status() == StatusCode::MISDIRECTED_REQUEST
                    && let Some(borrowed) = borrowed
                {
                    borrowed.pool.misdirected(&borrowed.key);
                    return Err(Error::Refused(
                        "421: the server does not serve this name on a connection made for \
                         another"
                            .into(),
                    ));
                }
                let (mut parts, body) = answered.response.into_parts();
                parts.version = Version::HTTP_2;
                Ok(Answered {
                    response: http::Response::from_parts(parts, Incoming::H2(body)),
                    timings: answered.timings,
                })
            }
        }
    }
}
