//! The in-memory TTL cache: a repeat of a URL inside the TTL never reaches the network.
//!
//! Invariants: a plain bounded store, used only by the scheduler (under its lock), with time
//! passed in; keyed on the URL alone, since every request of an `Octopus` has the same method,
//! headers and body; only HTTP responses are kept (a transport failure is not an answer to
//! keep); at most `capacity` entries. Every entry has the same TTL, so insertion order is
//! expiry order: one queue serves both expiry and the size bound (the oldest goes first).
//! Merging repeats of a URL whose fetch is in flight (single-flight) is the scheduler's job.

use std::collections::VecDeque;

use foldhash::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::response::Shared;
use crate::settings::CacheSettings;

pub(crate) struct Cache {
    ttl: Duration,
    capacity: usize,
    entries: HashMap<Arc<str>, (Shared, Instant)>,
    /// Keys in the order they were stored (also their expiry order).
    order: VecDeque<(Arc<str>, Instant)>,
}

impl Cache {
    pub fn new(settings: CacheSettings) -> Self {
        Cache {
            ttl: settings.ttl,
            capacity: settings.capacity.max(1),
            entries: HashMap::default(),
            order: VecDeque::new(),
        }
    }

    /// The stored outcome for `url`, if it is younger than the TTL at `now`.
    pub fn get(&self, url: &str, now: Instant) -> Option<Shared> {
        let (outcome, stored) = self.entries.get(url)?;
        (now.saturating_duration_since(*stored) < self.ttl).then(|| Arc::clone(outcome))
    }

    /// Keep `outcome` for `url` from `now` on (transport failures are not kept).
    pub fn insert(&mut self, url: Arc<str>, outcome: &Shared, now: Instant) {
        if outcome.answer().is_none() {
            return;
        }
        self.entries
            .insert(Arc::clone(&url), (Arc::clone(outcome), now));
        self.order.push_back((url, now));
        self.evict(now);
    }

    /// Drop expired entries and, past the capacity, the oldest ones.
    fn evict(&mut self, now: Instant) {
        while let Some((url, stored)) = self.order.front() {
            let expired = now.saturating_duration_since(*stored) >= self.ttl;
            if !expired && self.order.len() <= self.capacity {
                break;
            }
            // Only remove the entry this queue item stands for, not a newer one.
            if self.entries.get(url).is_some_and(|(_, s)| s == stored) {
                self.entries.remove(url);
            }
            self.order.pop_front();
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::{ErrorKind, Failure};
    use crate::response::Outcome;
    use crate::run::tests::fetched;

    fn cache(ttl_ms: u64, capacity: usize) -> Cache {
        Cache::new(CacheSettings {
            ttl: Duration::from_millis(ttl_ms),
            capacity,
        })
    }

    #[test]
    fn entries_are_served_until_they_expire() {
        let t0 = Instant::now();
        let mut c = cache(30_000, 10);
        let ok: Shared = Arc::new(Outcome::Answered(fetched(200)));
        c.insert(Arc::from("http://a/"), &ok, t0);
        assert!(c.get("http://a/", t0 + Duration::from_secs(29)).is_some());
        assert!(c.get("http://a/", t0 + Duration::from_secs(30)).is_none());
        assert!(c.get("http://b/", t0).is_none());
    }

    #[test]
    fn transport_failures_are_not_kept() {
        let t0 = Instant::now();
        let mut c = cache(30_000, 10);
        let failed: Shared = Arc::new(Outcome::Failed(Failure::new(ErrorKind::Connect, "refused")));
        c.insert(Arc::from("http://a/"), &failed, t0);
        assert!(c.get("http://a/", t0).is_none());
    }

    #[test]
    fn the_size_is_bounded_oldest_first() {
        let t0 = Instant::now();
        let mut c = cache(30_000, 64);
        let ok: Shared = Arc::new(Outcome::Answered(fetched(200)));
        for i in 0..10_000 {
            c.insert(Arc::from(format!("http://h/{i}")), &ok, t0);
        }
        assert_eq!(c.len(), 64);
        assert!(c.get("http://h/9999", t0).is_some());
        assert!(c.get("http://h/0", t0).is_none());
    }

    #[test]
    fn a_refreshed_entry_outlives_its_old_queue_item() {
        let t0 = Instant::now();
        let mut c = cache(1_000, 10);
        let ok: Shared = Arc::new(Outcome::Answered(fetched(200)));
        c.insert(Arc::from("http://a/"), &ok, t0);
        let t1 = t0 + Duration::from_millis(900);
        c.insert(Arc::from("http://a/"), &ok, t1);
        // The first item expires at t0 + 1 s; the entry stored at t1 must stay.
        c.insert(
            Arc::from("http://b/"),
            &ok,
            t0 + Duration::from_millis(1_100),
        );
        assert!(
            c.get("http://a/", t0 + Duration::from_millis(1_100))
                .is_some()
        );
    }
}
