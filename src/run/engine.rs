//! The engine: the scheduler under one lock, worker threads that ask it for tasks, and the
//! count of requests whose consumer has not returned yet (what `wait` waits for).
//!
//! Invariants:
//! - workers are plain threads (not a rayon pool: its idle work-stealing cost seconds of CPU
//!   at high concurrency, see ARCHITECTURE.md), started as work arrives, never more than the
//!   concurrency; one is started by `start`, so there is always one;
//! - a worker takes its next task itself when it finishes one, so a busy run needs no
//!   hand-off thread; idle workers wait on `work`, and at most one (the timekeeper) waits on
//!   `timer` for the earliest rate, delay or retry timer;
//! - the lock is never held during a fetch, a round trip to the shared limiter, or a
//!   consumer call;
//! - a consumer that panics is counted and the run goes on; `outstanding` counts it done.

use std::cell::Cell;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use super::Stats;
use super::job::{Consumer, Delivery, Job, Ticket};
use super::scheduler::{Scheduler, Task};
use super::waiting::{Resume, Waiting};
use crate::Error;
use crate::blocking::{self, Blocking};
use crate::http::{Client, Pending, Started};
use crate::input::Request;
use crate::response::Outcome;
use crate::settings::Settings;
use crate::shared::{Acquire, Ask, Hold, Lease, SharedLimits, unreachable_hold};

/// Stack for each worker thread: requests need little, and there may be thousands of workers.
const WORKER_STACK: usize = 512 * 1024;

/// The most workers one call of `nudge` starts.
const SPAWN_BATCH: usize = 8;

/// The fewest workers allowed to run at once (twice the cores, at least this).
const MIN_RUNNABLE: usize = 4;

thread_local! {
    /// Set while this thread runs a consumer (a handler), which `wait` must not block.
    static IN_HANDLER: Cell<bool> = const { Cell::new(false) };
}

pub(crate) struct Engine {
    state: Mutex<State>,
    /// Idle workers wait here.
    work: Condvar,
    /// The timekeeper waits here.
    timer: Condvar,
    /// `wait` waits here for `outstanding` to reach zero.
    settled: Condvar,
    client: Client,
    /// Requests sent that wait for their answer on no thread; started with the first.
    /// `None` if it could not start (requests then wait on their worker).
    waiting: OnceLock<Option<Arc<Waiting<Box<Resumable>>>>>,
    /// Limits shared with other processes through Redis, when asked for.
    shared: Option<SharedLimits>,
    /// The shared limiter stayed unreachable past its bound, and the run was stopped.
    limiter_lost: AtomicBool,
    pub(crate) settings: Settings,
    next_id: AtomicU64,
    /// Requests enqueued whose consumer has not returned yet (what `wait` waits for; it
    /// reaches zero under the lock, see `deliver`).
    outstanding: AtomicU64,
    handler_panics: AtomicU64,
    spawn_failures: AtomicU64,
    /// `close` was called (read by the waiting thread without the lock).
    closing: AtomicBool,
    /// Workers blocked in a wait that holds their thread (`blocking.rs`).
    blocked: AtomicUsize,
    /// As of the last `nudge`: tasks waiting, idle workers, workers (read without the lock
    /// by a worker about to block, to decide whether to take it).
    hints: [AtomicUsize; 3],
    /// How many workers may run (not blocked) at once.
    runnable: usize,
    other_shard: AtomicU64,
}

struct State {
    scheduler: Scheduler,
    /// Worker threads started (or being started) and not exited.
    workers: usize,
    /// Requests whose answer came (or whose deadline passed), for a worker to go on with.
    ready: VecDeque<Box<Resumable>>,
    /// Workers waiting on `work`.
    idle: usize,
    /// The worker waiting on `timer`: its token and until when.
    timekeeper: Option<(u64, Instant)>,
    tokens: u64,
    /// No handle is left: workers exit once nothing waits.
    closed: bool,
}

