//! The scheduler's decisions, step by step, with an injected clock (`t0` plus offsets).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;
use crate::policy::PrefixLimit;
use crate::response::Response;
use crate::run::job::Consumer;
use crate::run::tests::{fetched, policy};
use crate::settings::CacheSettings;

const MS: Duration = Duration::from_millis(1);

fn settings(policy: Policy, cache: bool) -> Settings {
    let client = crate::http::ClientSettings {
        method: http::Method::GET,
        headers: vec![],
        body: None,
        user_agent: "octopus/test".into(),
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(5),
        max_redirects: 10,
        max_body: 1 << 20,
        capture: Default::default(),
        keep_headers: false,
        warc: None,
        insecure: false,
        roots: None,
        client_cert: None,
        proxies: crate::http::ProxyRules::default(),
        proxy_roots: None,
        proxy_insecure: false,
        proxy_tunnel: false,
        http_version: crate::HttpVersion::Auto,
        coalesce_hosts: true,
        resolve: vec![],
        dns_servers: vec![],
        dns_concurrency: 1,
        pool_shards: 1,
        idle_per_shard: 4,
        idle_most: 4,
    };
    Settings {
        concurrency: 8,
        client,
        cache: cache.then_some(CacheSettings {
            ttl: Duration::from_secs(30),
            capacity: 100,
        }),
        ok_status: StatusSet::new(vec![(200, 399)]),
        policy,
        shard: None,
        shared: None,
    }
}

/// A scheduler and the responses its deliveries would hand out.
struct Bench {
    s: Scheduler,
    settings: Settings,
    ids: u64,
    seen: Arc<Mutex<Vec<Response>>>,
}

impl Bench {
    fn new(policy: Policy, cache: bool) -> Bench {
        let settings = settings(policy, cache);
        Bench {
            s: Scheduler::new(&settings),
            settings,
            ids: 0,
            seen: Arc::default(),
        }
    }

    fn admit(&mut self, url: &str, now: Instant) {
        self.ids += 1;
        let seen = Arc::clone(&self.seen);
        let ticket = Ticket {
            id: self.ids,
            shown: url.to_string(),
            origin: None,
            consumer: Consumer::Handler(Box::new(move |r| seen.lock().unwrap().push(r))),
            taken: now,
        };
        let keyed = self.settings.cache.is_some();
        let job = Job::new(
            ticket,
            url.parse().unwrap(),
            &self.settings.policy,
            keyed,
            false,
        );
        self.s.admit(job, now);
    }

    /// The next task must be a fetch: its URL.
    fn fetch(&mut self, now: Instant) -> Job {
        match self.s.next_task(now) {
            Task::Fetch(job) => job,
            Task::Deliver(d) => panic!("expected a fetch, got a delivery of {}", d.response.url()),
            Task::Idle(wake) => panic!("expected a fetch, got idle until {wake:?}"),
        }
    }

    fn idle(&mut self, now: Instant) -> Option<Instant> {
        match self.s.next_task(now) {
            Task::Idle(wake) => wake,
            Task::Fetch(job) => panic!("expected idle, got a fetch of {}", job.url),
            Task::Deliver(d) => panic!("expected idle, got a delivery of {}", d.response.url()),
        }
    }

