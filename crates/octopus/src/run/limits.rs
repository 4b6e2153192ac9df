//! The limiter: how many requests are in flight per host and per URL prefix, when the rate
//! lets the next request start, when each host's last request went out (for the delay), and
//! what the shared limiter (Redis) holds back, until when.
//!
//! Invariants: counts go up when a request starts and down when that attempt ends, so a
//! limit is never exceeded; a host's delay counts from when its last request went out (not
//! from its start: its connection may take longer than the delay), and the next does not
//! start before it has; no clock of its own (`now` is passed in); with no limit set, every
//! check passes and nothing is stored.

use foldhash::HashMap;
use std::time::{Duration, Instant};

use crate::policy::Policy;
use crate::shared::Holding;

pub(crate) struct Limits {
    per_host: Option<usize>,
    prefix_max: Vec<usize>,
    interval: Option<Duration>,
    delay: Option<Duration>,
    /// Delays for some hosts, set while running (a robots.txt's `Crawl-delay`).
    host_delays: HashMap<String, Duration>,
    in_host: HashMap<String, usize>,
    in_prefix: Vec<usize>,
    /// For hosts spaced by a delay: their last request.
    last: HashMap<String, Last>,
    next_start: Option<Instant>,
    /// Until when the shared limiter holds a host, a prefix, or everything it decides.
    held_hosts: HashMap<String, Instant>,
    held_prefixes: Vec<Option<Instant>>,
    held_shared: Option<Instant>,
}

/// A host's last request, for its delay.
#[derive(Debug, Clone, Copy)]
enum Last {
    /// Started at this time, not gone out yet: the next waits until it has.
    Leaving(Instant),
    /// Went out at this time: the next may start the delay later.
    Out(Instant),
}

/// Hosts remembered for the delay before old ones are forgotten.
const REMEMBERED_HOSTS: usize = 4096;

impl Limits {
    pub fn new(policy: &Policy) -> Self {
        Limits {
            per_host: policy.per_host,
            prefix_max: policy.limits.iter().map(|l| l.max).collect(),
            interval: policy.interval,
            delay: policy.delay,
            host_delays: HashMap::default(),
            in_host: HashMap::default(),
            in_prefix: vec![0; policy.limits.len()],
            last: HashMap::default(),
            next_start: None,
            held_hosts: HashMap::default(),
            held_prefixes: vec![None; policy.limits.len()],
            held_shared: None,
        }
    }

    /// At least `delay` between two starts to `host` from now on (the longer of this and
    /// the delay set applies).
    pub fn delay_host(&mut self, host: &str, delay: Duration) {
        self.host_delays.insert(host.to_string(), delay);
    }

    /// Whether some host has a delay of its own (jobs must then know their host).
    pub fn delays_hosts(&self) -> bool {
        !self.host_delays.is_empty()
    }

    /// The delay between two starts to `host`, if any.
    fn gap(&self, host: &str) -> Option<Duration> {
        let own = self.host_delays.get(host).copied();
        self.delay.max(own)
    }

    /// The last request to `host`, started with `start` (which said it is spaced), went
    /// out `at` (or ended without being told so: `at` is then its end): the delay to the next
    /// counts from then, so that the server sees requests at least the delay apart however
    /// long one took to leave (its connection made first, a TLS handshake, a worker
    /// descheduled between the start and the send).
    pub fn went_out(&mut self, host: &str, at: Instant) {
        if let Some(last) = self.last.get_mut(host) {
            *last = Last::Out(match *last {
                Last::Leaving(started) | Last::Out(started) => started.max(at),
            });
        }
    }

    /// The last request to `host`, started with `start` (spaced), was not sent after all
    /// (the shared limiter held it back): the host is as it was before (its request before
    /// went out the delay ago at least, or there was none).
    pub fn not_sent(&mut self, host: &str) {
        if matches!(self.last.get(host), Some(Last::Leaving(_))) {
            self.last.remove(host);
        }
    }

    /// When the rate lets the next request start, if that is later than `now`.
    pub fn rate_gate(&self, now: Instant) -> Option<Instant> {
        self.next_start.filter(|&t| t > now)
    }

