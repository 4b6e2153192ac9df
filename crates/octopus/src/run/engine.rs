//! The engine: the scheduler under one lock, the worker threads that ask it for tasks
//! (`worker.rs`), the requests waiting for their answer on no thread (`waiting.rs`, polled
//! by a worker), and the count of requests whose consumer has not returned yet (what
//! `wait` waits for).
//!
//! Invariants:
//! - one worker is started by `start`, so there is always one;
//! - the lock is never held during a fetch, a round trip to the shared limiter, or a
//!   consumer call;
//! - a consumer that panics is counted and the run goes on; `outstanding` counts it done.

use std::cell::Cell;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use super::Stats;
use super::dispatch::runnable;
use super::job::{Consumer, Delivery, Job, Ticket};
use super::scheduler::Scheduler;
use super::waiting::Waiting;
use super::worker::Resumable;
use crate::Error;
use crate::blocking;
use crate::http::Client;
use crate::input::Request;
use crate::settings::Settings;
use crate::shared::SharedLimits;

thread_local! {
    /// Set while this thread runs a consumer (a handler), which `wait` must not block.
    static IN_HANDLER: Cell<bool> = const { Cell::new(false) };
}

pub(crate) struct Engine {
    pub(super) state: Mutex<State>,
    /// Idle workers wait here.
    pub(super) work: Condvar,
    /// The timekeeper waits here.
    pub(super) timer: Condvar,
    /// `wait` waits here for `outstanding` to reach zero.
    pub(super) settled: Condvar,
    pub(super) client: Client,
    /// Requests sent that wait for their answer on no thread; made with the first. `None`
    /// if it could not be made (requests then wait on their worker).
    pub(super) waiting: OnceLock<Option<Waiting<Box<Resumable>>>>,
    /// Limits shared with other processes through Redis, when asked for.
    pub(super) shared: Option<SharedLimits>,
    /// The shared limiter stayed unreachable past its bound, and the run was stopped.
    pub(super) limiter_lost: AtomicBool,
    pub(crate) settings: Settings,
    pub(super) next_id: AtomicU64,
    /// Requests enqueued whose consumer has not returned yet (what `wait` waits for; it
    /// reaches zero under the lock, see `deliver`).
    pub(super) outstanding: AtomicU64,
    pub(super) handler_panics: AtomicU64,
    pub(super) spawn_failures: AtomicU64,
    /// Workers blocked in a wait that holds their thread (`blocking.rs`).
    pub(super) blocked: AtomicUsize,
    /// As of the last `nudge` or poll (read without the lock by a worker about to block, to
    /// decide whether to take it).
    pub(super) hints: Hints,
    /// How many workers may run (not blocked) at once.
    pub(super) runnable: usize,
    pub(super) other_shard: AtomicU64,
}

pub(super) struct State {
    pub(super) scheduler: Scheduler,
    /// Worker threads started (or being started) and not exited.
    pub(super) workers: usize,
    /// Requests whose answer came (or whose deadline passed), for a worker to go on with.
    pub(super) ready: VecDeque<Box<Resumable>>,
    /// Workers waiting on `work`.
    pub(super) idle: usize,
    /// Workers waiting on `timer` (the timekeeper, and one stepping down).
    pub(super) timing: usize,
    /// The worker waiting on `timer`: its token and until when.
    pub(super) timekeeper: Option<(u64, Instant)>,
    /// The worker polling the waiting set, if one is.
    pub(super) poller: Option<Poller>,
    /// When the last poll of the waiting set ended.
    pub(super) polled: Instant,
    pub(super) tokens: u64,
    /// No handle is left: workers exit once nothing waits.
    pub(super) closed: bool,
}

/// The worker polling the waiting set.
#[derive(Clone, Copy)]
pub(super) struct Poller {
    /// Until when at most (`None`: until a request is readable or due).
    pub(super) until: Option<Instant>,
    /// Told to end its poll (the set's eventfd written): told once.
    pub(super) woken: bool,
}

/// What `nudge` and the poller last saw, for a worker about to block to read without the
/// lock.
#[derive(Default)]
pub(super) struct Hints {
    /// Tasks and ready requests waiting.
    pub(super) waiting: AtomicUsize,
    /// A worker polls the waiting set.
    pub(super) polling: AtomicBool,
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
                timing: 0,
                timekeeper: None,
                poller: None,
                polled: Instant::now(),
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
            blocked: AtomicUsize::new(0),
            hints: Default::default(),
            runnable: runnable(),
            other_shard: AtomicU64::new(0),
        });
        engine.spawn_worker().map_err(Error::Thread)?;
        Ok(engine)
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
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

    /// Run a consumer (catching a panic), then count its request done. Called without the
    /// lock.
    pub(super) fn deliver(&self, delivery: Delivery) {
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
