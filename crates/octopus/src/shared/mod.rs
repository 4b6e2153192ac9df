//! Limits shared by every process that names the same Redis (`Builder::redis`): per-host and
//! per-prefix slots as leases in sorted sets, the rate and the delay as timestamps, all taken
//! at once by one Lua script (`acquire.lua`), so no process can take a slot another saw free.
//! A lease expires if its holder dies, and is renewed while its request runs (`renew.lua`).
//!
//! Invariants: a request limited by a setting starts only with its lease granted (Redis
//! unreachable means it waits, never that it goes unlimited); a worker spends one round trip
//! to ask, and does not wait: a held request goes back to the scheduler with when to ask
//! again; every lease granted is released when its request ends, or expires.

pub(crate) mod pool;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use redis::Script;

use crate::policy::Policy;
use pool::Pool;

/// How long to wait before asking again for a slot that was busy (a slot frees when a
/// request ends, which Redis does not announce).
const POLL: Duration = Duration::from_millis(20);
/// How long to hold limited requests back when Redis cannot be reached, before trying again.
const RETRY_UNREACHABLE: Duration = Duration::from_millis(500);

/// The shared limiter's settings.
#[derive(Debug, Clone)]
pub(crate) struct SharedSettings {
    pub url: String,
    /// Namespace of the keys: processes share limits when they use the same one.
    pub prefix: String,
    /// How long a lease lasts unless renewed (its holder died).
    pub lease: Duration,
    /// How long Redis may stay unreachable before the run gives up.
    pub outage: Duration,
}

/// The limiter, shared by the workers of one process.
pub(crate) struct SharedLimits {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    acquire: Script,
    renew: Script,
    settings: SharedSettings,
    /// Leases held by requests in flight, renewed until released.
    live: Mutex<HashMap<u64, Lease>>,
    next: AtomicU64,
    /// Since when Redis has been unreachable, if it is.
    down_since: Mutex<Option<Instant>>,
}

/// A lease on the slots a request holds.
#[derive(Debug, Clone)]
pub(crate) struct Lease {
    seq: u64,
    id: String,
    keys: Vec<String>,
}

/// What a request must wait for, and which limit held it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hold {
    pub after: Duration,
    pub what: Holding,
}

/// Which limit held a request back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holding {
    /// Its host's slots or delay.
    Host,
    /// Its prefix's slots.
    Prefix,
    /// The rate, for every request.
    Rate,
    /// Everything the shared limiter decides (Redis cannot be reached).
    All,
}

/// The answer to a request for its limits.
pub(crate) enum Acquire {
    Granted(Lease),
    Wait(Hold),
    /// Redis cannot be reached; `give_up` once that has lasted past the outage bound.
    Unreachable {
        give_up: bool,
    },
}

/// What one request asks of the limiter.
pub(crate) struct Ask<'a> {
    pub host: Option<&'a str>,
    /// Its prefix limit, by index into the policy's limits.
    pub limit: Option<usize>,
}

impl SharedLimits {
    /// Connect to Redis (one round trip to prove it answers) and start renewing leases.
    pub fn connect(settings: SharedSettings) -> Result<SharedLimits, String> {
        let client = redis::Client::open(settings.url.as_str()).map_err(|e| e.to_string())?;
        let pool = Pool::new(client);
        pool.with(|conn| redis::cmd("PING").query::<String>(conn))
            .map_err(|e| format!("cannot reach Redis: {e}"))?;
        let inner = Arc::new(Inner {
            pool,
            acquire: Script::new(include_str!("acquire.lua")),
            renew: Script::new(include_str!("renew.lua")),
            settings,
            live: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
            down_since: Mutex::new(None),
        });
        let weak = Arc::downgrade(&inner);
        let period = inner.settings.lease / 3;
        std::thread::Builder::new()
            .name("octopus-leases".into())
            .spawn(move || renew_while_alive(&weak, period))
            .map_err(|e| format!("cannot start the lease renewal thread: {e}"))?;
        Ok(SharedLimits { inner })
    }

    /// Whether a request under `policy` (with prefix limit `limit`) is limited at all.
    pub fn applies(policy: &Policy, limit: Option<usize>) -> bool {
        policy.per_host.is_some()
            || policy.delay.is_some()
            || policy.interval.is_some()
            || limit.is_some()
    }

