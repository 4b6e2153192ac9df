//! Idle connections kept for reuse: each pool shard's `Parked` holds the connections its
//! hosts' responses left open, under their `Key` (the scheme and authority, or the proxy,
//! or the tunnel), and hands out the newest one for a request's key.
//!
//! Why not ureq's: its pool walked every idle connection, comparing keys, on each checkout
//! and each return, so its cost per request grew with the number of connections: 28% of
//! all CPU at `-c 5000` over 50 hosts (BENCHMARKS.md, W9). Here a checkout and a return are
//! a hash lookup and a push or pop, whatever the count.
//!
//! How a connection comes back: the body reader parks it once the response was read to its
//! end and neither side asked to close it (`body_reader.rs`'s `Back`). A connection dropped
//! any other way (an error, `Connection: close`, a body not read to its end) is closed.
//!
//! Invariants: at most `max_idle` connections parked per pool, `max_per_host` per
//! key, and the `Budget`'s most over all the pools that share it (a new one then
//! takes the place of another of its pool's: a run over thousands of hosts does not keep
//! one per host it ever saw); a connection parked longer than the
//! idle age is never handed out; a handed-out connection was just probed open; the newest
//! is handed out first (the least likely to have been closed by the server).

use foldhash::HashMap;
use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long an idle connection is kept (ureq's default, which octopus kept): servers
/// commonly close theirs after 5 to 60 seconds, and a probe catches most that did.
pub(crate) const MAX_IDLE_AGE: Duration = Duration::from_secs(15);

/// What this thread's last request went out on: how `dial.rs` tells the request that sent
/// it whether it made a new connection (a failure on a kept one may be a stale connection,
/// and is tried again), and to whom (for the archive).
struct Route {
    /// A new connection was made (rather than an idle one reused).
    made: Cell<bool>,
    /// The server's address, when known (not through a proxy).
    peer: Cell<Option<SocketAddr>>,
}

thread_local! {
    static ROUTE: Route = const {
        Route {
            made: Cell::new(false),
            peer: Cell::new(None),
        }
    };
}

/// Run `request` on this thread; also says whether it made a new connection (rather than
/// reuse an idle one). A request that fails on a reused connection the server had closed
/// is sent again (see `Client::send`); one that fails on a new connection is not.
pub(crate) fn noting_connections<T>(request: impl FnOnce() -> T) -> (T, bool) {
    ROUTE.with(|route| {
        route.made.set(false);
        route.peer.set(None);
    });
    let result = request();
    (result, ROUTE.with(|route| route.made.get()))
}

/// The address the last request on this thread was sent to, if known (for
/// `WARC-IP-Address`): the server's, none through a proxy.
pub(crate) fn peer() -> Option<SocketAddr> {
    ROUTE.with(|route| route.peer.get())
}

/// Called on the thread whose request goes out on a connection to `peer`, new (`made`) or
/// taken from a pool (by `dial.rs`).
pub(crate) fn going_out_on(peer: Option<SocketAddr>, made: bool) {
    ROUTE.with(|route| {
        route.peer.set(peer);
        if made {
            route.made.set(true);
        }
    });
}

/// What a connection is kept under: whether it is TLS, and the authority it was made for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    tls: bool,
    authority: Box<str>,
}

impl Key {
    /// The key of a connection to `authority` (`host:port`), TLS or not.
    pub fn new(tls: bool, authority: &str) -> Key {
        Key {
            tls,
            authority: authority.into(),
        }
    }
}

/// How many idle connections the pools of a client keep together, at most.
#[derive(Debug)]
pub(crate) struct Budget {
    parked: AtomicUsize,
    most: usize,
}

impl Budget {
    pub fn new(most: usize) -> Arc<Budget> {
        Arc::new(Budget {
            parked: AtomicUsize::new(0),
            most: most.max(1),
        })
    }

    /// Count one more parked, if there is room.
    fn take(&self) -> bool {
        self.parked
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.most).then_some(n + 1)
            })
            .is_ok()
    }

    /// Count `n` more, room or not (a connection that carries requests is kept anyway);
    /// whether the most is now passed.
    pub fn charge(&self, n: usize) -> bool {
        self.parked.fetch_add(n, Ordering::AcqRel) + n > self.most
    }

    /// Count `n` fewer (closed, or taken out to carry a request).
    pub fn give_back(&self, n: usize) {
        let _ = self
            .parked
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |m| {
                Some(m.saturating_sub(n))
            });
    }
}

