//! A worker thread's life: it takes its next step itself (a request whose answer came
//! first, else the scheduler's next task), so a busy run needs no hand-off thread. A plain
//! `http` request sent directly waits for its answer in the waiting set while its worker
//! goes on; everything else runs on its worker. A worker with nothing to do polls the set,
//! and goes on itself with the answers it finds: in a busy run one thread sends, polls and
//! reads, as an event loop does, and others are woken only for work it leaves
//! (`plan.rs`). A worker about to block tells the engine (`Handoff`), which may start
//! another in its place.
//!
//! Invariants:
//! - workers are plain threads (not a rayon pool: its idle work-stealing cost seconds of CPU
//!   at high concurrency, see ARCHITECTURE.md), never more than the concurrency;
//! - a handler's worker takes its next task only after the handler returns;
//! - while requests wait in the set, one worker polls it or will: the poller, a running
//!   worker (it polls when it runs out of tasks, and at least every millisecond while it
//!   runs them), or one woken or started by `Engine::nudge` when none runs.

use std::sync::{Arc, MutexGuard, Weak};
use std::time::Instant;

use super::engine::{Engine, State, Step};
use super::job::{Delivery, Job, Resumable};
use crate::blocking::{self, Blocking};
use crate::http::Started;
use crate::response::Outcome;
use crate::shared::{Acquire, Ask, Hold, Lease, SharedLimits, unreachable_hold};

/// Stack for each worker thread: requests need little, and there may be thousands of workers
/// (when requests block).
const WORKER_STACK: usize = 512 * 1024;

/// Start a worker thread for `engine` (counted in its workers by the caller).
pub(super) fn spawn(engine: &Arc<Engine>) -> std::io::Result<()> {
    let engine = Arc::clone(engine);
    std::thread::Builder::new()
        .name("octopus-worker".into())
        .stack_size(WORKER_STACK)
        .spawn(move || {
            blocking::tell(Arc::new(Handoff(Arc::downgrade(&engine))));
            work(&engine);
        })
        .map(drop)
}

/// A worker: take steps until the engine is closed and nothing waits; with nothing to do,
/// poll the waiting set if no other worker does, else wait.
fn work(engine: &Arc<Engine>) {
    let mut state = engine.lock();
    loop {
        let now = Instant::now();
        if engine.poll_due(&state, now) {
            state = engine.poll(state, Some(now));
        }
        state = match state.next_step(now) {
            Err(_) if state.is_over() => return engine.exit(state),
            Err(wake) if !state.is_polled() && engine.in_set() => engine.poll(state, wake),
            Err(wake) => engine.idle(state, wake),
            Ok(step) => {
                engine.nudge(state);
                run(engine, step)
            }
        };
    }
}

/// Run `step`, then the next ones while they can be taken with the lock that settles the
/// last: a fetch whose consumer is quick (the pull's channel) takes the next task before
/// the lock is released, so a busy run takes the lock once per URL. A handler may be slow,
/// and its next task is taken after it returns (a task taken early would hold its host's
/// slot, and its place in `--delay`'s spacing, while the handler runs). A fetch (or a
/// redirect's next hop) sent to wait for its answer on no thread ends the step, and a poll
/// that is due ends the chain. Returns with the lock taken.
fn run(engine: &Arc<Engine>, mut step: Step) -> MutexGuard<'_, State> {
    loop {
        let settled = match step {
            Step::Fetch(job) => fetch(engine, job),
            Step::Resume(resumable) => resume(engine, resumable),
            Step::Deliver(delivery) => {
                engine.deliver(delivery);
                return engine.lock();
            }
        };
        let Some((mut state, settled)) = settled else {
            return engine.lock();
        };
        let Some(delivery) = settled else {
            // A timer was set (a retry, a hold): make sure someone keeps it.
            engine.nudge(state);
            return engine.lock();
        };
        let now = Instant::now();
        let chain = delivery.consumer.is_quick() && !engine.poll_due(&state, now);
        match chain.then(|| state.next_step(now)) {
            Some(Ok(next)) => {
                engine.nudge(state);
                engine.deliver(delivery);
                step = next;
            }
            _ => {
                drop(state);
                engine.deliver(delivery);
                return engine.lock();
            }
        }
    }
}