    /// Whether a request to `host` under prefix limit `limit` (decided by the shared limiter
    /// too when `shared`) may start at `now`. If not, when it may (for a delay or a hold), or
    /// `None` when it must wait for a request to end (or, for a delay, to go out).
    pub fn check(
        &self,
        host: Option<&str>,
        limit: Option<usize>,
        shared: bool,
        now: Instant,
    ) -> Result<(), Option<Instant>> {
        let held = [
            self.held_shared.filter(|_| shared),
            host.and_then(|h| self.held_hosts.get(h).copied()),
            limit.and_then(|l| self.held_prefixes.get(l).copied().flatten()),
        ];
        if let Some(until) = held.into_iter().flatten().filter(|&t| t > now).max() {
            return Err(Some(until));
        }
        if let (Some(max), Some(host)) = (self.per_host, host)
            && self.in_host.get(host).copied().unwrap_or(0) >= max
        {
            return Err(None);
        }
        if let Some(l) = limit
            && self.in_prefix[l] >= self.prefix_max[l]
        {
            return Err(None);
        }
        if let Some(host) = host
            && let Some(gap) = self.gap(host)
        {
            match self.last.get(host) {
                Some(Last::Leaving(_)) => return Err(None),
                Some(Last::Out(out)) => {
                    let next = out.checked_add(gap).unwrap_or(*out);
                    if next > now {
                        return Err(Some(next));
                    }
                }
                None => {}
            }
        }
        Ok(())
    }

    /// Count a request starting at `now`. Returns whether its host is spaced by a delay:
    /// `went_out` must then be told when it went out (or ended).
    pub fn start(&mut self, host: Option<&str>, limit: Option<usize>, now: Instant) -> bool {
        let mut spaced = false;
        if let Some(host) = host {
            if self.per_host.is_some() {
                *self.in_host.entry(host.to_string()).or_default() += 1;
            }
            if self.gap(host).is_some() {
                if self.last.len() > REMEMBERED_HOSTS {
                    let longest = self.host_delays.values().copied().max();
                    let gap = self.delay.max(longest).unwrap_or_default();
                    self.last.retain(|_, last| match last {
                        Last::Leaving(_) => true,
                        Last::Out(t) => now.saturating_duration_since(*t) < gap,
                    });
                }
                self.last.insert(host.to_string(), Last::Leaving(now));
                spaced = true;
            }
        }
        if let Some(l) = limit {
            self.in_prefix[l] += 1;
        }
        if let Some(interval) = self.interval {
            let from = self.next_start.map_or(now, |t| t.max(now));
            self.next_start = Some(from.checked_add(interval).unwrap_or(from));
        }
        spaced
    }

    /// The shared limiter held a request back until `until`: hold back the others it would
    /// hold too (its host's, its prefix's, every one for the rate), so that they do not ask
    /// in vain meanwhile.
    pub fn hold(
        &mut self,
        what: Holding,
        host: Option<&str>,
        limit: Option<usize>,
        until: Instant,
    ) {
        match what {
            Holding::Host => {
                if let Some(host) = host {
                    if self.held_hosts.len() > REMEMBERED_HOSTS {
                        self.held_hosts.retain(|_, t| *t > until);
                    }
                    self.held_hosts.insert(host.to_string(), until);
                }
            }
            Holding::Prefix => {
                if let Some(slot) = limit.and_then(|l| self.held_prefixes.get_mut(l)) {
                    *slot = Some(until);
                }
            }
            Holding::Rate => {
                self.next_start = Some(self.next_start.map_or(until, |t| t.max(until)))
            }
            Holding::All => self.held_shared = Some(until),
        }
    }

