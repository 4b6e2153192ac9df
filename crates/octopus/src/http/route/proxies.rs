//! A pool of proxies requests are spread over (`--proxy` repeated, `--proxy-file`): each
//! request takes the next proxy in turn (or one at random), a proxy that fails is set aside
//! for a while and its requests go to another, and each proxy's use is counted.
//!
//! How a proxy is set aside: a failure that is the proxy's (it cannot be reached, its TLS
//! or handshake failed, it refused the tunnel: a `proxy` failure) counts against it; one it
//! could not even be connected to, or `FAILURES_IN_A_ROW` in a row, sets it aside for
//! `backoff`, which starts at `FIRST_BACKOFF` and doubles each time it is set aside again
//! (up to `LAST_BACKOFF`); an answer through it clears both. The target's own failures
//! (a status, a timeout reading the body, a host the proxy cannot reach) do not count.
//!
//! Invariants: a proxy set aside is not chosen until its time is up, unless every proxy is
//! (then the caller waits for the first back, `Choice::AllOut`); the counts add up to the
//! requests sent through each proxy.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::http::route::proxy::Proxy;

/// Failures in a row that set a proxy aside.
const FAILURES_IN_A_ROW: u32 = 3;
/// How long a proxy is first set aside; each time again, twice as long, up to the last.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const LAST_BACKOFF: Duration = Duration::from_secs(60);

/// How the next proxy of a pool is picked ([`crate::Builder::proxy_pick`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProxyPick {
    /// Each in turn.
    #[default]
    RoundRobin,
    /// One at random.
    Random,
}

impl ProxyPick {
    /// Its name: `round-robin`, `random`.
    pub fn name(self) -> &'static str {
        match self {
            ProxyPick::RoundRobin => "round-robin",
            ProxyPick::Random => "random",
        }
    }
}

/// How one proxy of a pool was used: the requests sent through it, those that failed as the
/// proxy's failures, and how many times it was set aside.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ProxyUse {
    /// The proxy, without credentials (`http://host:port`).
    pub proxy: String,
    /// Requests sent through it.
    pub requests: u64,
    /// Requests that failed as its failures (it could not be reached, refused, …).
    pub failures: u64,
    /// Times it was set aside.
    pub set_aside: u64,
}

/// The proxies of a pool and how each fares.
#[derive(Debug)]
pub(crate) struct ProxyPool {
    proxies: Vec<Arc<Proxy>>,
    health: Mutex<Vec<Health>>,
    pick: ProxyPick,
    next: AtomicUsize,
    requests: Vec<AtomicU64>,
    random: RandomState,
}

#[derive(Debug, Clone, Default)]
struct Health {
    in_a_row: u32,
    out_until: Option<Instant>,
    backoff: Option<Duration>,
    failures: u64,
    set_aside: u64,
}

/// Which proxy a request is to use.
#[derive(Debug)]
pub(crate) enum Choice {
    /// This one (its place in the pool).
    Use(usize, Arc<Proxy>),
    /// Every proxy is set aside: the first is back then.
    AllOut(Instant),
}

impl ProxyPool {
    pub fn new(proxies: Vec<Proxy>, pick: ProxyPick) -> ProxyPool {
        let count = proxies.len();
        ProxyPool {
            proxies: proxies.into_iter().map(Arc::new).collect(),
            health: Mutex::new(vec![Health::default(); count]),
            pick,
            next: AtomicUsize::new(0),
            requests: (0..count).map(|_| AtomicU64::new(0)).collect(),
            random: RandomState::new(),
        }
    }

    /// How many proxies the pool has.
    pub fn len(&self) -> usize {
        self.proxies.len()
    }

    /// The proxy for the next request: the next in turn (or at random) that is not set
    /// aside. A turn that falls on a proxy set aside goes on to the next turn, so that the
    /// proxies left share its requests evenly (not its neighbour alone).
    pub fn choose(&self) -> Choice {
        let count = self.proxies.len().max(1);
        let now = Instant::now();
        let health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        let out = |at: usize| {
            health
                .get(at)
                .and_then(|h| h.out_until)
                .filter(|&u| u > now)
        };
        let turn = || {
            let draw = self.next.fetch_add(1, Ordering::Relaxed);
            match self.pick {
                ProxyPick::RoundRobin => draw % count,
                ProxyPick::Random => self.random.hash_one(draw) as usize % count,
            }
        };
        let live = (0..count)
            .map(|_| turn())
            .find(|&at| out(at).is_none())
            .or_else(|| (0..count).find(|&at| out(at).is_none()));
        if let Some(at) = live
            && let (Some(proxy), Some(requests)) = (self.proxies.get(at), self.requests.get(at))
        {
            requests.fetch_add(1, Ordering::Relaxed);
            return Choice::Use(at, Arc::clone(proxy));
        }
        let first_back = (0..count).filter_map(out).min();
        Choice::AllOut(first_back.unwrap_or(now))
    }

