//! The connection a request goes out on: an idle one kept for its host (or its proxy, or
//! its tunnel), or a new one, made on no thread. A new connection goes through these steps,
//! each of which may wait (the request is then given back as `Underway`, to wait in the
//! engine's waiting set and come back here, `connection` again, with it):
//!
//! ```text
//! [target looked up: SOCKS4/5 only] → endpoint looked up (`resolver.rs`, `dns/`)
//!   → [https, HTTP/2 offered: the caller may go on a connection another name made to one
//!      of the addresses instead (`Connection::LookedUp`, `h2/coalesce.rs`)]
//!   → TCP connect, Happy Eyeballs (`connect.rs`)
//!   → the proxy's handshake, if any (`proxy/greeting.rs`: TLS to an https:// proxy, CONNECT, SOCKS)
//!   → TLS to the origin for `https` begun (`tls.rs`): finished here when HTTP/2 is offered
//!     (the server's choice decides how the request is written), else by the first send
//! ```
//!
//! The endpoint is the target's host, or the proxy's.
//!
//! Invariants: a lookup or a connect under way goes on to its end (a connection parked
//! meanwhile is not taken instead); every step ends by the request's deadline, the
//! connect, the proxy's handshake and the TLS handshake by the connect timeout; a
//! descriptor handed to a waiting set is known as such by the connection made
//! (`Socket::watched`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use url::Url;

use crate::http::connect::eyeballs::Connecting;
use crate::http::connect::pool::{Key, MAX_IDLE_AGE, Parked, going_out_on};
use crate::http::connect::socket::Socket;
use crate::http::connect::tls::{Tls, server_name};
use crate::http::dns::resolver::{OctopusResolver, Resolution, Resolving};
use crate::http::error::{self, Error, Timeout};
use crate::http::route::made::{Counts, Made};
use crate::http::route::proxy::{Form, Greeting, Target, Via};
use crate::http::wire::Watch;

/// Where an exchange's connections come from and go back to.
pub(crate) struct Route<'a> {
    pub parked: &'a Arc<Parked<Socket>>,
    pub resolver: &'a OctopusResolver,
    pub connect_timeout: Duration,
    /// The TLS configuration, for an `https` URL.
    pub tls: Option<&'a Arc<rustls::ClientConfig>>,
    /// The proxy the request goes through, and how.
    pub via: Option<Via>,
    /// The TLS configuration for an `https://` proxy.
    pub proxy_tls: Option<&'a Arc<rustls::ClientConfig>>,
    /// The TLS handshake with the origin is finished before the connection is ready: ALPN
    /// offers HTTP/2, and the server's choice decides how requests are written.
    pub finish_tls: bool,
    /// Where connections made and requests sent are counted.
    pub counts: &'a Counts,
    /// Once its host is looked up, a new connection is first given back
    /// (`Connection::LookedUp`): an HTTP/2 connection another name made to one of the
    /// addresses may carry the request (direct `https` with HTTP/2 offered, the server's
    /// certificate verified).
    pub coalesce: bool,
}

/// A connection for a request: ready, or on its way.
pub(crate) enum Connection {
    /// The connection, and for a new one how long making it took.
    Ready(Socket, Option<Made>),
    Underway(Underway),
    /// Its host looked up and nothing connected yet (`Route::coalesce`): `connection`
    /// again with it goes on to connect.
    LookedUp(Underway),
}

/// A new connection on its way, held by no thread while it waits.
#[derive(Debug)]
pub(crate) struct Underway {
    step: Step,
    /// When the first lookup began.
    asked: Instant,
    /// Something was looked up (not only address literals).
    looked_up: bool,
    /// Where a SOCKS proxy is to connect.
    target: Option<Target>,
    /// Given back once looked up (`Connection::LookedUp`).
    offered: bool,
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum Step {
    /// The target is being looked up, for a SOCKS proxy that is given an address.
    Target(Resolving),
    /// The endpoint (the host, or the proxy) is being looked up.
    Looking(Resolving),
    /// Its addresses are being connected to.
    Connecting(Dialing),
    /// The proxy's handshake is under way.
    Greeting(Box<Greeting>, Made),
    /// Connected: the TLS handshake with the origin goes on here when it must be finished
    /// first (`Route::finish_tls`).
    Handshaking(Box<Socket>, Made),
}

impl Step {
    /// Whether it waits for a lookup's answer (a lookup just begun has nothing to read
    /// yet: it goes to the waiting set before it is resumed).
    fn is_lookup(&self) -> bool {
        matches!(self, Step::Target(_) | Step::Looking(_))
    }
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
    /// The addresses, kept when the caller is to see them (`Route::coalesce`).
    addrs: Vec<SocketAddr>,
}

impl Dialing {
    /// How long the lookups before it took (from `asked`), when something was looked up.
    fn lookup_time(&self, asked: Instant, looked_up: bool) -> Option<Duration> {
        looked_up.then(|| self.began.saturating_duration_since(asked))
    }