/// The idle connections (of type `T`) of one pool.
#[derive(Debug)]
pub(crate) struct Parked<T> {
    idle: Mutex<Idle<T>>,
    max_idle: usize,
    max_per_host: usize,
    budget: Arc<Budget>,
}

/// An idle connection, since when, and where it goes.
#[derive(Debug)]
pub(crate) struct Resting<T> {
    pub transport: T,
    pub since: Instant,
    pub peer: Option<SocketAddr>,
}

#[derive(Debug)]
struct Idle<T> {
    /// Per authority, oldest first.
    by_key: HashMap<Key, Vec<Resting<T>>>,
    count: usize,
}

impl<T> Parked<T> {
    /// A pool keeping up to `max_idle` connections, `max_per_host` per authority, within
    /// `budget` with the other pools that share it.
    pub fn new(max_idle: usize, max_per_host: usize, budget: Arc<Budget>) -> Parked<T> {
        Parked {
            idle: Mutex::new(Idle {
                by_key: HashMap::default(),
                count: 0,
            }),
            max_idle,
            max_per_host,
            budget,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Idle<T>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The newest idle connection for `key`, not older than `max_age`, that `open` finds
    /// still open (the others are closed).
    pub fn take_open(
        &self,
        key: &Key,
        max_age: Duration,
        mut open: impl FnMut(&mut T) -> bool,
    ) -> Option<Resting<T>> {
        while let Some(mut resting) = self.take(key, max_age) {
            if open(&mut resting.transport) {
                return Some(resting);
            }
        }
        None
    }

    /// The newest idle connection for `key` not older than `max_age`; older ones are closed.
    fn take(&self, key: &Key, max_age: Duration) -> Option<Resting<T>> {
        let mut idle = self.lock();
        let idle = &mut *idle;
        let stack = idle.by_key.get_mut(key)?;
        let resting = stack.pop()?;
        let expired = resting.since.elapsed() >= max_age;
        let closed = if expired {
            // Everything under it is older still.
            std::mem::take(stack).len() + 1
        } else {
            0
        };
        if stack.is_empty() {
            idle.by_key.remove(key);
        }
        idle.count = idle.count.saturating_sub(closed.max(1));
        self.budget.give_back(closed.max(1));
        (!expired).then_some(resting)
    }

    /// Close one idle connection (`Idle::victim`), if the pool keeps any: its descriptor
    /// is wanted. Whether one was closed.
    pub fn close_one(&self) -> bool {
        let mut idle = self.lock();
        let Some(victim) = idle.victim() else {
            return false;
        };
        idle.count -= 1;
        drop(idle);
        self.budget.give_back(1);
        drop(victim);
        true
    }

    /// Keep `transport` for the next request to `key`, unless the pool or the host has as
    /// many as it may keep (then it is closed). When the budget is spent, it takes the
    /// place of another (closed, `Idle::victim`), or is closed if the pool keeps none.
    pub fn park(&self, key: Key, resting: Resting<T>) {
        let mut idle = self.lock();
        if idle.count >= self.max_idle
            || idle.by_key.get(&key).map_or(0, Vec::len) >= self.max_per_host
        {
            return;
        }
        if !self.budget.take() {
            let Some(victim) = idle.victim() else {
                return;
            };
            drop(victim);
            idle.count -= 1;
        }
        idle.by_key.entry(key).or_default().push(resting);
        idle.count += 1;
    }
}

impl<T> Idle<T> {
    /// Out of the pool, to make room: the oldest connection of the first host in the map's
    /// order, which has nothing to do with age. Closing the pool's oldest instead closes,
    /// in a list that cycles over more hosts than are kept, each connection just before it
    /// is wanted (none is ever reused: W-web, BENCHMARKS.md); this way the hosts that stay
    /// keep theirs, and a run that moves on from its old hosts still replaces them.
    fn victim(&mut self) -> Option<Resting<T>> {
        let key = self.by_key.keys().next()?.clone();
        let stack = self.by_key.get_mut(&key)?;
        let victim = (!stack.is_empty()).then(|| stack.remove(0));
        if stack.is_empty() {
            self.by_key.remove(&key);
        }
        victim
    }
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