    /// Count the end of a request started with `start`.
    pub fn release(&mut self, host: Option<&str>, limit: Option<usize>) {
        if let (Some(_), Some(host)) = (self.per_host, host)
            && let Some(n) = self.in_host.get_mut(host)
        {
            *n -= 1;
            if *n == 0 {
                self.in_host.remove(host);
            }
        }
        if let Some(l) = limit {
            self.in_prefix[l] -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::tests::policy;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn per_host_and_prefix_limits_count_until_release() {
        let mut p = policy();
        p.per_host = Some(2);
        p.limits = vec![crate::policy::PrefixLimit {
            prefix: "http://a/x".into(),
            max: 1,
        }];
        let mut l = Limits::new(&p);
        let t = Instant::now();
        l.start(Some("http://a"), None, t);
        l.start(Some("http://a"), None, t);
        assert_eq!(l.check(Some("http://a"), None, false, t), Err(None));
        assert_eq!(l.check(Some("http://b"), None, false, t), Ok(()));
        l.release(Some("http://a"), None);
        assert_eq!(l.check(Some("http://a"), None, false, t), Ok(()));
        l.start(Some("http://b"), Some(0), t);
        assert_eq!(l.check(Some("http://c"), Some(0), false, t), Err(None));
        l.release(Some("http://b"), Some(0));
        assert_eq!(l.check(Some("http://c"), Some(0), false, t), Ok(()));
    }

    #[test]
    fn a_hosts_own_delay_holds_it_alone_and_the_longer_delay_applies() {
        let mut p = policy();
        p.delay = Some(100 * MS);
        let mut l = Limits::new(&p);
        let t0 = Instant::now();
        l.delay_host("http://slow", 500 * MS);
        assert!(l.delays_hosts());
        for host in ["http://slow", "http://fast"] {
            assert_eq!(l.check(Some(host), None, false, t0), Ok(()));
            assert!(l.start(Some(host), None, t0), "spaced");
            l.went_out(host, t0);
        }
        let slow = l.check(Some("http://slow"), None, false, t0 + 200 * MS);
        assert_eq!(slow, Err(Some(t0 + 500 * MS)));
        let fast = l.check(Some("http://fast"), None, false, t0 + 200 * MS);
        assert_eq!(fast, Ok(()));
        l.delay_host("http://fast", 10 * MS);
        let fast = l.check(Some("http://fast"), None, false, t0 + 50 * MS);
        assert_eq!(
            fast,
            Err(Some(t0 + 100 * MS)),
            "the builder's delay is longer"
        );
    }

    #[test]
    fn rate_and_delay_say_when() {
        let mut p = policy();
        p.interval = Some(100 * MS);
        p.delay = Some(250 * MS);
        let mut l = Limits::new(&p);
        let t0 = Instant::now();
        assert_eq!(l.rate_gate(t0), None);
        l.start(Some("http://a"), None, t0);
        l.went_out("http://a", t0);
        assert_eq!(l.rate_gate(t0), Some(t0 + 100 * MS));
        assert_eq!(l.rate_gate(t0 + 100 * MS), None);
        assert_eq!(
            l.check(Some("http://a"), None, false, t0 + 100 * MS),
            Err(Some(t0 + 250 * MS))
        );
        assert_eq!(
            l.check(Some("http://b"), None, false, t0 + 100 * MS),
            Ok(())
        );
        assert_eq!(
            l.check(Some("http://a"), None, false, t0 + 250 * MS),
            Ok(())
        );
        // Starts late after an idle spell do not bank the time that went by.
        l.start(Some("http://b"), None, t0 + 1000 * MS);
        assert_eq!(l.rate_gate(t0 + 1000 * MS), Some(t0 + 1100 * MS));
    }

    #[test]
    fn holds_of_the_shared_limiter_keep_their_kind_of_request_back() {
        let mut p = policy();
        p.per_host = Some(4);
        let mut l = Limits::new(&p);
        let t = Instant::now();
        l.hold(Holding::Host, Some("http://a"), None, t + 20 * MS);
        assert_eq!(
            l.check(Some("http://a"), None, true, t),
            Err(Some(t + 20 * MS))
        );
        assert_eq!(l.check(Some("http://b"), None, true, t), Ok(()));
        assert_eq!(l.check(Some("http://a"), None, true, t + 20 * MS), Ok(()));
        l.hold(Holding::All, Some("http://a"), None, t + 500 * MS);
        assert_eq!(
            l.check(Some("http://b"), None, true, t),
            Err(Some(t + 500 * MS))
        );
        assert_eq!(
            l.check(Some("http://b"), None, false, t),
            Ok(()),
            "unlimited ones go"
        );
        l.hold(Holding::Rate, None, None, t + 30 * MS);
        assert_eq!(l.rate_gate(t), Some(t + 30 * MS));
    }

    #[test]
    fn nothing_is_kept_without_limits() {
        let mut l = Limits::new(&policy());
        let t = Instant::now();
        for _ in 0..10 {
            l.start(Some("http://a"), None, t);
        }
        assert_eq!(l.check(Some("http://a"), None, false, t), Ok(()));
        assert!(l.in_host.is_empty() && l.last.is_empty());
    }

    #[test]
    fn a_delay_counts_from_when_the_last_request_went_out() {
        let mut p = policy();
        p.delay = Some(100 * MS);
        let mut l = Limits::new(&p);
        let t0 = Instant::now();
        assert!(l.start(Some("http://a"), None, t0));
        // Its connection is being made: the next waits for it to go out, however long.
        let later = t0 + 300 * MS;
        assert_eq!(l.check(Some("http://a"), None, false, later), Err(None));
        assert_eq!(l.check(Some("http://b"), None, false, later), Ok(()));
        l.went_out("http://a", later);
        assert_eq!(
            l.check(Some("http://a"), None, false, later),
            Err(Some(later + 100 * MS)),
            "the delay counts from when it went out, not from its start"
        );
        assert_eq!(
            l.check(Some("http://a"), None, false, later + 100 * MS),
            Ok(())
        );
        // Told late (a poller's turn later), the earlier time does not move it back.
        l.went_out("http://a", t0);
        assert_eq!(
            l.check(Some("http://a"), None, false, later),
            Err(Some(later + 100 * MS))
        );
    }
}
