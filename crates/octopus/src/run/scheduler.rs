//! The scheduler: every decision of a run, with no threads and no clock of its own (`now`
//! is passed in), so that it can be tested step by step. The engine (`engine.rs`) runs it
//! under one lock and its workers ask it for their next task.
//!
//! Invariants:
//! - every admitted request leaves exactly once, as a `Delivery` (handed to a worker) or as
//!   a `Fetch` whose `finished` call returns its delivery or schedules a retry;
//! - a request that must wait never holds a worker: it waits in the window (at most
//!   `lookahead` requests are looked at; the rest wait in the backlog, in order), or between
//!   retries in a timer queue;
//! - limits count from the start of an attempt to its end (`Limits`), so they are never
//!   exceeded; with no limit set the oldest request always starts first; a start the shared
//!   limiter refuses is undone (`defer`) and waits in the window again;
//! - repeats are merged here and only here: a cache hit is delivered at once, and a repeat
//!   of a URL being fetched (or retried) waits for that fetch's final outcome;
//! - after `stop`, nothing starts: waiting requests are delivered as `cancelled`, and those
//!   waiting for a retry with their last outcome.

use std::cmp::Reverse;
use std::collections::hash_map::RandomState;
use std::collections::{BinaryHeap, VecDeque};

use foldhash::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cache::Cache;
use super::job::{Delivery, Effort, Job, Ticket};
use super::limits::Limits;
use crate::failure::{ErrorKind, Failure};
use crate::policy::Policy;
use crate::response::{Outcome, Shared};
use crate::settings::Settings;
use crate::shared::Hold;
use crate::status::StatusSet;

/// What a worker should do next.
pub(crate) enum Task {
    /// Hand a settled response to its consumer.
    Deliver(Delivery),
    /// Fetch this job, then report with `Scheduler::finished`.
    Fetch(Job),
    /// Nothing to do now; look again at the given time (a rate, delay or retry timer), or
    /// when something changes.
    Idle(Option<Instant>),
}

pub(crate) struct Scheduler {
    policy: Policy,
    ok_status: StatusSet,
    cache: Option<Cache>,
    limits: Limits,
    window: VecDeque<Job>,
    backlog: VecDeque<Job>,
    deliveries: VecDeque<Delivery>,
    retries: BinaryHeap<Reverse<(Instant, u64)>>,
    retrying: HashMap<u64, Job>,
    /// URLs being fetched (or retried), with the repeats waiting for their outcome.
    leaders: HashMap<Arc<str>, Vec<Job>>,
    /// The earliest time a limit (rate, delay) named during the last scan of the window.
    scan_wake: Option<Instant>,
    /// Jobs started and not finished.
    fetching: usize,
    /// The most jobs fetched at once.
    concurrency: usize,
    /// Times the shared limiter held a started job back.
    shared_waits: u64,
    stopped: bool,
    jitter: RandomState,
}

impl Scheduler {
    pub fn new(settings: &Settings) -> Self {
        Scheduler {
            policy: settings.policy.clone(),
            ok_status: settings.ok_status.clone(),
            cache: settings.cache.map(Cache::new),
            limits: Limits::new(&settings.policy),
            window: VecDeque::new(),
            backlog: VecDeque::new(),
            deliveries: VecDeque::new(),
            retries: BinaryHeap::new(),
            retrying: HashMap::default(),
            leaders: HashMap::default(),
            scan_wake: None,
            fetching: 0,
            concurrency: settings.concurrency.max(1),
            shared_waits: 0,
            stopped: false,
            jitter: RandomState::new(),
        }
    }

    /// Take a request to fetch: it waits in the window (or the backlog behind it).
    pub fn admit(&mut self, job: Job, now: Instant) {
        if self.stopped {
            let delivery = self.conclude(job, cancelled(), now);
            self.deliveries.push_back(delivery);
        } else if self.window.len() < self.policy.lookahead {
            self.window.push_back(job);
        } else {
            self.backlog.push_back(job);
        }
    }

    /// Take a request that cannot be fetched (its URL is invalid): its failure is its outcome.
    pub fn refuse(&mut self, ticket: Ticket, failure: Failure, now: Instant) {
        let delivery = ticket.settle(
            Arc::new(Outcome::Failed(failure)),
            now,
            Effort::default(),
            &self.ok_status,
        );
        self.deliveries.push_back(delivery);
    }

