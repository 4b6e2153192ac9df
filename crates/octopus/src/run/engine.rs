//! The engine's state and its one lock: the scheduler (what is queued, limited, due), the
//! requests ready to go on, who sleeps where (idle workers, the timekeeper, the poller),
//! and the waiting set. Every change to them is a method here; what a worker does with
//! them is `worker.rs`'s, whom to wake or start `plan.rs`'s, and the count of requests
//! whose consumer has not returned (what `wait` waits for) `ledger.rs`'s.
//!
//! Invariants:
//! - the lock is never held during a fetch, a round trip to the shared limiter, a poll of
//!   the waiting set or a consumer call;
//! - idle workers and the timekeeper sleep in `beds.rs`; at most one worker polls the
//!   waiting set (until the earliest timer too);
//! - workers exit once the engine is closed and nothing waits or is in flight
//!   (`State::is_over`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::Stats;
use super::beds::{Beds, Bells};
use super::job::{Consumer, Delivery, Intake, Job, Resumable};
use super::ledger::Ledger;
use super::plan::{self, Plan, Poller, Snapshot, Wake};
use super::scheduler::{Scheduler, Task};
use super::waiting::Lazy;
use crate::http::Client;
use crate::input::Request;
use crate::response::Outcome;
use crate::settings::Settings;
use crate::shared::{Hold, SharedLimits};

/// A running worker polls the waiting set when no one has for this long, so that answers
/// are read while tasks keep coming.
const POLL_EVERY: Duration = Duration::from_millis(1);

/// Starts a worker thread for the engine (`worker::spawn`).
pub(super) type Spawn = fn(&Arc<Engine>) -> std::io::Result<()>;

pub(crate) struct Engine {
    state: Mutex<State>,
    /// What idle workers and the timekeeper wait on.
    bells: Bells,
    client: Client,
    /// The waiting set: requests sent that wait for their answer on no thread.
    set: Lazy<Box<Resumable>>,
    /// Limits shared with other processes through Redis, when asked for.
    shared: Option<SharedLimits>,
    /// The shared limiter stayed unreachable past its bound, and the run was stopped.
    limiter_lost: AtomicBool,
    settings: Settings,
    next_id: AtomicU64,
    /// Requests whose consumer has not returned yet.
    ledger: Ledger,
    spawn_failures: AtomicU64,
    other_shard: AtomicU64,
    /// Workers blocked in a wait that holds their thread (`blocking.rs`).
    blocked: AtomicUsize,
    /// Tasks and ready requests, as of the last plan (read without the lock by a worker
    /// about to block).
    tasks_hint: AtomicUsize,
    /// A worker polls the waiting set (mirrors `State::poller`, for the same reader).
    polling_hint: AtomicBool,
    /// How many workers may run (not blocked) at once.
    runnable: usize,
    spawn: Spawn,
}

pub(super) struct State {
    scheduler: Scheduler,
    /// Requests whose answer came (or whose deadline passed), for a worker to go on with.
    ready: VecDeque<Box<Resumable>>,
    /// Worker threads started (or being started) and not exited.
    workers: usize,
    /// Idle workers and the timekeeper.
    beds: Beds,
    /// The worker polling the waiting set, if one is.
    poller: Option<Poller>,
    /// When the last poll of the waiting set ended.
    polled: Instant,
    /// No handle is left: workers exit once nothing waits.
    closed: bool,
}

/// What a worker does next.
pub(super) enum Step {
    Fetch(Job),
    Resume(Box<Resumable>),
    Deliver(Delivery),
}

impl State {
    /// Closed, and nothing waits or is in flight: workers end. (A worker does not end while
    /// requests wait on no thread: one must be there to poll for them.)
    pub(super) fn is_over(&self) -> bool {
        self.closed
            && self.scheduler.is_drained()
            && self.scheduler.in_flight() == 0
            && self.ready.is_empty()
    }

    /// The next step: a request whose answer came first, else the scheduler's next task;
    /// when there is nothing, until when to wait (the earliest timer).
    pub(super) fn next_step(&mut self, now: Instant) -> Result<Step, Option<Instant>> {
        if let Some(resumable) = self.ready.pop_front() {
            return Ok(Step::Resume(resumable));
        }
        match self.scheduler.next_task(now) {
            Task::Fetch(job) => Ok(Step::Fetch(job)),
            Task::Deliver(delivery) => Ok(Step::Deliver(delivery)),
            Task::Idle(wake) => Err(wake),
        }
    }

    /// The shared limiter held a started job back until `hold`'s time: its start undone, it
    /// waits again; reported as `Engine::finished` reports.
    pub(super) fn defer(&mut self, job: Job, hold: Hold) -> Option<Delivery> {
        self.scheduler.defer(job, hold, Instant::now())
    }

    /// Whether a worker polls the set now.
    pub(super) fn is_polled(&self) -> bool {
        self.poller.is_some()
    }
}

