//! Which workers run: waking an idle worker, the timekeeper or the poller for work that
//! waits, starting workers, and handing a worker's place over when it blocks. Workers take
//! their steps in `worker.rs`.
//!
//! Invariants:
//! - workers are plain threads (not a rayon pool: its idle work-stealing cost seconds of CPU
//!   at high concurrency, see ARCHITECTURE.md), never more than the concurrency;
//! - twice the cores run at most, not counting workers blocked in a wait they said they
//!   were in (`blocking.rs`): one about to block has another woken or started in its place
//!   while tasks or ready requests wait, or requests wait in the set with no one to poll;
//! - an idle worker is woken only for tasks and ready requests beyond `READY_PER_WORKER`
//!   per running worker, or for a poll no running worker will make.

use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard, Weak};
use std::time::Instant;

use super::engine::{Engine, State};
use crate::blocking::{self, Blocking};

/// Stack for each worker thread: requests need little, and there may be thousands of workers
/// (when requests block).
const WORKER_STACK: usize = 512 * 1024;

/// The most workers one call of `nudge` starts.
const SPAWN_BATCH: usize = 8;

/// The fewest workers allowed to run at once (twice the cores, at least this).
const MIN_RUNNABLE: usize = 4;

/// Tasks and ready requests that each running worker is left before an idle one is woken
/// for the rest: about one poll's worth, so that a busy run keeps one thread (waking
/// another costs more than it saves when the machine is busy: BENCHMARKS.md, "The worker
/// that polls").
const READY_PER_WORKER: usize = 16;

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
    /// Waiting: the scheduler's tasks and the ready requests beyond `READY_PER_WORKER` per
    /// running worker, and a poll when requests wait in the set and no worker runs or
    /// polls. An idle worker is woken for it, else the timekeeper, else the poller. Up to
    /// `SPAWN_BATCH` workers are started at a time, as many as tasks wait beyond the idle
    /// workers, while fewer than `runnable` run (a worker blocked in `blocking::during`
    /// does not count): a run whose requests wait on no thread keeps a few workers, one
    /// whose requests block grows to the concurrency in a few generations (each blocked
    /// worker's `Handoff` calls this).
    pub(super) fn nudge(self: &Arc<Self>, mut state: MutexGuard<'_, State>) {
        let blocked = self.blocked.load(Ordering::Relaxed);
        let polling = usize::from(state.poller.is_some());
        let asleep = state.idle + state.timing + polling + blocked;
        let running = state.workers.saturating_sub(asleep);
        let tasks = state.scheduler.waiting();
        let ready = state.ready.len();
        let unpolled = polling == 0 && running == 0 && self.has_waiting_requests();
        let waiting = (tasks + ready).saturating_sub(running.saturating_mul(READY_PER_WORKER))
            + usize::from(unpolled);
        let mut start = 0;
        if waiting > 0 {
            if state.idle > 0 {
                self.work.notify_one();
            } else if state.timekeeper.is_some() {
                self.timer.notify_one();
            } else if polling > 0 {
                self.wake_poller(&mut state);
            }
            let room = self.settings.concurrency.saturating_sub(state.workers);
            start = waiting
                .saturating_sub(state.idle + polling)
                .min(room)
                .min(SPAWN_BATCH)
                .min(
                    self.runnable
                        .saturating_sub(state.workers.saturating_sub(blocked)),
                );
            state.workers += start;
        }
        self.hints.waiting.store(tasks + ready, Ordering::Relaxed);
        if let Some(wake) = state.scheduler.next_wake() {
            let kept = |until: Option<Instant>| until.is_some_and(|until| until <= wake);
            match (state.timekeeper, state.poller) {
                (Some((_, until)), _) if until <= wake => {}
                (Some(_), _) => self.timer.notify_one(),
                (None, Some(poller)) if kept(poller.until) => {}
                (None, _) if state.idle > 0 => self.work.notify_one(),
                (None, Some(_)) => self.wake_poller(&mut state),
                (None, None) => {}
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

    /// End the poller's poll, once: it comes back to see what changed.
    fn wake_poller(&self, state: &mut State) {
        if let Some(poller) = state.poller.as_mut().filter(|poller| !poller.woken) {
            poller.woken = true;
            self.nudge_waiting();
        }
    }

    /// Whether requests wait in the set.
    pub(super) fn has_waiting_requests(&self) -> bool {
        matches!(self.waiting.get(), Some(Some(waiting)) if !waiting.is_empty())
    }
}

/// Told by a worker that it is about to block: has `nudge` wake or start another in its
/// place when tasks or ready requests wait, or requests wait in the set with no one to
/// poll for them.
struct Handoff(Weak<Engine>);

impl Blocking for Handoff {
    fn enter(&self) {
        let Some(engine) = self.0.upgrade() else {
            return;
        };
        engine.blocked.fetch_add(1, Ordering::Relaxed);
        // Tasks and ready requests it would have taken, or requests in the set that it
        // would have polled for, need another worker.
        let hints = &engine.hints;
        let waiting = hints.waiting.load(Ordering::Relaxed) > 0;
        let unpolled = !hints.polling.load(Ordering::Relaxed) && engine.has_waiting_requests();
        if waiting || unpolled {
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