    /// Hand every waiting delivery to its consumer; the responses so far.
    fn deliveries(&mut self, now: Instant) -> Vec<Response> {
        while let Task::Deliver(d) = self.s.next_task(now) {
            d.consumer.consume(d.response);
        }
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

fn answer(status: u16) -> Outcome {
    Outcome::Answered(fetched(status))
}

fn done(delivery: Option<Delivery>) -> Response {
    let d = delivery.expect("a final outcome");
    d.response
}

#[test]
fn without_limits_the_oldest_starts_first() {
    let t0 = Instant::now();
    let mut b = Bench::new(policy(), false);
    b.admit("http://a/1", t0);
    b.admit("http://a/2", t0);
    assert_eq!(b.fetch(t0).url.as_str(), "http://a/1");
    assert_eq!(b.fetch(t0).url.as_str(), "http://a/2");
    assert_eq!(b.idle(t0), None);
}

#[test]
fn no_more_than_the_concurrency_are_fetched_at_once() {
    let t0 = Instant::now();
    let mut b = Bench::new(policy(), false);
    let c = b.settings.concurrency;
    for i in 0..c + 3 {
        b.admit(&format!("http://h{i}/"), t0);
    }
    let started: Vec<Job> = (0..c).map(|_| b.fetch(t0)).collect();
    assert_eq!(b.s.tasks(), 0, "nothing a worker could take");
    assert_eq!(b.idle(t0), None, "the rest wait for a fetch to end");
    let first = started.into_iter().next().unwrap();
    done(b.s.finished(first, answer(200), t0));
    assert_eq!(b.s.tasks(), 1, "one slot freed is one task, three wait");
    assert_eq!(b.fetch(t0).url.as_str(), format!("http://h{c}/"));
}

#[test]
fn a_host_at_its_limit_waits_and_others_pass_it() {
    let t0 = Instant::now();
    let mut p = policy();
    p.per_host = Some(1);
    let mut b = Bench::new(p, false);
    b.admit("http://a/1", t0);
    b.admit("http://a/2", t0);
    b.admit("http://b/1", t0);
    let a1 = b.fetch(t0);
    assert_eq!(
        b.fetch(t0).url.as_str(),
        "http://b/1",
        "b passes the held a/2"
    );
    assert_eq!(b.idle(t0), None, "a/2 waits for a slot, not a timer");
    let r = done(b.s.finished(a1, answer(200), t0 + 40 * MS));
    assert_eq!((r.attempts(), r.waited()), (1, Duration::ZERO));
    let a2 = b.fetch(t0 + 40 * MS);
    assert_eq!(a2.url.as_str(), "http://a/2");
    assert_eq!(a2.effort.waited, 40 * MS, "held from t0 to its start");
}

#[test]
fn the_first_matching_prefix_limit_counts() {
    let t0 = Instant::now();
    let mut p = policy();
    p.limits = vec![
        PrefixLimit {
            prefix: "http://a/".into(),
            max: 1,
        },
        PrefixLimit {
            prefix: "http://a/x/".into(),
            max: 10,
        },
    ];
    let mut b = Bench::new(p, false);
    b.admit("http://a/x/1", t0);
    b.admit("http://a/x/2", t0);
    b.admit("http://c/", t0);
    let first = b.fetch(t0);
    assert_eq!(b.fetch(t0).url.as_str(), "http://c/");
    assert_eq!(b.idle(t0), None);
    let _ = b.s.finished(first, answer(200), t0);
    assert_eq!(b.fetch(t0).url.as_str(), "http://a/x/2");
}

#[test]
fn the_rate_spaces_starts_and_names_the_next_time() {
    let t0 = Instant::now();
    let mut p = policy();
    p.interval = Some(100 * MS);
    let mut b = Bench::new(p, false);
    for i in 0..3 {
        b.admit(&format!("http://a/{i}"), t0);
    }
    b.fetch(t0);
    assert_eq!(b.idle(t0 + 10 * MS), Some(t0 + 100 * MS));
    assert_eq!(b.s.next_wake(), Some(t0 + 100 * MS));
    let second = b.fetch(t0 + 100 * MS);
    assert_eq!(second.effort.waited, 100 * MS, "held by the rate since t0");
    assert_eq!(b.idle(t0 + 150 * MS), Some(t0 + 200 * MS));
}

#[test]
fn the_delay_holds_one_host_only() {
    let t0 = Instant::now();
    let mut p = policy();
    p.delay = Some(250 * MS);
    let mut b = Bench::new(p, false);
    b.admit("http://a/1", t0);
    b.admit("http://a/2", t0);
    b.admit("http://b/1", t0);
    let first = b.fetch(t0);
    assert!(first.spaced, "its worker tells when it went out");
    assert_eq!(b.fetch(t0).url.as_str(), "http://b/1");
    assert_eq!(b.idle(t0 + 100 * MS), None, "a/1 has not gone out yet");
    b.s.went_out("http://a", t0 + 10 * MS);
    assert_eq!(b.idle(t0 + 100 * MS), Some(t0 + 260 * MS));
    let second = b.fetch(t0 + 260 * MS);
    assert_eq!(second.url.as_str(), "http://a/2");
    let _ = b.s.finished(first, answer(200), t0 + 300 * MS);
    // Ended without being told it went out (a failure before it did): the delay counts
    // from its end.
    b.admit("http://a/3", t0 + 300 * MS);
    let refused = Failure::new(ErrorKind::Connect, "refused");
    let _ =
        b.s.finished(second, Outcome::Failed(refused), t0 + 400 * MS);
    assert_eq!(b.idle(t0 + 400 * MS), Some(t0 + 650 * MS));
}

#[test]
fn retries_wait_on_a_timer_then_count_their_attempts() {
    let t0 = Instant::now();
    let mut p = policy();
    p.retry.retries = 2;
    p.retry.max_wait = 500 * MS;
    let mut b = Bench::new(p, false);
    b.admit("http://a/flaky", t0);
    let job = b.fetch(t0);
    let mut busy = fetched(503);
    busy.retry_after = Some(Duration::from_secs(2));
    assert!(
        b.s.finished(job, Outcome::Answered(busy), t0).is_none(),
        "a retry, no delivery"
    );
    let due = t0 + 500 * MS;
    assert_eq!(
        b.idle(t0 + 100 * MS),
        Some(due),
        "Retry-After capped at max_wait"
    );
    let job = b.fetch(due);
    assert_eq!(job.effort.attempts, 2);
    let r = done(b.s.finished(job, answer(200), due + 10 * MS));
    assert_eq!((r.status(), r.attempts()), (Some(200), 2));
    assert_eq!(r.waited(), 500 * MS);
    assert_eq!(r.elapsed(), 510 * MS);
}

#[test]
fn repeats_wait_for_the_fetch_in_flight_then_come_from_the_cache() {
    let t0 = Instant::now();
    let mut b = Bench::new(policy(), true);
    b.admit("http://a/", t0);
    b.admit("http://a/", t0 + MS);
    let job = b.fetch(t0);
    assert_eq!(b.idle(t0), None, "the repeat holds no task");
    let leader = done(b.s.finished(job, answer(200), t0 + 30 * MS));
    assert!(!leader.cached());
    let follower = b.deliveries(t0 + 30 * MS);
    assert_eq!(follower.len(), 1);
    assert!(follower[0].cached());
    assert_eq!(follower[0].attempts(), 0);
    assert_eq!(follower[0].elapsed(), 29 * MS);

    b.admit("http://a/", t0 + 40 * MS);
    let hit = b.deliveries(t0 + 40 * MS);
    assert!(hit[0].cached() && hit[0].status() == Some(200));
}

#[test]
fn transport_failures_go_to_the_waiting_repeats_but_are_not_kept() {
    let t0 = Instant::now();
    let mut b = Bench::new(policy(), true);
    b.admit("http://a/", t0);
    b.admit("http://a/", t0);
    let job = b.fetch(t0);
    assert_eq!(b.idle(t0), None, "the repeat joins the fetch in flight");
    let refused = Failure::new(ErrorKind::Connect, "refused");
    let _ = b.s.finished(job, Outcome::Failed(refused), t0);
    assert_eq!(
        b.deliveries(t0)[0].error().map(Failure::kind),
        Some(ErrorKind::Connect)
    );
    b.admit("http://a/", t0);
    assert_eq!(b.fetch(t0).url.as_str(), "http://a/", "fetched again");
}

#[test]
fn the_window_looks_ahead_at_most_lookahead_jobs() {
    let t0 = Instant::now();
    let mut p = policy();
    p.per_host = Some(1);
    p.lookahead = 2;
    let mut b = Bench::new(p, false);
    for url in ["http://a/1", "http://a/2", "http://a/3", "http://b/1"] {
        b.admit(url, t0);
    }
    let a1 = b.fetch(t0);
    assert_eq!(b.idle(t0), None, "b/1 is past the look-ahead");
    let _ = b.s.finished(a1, answer(200), t0);
    b.fetch(t0);
    assert_eq!(
        b.fetch(t0).url.as_str(),
        "http://b/1",
        "it moved into the window"
    );
}

#[test]
fn stop_cancels_what_waits_and_settles_what_awaits_a_retry() {
    let t0 = Instant::now();
    let mut p = policy();
    p.per_host = Some(1);
    p.retry.retries = 1;
    let mut b = Bench::new(p, false);
    b.admit("http://a/1", t0);
    b.admit("http://a/2", t0);
    b.admit("http://b/1", t0);
    let a1 = b.fetch(t0);
    let b1 = b.fetch(t0);
    assert!(b.s.finished(b1, answer(503), t0).is_none());
    b.s.stop(t0);
    let mut settled = b.deliveries(t0);
    settled.sort_by(|x, y| x.url().cmp(y.url()));
    let kinds: Vec<_> = settled
        .iter()
        .map(|r| (r.url(), r.status(), r.error().map(Failure::kind)))
        .collect();
    assert_eq!(
        kinds,
        [
            ("http://a/2", None, Some(ErrorKind::Cancelled)),
            ("http://b/1", Some(503), None),
        ]
    );
    let r = done(b.s.finished(a1, answer(200), t0));
    assert_eq!(
        r.status(),
        Some(200),
        "in flight at the stop: delivered as usual"
    );
    b.admit("http://c/", t0);
    let late = b.deliveries(t0);
    assert_eq!(
        late[0].error().map(Failure::kind),
        Some(ErrorKind::Cancelled)
    );
    assert!(b.s.is_drained());
}

#[test]
fn a_start_the_shared_limiter_refuses_waits_without_a_worker_and_others_pass_it() {
    use crate::shared::{Hold, Holding};
    let t0 = Instant::now();
    let mut p = policy();
    p.per_host = Some(4);
    let mut b = Bench::new(p, false);
    b.admit("http://a/1", t0);
    b.admit("http://a/2", t0);
    b.admit("http://b/1", t0);
    let a1 = b.fetch(t0);
    assert_eq!(a1.url.as_str(), "http://a/1");
    // Redis says host a is full for 20 ms: a/1 goes back, and a/2 does not ask in vain.
    let hold = Hold {
        after: 20 * MS,
        what: Holding::Host,
    };
    assert!(b.s.defer(a1, hold, t0).is_none());
    assert_eq!(b.s.in_flight(), 0, "it holds no worker and no local slot");
    assert_eq!(
        b.fetch(t0).url.as_str(),
        "http://b/1",
        "the other host goes first"
    );
    assert_eq!(b.idle(t0), Some(t0 + 20 * MS));
    let again = b.fetch(t0 + 20 * MS);
    assert_eq!(again.url.as_str(), "http://a/1", "first in line again");
    assert_eq!(
        again.effort.attempts, 1,
        "a refused start is not an attempt"
    );
    let response = done(b.s.finished(again, answer(200), t0 + 30 * MS));
    assert_eq!(response.waited(), 20 * MS, "the hold counts as waiting");
    assert_eq!(b.s.shared_waits(), 1);
}

#[test]
fn a_start_the_shared_limiter_refuses_does_not_hold_its_host_for_the_delay() {
    use crate::shared::{Hold, Holding};
    let t0 = Instant::now();
    let mut p = policy();
    p.delay = Some(100 * MS);
    let mut b = Bench::new(p, false);
    b.admit("http://a/1", t0);
    let a1 = b.fetch(t0);
    assert!(a1.spaced);
    let hold = Hold {
        after: 20 * MS,
        what: Holding::Host,
    };
    assert!(b.s.defer(a1, hold, t0).is_none());
    // It was not sent: only the hold keeps it back (not a departure that never comes).
    assert_eq!(b.idle(t0), Some(t0 + 20 * MS));
    assert_eq!(b.fetch(t0 + 20 * MS).url.as_str(), "http://a/1");
}