    /// The request through the proxy at `at` was answered: its failures are forgotten.
    pub fn answered(&self, at: usize) {
        let mut health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = health.get_mut(at) {
            h.in_a_row = 0;
            h.backoff = None;
        }
    }

    /// The request through the proxy at `at` failed as the proxy's failure (`unreachable`:
    /// it could not be connected to at all); whether it is now set aside.
    pub fn failed(&self, at: usize, unreachable: bool) -> bool {
        let mut health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        let Some(h) = health.get_mut(at) else {
            return false;
        };
        h.failures += 1;
        h.in_a_row += 1;
        let now = Instant::now();
        let already = h.out_until.is_some_and(|until| until > now);
        if already || !(unreachable || h.in_a_row >= FAILURES_IN_A_ROW) {
            return already;
        }
        let backoff = h
            .backoff
            .map_or(FIRST_BACKOFF, |last| (last * 2).min(LAST_BACKOFF));
        h.backoff = Some(backoff);
        h.out_until = now.checked_add(backoff);
        h.set_aside += 1;
        true
    }

    /// How each proxy was used, in the pool's order.
    pub fn uses(&self) -> Vec<ProxyUse> {
        let health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        self.proxies
            .iter()
            .zip(health.iter())
            .zip(self.requests.iter())
            .map(|((proxy, h), requests)| ProxyUse {
                proxy: proxy.to_string(),
                requests: requests.load(Ordering::Relaxed),
                failures: h.failures,
                set_aside: h.set_aside,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(pick: ProxyPick) -> ProxyPool {
        let proxies = ["http://a:1", "http://b:2", "http://c:3"]
            .iter()
            .map(|p| Proxy::parse(p).unwrap())
            .collect();
        ProxyPool::new(proxies, pick)
    }

    fn chosen(pool: &ProxyPool) -> usize {
        match pool.choose() {
            Choice::Use(at, _) => at,
            Choice::AllOut(_) => usize::MAX,
        }
    }

    #[test]
    fn round_robin_skips_a_proxy_set_aside_until_its_time_is_up() {
        let pool = pool(ProxyPick::RoundRobin);
        assert_eq!([chosen(&pool), chosen(&pool), chosen(&pool)], [0, 1, 2]);
        assert!(pool.failed(1, true), "unreachable: set aside at once");
        // Its turn goes on to the next turn: the others share its requests.
        assert_eq!([chosen(&pool), chosen(&pool), chosen(&pool)], [0, 2, 0]);
        // Two failures in a row are not enough; a third is; an answer clears them.
        assert!(!pool.failed(0, false) && !pool.failed(0, false));
        pool.answered(0);
        assert!(!pool.failed(0, false));
        assert!(!pool.failed(2, false) && !pool.failed(2, false) && pool.failed(2, false));
        let uses = pool.uses();
        assert_eq!(uses[1].set_aside, 1);
        assert_eq!(uses[0].failures, 3);
        assert_eq!(uses.iter().map(|u| u.requests).sum::<u64>(), 6);
        assert_eq!(uses[1].requests, 1);
    }

    #[test]
    fn when_every_proxy_is_out_the_first_back_is_said() {
        let pool = pool(ProxyPick::Random);
        for at in 0..3 {
            assert!(pool.failed(at, true));
        }
        let Choice::AllOut(back) = pool.choose() else {
            panic!("all are out")
        };
        assert!(back > Instant::now() && back <= Instant::now() + FIRST_BACKOFF);
        // Set aside again: twice as long.
        let mut health = pool.health.lock().unwrap();
        health[0].out_until = None;
        drop(health);
        assert!(pool.failed(0, true));
        let health = pool.health.lock().unwrap();
        assert_eq!(health[0].backoff, Some(FIRST_BACKOFF * 2));
    }
}