/// What a step of a fetch left: the lock taken and the response to deliver (unless it is
/// to be retried), or `None` when a request was sent and waits for its answer on no thread.
type Carried<'a> = Option<(MutexGuard<'a, State>, Option<Delivery>)>;

/// Fetch a job, once the shared limiter (if any) lets it start.
fn fetch(engine: &Arc<Engine>, job: Job) -> Carried<'_> {
    let lease = match engine.shared().filter(|_| job.shared) {
        None => None,
        Some(shared) => match lease(engine, shared, &job) {
            Ok(lease) => Some(lease),
            Err(hold) => {
                let mut state = engine.lock();
                let settled = state.defer(job, hold);
                return Some((state, settled));
            }
        },
    };
    let saver = engine.settings().client.capture.save.as_ref();
    if let Some(saved) = saver.and_then(|saver| saver.existing(&job.url)) {
        return Some(settle(engine, job, Outcome::Skipped(saved), lease));
    }
    let started = engine.client().start(&job.url, job.shape.as_deref());
    carry(engine, job, started, lease)
}

/// Go on with a request whose answer came (or whose deadline passed).
fn resume(engine: &Engine, resumable: Box<Resumable>) -> Carried<'_> {
    let Resumable {
        job,
        pending,
        lease,
    } = *resumable;
    let started = engine.client().resume(pending);
    carry(engine, job, started, lease)
}

/// Report a fetch `started` (or resumed) when it is done, else put it in the waiting set;
/// when the set is not there, its answers are waited for here.
fn carry(
    engine: &Engine,
    mut job: Job,
    mut started: Started,
    mut lease: Option<Lease>,
) -> Carried<'_> {
    loop {
        let pending = match started {
            Started::Done(fetched) => {
                return Some(settle(engine, job, Outcome::from(fetched), lease));
            }
            Started::Waiting(pending) => pending,
        };
        if job.spaced
            && let Some(at) = pending.went_out()
        {
            engine.went_out(&mut job, at);
        }
        let resumable = Box::new(Resumable {
            job,
            pending,
            lease,
        });
        let back = match engine.put(resumable) {
            Ok(()) => return None,
            Err(back) => *back,
        };
        (job, lease) = (back.job, back.lease);
        started = engine.client().resume(back.pending);
    }
}

/// A fetch ended with `outcome`: its shared lease given back, the scheduler told.
fn settle(
    engine: &Engine,
    job: Job,
    outcome: Outcome,
    lease: Option<Lease>,
) -> (MutexGuard<'_, State>, Option<Delivery>) {
    if let (Some(shared), Some(lease)) = (engine.shared(), lease) {
        shared.release(lease);
    }
    engine.finished(job, outcome)
}

/// Ask the shared limiter for `job`'s limits: its lease, or how long it must wait. When
/// Redis stays unreachable past the outage bound, the run is stopped.
fn lease(engine: &Arc<Engine>, shared: &SharedLimits, job: &Job) -> Result<Lease, Hold> {
    let ask = Ask {
        host: job.host.as_deref(),
        limit: job.limit,
    };
    match blocking::during(|| shared.acquire(&engine.settings().policy, &ask)) {
        Acquire::Granted(lease) => Ok(lease),
        Acquire::Wait(hold) => Err(hold),
        Acquire::Unreachable { give_up } => {
            if give_up {
                engine.limiter_lost();
            }
            Err(unreachable_hold())
        }
    }
}

/// Told by a worker that it is about to block: has `Engine::nudge` wake or start another
/// in its place when the plan's hand-over rule says so (`plan::hand_over`).
struct Handoff(Weak<Engine>);

impl Blocking for Handoff {
    fn enter(&self) {
        let Some(engine) = self.0.upgrade() else {
            return;
        };
        if engine.block() {
            let state = engine.lock();
            engine.nudge(state);
        }
    }

    fn leave(&self) {
        if let Some(engine) = self.0.upgrade() {
            engine.unblock();
        }
    }
}
