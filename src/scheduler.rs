//! The polite path: one dispatcher thread decides when each URL may start, under
//! `--per-host`, `--limit`, `--rate`, `--delay` and `--retries`; workers only fetch.
//!
//! Invariants: a URL that must wait never holds a worker: it waits in the dispatcher's
//! window (at most `lookahead` lines past the first waiting one; beyond that, input is not
//! read) or, between retries, in a timer queue; limits are counted from dispatch to the
//! end of that attempt, so they are never exceeded; every line gets exactly one record,
//! with the time it waited and the attempts it took. Repeats of a URL whose fetch is in
//! flight wait here too and get that fetch's final outcome (after its retries).

use std::cmp::Reverse;
use std::collections::hash_map::RandomState;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, never, select};
use url::Url;

use crate::engine::{Worker, parse_line};
use crate::feed::Feed;
use crate::input::Line;
use crate::record::{Outcome, Record};

/// A URL on its way through the scheduler.
pub struct Job {
    line: Line,
    url: Url,
    shown: String,
    /// `scheme://host:port`: what `--per-host` and `--delay` count by.
    host: String,
    limit: Option<usize>,
    /// When the line was taken up (the record's `elapsed` counts from here).
    taken: Instant,
    /// When it last started waiting in the window.
    queued: Instant,
    /// Whether a limit held it back during this stay in the window.
    held: bool,
    waited: Duration,
    attempts: u32,
}

/// What a worker reports back: the slot is free again, and maybe the job wants a retry.
pub enum Done {
    Finished {
        host: String,
        limit: Option<usize>,
        url: String,
        outcome: Outcome,
    },
    Retry {
        job: Box<Job>,
        after: Duration,
    },
}

/// The polite path's halves, on the engine's shared worker context.
impl Worker<'_> {
    /// A worker: fetch what the dispatcher hands out; report each attempt's end.
    pub(crate) fn work_scheduled(
        &self,
        jobs: &Receiver<Job>,
        done: &Sender<Done>,
        records: &Sender<Record>,
    ) {
        let random = RandomState::new();
        for mut job in jobs.iter() {
            if self.stop.is_stopped() {
                return;
            }
            job.attempts += 1;
            let outcome = self.client.fetch(&job.url);
            let jitter = (random.hash_one((job.line.number, job.attempts)) % 1024) as f64 / 1023.0;
            if let Some(after) =
                self.config
                    .policy
                    .retry
                    .wait_before_retry(&outcome, job.attempts, jitter)
            {
                if !self.stop.is_stopped() {
                    let _ = done.send(Done::Retry {
                        job: Box::new(job),
                        after,
                    });
                    continue;
                }
            }
            let outcome = Arc::new(outcome);
            let mut record = self.record(&job.line, job.shown, Arc::clone(&outcome));
            record.elapsed = job.taken.elapsed();
            record.waited = job.waited;
            record.attempts = job.attempts;
            if records.send(record).is_err() {
                return;
            }
            let finished = Done::Finished {
                host: job.host,
                limit: job.limit,
                url: job.url.into(),
                outcome,
            };
            let _ = done.send(finished);
        }
    }

    /// The dispatcher: runs until the input, the window, the retries and the requests in
    /// flight are all done, or the run is stopped. Dropping `jobs` then ends the workers.
    pub(crate) fn dispatch(
        &self,
        feed: &Feed,
        jobs: Sender<Job>,
        done: &Receiver<Done>,
        records: &Sender<Record>,
    ) {
        let mut d = Dispatcher::new(self);
        let mut input_open = true;
        loop {
            if self.stop.is_stopped() {
                return;
            }
            d.promote_due_retries();
            let wake = d.dispatch(&jobs);
            if !input_open && d.is_idle() {
                return;
            }
            let room = input_open && d.window.len() < self.config.policy.lookahead;
            let batches = if room { feed.batches() } else { &never() };
            let timeout = wake.map_or(Duration::from_secs(3600), |t| {
                t.saturating_duration_since(Instant::now())
            });
            select! {
                recv(batches) -> batch => match batch {
                    Ok(lines) => {
                        for line in lines {
                            d.take(line, records);
                        }
                    }
                    Err(_) => input_open = false,
                },
                recv(done) -> report => {
                    if let Ok(report) = report {
                        d.finished(report, records);
                    }
                },
                recv(self.stop.waiter()) -> _ => return,
                default(timeout) => {},
            }
        }
    }
}

struct Dispatcher<'s, 'a> {
    s: &'s Worker<'a>,
    window: VecDeque<Job>,
    retries: BinaryHeap<Reverse<(Instant, u64)>>,
    retry_jobs: HashMap<u64, Box<Job>>,
    retry_seq: u64,
    in_flight: usize,
    per_host: HashMap<String, usize>,
    per_limit: Vec<usize>,
    last_start: HashMap<String, Instant>,
    next_start: Instant,
    /// URLs being fetched (for coalescing), with the lines waiting on them.
    leading: HashMap<String, Vec<(Line, String, Instant)>>,
}

impl<'s, 'a> Dispatcher<'s, 'a> {
    fn new(s: &'s Worker<'a>) -> Self {
        Dispatcher {
            s,
            window: VecDeque::new(),
            retries: BinaryHeap::new(),
            retry_jobs: HashMap::new(),
            retry_seq: 0,
            in_flight: 0,
            per_host: HashMap::new(),
            per_limit: vec![0; s.config.policy.limits.len()],
            last_start: HashMap::new(),
            next_start: Instant::now(),
            leading: HashMap::new(),
        }
    }

