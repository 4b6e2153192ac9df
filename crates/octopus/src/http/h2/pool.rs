//! The HTTP/2 connections of each origin, shared (not checked out like `connect/pool.rs`'s
//! idle HTTP/1.1 ones), and the connections being made to it: a request goes to a
//! connection with room for another stream; while a connection to its origin is being made
//! and the server's protocol is not known, it waits for that one (curl's "pipewait"), so
//! that a burst to one origin opens one connection, not one per request; only when every
//! connection is full (and none is on its way with room for it) is another made.
//!
//! A connection on which no stream has been open for the idle age is not used again (as
//! idle HTTP/1.1 ones are not): it is closed when its origin is next asked for. Idle ones
//! are closed too when the budget of idle connections is spent or descriptors run out
//! (`close_idle`).
//!
//! A name with no connection of its own may borrow one made for another name
//! (`coalesce.rs`): it is remembered under the name's origin too, as borrowed (neither
//! counted in the budget nor kept open by it), until a `421` says the server does not
//! serve the name on it (`misdirected`), after which the name makes its own.
//!
//! Invariants: a connection being made is counted until it is made (`Opening::made`),
//! found to be HTTP/1.1 (`Opening::h1`), or fails (the `Opening` dropped), and each of these
//! rings every request waiting for it; at most `FIRST_STREAMS` requests wait for each
//! connection being made; an origin whose server chose HTTP/1.1 is not waited for again,
//! nor one whose last connection being made failed, until a connection to it is made (the
//! requests that waited for it make their own at once, instead of waiting in turn, each
//! for the next one's connect timeout).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use rustls::pki_types::{CertificateDer, ServerName};

use crate::http::bell::Bell;
use crate::http::connect::pool::{Budget, Key, MAX_IDLE_AGE};
use crate::http::h2::coalesce::Peers;
use crate::http::h2::conn::{FIRST_STREAMS, Shared, Slot};

/// Origins remembered before those with nothing on them are forgotten.
const ORIGINS: usize = 65_536;

/// Origins looked at for an idle connection to close when the budget is spent.
const SCAN: usize = 256;

/// What an HTTP/2 connection counts in the budget: one, as an idle HTTP/1.1 connection.
/// Idle, it holds one descriptor, its socket (its epoll descriptor and kick are made when
/// a stream opens and closed when the last ends, `conn.rs`); while streams are open it
/// holds those two more, and a bell per waiting stream, counted nowhere: when descriptors
/// do run out, a request closes idle connections and goes again (`Client::make_room`).
const DESCRIPTORS: usize = 1;

/// The HTTP/2 connections of a client, by origin, counted in the budget of idle
/// connections they share with the HTTP/1.1 pools (`connect/pool.rs`).
#[derive(Debug)]
pub(crate) struct Multiplexed {
    origins: Mutex<HashMap<Key, Origin>>,
    budget: Arc<Budget>,
    /// The connections other names may borrow, by address.
    peers: Peers,
}

#[derive(Debug, Default)]
struct Origin {
    conns: Vec<Arc<Shared>>,
    /// Connections being made.
    opening: usize,
    /// The bells of requests waiting for them.
    waiters: Vec<Arc<Bell>>,
    /// The server chose HTTP/1.1.
    h1: bool,
    /// The last connection being made to it failed, and none was made since.
    failed: bool,
    /// Connections made for other names that this one goes on too (`coalesce.rs`).
    borrowed: Vec<Weak<Shared>>,
    /// The server answered `421` on a borrowed connection: this name makes its own.
    own_only: bool,
}

impl Origin {
    fn is_idle(&self) -> bool {
        self.conns.is_empty() && self.opening == 0 && self.waiters.is_empty()
    }
}

/// What a request to an origin does.
#[derive(Debug)]
pub(crate) enum Claim {
    /// Go on a connection that has room.
    Stream(Slot),
    /// Go on a connection made for another name that has room (`coalesce.rs`).
    Borrowed(Slot),
    /// Wait for this bell: a connection being made may take it.
    Wait(Arc<Bell>),
    /// Make a connection (or take an idle HTTP/1.1 one); when the server's protocol is not
    /// known, others wait for it (`Opening`).
    Dial(Option<Opening>),
}

/// A connection being made to an origin whose protocol is not known yet.
#[derive(Debug)]
pub(crate) struct Opening {
    pool: Arc<Multiplexed>,
    key: Key,
    settled: bool,
}