impl Engine {
    /// An engine for `settings` with its first worker running.
    pub fn start(
        settings: Settings,
        client: Client,
        shared: Option<SharedLimits>,
    ) -> Result<Arc<Engine>, Error> {
        let engine = Arc::new(Engine {
            state: Mutex::new(State {
                scheduler: Scheduler::new(&settings),
                workers: 1,
                ready: VecDeque::new(),
                idle: 0,
                timekeeper: None,
                tokens: 0,
                closed: false,
            }),
            work: Condvar::new(),
            timer: Condvar::new(),
            settled: Condvar::new(),
            client,
            waiting: OnceLock::new(),
            shared,
            limiter_lost: AtomicBool::new(false),
            settings,
            next_id: AtomicU64::new(0),
            outstanding: AtomicU64::new(0),
            handler_panics: AtomicU64::new(0),
            spawn_failures: AtomicU64::new(0),
            closing: AtomicBool::new(false),
            blocked: AtomicUsize::new(0),
            hints: Default::default(),
            runnable: std::thread::available_parallelism()
                .map_or(2, std::num::NonZero::get)
                .saturating_mul(2)
                .max(MIN_RUNNABLE),
            other_shard: AtomicU64::new(0),
        });
        engine.spawn_worker().map_err(Error::Thread)?;
        Ok(engine)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Take requests; each consumer receives its response, exactly once, on a worker thread.
    pub fn enqueue(self: &Arc<Self>, requests: Vec<(Request, Consumer)>) {
        let taken = Instant::now();
        // Prepared before taking the lock: the lock is held for as little as possible.
        let prepared: Vec<_> = requests
            .into_iter()
            .filter_map(|(request, consumer)| self.prepare(request, consumer, taken))
            .collect();
        self.outstanding
            .fetch_add(prepared.len() as u64, Ordering::SeqCst);
        let mut state = self.lock();
        for entry in prepared {
            match entry {
                Ok(job) => state.scheduler.admit(job, taken),
                Err((ticket, failure)) => state.scheduler.refuse(ticket, failure, taken),
            }
        }
        self.nudge(state);
    }

    /// A request's job, or its ticket and why it cannot be fetched; `None` for a request of
    /// another shard (dropped, counted).
    fn prepare(
        &self,
        request: Request,
        consumer: Consumer,
        taken: Instant,
    ) -> Option<Result<Job, (Ticket, crate::Failure)>> {
        let resolved = request.resolve();
        if let Some(shard) = &self.settings.shard
            && !shard.takes(resolved.url.as_ref().ok(), &resolved.shown)
        {
            self.other_shard.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let ticket = Ticket {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            shown: resolved.shown,
            origin: resolved.origin,
            consumer,
            taken,
        };
        Some(match resolved.url {
            Ok(url) => {
                let keyed = self.settings.cache.is_some();
                let shared = self.shared.is_some();
                Ok(Job::new(ticket, url, &self.settings.policy, keyed, shared))
            }
            Err(failure) => Err((ticket, failure)),
        })
    }

    /// Wake or start workers for work that is waiting, and make sure the earliest timer is
    /// kept. Releases the lock (workers may have to be started).
    ///
    /// Up to `SPAWN_BATCH` workers are started at a time, as many as tasks wait beyond the
    /// idle workers: each new worker does the same when it takes its first task, so a run
    /// reaches ten thousand workers in a few generations rather than one thread start after
    /// another (BENCHMARKS.md, W9).
    fn nudge(self: &Arc<Self>, mut state: MutexGuard<'_, State>) {
        let mut start = 0;
        let waiting = state.scheduler.waiting() + state.ready.len();
        if waiting > 0 {
            if state.idle > 0 {
                self.work.notify_one();
            } else if state.timekeeper.is_some() {
                self.timer.notify_one();
            }
            let room = self.settings.concurrency.saturating_sub(state.workers);
            let running = state
                .workers
                .saturating_sub(self.blocked.load(Ordering::Relaxed));
            start = waiting
                .saturating_sub(state.idle)
                .min(room)
                .min(SPAWN_BATCH)
                .min(self.runnable.saturating_sub(running));
            state.workers += start;
        }
        for (hint, value) in self.hints.iter().zip([waiting, state.idle, state.workers]) {
            hint.store(value, Ordering::Relaxed);
        }
        if let Some(wake) = state.scheduler.next_wake() {
            match state.timekeeper {
                Some((_, until)) if until <= wake => {}
                Some(_) => self.timer.notify_one(),
                None if state.idle > 0 => self.work.notify_one(),
                None => {}
            }
        }
        drop(state);
        let failed = (0..start).filter(|_| self.spawn_worker().is_err()).count();
        if failed > 0 {
            self.spawn_failures
                .fetch_add(failed as u64, Ordering::Relaxed);
            self.lock().workers -= failed;
        }
    }

    fn spawn_worker(self: &Arc<Self>) -> std::io::Result<()> {
        let engine = Arc::clone(self);
        std::thread::Builder::new()
            .name("octopus-worker".into())
            .stack_size(WORKER_STACK)
            .spawn(move || {
                blocking::tell(Arc::new(Handoff(Arc::downgrade(&engine))));
                engine.work();
            })
            .map(drop)
    }

    /// A worker: take tasks until the engine is closed and nothing waits.
    fn work(self: Arc<Self>) {
        let mut state = self.lock();
        loop {
            state = match next_step(&mut state) {
                Err(_)
                    if state.closed && state.scheduler.is_drained() && state.ready.is_empty() =>
                {
                    state.workers -= 1;
                    // Let the other idle workers see it too, and the waiting thread.
                    self.work.notify_all();
                    self.timer.notify_all();
                    drop(state);
                    self.nudge_waiting();
                    return;
                }
                Err(wake) => self.idle(state, wake),
                Ok(step) => {
                    self.nudge(state);
                    self.run(step)
                }
            };
        }
    }

    /// Run `step`, then the next ones while they can be taken with the lock that settles
    /// the last: a fetch whose consumer is quick (the pull's channel) takes the next task
    /// before the lock is released, so a busy run takes the lock once per URL. A handler may
    /// be slow, and its next task is taken after it returns (a task taken early would hold
    /// its host's slot, and its place in `--delay`'s spacing, while the handler runs).
    /// A fetch sent to wait for its answer on no thread ends the step. Returns with the
    /// lock taken.
    fn run(self: &Arc<Self>, mut step: Step) -> MutexGuard<'_, State> {
        loop {
            let (mut state, settled) = match step {
                Step::Fetch(job) => match self.fetch(job) {
                    Some(fetched) => fetched,
                    None => return self.lock(),
                },
                Step::Resume(resumable) => self.resume(resumable),
                Step::Deliver(delivery) => {
                    self.deliver(delivery);
                    return self.lock();
                }
            };
            let Some(delivery) = settled else {
                // A timer was set (a retry, a hold): make sure someone keeps it.
                self.nudge(state);
                return self.lock();
            };
            match delivery.consumer.is_quick().then(|| next_step(&mut state)) {
                Some(Ok(next)) => {
                    self.nudge(state);
                    self.deliver(delivery);
                    step = next;
                }
                _ => {
                    drop(state);
                    self.deliver(delivery);
                    return self.lock();
                }
            }
        }
    }

    /// Fetch a job (once the shared limiter, if any, lets it start) and report it: returns
    /// with the lock taken, and the response to deliver unless it is to be retried; `None`
    /// when the request was sent and waits for its answer on no thread.
    fn fetch(self: &Arc<Self>, job: Job) -> Option<(MutexGuard<'_, State>, Option<Delivery>)> {
        let lease = match self.shared.as_ref().filter(|_| job.shared) {
            None => None,
            Some(shared) => match self.lease(shared, &job) {
                Ok(lease) => Some(lease),
                Err(hold) => {
                    let mut state = self.lock();
                    let settled = state.scheduler.defer(job, hold, Instant::now());
                    return Some((state, settled));
                }
            },
        };
        let saver = self.settings.client.capture.save.as_ref();
        let outcome = match saver.and_then(|saver| saver.existing(&job.url)) {
            Some(saved) => Outcome::Skipped(saved),
            None => match self.client.start(&job.url) {
                Started::Done(fetched) => Outcome::from(fetched),
                Started::Waiting(pending) => {
                    let resumable = Box::new(Resumable {
                        job,
                        pending,
                        lease,
                    });
                    return match self.wait_for(resumable) {
                        Ok(()) => None,
                        Err(resumable) => Some(self.resume(resumable)),
                    };
                }
            },
        };
        Some(self.settle(job, outcome, lease))
    }

    /// Put a sent request in the waiting set; it is given back when the set is not there.
    fn wait_for(self: &Arc<Self>, mut resumable: Box<Resumable>) -> Result<(), Box<Resumable>> {
        let waiting = self.waiting.get_or_init(|| {
            let returns: Arc<dyn Resume<Box<Resumable>>> = Arc::new(Returns(Arc::clone(self)));
            Waiting::start(returns).ok()
        });
        let Some(waiting) = waiting else {
            return Err(resumable);
        };
        let (fd, watched) = resumable.pending.watch();
        let deadline = resumable.pending.deadline();
        waiting.put(fd, watched, deadline, resumable)
    }

    /// Go on with a request whose answer came (or whose deadline passed), then report it as
    /// `fetch` does.
    fn resume(&self, resumable: Box<Resumable>) -> (MutexGuard<'_, State>, Option<Delivery>) {
        let Resumable {
            job,
            pending,
            lease,
        } = *resumable;
        let outcome = Outcome::from(self.client.resume(*pending));
        self.settle(job, outcome, lease)
    }

    /// A fetch ended with `outcome`: its shared lease given back, the scheduler told.
    fn settle(
        &self,
        job: Job,
        outcome: Outcome,
        lease: Option<Lease>,
    ) -> (MutexGuard<'_, State>, Option<Delivery>) {
        if let (Some(shared), Some(lease)) = (&self.shared, lease) {
            shared.release(lease);
        }
        let mut state = self.lock();
        let settled = state.scheduler.finished(job, outcome, Instant::now());
        (state, settled)
    }

    /// Wake the waiting thread, if there is one, to see whether it may end.
    fn nudge_waiting(&self) {
        if let Some(Some(waiting)) = self.waiting.get() {
            waiting.nudge();
        }
    }

    /// Ask the shared limiter for `job`'s limits: its lease, or how long it must wait. When
    /// Redis stays unreachable past the outage bound, the run is stopped.
    fn lease(self: &Arc<Self>, shared: &SharedLimits, job: &Job) -> Result<Lease, Hold> {
        let ask = Ask {
            host: job.host.as_deref(),
            limit: job.limit,
        };
        match blocking::during(|| shared.acquire(&self.settings.policy, &ask)) {
            Acquire::Granted(lease) => Ok(lease),
            Acquire::Wait(hold) => Err(hold),
            Acquire::Unreachable { give_up } => {
                if give_up && !self.limiter_lost.swap(true, Ordering::SeqCst) {
                    self.stop();
                }
                Err(unreachable_hold())
            }
        }
    }

    /// Run a consumer (catching a panic), then count its request done. Called without the
    /// lock.
    fn deliver(&self, delivery: Delivery) {
        let Delivery { consumer, response } = delivery;
        IN_HANDLER.set(true);
        // A handler may take its time: another worker may start in its place.
        let returned = match consumer.is_quick() {
            true => catch_unwind(AssertUnwindSafe(move || consumer.consume(response))),
            false => blocking::during(|| {
                catch_unwind(AssertUnwindSafe(move || consumer.consume(response)))
            }),
        };
        IN_HANDLER.set(false);
        if returned.is_err() {
            self.handler_panics.fetch_add(1, Ordering::Relaxed);
        }
        if self.outstanding.fetch_sub(1, Ordering::SeqCst) == 1 {
            // Under the lock, so that a `wait` between its check and its sleep hears it.
            let _state = self.lock();
            self.settled.notify_all();
        }
    }

    /// Wait for work, or as the timekeeper until `wake` when it is the earliest timer.
    fn idle<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        wake: Option<Instant>,
    ) -> MutexGuard<'a, State> {
        let earliest = wake.filter(|w| state.timekeeper.is_none_or(|(_, t)| *w < t));
        let Some(until) = earliest else {
            state.idle += 1;
            state = self.work.wait(state).unwrap_or_else(|p| p.into_inner());
            state.idle -= 1;
            return state;
        };
        if state.timekeeper.is_some() {
            // The current timekeeper waits for a later time: it steps down when it wakes.
            self.timer.notify_one();
        }
        state.tokens += 1;
        let token = state.tokens;
        state.timekeeper = Some((token, until));
        let timeout = until.saturating_duration_since(Instant::now());
        state = match self.timer.wait_timeout(state, timeout) {
            Ok((state, _)) => state,
            Err(poisoned) => poisoned.into_inner().0,
        };
        if state.timekeeper.is_some_and(|(t, _)| t == token) {
            state.timekeeper = None;
        }
        state
    }

    /// Start nothing more; what waits is delivered (see `Scheduler::stop`).
    pub fn stop(self: &Arc<Self>) {
        let mut state = self.lock();
        state.scheduler.stop(Instant::now());
        self.work.notify_all();
        self.timer.notify_all();
        self.nudge(state);
    }

    pub fn is_stopped(&self) -> bool {
        self.lock().scheduler.is_stopped()
    }

    /// No handle is left: let the workers go once nothing waits.
    pub fn close(&self) {
        self.lock().closed = true;
        self.closing.store(true, Ordering::Relaxed);
        self.work.notify_all();
        self.timer.notify_all();
        self.nudge_waiting();
    }

    /// Wait until every request's consumer has returned, or `timeout` passes. From inside a
    /// consumer, returns `false` at once (it would wait for itself).
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        if IN_HANDLER.get() {
            return false;
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut state = self.lock();
        while self.outstanding.load(Ordering::SeqCst) > 0 {
            state = match deadline {
                None => self.settled.wait(state).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return false;
                    }
                    match self.settled.wait_timeout(state, left) {
                        Ok((state, _)) => state,
                        Err(poisoned) => poisoned.into_inner().0,
                    }
                }
            };
        }
        true
    }

    pub fn stats(&self) -> Stats {
        let state = self.lock();
        Stats {
            pending: self.outstanding.load(Ordering::SeqCst),
            in_flight: state.scheduler.in_flight(),
            handler_panics: self.handler_panics.load(Ordering::Relaxed),
            workers: state.workers,
            worker_start_failures: self.spawn_failures.load(Ordering::Relaxed),
            other_shard: self.other_shard.load(Ordering::Relaxed),
            shared_waits: state.scheduler.shared_waits(),
            limiter_down: self.shared.as_ref().is_some_and(SharedLimits::is_down),
            limiter_lost: self.limiter_lost.load(Ordering::SeqCst),
        }
    }
}