    /// The next task: a delivery if one is waiting, else the oldest job in the window that
    /// the cache answers, or that may start now. A repeat of a URL in flight joins it.
    pub fn next_task(&mut self, now: Instant) -> Task {
        self.promote_due_retries(now);
        if let Some(delivery) = self.deliveries.pop_front() {
            return Task::Deliver(delivery);
        }
        if self.fetching >= self.concurrency {
            // A fetch ending takes the next task.
            return Task::Idle(None);
        }
        let gate = self.limits.rate_gate(now);
        let mut wake = self.retries.peek().map(|Reverse((due, _))| *due);
        self.scan_wake = None;
        let mut i = 0;
        while i < self.window.len() {
            match self.merge(i, now) {
                Merge::Answered(delivery) => return Task::Deliver(delivery),
                Merge::Joined => continue,
                Merge::Apart => {}
            }
            if self.limits.delays_hosts() && self.window[i].host.is_none() {
                // A host's own delay came after the job was made: it counts by host now.
                let job = &mut self.window[i];
                job.host = Some(job.url.origin().ascii_serialization());
            }
            let job = &self.window[i];
            let verdict = match gate {
                Some(t) => Err(Some(t)),
                None => self
                    .limits
                    .check(job.host.as_deref(), job.limit, job.shared, now),
            };
            match verdict {
                Ok(()) => {
                    if let Some(job) = self.start(i, now) {
                        return Task::Fetch(job);
                    }
                }
                Err(when) => {
                    self.window[i].held = true;
                    if let Some(t) = when {
                        self.scan_wake = Some(self.scan_wake.map_or(t, |w| w.min(t)));
                        wake = Some(wake.map_or(t, |w| w.min(t)));
                    }
                    i += 1;
                }
            }
        }
        Task::Idle(wake)
    }

    /// Whether the job at `i` is answered by the cache or joins a fetch of its URL in
    /// flight (both take it out of the window).
    fn merge(&mut self, i: usize, now: Instant) -> Merge {
        let Some(job) = self.window.get(i) else {
            return Merge::Apart;
        };
        // A job back for a retry leads its URL already.
        let (Some(cache), Some(key)) = (&self.cache, job.key.as_ref().filter(|_| !job.leads))
        else {
            return Merge::Apart;
        };
        if let Some(hit) = cache.get(key, now) {
            let Some(mut job) = self.leave_window(i, now) else {
                return Merge::Apart;
            };
            job.effort.cached = true;
            return Merge::Answered(job.settle(hit, now, &self.ok_status));
        }
        let Some(key) = self.leaders.contains_key(key).then(|| Arc::clone(key)) else {
            return Merge::Apart;
        };
        if let Some(job) = self.leave_window(i, now)
            && let Some(followers) = self.leaders.get_mut(&key)
        {
            followers.push(job);
        }
        Merge::Joined
    }

    /// Take the job at `i` out of the window (counting the time a limit held it), and let
    /// the backlog's first move in.
    fn leave_window(&mut self, i: usize, now: Instant) -> Option<Job> {
        let mut job = self.window.remove(i)?;
        if job.held {
            job.effort.waited += now.saturating_duration_since(job.queued);
        }
        if let Some(next) = self.backlog.pop_front() {
            self.window.push_back(next);
        }
        Some(job)
    }

    /// Start the job at `i`: it holds its limits, and leads the repeats of its URL.
    fn start(&mut self, i: usize, now: Instant) -> Option<Job> {
        let mut job = self.leave_window(i, now)?;
        job.spaced = self.limits.start(job.host.as_deref(), job.limit, now);
        self.fetching += 1;
        job.effort.attempts += 1;
        if let Some(key) = &job.key {
            self.leaders.entry(Arc::clone(key)).or_default();
            job.leads = true;
        }
        Some(job)
    }

    /// A fetch ended. Returns the job's delivery, or `None` when it will be retried.
    pub fn finished(&mut self, mut job: Job, outcome: Outcome, now: Instant) -> Option<Delivery> {
        if let Some(host) = job.leaving_host() {
            // Not told when it went out (it failed before, or was answered at once): the
            // delay counts from its end.
            self.limits.went_out(host, now);
        }
        self.limits.release(job.host.as_deref(), job.limit);
        self.fetching -= 1;
        if matches!(outcome, Outcome::Skipped(_)) {
            // Its file was there: the attempt it was started for was not made.
            job.effort.attempts -= 1;
        }
        let outcome: Shared = Arc::new(outcome);
        let jitter = self.jitter(&job);
        let retry = self
            .policy
            .retry
            .wait_before_retry(&outcome, job.effort.attempts, jitter);
        match retry.filter(|_| !self.stopped) {
            Some(after) => {
                job.effort.waited += after;
                job.last = Some(outcome);
                let due = now.checked_add(after).unwrap_or(now);
                let id = job.ticket.id;
                self.retries.push(Reverse((due, id)));
                self.retrying.insert(id, job);
                None
            }
            None => Some(self.conclude(job, outcome, now)),
        }
    }