impl Multiplexed {
    /// A pool whose connections count `DESCRIPTORS` each in `budget`.
    pub fn new(budget: Arc<Budget>) -> Multiplexed {
        Multiplexed {
            origins: Mutex::default(),
            budget,
            peers: Peers::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Origin>> {
        self.origins.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What a request to `key`'s origin does now.
    pub fn claim(self: &Arc<Self>, key: &Key) -> io::Result<Claim> {
        let mut origins = self.lock();
        // Every https request asks: the key is copied only for an origin not met yet.
        if !origins.contains_key(key) {
            if origins.len() >= ORIGINS {
                origins.retain(|_, origin| !origin.is_idle());
            }
            origins.insert(key.clone(), Origin::default());
        }
        let Some(origin) = origins.get_mut(key) else {
            return Ok(Claim::Dial(None));
        };
        let before = origin.conns.len();
        origin.conns.retain(|conn| conn.usable(MAX_IDLE_AGE));
        self.budget
            .give_back((before - origin.conns.len()) * DESCRIPTORS);
        for conn in &origin.conns {
            if let Some(slot) = conn.reserve()? {
                return Ok(Claim::Stream(slot));
            }
        }
        origin
            .borrowed
            .retain(|conn| conn.upgrade().is_some_and(|conn| conn.usable(MAX_IDLE_AGE)));
        for conn in origin.borrowed.iter().filter_map(Weak::upgrade) {
            if let Some(slot) = conn.reserve()? {
                return Ok(Claim::Borrowed(slot));
            }
        }
        if origin.h1 || origin.failed {
            return Ok(Claim::Dial(None));
        }
        if origin.waiters.len() < origin.opening * FIRST_STREAMS {
            let bell = Bell::new()?;
            origin.waiters.push(Arc::clone(&bell));
            return Ok(Claim::Wait(bell));
        }
        origin.opening += 1;
        Ok(Claim::Dial(Some(Opening {
            pool: Arc::clone(self),
            key: key.clone(),
            settled: false,
        })))
    }

    /// Offer `conn`, its chain verified and `leaf` its server's own certificate, to the
    /// other names the certificate is valid for (`coalesce.rs`).
    pub fn offer(&self, conn: &Arc<Shared>, leaf: CertificateDer<'static>) {
        self.peers.offer(conn, leaf);
    }

    /// A stream for a request to `key`'s origin (`name`, looked up as `addrs`) on a
    /// connection made for another name (`coalesce.rs`), remembered under the origin for
    /// the requests that come; none once the server said it does not serve the name so, or
    /// chose HTTP/1.1 for it (it may serve the name otherwise than the other).
    pub fn coalesce(
        &self,
        key: &Key,
        name: &ServerName<'_>,
        addrs: &[SocketAddr],
    ) -> io::Result<Option<Slot>> {
        if (self.lock().get(key)).is_some_and(|origin| origin.own_only || origin.h1) {
            return Ok(None);
        }
        let Some((conn, slot)) = self.peers.find(name, addrs, MAX_IDLE_AGE)? else {
            return Ok(None);
        };
        let mut origins = self.lock();
        let origin = origins.entry(key.clone()).or_default();
        if !origin
            .borrowed
            .iter()
            .any(|b| b.as_ptr() == Arc::as_ptr(&conn))
        {
            origin.borrowed.push(Arc::downgrade(&conn));
        }
        Ok(Some(slot))
    }

    /// The server answered `421 Misdirected Request` to a request to `key`'s origin on a
    /// borrowed connection: the origin no longer borrows, and makes its own.
    pub fn misdirected(&self, key: &Key) {
        let mut origins = self.lock();
        let origin = origins.entry(key.clone()).or_default();
        origin.borrowed.clear();
        origin.own_only = true;
    }

    /// Close an idle connection, if one is found (`close_one_idle`): its descriptors are
    /// wanted. Whether one was closed.
    pub fn close_idle(&self) -> bool {
        self.close_one_idle(&mut self.lock())
    }

    /// The budget is spent: close an idle connection, among those of the first `SCAN`
    /// origins that have any (in the map's order, which has nothing to do with age: a
    /// list that cycles over more origins than are kept finds some of its connections
    /// still there, where closing the oldest would close each just before it is wanted).
    /// None idle: the new one is kept over the budget (it carries requests).
    fn close_one_idle(&self, origins: &mut HashMap<Key, Origin>) -> bool {
        let with_conns = origins.values_mut().filter(|o| !o.conns.is_empty());
        for origin in with_conns.take(SCAN) {
            if let Some(at) = origin.conns.iter().position(|c| c.is_idle()) {
                origin.conns.swap_remove(at);
                self.budget.give_back(DESCRIPTORS);
                return true;
            }
        }
        false
    }

    /// Keep `conn`, made to `key`'s origin, for the requests that come: counted in the
    /// budget, and when that is spent, an idle one is closed (`close_one_idle`).
    pub fn add(&self, key: &Key, conn: &Arc<Shared>) {
        let mut origins = self.lock();
        self.keep(&mut origins, key, conn);
    }

    fn keep(&self, origins: &mut HashMap<Key, Origin>, key: &Key, conn: &Arc<Shared>) {
        if self.budget.charge(DESCRIPTORS) {
            self.close_one_idle(origins);
        }
        let origin = origins.entry(key.clone()).or_default();
        origin.h1 = false;
        origin.failed = false;
        origin.conns.push(Arc::clone(conn));
    }
}

impl Opening {
    /// The connection was made and speaks HTTP/2: kept for the requests that come.
    pub fn made(mut self, conn: &Arc<Shared>) {
        self.settle(Settled::Made(conn));
    }

    /// The server chose HTTP/1.1: requests to it make their own connections.
    pub fn h1(mut self) {
        self.settle(Settled::H1);
    }

    /// None was made: the request went on a connection made for another name, which those
    /// waiting find under the origin too (`Multiplexed::coalesce`).
    pub fn borrowed(mut self) {
        self.settle(Settled::Borrowed);
    }

    fn settle(&mut self, how: Settled<'_>) {
        if std::mem::replace(&mut self.settled, true) {
            return;
        }
        let mut origins = self.pool.lock();
        if let Settled::Made(conn) = how {
            self.pool.keep(&mut origins, &self.key, conn);
        }
        let origin = origins.entry(self.key.clone()).or_default();
        origin.opening = origin.opening.saturating_sub(1);
        origin.h1 |= matches!(how, Settled::H1);
        origin.failed = matches!(how, Settled::Failed);
        for bell in origin.waiters.drain(..) {
            bell.ring();
        }
    }
}

/// How a connection being made ended.
enum Settled<'a> {
    Made(&'a Arc<Shared>),
    H1,
    Borrowed,
    Failed,
}

impl Drop for Opening {
    /// Not made (it failed, or its request ended first): the requests waiting for it go
    /// on, and make their own.
    fn drop(&mut self) {
        self.settle(Settled::Failed);
    }
}
