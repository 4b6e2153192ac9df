//! The connection a request sent directly goes out on: an idle one kept for its host, or a
//! new one, made on no thread. A new connection's host is looked up (`resolver.rs`,
//! `dns/`), its addresses connected to as Happy Eyeballs does (`connect.rs`), and for
//! `https` its handshake begun (`tls.rs`, by the first send); while a step waits, the
//! request is given back as `Underway`, to wait in the engine's waiting set and come back
//! here (`connection` again, with it).
//!
//! Invariants: a lookup or a connect under way goes on to its end (a connection parked
//! meanwhile is not taken instead); every step ends by the request's deadline, the connect
//! and the handshake by the connect timeout; a descriptor handed to a waiting set while
//! connecting is known as such by the connection made (`Socket::watched`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http;
use ureq::unversioned::transport::time::Duration as UreqDuration;
use ureq::unversioned::transport::{NextTimeout, Transport};
use ureq::{Error, Timeout};
use url::Url;

use super::connect::Connecting;
use super::pool::{Key, Parked, going_out_on};
use super::proxy::Via;
use super::resolver::{OctopusResolver, Resolution, Resolving};
use super::socket::Socket;
use super::tls::{Tls, server_name};
use super::wire::Watch;

/// Where an exchange's connections come from and go back to.
pub(super) struct Route<'a> {
    pub parked: &'a Arc<Parked<Socket>>,
    pub config: &'a Config,
    pub resolver: &'a OctopusResolver,
    pub connect_timeout: Duration,
    /// The TLS configuration, for an `https` URL.
    pub tls: Option<&'a Arc<rustls::ClientConfig>>,
    /// The proxy the request goes through (its connections are the proxy's).
    pub via: Option<Via>,
}

/// How long a new connection's lookup (`None` for an address host) and TCP connect took.
#[derive(Debug, Clone, Copy)]
pub(super) struct Made {
    pub dns: Option<Duration>,
    pub connect: Duration,
}

/// A connection for a request: ready, or on its way.
pub(super) enum Connection {
    /// The connection, and for a new one how long making it took.
    Ready(Socket, Option<Made>),
    Underway(Underway),
}

/// A new connection on its way, held by no thread while it waits.
#[derive(Debug)]
pub(crate) struct Underway {
    step: Step,
    /// When the lookup began.
    asked: Instant,
}

#[derive(Debug)]
enum Step {
    /// The host is being looked up.
    Looking(Resolving),
    /// Its addresses are being connected to.
    Connecting(Dialing),
}

/// A connect under way, and what it is bounded by.
#[derive(Debug)]
struct Dialing {
    connecting: Connecting,
    /// When it began (the lookup's end).
    began: Instant,
    /// Its timeout, and whose it is (the connect timeout, or what was left of the request's).
    after: Duration,
    reason: Timeout,
}

impl Underway {
    /// What to wait for: the lookup's descriptor (readable), or the newest connect
    /// attempt's (writable).
    pub fn watch(&mut self) -> Watch {
        match &mut self.step {
            Step::Looking(resolving) => {
                let (fd, watched) = resolving.watch();
                Watch::read(fd, watched)
            }
            Step::Connecting(dialing) => dialing.connecting.watch(),
        }
    }

    /// When the wait must end, for a request that must end by `deadline`.
    pub fn deadline(&self, deadline: Instant) -> Instant {
        match &self.step {
            Step::Looking(resolving) => resolving.deadline(deadline),
            Step::Connecting(dialing) => dialing
                .connecting
                .until()
                .map_or(deadline, |until| until.min(deadline)),
        }
    }
}

/// An idle connection to `key`'s host that is still open, else a new one (`underway`: one
/// on its way, from an earlier call); for `https`, its handshake begun by the first send.
/// Says on this thread which it is and where it goes (see `pool.rs`).
pub(super) fn connection(
    route: &Route<'_>,
    key: &Key,
    url: &Url,
    deadline: Instant,
    underway: Option<Underway>,
) -> Result<Connection, Error> {
    let Underway { step, asked } = match underway {
        Some(underway) => underway,
        None => {
            let max_age = route.config.max_idle_age();
            if let Some(resting) = route.parked.take_open(key, max_age, |s| s.is_open()) {
                going_out_on(resting.peer, false);
                return Ok(Connection::Ready(resting.transport, None));
            }
            let uri = url
                .as_str()
                .parse::<http::Uri>()
                .map_err(|e| Error::BadUri(e.to_string()))?;
            let asked = Instant::now();
            let step = match route.resolver.begin(&uri, route.config, deadline)? {
                Resolution::Ready(addrs) => Step::Connecting(dial(route, &addrs, deadline)?),
                Resolution::Waiting(resolving) => {
                    let step = Step::Looking(resolving);
                    return Ok(Connection::Underway(Underway { step, asked }));
                }
            };
            Underway { step, asked }
        }
    };
    let mut dialing = match step {
        Step::Looking(resolving) => {
            match route.resolver.resume(resolving, route.config, deadline)? {
                Resolution::Ready(addrs) => dial(route, &addrs, deadline)?,
                Resolution::Waiting(resolving) => {
                    let step = Step::Looking(resolving);
                    return Ok(Connection::Underway(Underway { step, asked }));
                }
            }
        }
        Step::Connecting(dialing) => dialing,
    };
    let Some((stream, watched)) = dialing.connecting.advance()? else {
        let step = Step::Connecting(dialing);
        return Ok(Connection::Underway(Underway { step, asked }));
    };
    let mut socket = Socket::new(stream, route.config)?;
    socket.watched = watched;
    let made = Made {
        dns: matches!(url.host(), Some(url::Host::Domain(_)))
            .then(|| dialing.began.saturating_duration_since(asked)),
        connect: dialing.began.elapsed(),
    };
    going_out_on(socket.peer, true);
    if let Some(config) = route.tls {
        let name = server_name(url).map_err(Error::Io)?;
        let handshake_by = match dialing.reason {
            Timeout::Connect => dialing.began.checked_add(dialing.after),
            _ => None,
        };
        socket.start_tls(Tls::new(config, name, handshake_by).map_err(Error::Io)?);
    }
    Ok(Connection::Ready(socket, Some(made)))
}

/// Begin connecting to `addrs`, within the connect timeout or what is left of `deadline`.
fn dial(
    route: &Route<'_>,
    addrs: &[std::net::SocketAddr],
    deadline: Instant,
) -> Result<Dialing, Error> {
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
    Ok(Dialing {
        connecting: Connecting::new(addrs, timeout),
        began: Instant::now(),
        after,
        reason,
    })
}
