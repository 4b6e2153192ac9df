//! The worker threads: each takes its next step itself (a request the waiting set handed
//! back first, else the scheduler's next task), so a busy run needs no hand-off thread. A
//! plain `http` request sent directly waits for its answer in the waiting set
//! (`waiting.rs`) while its worker goes on; everything else runs on its worker.
//!
//! Invariants:
//! - workers are plain threads (not a rayon pool: its idle work-stealing cost seconds of CPU
//!   at high concurrency, see ARCHITECTURE.md), never more than the concurrency;
//! - twice the cores run at most, not counting workers blocked in a wait they said they
//!   were in (`blocking.rs`): one about to block starts another in its place while tasks
//!   wait;
//! - a handler's worker takes its next task only after the handler returns;
//! - idle workers wait on `work`, and at most one (the timekeeper) waits on `timer` for the
//!   earliest rate, delay or retry timer;
//! - a worker, and the waiting thread, exit once the engine is closed and nothing waits or
//!   is in flight (`State::is_over`).

use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard, Weak};
use std::time::Instant;

use super::engine::{Engine, State};
use super::job::{Delivery, Job};
use super::scheduler::Task;
use super::waiting::{Resume, Waiting};
use crate::blocking::{self, Blocking};
use crate::http::{Pending, Started};
use crate::response::Outcome;
use crate::shared::{Acquire, Ask, Hold, Lease, SharedLimits, unreachable_hold};

/// Stack for each worker thread: requests need little, and there may be thousands of workers
/// (when requests block).
const WORKER_STACK: usize = 512 * 1024;

/// The most workers one call of `nudge` starts.
const SPAWN_BATCH: usize = 8;

/// The fewest workers allowed to run at once (twice the cores, at least this).
const MIN_RUNNABLE: usize = 4;

/// How many workers may run (not blocked) at once: twice the cores, at least
/// `MIN_RUNNABLE`.
pub(super) fn runnable() -> usize {
    std::thread::available_parallelism()
        .map_or(2, std::num::NonZero::get)
        .saturating_mul(2)
        .max(MIN_RUNNABLE)
}

impl Engine {
    /// Wake or start workers for work that is waiting, and make sure the earliest timer is
    /// kept. Releases the lock (workers may have to be started).
    ///
    /// Up to `SPAWN_BATCH` workers are started at a time, as many as tasks wait beyond the
    /// idle workers, while fewer than `runnable` run (a worker blocked in
    /// `blocking::during` does not count): a run whose requests wait on no thread keeps a
    /// few workers, one whose requests block grows to the concurrency in a few generations
    /// (each blocked worker's `Handoff` calls this).
    pub(super) fn nudge(self: &Arc<Self>, mut state: MutexGuard<'_, State>) {
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
        let hints = &self.hints;
        hints.waiting.store(waiting, Ordering::Relaxed);
        hints.idle.store(state.idle, Ordering::Relaxed);
        hints.workers.store(state.workers, Ordering::Relaxed);
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

    pub(super) fn spawn_worker(self: &Arc<Self>) -> std::io::Result<()> {
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
                Err(_) if state.is_over() => {
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
        let outcome = Outcome::from(self.client.resume(pending));
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
    pub(super) fn nudge_waiting(&self) {
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
pub(super) struct Resumable {
    job: Job,
    pending: Pending,
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
        self.0.lock().is_over()
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
        let hints = &engine.hints;
        let waiting = hints.waiting.load(Ordering::Relaxed);
        let idle = hints.idle.load(Ordering::Relaxed);
        let workers = hints.workers.load(Ordering::Relaxed);
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