    /// Ask for every limit `ask` needs under `policy`: one round trip.
    pub fn acquire(&self, policy: &Policy, ask: &Ask<'_>) -> Acquire {
        let inner = &self.inner;
        let ns = &inner.settings.prefix;
        let mut slots: Vec<(String, usize, Holding)> = Vec::new();
        if let (Some(max), Some(host)) = (policy.per_host, ask.host) {
            slots.push((format!("{ns}:host:{host}"), max, Holding::Host));
        }
        if let Some(l) = ask.limit
            && let Some(limit) = policy.limits.get(l)
        {
            slots.push((
                format!("{ns}:prefix:{}", limit.prefix),
                limit.max,
                Holding::Prefix,
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let millis = |d: Option<Duration>| d.map_or(0, |d| d.as_millis().max(1) as u64);
        let mut call = inner.acquire.prepare_invoke();
        for (key, _, _) in &slots {
            call.key(key);
        }
        call.key(format!("{ns}:rate"))
            .key(format!("{ns}:delay:{}", ask.host.unwrap_or_default()))
            .arg(&id)
            .arg(millis(Some(inner.settings.lease)))
            .arg(slots.len());
        for (_, max, _) in &slots {
            call.arg(*max);
        }
        call.arg(millis(policy.interval))
            .arg(millis(policy.delay.filter(|_| ask.host.is_some())))
            .arg(millis(Some(POLL)));
        let answer = inner
            .pool
            .with(|conn| call.invoke::<(u8, u64, usize)>(conn));
        let (granted, wait_ms, which) = match answer {
            Ok(answer) => {
                inner.reachable();
                answer
            }
            // Whatever failed (the connection, a timeout, a script error), the request does
            // not go without its limits.
            Err(_) => return inner.unreachable(),
        };
        if granted == 1 {
            let lease = Lease {
                seq: inner.next.fetch_add(1, Ordering::Relaxed),
                id,
                keys: slots.into_iter().map(|(key, _, _)| key).collect(),
            };
            if let Ok(mut live) = inner.live.lock() {
                live.insert(lease.seq, lease.clone());
            }
            return Acquire::Granted(lease);
        }
        let what = match which.checked_sub(1).and_then(|i| slots.get(i)) {
            Some((_, _, what)) => *what,
            None if which == slots.len() + 1 => Holding::Rate,
            None => Holding::Host,
        };
        Acquire::Wait(Hold {
            after: Duration::from_millis(wait_ms.max(1)),
            what,
        })
    }

    /// The request holding `lease` ended: give its slots back (if Redis cannot be reached,
    /// they expire with the lease).
    pub fn release(&self, lease: Lease) {
        if let Ok(mut live) = self.inner.live.lock() {
            live.remove(&lease.seq);
        }
        if lease.keys.is_empty() {
            return;
        }
        let mut pipe = redis::pipe();
        for key in &lease.keys {
            pipe.cmd("ZREM").arg(key).arg(&lease.id).ignore();
        }
        let _ = self.inner.pool.with(|conn| pipe.query::<()>(conn));
    }

    /// Whether Redis is unreachable now.
    pub fn is_down(&self) -> bool {
        self.inner
            .down_since
            .lock()
            .map(|d| d.is_some())
            .unwrap_or(false)
    }
}

impl Inner {
    fn reachable(&self) {
        if let Ok(mut down) = self.down_since.lock() {
            *down = None;
        }
    }

    fn unreachable(&self) -> Acquire {
        let since = match self.down_since.lock() {
            Ok(mut down) => *down.get_or_insert_with(Instant::now),
            Err(_) => Instant::now(),
        };
        Acquire::Unreachable {
            give_up: since.elapsed() > self.settings.outage,
        }
    }

    /// Extend every live lease: one round trip for all of them.
    fn renew(&self) {
        let leases: Vec<Lease> = match self.live.lock() {
            Ok(live) => live.values().cloned().collect(),
            Err(_) => return,
        };
        if leases.iter().all(|l| l.keys.is_empty()) {
            return;
        }
        let mut call = self.renew.prepare_invoke();
        call.arg(self.settings.lease.as_millis() as u64);
        for lease in &leases {
            for key in &lease.keys {
                call.key(key).arg(&lease.id);
            }
        }
        let _ = self.pool.with(|conn| call.invoke::<u64>(conn));
    }
}

/// Renew the live leases every `period`, until the limiter is gone.
fn renew_while_alive(inner: &Weak<Inner>, period: Duration) {
    loop {
        std::thread::sleep(period);
        match inner.upgrade() {
            Some(inner) => inner.renew(),
            None => return,
        }
    }
}

/// Hold a request back this long when Redis cannot be reached.
pub(crate) fn unreachable_hold() -> Hold {
    Hold {
        after: RETRY_UNREACHABLE,
        what: Holding::All,
    }
}