    /// When the handshakes that follow the connect must be done, if the connect timeout
    /// ends before the request's.
    fn handshake_by(&self) -> Option<Instant> {
        match self.reason {
            Timeout::Connect(_) => self.began.checked_add(self.after),
            _ => None,
        }
    }
}

impl Underway {
    /// The addresses its host was looked up as, when they are to be seen
    /// (`Connection::LookedUp`).
    pub fn addresses(&self) -> &[SocketAddr] {
        match &self.step {
            Step::Connecting(dialing) => &dialing.addrs,
            _ => &[],
        }
    }

    /// How long its lookups took, when something was looked up.
    pub fn lookup_time(&self) -> Option<Duration> {
        let Step::Connecting(dialing) = &self.step else {
            return None;
        };
        dialing.lookup_time(self.asked, self.looked_up)
    }

    /// What to wait for: a lookup's descriptor (readable), the newest connect attempt's
    /// (writable), or the proxy's answer (readable).
    pub fn watch(&mut self) -> Watch {
        match &mut self.step {
            Step::Target(resolving) | Step::Looking(resolving) => {
                let (fd, watched) = resolving.watch();
                Watch::read(fd, watched)
            }
            Step::Connecting(dialing) => dialing.connecting.watch(),
            Step::Greeting(greeting, _) => greeting.watch(),
            Step::Handshaking(socket, _) => {
                Watch::read(socket.fd(), std::mem::replace(&mut socket.watched, true))
            }
        }
    }

    /// The step it is at, as a timeout names it.
    pub fn step(&self) -> error::Step {
        match &self.step {
            Step::Target(_) | Step::Looking(_) => error::Step::Lookup,
            Step::Connecting(_) => error::Step::Connect,
            Step::Greeting(..) => error::Step::Proxy,
            Step::Handshaking(..) => error::Step::Tls,
        }
    }