    fn is_idle(&self) -> bool {
        self.window.is_empty() && self.retries.is_empty() && self.in_flight == 0
    }

    /// A line from the input: a record at once (invalid, cached), a follower of a fetch in
    /// flight, or a job in the window.
    fn take(&mut self, line: Line, records: &Sender<Record>) {
        let taken = Instant::now();
        let (url, shown) = match parse_line(&line) {
            Ok(target) => target,
            Err((shown, failure)) => {
                let _ = records.send(self.s.record(&line, shown, Arc::new(Err(failure))));
                return;
            }
        };
        if let Some(cache) = self.s.cache {
            if let Some(outcome) = cache.peek(&self.s.config.client.method, url.as_str()) {
                let mut record = self.s.record(&line, shown, outcome);
                record.cached = true;
                let _ = records.send(record);
                return;
            }
            if let Some(followers) = self.leading.get_mut(url.as_str()) {
                followers.push((line, shown, taken));
                return;
            }
            self.leading.insert(url.as_str().to_string(), Vec::new());
        }
        let host = url.origin().ascii_serialization();
        let limit = self.s.config.policy.limit_for(url.as_str());
        self.window.push_back(Job {
            line,
            url,
            shown,
            host,
            limit,
            taken,
            queued: taken,
            held: false,
            waited: Duration::ZERO,
            attempts: 0,
        });
    }

    fn promote_due_retries(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((due, seq))) = self.retries.peek().copied() {
            if due > now {
                break;
            }
            self.retries.pop();
            if let Some(mut job) = self.retry_jobs.remove(&seq) {
                job.queued = now;
                job.held = false;
                self.window.push_front(*job);
            }
        }
    }

    /// Start every job in the window that may start now, oldest first. Returns when the
    /// dispatcher should look again if nothing else happens (a rate, delay or retry timer).
    fn dispatch(&mut self, jobs: &Sender<Job>) -> Option<Instant> {
        let policy = &self.s.config.policy;
        let now = Instant::now();
        let mut wake = self.retries.peek().map(|Reverse((due, _))| *due);
        let mut i = 0;
        while i < self.window.len() && self.in_flight < self.s.config.concurrency {
            if policy.rate.is_some() && now < self.next_start {
                wake = min_time(wake, self.next_start);
                self.window.iter_mut().for_each(|j| j.held = true);
                break;
            }
            let job = &mut self.window[i];
            let host_full = policy
                .per_host
                .is_some_and(|max| self.per_host.get(&job.host).copied().unwrap_or(0) >= max);
            let limit_full = job
                .limit
                .is_some_and(|l| self.per_limit[l] >= policy.limits[l].max);
            let too_soon = policy.delay.and_then(|gap| {
                let next = *self.last_start.get(&job.host)? + gap;
                (next > now).then_some(next)
            });
            if host_full || limit_full || too_soon.is_some() {
                job.held = true;
                if let Some(t) = too_soon {
                    wake = min_time(wake, t);
                }
                i += 1;
                continue;
            }
            let Some(mut job) = self.window.remove(i) else {
                break;
            };
            if job.held {
                job.waited += now.duration_since(job.queued);
            }
            *self.per_host.entry(job.host.clone()).or_default() += 1;
            if let Some(l) = job.limit {
                self.per_limit[l] += 1;
            }
            if policy.delay.is_some() {
                self.last_start.insert(job.host.clone(), now);
            }
            if let Some(rate) = policy.rate {
                self.next_start = self.next_start.max(now) + rate.interval();
            }
            self.in_flight += 1;
            if jobs.send(job).is_err() {
                return None;
            }
        }
        if let Some(gap) = policy.delay
            && self.last_start.len() > 4096
        {
            self.last_start.retain(|_, t| now.duration_since(*t) < gap);
        }
        wake
    }

    fn release(&mut self, host: &str, limit: Option<usize>) {
        self.in_flight -= 1;
        if let Some(n) = self.per_host.get_mut(host) {
            *n -= 1;
            if *n == 0 {
                self.per_host.remove(host);
            }
        }
        if let Some(l) = limit {
            self.per_limit[l] -= 1;
        }
    }

    fn finished(&mut self, report: Done, records: &Sender<Record>) {
        match report {
            Done::Retry { mut job, after } => {
                self.release(&job.host, job.limit);
                job.waited += after;
                self.retry_seq += 1;
                self.retries
                    .push(Reverse((Instant::now() + after, self.retry_seq)));
                self.retry_jobs.insert(self.retry_seq, job);
            }
            Done::Finished {
                host,
                limit,
                url,
                outcome,
            } => {
                self.release(&host, limit);
                let Some(cache) = self.s.cache else { return };
                cache.store(&self.s.config.client.method, &url, &outcome);
                for (line, shown, taken) in self.leading.remove(&url).unwrap_or_default() {
                    let mut record = self.s.record(&line, shown, Arc::clone(&outcome));
                    record.cached = true;
                    record.elapsed = taken.elapsed();
                    let _ = records.send(record);
                }
            }
        }
    }
}

fn min_time(a: Option<Instant>, b: Instant) -> Option<Instant> {
    Some(a.map_or(b, |a| a.min(b)))
}