    /// The shared limiter held a started job back (`hold`): it did not start after all. It
    /// goes back to the front of the window, and what the hold names waits with it. Returns
    /// its delivery when the run was stopped meanwhile.
    pub fn defer(&mut self, mut job: Job, hold: Hold, now: Instant) -> Option<Delivery> {
        if let Some(host) = job.leaving_host() {
            self.limits.not_sent(host);
        }
        self.limits.release(job.host.as_deref(), job.limit);
        self.fetching -= 1;
        job.effort.attempts -= 1;
        self.shared_waits += 1;
        if self.stopped {
            return Some(self.conclude(job, cancelled(), now));
        }
        let until = now.checked_add(hold.after).unwrap_or(now);
        self.limits
            .hold(hold.what, job.host.as_deref(), job.limit, until);
        job.queued = now;
        job.held = true;
        self.window.push_front(job);
        None
    }

    /// Times the shared limiter held a request back.
    pub fn shared_waits(&self) -> u64 {
        self.shared_waits
    }

    /// Settle a job with its final outcome. When it leads its URL, the outcome goes into the
    /// cache and to the repeats that waited for it.
    fn conclude(&mut self, job: Job, outcome: Shared, now: Instant) -> Delivery {
        if let Some(key) = job.key.as_ref().filter(|_| job.leads) {
            if let Some(cache) = &mut self.cache {
                cache.insert(Arc::clone(key), &outcome, now);
            }
            for mut follower in self.leaders.remove(key).unwrap_or_default() {
                follower.effort.cached = true;
                let delivery = follower.settle(Arc::clone(&outcome), now, &self.ok_status);
                self.deliveries.push_back(delivery);
            }
        }
        job.settle(outcome, now, &self.ok_status)
    }

    /// A request to `host` spaced by a delay went out `at` (later than it was started: its
    /// connection was being made, or its worker was slow to send it): the host's delay
    /// counts from then, and the host's next request may start then.
    pub fn went_out(&mut self, host: &str, at: Instant) {
        self.limits.went_out(host, at);
    }

    /// At least `delay` between two starts to `host` (`scheme://host:port`) from now on.
    pub fn delay_host(&mut self, host: &str, delay: Duration) {
        self.limits.delay_host(host, delay);
    }

    /// Start nothing more: deliver what waits as cancelled, and what waits for a retry with
    /// its last outcome.
    pub fn stop(&mut self, now: Instant) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let waiting: Vec<Job> = self
            .window
            .drain(..)
            .chain(self.backlog.drain(..))
            .collect();
        for job in waiting {
            let delivery = self.conclude(job, cancelled(), now);
            self.deliveries.push_back(delivery);
        }
        self.retries.clear();
        let retrying: Vec<Job> = self.retrying.drain().map(|(_, job)| job).collect();
        for mut job in retrying {
            let last = job.last.take().unwrap_or_else(cancelled);
            let delivery = self.conclude(job, last, now);
            self.deliveries.push_back(delivery);
        }
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Jobs being fetched now.
    pub fn in_flight(&self) -> usize {
        self.fetching
    }

    fn promote_due_retries(&mut self, now: Instant) {
        while let Some(Reverse((due, id))) = self.retries.peek().copied() {
            if due > now {
                break;
            }
            self.retries.pop();
            if let Some(mut job) = self.retrying.remove(&id) {
                job.queued = now;
                job.held = false;
                job.last = None;
                self.window.push_front(job);
            }
        }
    }

    /// How many tasks a worker could take here now: deliveries, and jobs in the window (some
    /// of which limits may hold back) up to the room left under the concurrency (one slot
    /// freed is one task, however long the window). What the engine sizes and wakes its
    /// workers by.
    pub fn tasks(&self) -> usize {
        let room = self.concurrency.saturating_sub(self.fetching);
        self.deliveries.len() + self.window.len().min(room)
    }

    /// The earliest timer: a retry falling due, or a rate or delay found by the last scan.
    pub fn next_wake(&self) -> Option<Instant> {
        let retry = self.retries.peek().map(|Reverse((due, _))| *due);
        match (retry, self.scan_wake) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Nothing waits here any more (fetches in flight may still end and deliver).
    pub fn is_drained(&self) -> bool {
        self.window.is_empty()
            && self.backlog.is_empty()
            && self.deliveries.is_empty()
            && self.retrying.is_empty()
    }

    /// Between 0 and 1, different for each job and attempt, unpredictable across runs.
    fn jitter(&self, job: &Job) -> f64 {
        let h = self.jitter.hash_one((job.ticket.id, job.effort.attempts));
        (h % 1024) as f64 / 1023.0
    }
}

/// What `merge` did with a job.
enum Merge {
    /// The cache answered it.
    Answered(Delivery),
    /// It waits for the fetch of its URL in flight.
    Joined,
    /// Neither: it is fetched on its own.
    Apart,
}

fn cancelled() -> Shared {
    Arc::new(Outcome::Failed(Failure::new(
        ErrorKind::Cancelled,
        "the run was stopped before this request started",
    )))
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;