/// What a worker does next.
enum Step {
    Fetch(Job),
    Resume(Box<Resumable>),
    Deliver(Delivery),
}

/// The next step: a request whose answer came first, else the scheduler's next task; when
/// there is nothing, until when to wait (the earliest timer).
fn next_step(state: &mut State) -> Result<Step, Option<Instant>> {
    if let Some(resumable) = state.ready.pop_front() {
        return Ok(Step::Resume(resumable));
    }
    match state.scheduler.next_task(Instant::now()) {
        Task::Fetch(job) => Ok(Step::Fetch(job)),
        Task::Deliver(delivery) => Ok(Step::Deliver(delivery)),
        Task::Idle(wake) => Err(wake),
    }
}

/// A fetch whose request was sent, waiting for its answer (`waiting.rs`).
pub(crate) struct Resumable {
    job: Job,
    pending: Box<Pending>,
    lease: Option<Lease>,
}

/// Takes the requests the waiting thread hands back.
struct Returns(Arc<Engine>);

impl Resume<Box<Resumable>> for Returns {
    fn ready(&self, items: Vec<Box<Resumable>>) {
        let mut state = self.0.lock();
        state.ready.extend(items);
        self.0.nudge(state);
    }

    fn closing(&self) -> bool {
        if !self.0.closing.load(Ordering::Relaxed) {
            return false;
        }
        let state = self.0.lock();
        state.closed
            && state.scheduler.is_drained()
            && state.scheduler.in_flight() == 0
            && state.ready.is_empty()
    }
}

/// Told by a worker that it is about to block: starts another in its place when tasks
/// wait and too few workers run (see `nudge`).
struct Handoff(Weak<Engine>);

impl Blocking for Handoff {
    fn enter(&self) {
        let Some(engine) = self.0.upgrade() else {
            return;
        };
        let blocked = engine.blocked.fetch_add(1, Ordering::Relaxed) + 1;
        let [waiting, idle, workers] = engine.hints.each_ref().map(|h| h.load(Ordering::Relaxed));
        if waiting > idle && workers.saturating_sub(blocked) < engine.runnable {
            let state = engine.lock();
            engine.nudge(state);
        }
    }

    fn leave(&self) {
        if let Some(engine) = self.0.upgrade() {
            engine.blocked.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
