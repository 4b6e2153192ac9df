//! The worker threads: each takes its next step itself (a request whose answer came first,
//! else the scheduler's next task), so a busy run needs no hand-off thread. A plain `http`
//! request sent directly waits for its answer in the waiting set (`waiting.rs`) while its
//! worker goes on; everything else runs on its worker. A worker with nothing to do polls
//! the set, and goes on itself with the answers it finds: in a busy run one thread sends,
//! polls and reads, as an event loop does, and others are woken only for work it leaves.
//!
//! Which workers run, and which are woken or started, is `dispatch.rs`'s.
//!
//! Invariants:
//! - a handler's worker takes its next task only after the handler returns;
//! - idle workers wait on `work`, at most one (the timekeeper) waits on `timer` for the
//!   earliest rate, delay or retry timer, and at most one polls the waiting set (until the
//!   earliest timer too); a nudge that needs the poller writes to the set's eventfd;
//! - while requests wait in the set, one worker polls it or will: the poller, a running
//!   worker (it polls when it runs out of tasks, and at least every `POLL_EVERY` while it
//!   runs them), or one woken or started by `nudge` when none runs;
//! - a worker exits once the engine is closed and nothing waits or is in flight
//!   (`State::is_over`).

use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

use super::engine::{Engine, Poller, State};
use super::job::{Delivery, Job};
use super::scheduler::Task;
use super::waiting::Waiting;
use crate::blocking;
use crate::http::{Pending, Started};
use crate::response::Outcome;
use crate::shared::{Acquire, Ask, Hold, Lease, SharedLimits, unreachable_hold};

/// A running worker polls the waiting set when no one has for this long, so that answers
/// are read while tasks keep coming.
const POLL_EVERY: Duration = Duration::from_millis(1);

impl Engine {
    /// A worker: take tasks until the engine is closed and nothing waits; with nothing to
    /// do, poll the waiting set if no other worker does, else wait.
    pub(super) fn work(self: Arc<Self>) {
        let mut state = self.lock();
        loop {
            let now = Instant::now();
            if self.poll_due(&state, now) {
                state = self.poll(state, Some(now));
            }
            state = match next_step(&mut state, now) {
                Err(_) if state.is_over() => {
                    state.workers -= 1;
                    // Let the other idle workers see it too, and the poller.
                    self.work.notify_all();
                    self.timer.notify_all();
                    drop(state);
                    self.nudge_waiting();
                    return;
                }
                Err(wake) if state.poller.is_none() && self.has_waiting_requests() => {
                    self.poll(state, wake)
                }
                Err(wake) => self.idle(state, wake),
                Ok(step) => {
                    self.nudge(state);
                    self.run(step)
                }
            };
        }
    }

    /// Whether a running worker should poll the set before its next task: requests wait in
    /// it and no worker has polled for `POLL_EVERY`.
    fn poll_due(&self, state: &State, now: Instant) -> bool {
        state.poller.is_none()
            && now.saturating_duration_since(state.polled) >= POLL_EVERY
            && self.has_waiting_requests()
    }

    /// Poll the waiting set until `until` at most (a request readable or due, or a nudge,
    /// ends it sooner; `until` now: does not wait), and make the requests found ready.
    /// Releases the lock while polling.
    fn poll<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        until: Option<Instant>,
    ) -> MutexGuard<'a, State> {
        let Some(Some(waiting)) = self.waiting.get() else {
            return state;
        };
        state.poller = Some(Poller {
            until,
            woken: false,
        });
        self.hints.polling.store(true, Ordering::Relaxed);
        drop(state);
        let found = waiting.poll(until);
        let mut state = self.lock();
        state.poller = None;
        self.hints.polling.store(false, Ordering::Relaxed);
        state.polled = Instant::now();
        state.ready.extend(found);
        state
    }

    /// Run `step`, then the next ones while they can be taken with the lock that settles
    /// the last: a fetch whose consumer is quick (the pull's channel) takes the next task
    /// before the lock is released, so a busy run takes the lock once per URL. A handler may
    /// be slow, and its next task is taken after it returns (a task taken early would hold
    /// its host's slot, and its place in `--delay`'s spacing, while the handler runs).
    /// A fetch (or a redirect's next hop) sent to wait for its answer on no thread ends the
    /// step, and a poll that is due ends the chain. Returns with the lock taken.
    fn run(self: &Arc<Self>, mut step: Step) -> MutexGuard<'_, State> {
        loop {
            let (mut state, settled) = match step {
                Step::Fetch(job) => match self.fetch(job) {
                    Some(fetched) => fetched,
                    None => return self.lock(),
                },
                Step::Resume(resumable) => match self.resume(resumable) {
                    Some(resumed) => resumed,
                    None => return self.lock(),
                },
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
            let now = Instant::now();
            let chain = delivery.consumer.is_quick() && !self.poll_due(&state, now);
            match chain.then(|| next_step(&mut state, now)) {
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
    /// when a request was sent and waits for its answer on no thread.
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
        if let Some(saved) = saver.and_then(|saver| saver.existing(&job.url)) {
            return Some(self.settle(job, Outcome::Skipped(saved), lease));
        }
        let started = self.client.start(&job.url);
        self.carry(job, started, lease)
    }

    /// Go on with a request whose answer came (or whose deadline passed), then report it as
    /// `fetch` does.
    fn resume(
        &self,
        resumable: Box<Resumable>,
    ) -> Option<(MutexGuard<'_, State>, Option<Delivery>)> {
        let Resumable {
            job,
            pending,
            lease,
        } = *resumable;
        let started = self.client.resume(pending);
        self.carry(job, started, lease)
    }

    /// Report a fetch `started` (or resumed) when it is done, else put it in the waiting set
    /// (`None`); when the set is not there, its answers are waited for here.
    fn carry(
        &self,
        mut job: Job,
        mut started: Started,
        mut lease: Option<Lease>,
    ) -> Option<(MutexGuard<'_, State>, Option<Delivery>)> {
        loop {
            let pending = match started {
                Started::Done(fetched) => {
                    return Some(self.settle(job, Outcome::from(fetched), lease));
                }
                Started::Waiting(pending) => pending,
            };
            let resumable = Box::new(Resumable {
                job,
                pending,
                lease,
            });
            let back = match self.wait_for(resumable) {
                Ok(()) => return None,
                Err(back) => *back,
            };
            (job, lease) = (back.job, back.lease);
            started = self.client.resume(back.pending);
        }
    }

    /// Put a sent request in the waiting set; it is given back when the set is not there.
    fn wait_for(&self, mut resumable: Box<Resumable>) -> Result<(), Box<Resumable>> {
        let waiting = self.waiting.get_or_init(|| Waiting::new().ok());
        let Some(waiting) = waiting else {
            return Err(resumable);
        };
        let (fd, watched) = resumable.pending.watch();
        let deadline = resumable.pending.deadline();
        waiting.put(fd, watched, deadline, resumable)
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

    /// End a poll of the waiting set in progress, if there is one.
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
        state.timing += 1;
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
        state.timing -= 1;
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
fn next_step(state: &mut State, now: Instant) -> Result<Step, Option<Instant>> {
    if let Some(resumable) = state.ready.pop_front() {
        return Ok(Step::Resume(resumable));
    }
    match state.scheduler.next_task(now) {
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
