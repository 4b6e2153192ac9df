//! Which workers to wake or start, decided from a `Snapshot` of the engine's counters by a
//! pure function (`plan`), so that it can be tested step by step; the engine takes the
//! snapshot under its lock and carries the plan out (`engine.rs`, `worker.rs`).
//!
//! The rules:
//! - work waiting is the scheduler's tasks and the ready requests beyond `READY_PER_WORKER`
//!   per running worker, plus one poll when requests wait in the set and no worker runs or
//!   polls; for it an idle worker is woken, else the timekeeper, else the poller;
//! - workers are started (at most `SPAWN_BATCH` at a time) for work beyond the idle
//!   workers and the poller, while fewer than `runnable` run (a blocked worker does not
//!   count) and never past the concurrency;
//! - the scheduler's earliest timer is kept by the timekeeper or the poller when they wait
//!   no later than it; else an idle worker, the timekeeper or the poller is woken for it;
//! - the poller is woken (its eventfd written) at most once per poll.
//!
//! Invariant: no clock, no lock, no I/O.

use std::time::Instant;

/// Tasks and ready requests each running worker is left before an idle one is woken for
/// the rest: about one poll's worth, so that a busy run keeps one thread (waking another
/// costs more than it saves when the machine is busy: BENCHMARKS.md, "The worker that
/// polls").
pub(super) const READY_PER_WORKER: usize = 16;

/// The most workers one plan starts.
pub(super) const SPAWN_BATCH: usize = 8;

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

/// The worker polling the waiting set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Poller {
    /// Until when at most (`None`: until a request is readable or due).
    pub until: Option<Instant>,
    /// Told to end its poll (the set's eventfd written): told once.
    pub woken: bool,
}

/// What the engine's counters say, under its lock.
#[derive(Debug, Clone, Copy)]
pub(super) struct Snapshot {
    /// Worker threads started (or being started) and not exited.
    pub workers: usize,
    /// Workers waiting for work.
    pub idle: usize,
    /// Workers waiting for a timer (the timekeeper, and one stepping down).
    pub timing: usize,
    /// Until when the timekeeper waits, if one does.
    pub timekeeper: Option<Instant>,
    /// The worker polling the waiting set, if one does.
    pub poller: Option<Poller>,
    /// Workers blocked in a wait that holds their thread (`blocking.rs`).
    pub blocked: usize,
    /// Tasks the scheduler could hand out now.
    pub tasks: usize,
    /// Requests whose answer came, for a worker to go on with.
    pub ready: usize,
    /// Whether requests wait in the set.
    pub in_set: bool,
    /// The scheduler's earliest timer (a rate, a delay, a retry, a hold).
    pub next_timer: Option<Instant>,
    /// The most worker threads (the concurrency).
    pub concurrency: usize,
    /// The most workers running (not blocked) at once.
    pub runnable: usize,
}

/// Whom to wake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wake {
    /// One idle worker.
    Idle,
    /// The timekeeper.
    Timekeeper,
    /// The poller (its poll ends).
    Poller,
}

/// What to do about the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Plan {
    /// Woken for work that waits.
    pub for_work: Option<Wake>,
    /// Woken so that the scheduler's earliest timer is kept.
    pub for_timer: Option<Wake>,
    /// Workers to start.
    pub start: usize,
}

impl Snapshot {
    /// Workers neither idle, timing, polling nor blocked.
    fn running(&self) -> usize {
        let polling = usize::from(self.poller.is_some());
        let asleep = self.idle + self.timing + polling + self.blocked;
        self.workers.saturating_sub(asleep)
    }

    /// Work no running worker will get to soon: tasks and ready requests beyond
    /// `READY_PER_WORKER` per running worker, and a poll no one will make.
    fn unattended(&self) -> usize {
        let running = self.running();
        let unpolled = self.poller.is_none() && running == 0 && self.in_set;
        (self.tasks + self.ready).saturating_sub(running.saturating_mul(READY_PER_WORKER))
            + usize::from(unpolled)
    }

    /// The poller, if it can still be told to end its poll.
    fn wakeable_poller(&self) -> bool {
        self.poller.is_some_and(|poller| !poller.woken)
    }
}

/// Whom to wake and how many workers to start (see the module documentation). Inlined
/// into `Engine::nudge`, which runs twice per URL.
#[inline]
pub(super) fn plan(s: &Snapshot) -> Plan {
    let mut plan = Plan::default();
    let unattended = s.unattended();
    if unattended > 0 {
        plan.for_work = if s.idle > 0 {
            Some(Wake::Idle)
        } else if s.timekeeper.is_some() {
            Some(Wake::Timekeeper)
        } else {
            s.wakeable_poller().then_some(Wake::Poller)
        };
        let polling = usize::from(s.poller.is_some());
        let room = s.concurrency.saturating_sub(s.workers);
        let may_run = s
            .runnable
            .saturating_sub(s.workers.saturating_sub(s.blocked));
        plan.start = unattended
            .saturating_sub(s.idle + polling)
            .min(room)
            .min(SPAWN_BATCH)
            .min(may_run);
    }
    plan.for_timer = s.next_timer.and_then(|timer| keep_timer(s, timer));
    if plan.for_work == Some(Wake::Poller) && plan.for_timer == Some(Wake::Poller) {
        // Told once: its poll ends, and it sees the timer when it comes back.
        plan.for_timer = None;
    }
    plan
}

/// Who must be woken so that `timer` is kept, if anyone.
fn keep_timer(s: &Snapshot, timer: Instant) -> Option<Wake> {
    let kept_by_poller = s
        .poller
        .is_some_and(|poller| poller.until.is_some_and(|until| until <= timer));
    match s.timekeeper {
        Some(until) if until <= timer => None,
        Some(_) => Some(Wake::Timekeeper),
        None if kept_by_poller => None,
        None if s.idle > 0 => Some(Wake::Idle),
        None => s.wakeable_poller().then_some(Wake::Poller),
    }
}

/// Whether a worker about to block must first have another woken or started in its place:
/// there are tasks or ready requests (it would have taken them), or requests in the set and
/// no worker polls (it would have polled). Read from hints, without the lock.
pub(super) fn hand_over(tasks: usize, polling: bool, in_set: bool) -> bool {
    tasks > 0 || (!polling && in_set)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