impl Engine {
    /// An engine for `settings`, counting one worker: the caller starts it with `spawn`,
    /// which starts the others too.
    pub fn new(
        settings: Settings,
        client: Client,
        shared: Option<SharedLimits>,
        spawn: Spawn,
    ) -> Engine {
        Engine {
            state: Mutex::new(State {
                scheduler: Scheduler::new(&settings),
                ready: VecDeque::new(),
                workers: 1,
                beds: Beds::default(),
                poller: None,
                polled: Instant::now(),
                closed: false,
            }),
            bells: Bells::default(),
            client,
            set: Lazy::new(),
            shared,
            limiter_lost: AtomicBool::new(false),
            settings,
            next_id: AtomicU64::new(0),
            ledger: Ledger::default(),
            spawn_failures: AtomicU64::new(0),
            other_shard: AtomicU64::new(0),
            blocked: AtomicUsize::new(0),
            tasks_hint: AtomicUsize::new(0),
            polling_hint: AtomicBool::new(false),
            runnable: plan::runnable(),
            spawn,
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn settings(&self) -> &Settings {
        &self.settings
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    pub(super) fn shared(&self) -> Option<&SharedLimits> {
        self.shared.as_ref()
    }

    /// Take requests; each consumer receives its response, exactly once, on a worker thread.
    pub fn enqueue(self: &Arc<Self>, requests: Vec<(Request, Consumer)>) {
        let taken = Instant::now();
        let shared = self.shared.is_some();
        // Prepared before taking the lock: the lock is held for as little as possible.
        let prepared: Vec<_> = requests
            .into_iter()
            .filter_map(|(request, consumer)| {
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                match Intake::of(request, consumer, id, taken, &self.settings, shared) {
                    Intake::OtherShard => {
                        self.other_shard.fetch_add(1, Ordering::Relaxed);
                        None
                    }
                    intake => Some(intake),
                }
            })
            .collect();
        self.ledger.add(prepared.len() as u64);
        let mut state = self.lock();
        for intake in prepared {
            match intake {
                Intake::Fetch(job) => state.scheduler.admit(job, taken),
                Intake::Refused(ticket, failure) => {
                    state.scheduler.refuse(ticket, failure, taken);
                }
                Intake::OtherShard => {} // counted and dropped above
            }
        }
        self.nudge(state);
    }

    /// Wake or start workers as `plan` says for the state now, then release the lock (and
    /// start them). Not inlined: it is called from many places, and its one copy stays
    /// hot.
    #[inline(never)]
    pub(super) fn nudge(self: &Arc<Self>, mut state: MutexGuard<'_, State>) {
        let snapshot = self.snapshot(&state);
        let Plan {
            for_work,
            for_timer,
            start,
        } = plan::plan(&snapshot);
        self.tasks_hint
            .store(snapshot.tasks + snapshot.ready, Ordering::Relaxed);
        for wake in [for_work, for_timer].into_iter().flatten() {
            self.wake(&mut state, wake);
        }
        state.workers += start;
        drop(state);
        let failed = (0..start).filter(|_| (self.spawn)(self).is_err()).count();
        if failed > 0 {
            self.spawn_failures
                .fetch_add(failed as u64, Ordering::Relaxed);
            self.lock().workers -= failed;
        }
    }

    fn snapshot(&self, state: &State) -> Snapshot {
        Snapshot {
            workers: state.workers,
            idle: state.beds.idle(),
            timing: state.beds.timing(),
            timekeeper: state.beds.timekeeper(),
            poller: state.poller,
            blocked: self.blocked.load(Ordering::Relaxed),
            tasks: state.scheduler.tasks(),
            ready: state.ready.len(),
            in_set: self.in_set(),
            next_timer: state.scheduler.next_wake(),
            concurrency: self.settings.concurrency,
            runnable: self.runnable,
        }
    }

    fn wake(&self, state: &mut State, wake: Wake) {
        self.bells.ring(wake);
        if wake == Wake::Poller
            && let Some(poller) = state.poller.as_mut().filter(|poller| !poller.woken)
        {
            poller.woken = true;
            self.end_poll();
        }
    }

    /// A worker is about to block: whether another must be woken or started in its place
    /// (read from the hints, without the lock).
    pub(super) fn block(&self) -> bool {
        self.blocked.fetch_add(1, Ordering::Relaxed);
        let tasks = self.tasks_hint.load(Ordering::Relaxed);
        let polling = self.polling_hint.load(Ordering::Relaxed);
        plan::hand_over(tasks, polling, self.in_set())
    }

    /// A worker blocked is running again.
    pub(super) fn unblock(&self) {
        self.blocked.fetch_sub(1, Ordering::Relaxed);
    }

    /// A worker exits (the run is over).
    pub(super) fn exit(&self, mut state: MutexGuard<'_, State>) {
        state.workers -= 1;
        // Let the other idle workers see it too, and the poller.
        self.bells.ring_all();
        drop(state);
        self.end_poll();
    }

    /// Run a delivery's consumer, then count its request done. Called without the lock.
    pub(super) fn deliver(&self, delivery: Delivery) {
        self.ledger.deliver(delivery);
    }

    /// A fetch ended with `outcome`: the scheduler told, with the lock taken; the response
    /// to deliver unless it is to be retried.
    pub(super) fn finished(
        &self,
        job: Job,
        outcome: Outcome,
    ) -> (MutexGuard<'_, State>, Option<Delivery>) {
        let mut state = self.lock();
        let settled = state.scheduler.finished(job, outcome, Instant::now());
        (state, settled)
    }

    /// The shared limiter stayed unreachable past its bound: the run stops (once).
    pub(super) fn limiter_lost(self: &Arc<Self>) {
        if !self.limiter_lost.swap(true, Ordering::SeqCst) {
            self.stop();
        }
    }

    /// `job`'s request went out `at`: its host's delay counts from then (see
    /// `Limits::went_out`). Told once per attempt, only for a host spaced by a delay.
    pub(super) fn went_out(&self, job: &mut Job, at: Instant) {
        if let Some(host) = job.leaving_host() {
            self.lock().scheduler.went_out(host, at);
        }
    }

    /// At least `delay` between two requests to `host` from now on (see
    /// `Scheduler::delay_host`).
    pub fn delay_host(self: &Arc<Self>, host: &str, delay: Duration) {
        let mut state = self.lock();
        state.scheduler.delay_host(host, delay);
        // Jobs held for the delay are looked at again when it is due.
        self.nudge(state);
    }

    /// Start nothing more; what waits is delivered (see `Scheduler::stop`).
    pub fn stop(self: &Arc<Self>) {
        let mut state = self.lock();
        state.scheduler.stop(Instant::now());
        self.bells.ring_all();
        self.nudge(state);
    }

    pub fn is_stopped(&self) -> bool {
        self.lock().scheduler.is_stopped()
    }

    /// No handle is left: let the workers go once nothing waits.
    pub fn close(&self) {
        self.lock().closed = true;
        self.bells.ring_all();
        self.end_poll();
    }

    /// Wait until every request's consumer has returned, or `timeout` passes (`Ledger::wait`).
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        self.ledger.wait(timeout)
    }

    pub fn stats(&self) -> Stats {
        let state = self.lock();
        Stats {
            pending: self.ledger.pending(),
            in_flight: state.scheduler.in_flight(),
            handler_panics: self.ledger.panics(),
            workers: state.workers,
            worker_start_failures: self.spawn_failures.load(Ordering::Relaxed),
            other_shard: self.other_shard.load(Ordering::Relaxed),
            shared_waits: state.scheduler.shared_waits(),
            limiter_down: self.shared.as_ref().is_some_and(SharedLimits::is_down),
            limiter_lost: self.limiter_lost.load(Ordering::SeqCst),
            connections: self.client.connections(),
            exchanges: self.client.exchanges(),
        }
    }
}

/// The waiting set: requests sent that wait for their answer, and the worker that polls
/// it.
impl Engine {
    /// Whether requests wait in the set.
    pub(super) fn in_set(&self) -> bool {
        self.set.is_busy()
    }

    /// Put a sent request in the waiting set; it is given back when the set is not there
    /// (it could not be made: the request then waits on its worker).
    pub(super) fn put(&self, mut resumable: Box<Resumable>) -> Result<(), Box<Resumable>> {
        let watch = resumable.pending.watch();
        let deadline = resumable.pending.deadline();
        self.set.put(watch, deadline, resumable)
    }

    /// Whether a running worker should poll the set before its next task: requests wait in
    /// it and no worker has polled for `POLL_EVERY`.
    pub(super) fn poll_due(&self, state: &State, now: Instant) -> bool {
        state.poller.is_none()
            && now.saturating_duration_since(state.polled) >= POLL_EVERY
            && self.in_set()
    }

    /// Poll the waiting set until `until` at most (a request readable or due, or a nudge,
    /// ends it sooner; `until` now: does not wait), and make the requests found ready.
    /// Releases the lock while polling.
    pub(super) fn poll<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        until: Option<Instant>,
    ) -> MutexGuard<'a, State> {
        let Some(set) = self.set.made() else {
            return state;
        };
        state.poller = Some(Poller {
            until,
            woken: false,
        });
        self.polling_hint.store(true, Ordering::Relaxed);
        drop(state);
        let found = set.poll(until);
        let mut state = self.lock();
        state.poller = None;
        self.polling_hint.store(false, Ordering::Relaxed);
        state.polled = Instant::now();
        // A request whose deadline passed goes on first: ending it is quick, and behind
        // the answers of a busy run (thousands of handshakes to go on with) it came back
        // seconds late.
        for item in found.due.into_iter().rev() {
            state.ready.push_front(item);
        }
        state.ready.extend(found.fired);
        state
    }

    /// End a poll of the waiting set in progress, if there is one.
    fn end_poll(&self) {
        self.set.nudge();
    }

    /// Wait for work, or as the timekeeper until `wake` when it is the earliest timer
    /// (`Bells::sleep`).
    pub(super) fn idle<'a>(
        &'a self,
        state: MutexGuard<'a, State>,
        wake: Option<Instant>,
    ) -> MutexGuard<'a, State> {
        self.bells.sleep(state, wake)
    }
}

impl AsMut<Beds> for State {
    fn as_mut(&mut self) -> &mut Beds {
        &mut self.beds
    }
}