    /// When the wait must end, for a request that must end by `deadline`.
    pub fn deadline(&self, deadline: Instant) -> Instant {
        match &self.step {
            Step::Target(resolving) | Step::Looking(resolving) => resolving.deadline(deadline),
            Step::Connecting(dialing) => dialing
                .connecting
                .until()
                .map_or(deadline, |until| until.min(deadline)),
            Step::Greeting(greeting, _) => greeting.deadline(deadline),
            Step::Handshaking(socket, _) => socket.deadline(Some(deadline)).unwrap_or(deadline),
        }
    }
}

/// An idle connection under `key` that is still open, else a new one to `url`'s host or
/// through the route's proxy (`underway`: one on its way, from an earlier call); for
/// `https`, its handshake begun by the first send. Says on this thread which it is and
/// where it goes (see `pool.rs`).
pub(crate) fn connection(
    route: &Route<'_>,
    key: &Key,
    url: &Url,
    deadline: Instant,
    underway: Option<Underway>,
) -> Result<Connection, Error> {
    let mut underway = match underway {
        Some(underway) => underway,
        None => {
            let open = |socket: &mut Socket| socket.is_open();
            if let Some(resting) = route.parked.take_open(key, MAX_IDLE_AGE, open) {
                going_out_on(resting.peer, false);
                return Ok(Connection::Ready(resting.transport, None));
            }
            let underway = begin(route, url, deadline)?;
            if underway.step.is_lookup() {
                // Waited for in the set: resumed now, it would find nothing yet.
                return Ok(Connection::Underway(underway));
            }
            underway
        }
    };
    loop {
        let (step, go_on) = match underway.step {
            Step::Target(resolving) => match route.resolver.resume(resolving, deadline)? {
                Resolution::Ready(addrs) => {
                    underway.target = addrs.first().copied().map(Target::Addr);
                    let step = look_up_endpoint(route, url, deadline)?;
                    let go_on = !step.is_lookup();
                    (step, go_on)
                }
                Resolution::Waiting(resolving) => (Step::Target(resolving), false),
            },
            Step::Looking(resolving) => match route.resolver.resume(resolving, deadline)? {
                Resolution::Ready(addrs) => (Step::Connecting(dial(route, addrs, deadline)?), true),
                Resolution::Waiting(resolving) => (Step::Looking(resolving), false),
            },
            Step::Connecting(dialing)
                if route.coalesce && !std::mem::replace(&mut underway.offered, true) =>
            {
                underway.step = Step::Connecting(dialing);
                return Ok(Connection::LookedUp(underway));
            }
            Step::Connecting(mut dialing) => {
                let Some((stream, watched)) = dialing.connecting.advance()? else {
                    underway.step = Step::Connecting(dialing);
                    return Ok(Connection::Underway(underway));
                };
                let mut socket = Socket::new(stream)?;
                socket.watched = watched;
                let made = Made {
                    dns: dialing.lookup_time(underway.asked, underway.looked_up),
                    connect: dialing.began.elapsed(),
                    proxy: None,
                };
                let by = dialing.handshake_by();
                let greeting = match &route.via {
                    Some(via) => {
                        let target = underway.target.take();
                        Greeting::begin(via, route.proxy_tls, socket, url, target, by)?
                    }
                    None => Err(socket),
                };
                match greeting {
                    Ok(greeting) => (Step::Greeting(Box::new(greeting), made), false),
                    Err(socket) => (
                        Step::Handshaking(ready(route, url, socket, by)?, made),
                        true,
                    ),
                }
            }
            Step::Greeting(mut greeting, mut made) => match greeting.go_on(deadline)? {
                false => (Step::Greeting(greeting, made), false),
                true => {
                    let (socket, took, by) = greeting.done();
                    made.proxy = Some(took);
                    (
                        Step::Handshaking(ready(route, url, socket, by)?, made),
                        true,
                    )
                }
            },
            Step::Handshaking(mut socket, made) => {
                if !route.finish_tls || socket.handshake_now(Some(deadline))? {
                    return Ok(Connection::Ready(*socket, Some(made)));
                }
                let until = socket.deadline(Some(deadline)).unwrap_or(deadline);
                if Instant::now() >= until {
                    return Err(Error::Timeout(
                        socket.timeout_reason(Timeout::Global(error::Step::Tls)),
                    ));
                }
                (Step::Handshaking(socket, made), false)
            }
        };
        underway.step = step;
        if !go_on {
            return Ok(Connection::Underway(underway));
        }
    }
}

/// The first step of a new connection: the target's lookup for a SOCKS proxy that is
/// given an address, else the endpoint's.
fn begin(route: &Route<'_>, url: &Url, deadline: Instant) -> Result<Underway, Error> {
    let asked = Instant::now();
    let named = matches!(url.host(), Some(url::Host::Domain(_)));
    let via = route.via.as_ref().filter(|via| via.form == Form::Socks);
    let (step, target) = match via {
        Some(via) if via.proxy.scheme.resolves_names() => {
            let host = url.host_str().unwrap_or_default();
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let port = url.port_or_known_default().unwrap_or(80);
            let target = match host.parse() {
                Ok(ip) => Target::Addr(SocketAddr::new(ip, port)),
                Err(_) => Target::Name(host.to_string(), port),
            };
            (look_up_endpoint(route, url, deadline)?, Some(target))
        }
        Some(_) => match route.resolver.begin(url, deadline)? {
            Resolution::Ready(addrs) => {
                let target = addrs.first().copied().map(Target::Addr);
                (look_up_endpoint(route, url, deadline)?, target)
            }
            Resolution::Waiting(resolving) => (Step::Target(resolving), None),
        },
        None => (look_up_endpoint(route, url, deadline)?, None),
    };
    // What is looked up: the endpoint when it is a name, and for a SOCKS proxy given
    // addresses, the target's name too.
    let endpoint_named = match &route.via {
        Some(via) => via.proxy.host.parse::<std::net::IpAddr>().is_err(),
        None => named,
    };
    let target_named = named && via.is_some_and(|via| !via.proxy.scheme.resolves_names());
    Ok(Underway {
        step,
        asked,
        looked_up: endpoint_named || target_named,
        target,
        offered: false,
    })
}

/// Begin looking up where to connect: the proxy, or `url`'s host.
fn look_up_endpoint(route: &Route<'_>, url: &Url, deadline: Instant) -> Result<Step, Error> {
    let endpoint = match &route.via {
        Some(via) => &via.proxy.endpoint,
        None => url,
    };
    Ok(match route.resolver.begin(endpoint, deadline)? {
        Resolution::Ready(addrs) => Step::Connecting(dial(route, addrs, deadline)?),
        Resolution::Waiting(resolving) => Step::Looking(resolving),
    })
}

/// The connection made: for `https`, TLS to the origin begun (finished by the next step, or
/// by the first send), within `by` when the connect timeout bounds it.
fn ready(
    route: &Route<'_>,
    url: &Url,
    mut socket: Socket,
    by: Option<Instant>,
) -> Result<Box<Socket>, Error> {
    // Through a proxy the origin's address is not known: the connection says none, made
    // or kept (nothing is archived as the origin's).
    if route.via.is_some() {
        socket.peer = None;
    }
    going_out_on(socket.peer, true);
    route.counts.opened.fetch_add(1, Ordering::Relaxed);
    if let Some(config) = route.tls {
        let name = server_name(url).map_err(Error::Io)?;
        socket.start_tls(Tls::new(config, name, by).map_err(Error::Io)?);
    }
    Ok(Box::new(socket))
}

/// Begin connecting to `addrs`, within the connect timeout or what is left of `deadline`.
fn dial(route: &Route<'_>, addrs: Vec<SocketAddr>, deadline: Instant) -> Result<Dialing, Error> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Timeout::request(error::Step::Connect));
    }
    let (after, reason) = match route.connect_timeout < left {
        true => (
            route.connect_timeout,
            Timeout::Connect(error::Step::Connect),
        ),
        false => (left, Timeout::Global(error::Step::Connect)),
    };
    Ok(Dialing {
        connecting: Connecting::new(&addrs, after, reason),
        began: Instant::now(),
        after,
        reason,
        addrs: if route.coalesce { addrs } else { Vec::new() },
    })
}
