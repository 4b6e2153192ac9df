//! Where workers with nothing to do sleep: idle workers on one condvar (`work`), and one of
//! them, the timekeeper, on another (`timer`) until the scheduler's earliest timer. `Beds`
//! counts them under the engine's lock; `Bells` are the condvars they wait on.
//!
//! Invariants: at most one worker keeps a timer, the one with the earliest (a later
//! timekeeper steps down when an earlier one comes: it is woken and its token is stale);
//! every sleep releases the engine's lock and takes it back.

use std::sync::{Condvar, MutexGuard};
use std::time::Instant;

use super::plan::Wake;

/// Who sleeps where (kept under the engine's lock).
#[derive(Debug, Default)]
pub(super) struct Beds {
    /// Workers waiting on `work`.
    idle: usize,
    /// Workers waiting on `timer` (the timekeeper, and one stepping down).
    timing: usize,
    /// The worker keeping the earliest timer: its token and until when.
    timekeeper: Option<(u64, Instant)>,
    tokens: u64,
}

impl Beds {
    pub fn idle(&self) -> usize {
        self.idle
    }

    pub fn timing(&self) -> usize {
        self.timing
    }

    /// Until when the timekeeper waits, if one does.
    pub fn timekeeper(&self) -> Option<Instant> {
        self.timekeeper.map(|(_, until)| until)
    }
}

/// The condvars workers sleep on.
#[derive(Debug, Default)]
pub(super) struct Bells {
    work: Condvar,
    timer: Condvar,
}

impl Bells {
    /// Wake one idle worker, or the timekeeper (the poller is woken through the set).
    pub fn ring(&self, wake: Wake) {
        match wake {
            Wake::Idle => self.work.notify_one(),
            Wake::Timekeeper => self.timer.notify_one(),
            Wake::Poller => {}
        }
    }

    /// Wake every sleeper (the run stops or ends: each looks again).
    pub fn ring_all(&self) {
        self.work.notify_all();
        self.timer.notify_all();
    }

    /// Sleep until woken, or as the timekeeper until `wake` when it is earlier than the
    /// current timekeeper's. Releases the lock meanwhile.
    pub fn sleep<'a, S: AsMut<Beds>>(
        &self,
        mut state: MutexGuard<'a, S>,
        wake: Option<Instant>,
    ) -> MutexGuard<'a, S> {
        let beds = state.as_mut();
        let earliest = wake.filter(|w| beds.timekeeper.is_none_or(|(_, t)| *w < t));
        let Some(until) = earliest else {
            beds.idle += 1;
            state = self.work.wait(state).unwrap_or_else(|p| p.into_inner());
            state.as_mut().idle -= 1;
            return state;
        };
        beds.timing += 1;
        if beds.timekeeper.is_some() {
            // The current timekeeper waits for a later time: it steps down when it wakes.
            self.timer.notify_one();
        }
        beds.tokens += 1;
        let token = beds.tokens;
        beds.timekeeper = Some((token, until));
        let timeout = until.saturating_duration_since(Instant::now());
        state = match self.timer.wait_timeout(state, timeout) {
            Ok((state, _)) => state,
            Err(poisoned) => poisoned.into_inner().0,
        };
        let beds = state.as_mut();
        beds.timing -= 1;
        if beds.timekeeper.is_some_and(|(t, _)| t == token) {
            beds.timekeeper = None;
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    impl AsMut<Beds> for Beds {
        fn as_mut(&mut self) -> &mut Beds {
            self
        }
    }

    type Shared = Arc<(Mutex<Beds>, Bells)>;

    fn lock(shared: &Shared) -> MutexGuard<'_, Beds> {
        shared.0.lock().unwrap()
    }

    /// Wait (at most 60 s: a liveness bound, not a timing) until `done` holds.
    fn until(shared: &Shared, done: impl Fn(&Beds) -> bool) {
        let give_up = Instant::now() + Duration::from_secs(60);
        while !done(&lock(shared)) {
            assert!(Instant::now() < give_up, "{:?}", lock(shared));
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn an_idle_worker_sleeps_until_rung() {
        let shared: Shared = Arc::default();
        let sleeper = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || drop(shared.1.sleep(lock(&shared), None)))
        };
        until(&shared, |beds| beds.idle() == 1);
        let state = lock(&shared);
        shared.1.ring(Wake::Idle);
        drop(state);
        sleeper.join().unwrap();
        assert_eq!(lock(&shared).idle(), 0);
    }

    #[test]
    fn an_earlier_timer_takes_over_and_the_later_keeper_steps_down() {
        let shared: Shared = Arc::default();
        let far = Instant::now() + Duration::from_secs(3600);
        let keeper = |at: Instant| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || drop(shared.1.sleep(lock(&shared), Some(at))))
        };
        let late = keeper(far);
        until(&shared, |beds| beds.timekeeper() == Some(far));
        // An earlier timer: the late keeper is woken (it steps down), the new one keeps it.
        let soon = Instant::now() + Duration::from_millis(20);
        let early = keeper(soon);
        late.join().unwrap();
        early.join().unwrap();
        let beds = lock(&shared);
        assert_eq!((beds.timing(), beds.timekeeper()), (0, None));
    }

    #[test]
    fn a_later_timer_than_the_keepers_waits_as_an_idle_worker() {
        let shared: Shared = Arc::default();
        let soon = Instant::now() + Duration::from_secs(3600);
        let first = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || drop(shared.1.sleep(lock(&shared), Some(soon))))
        };
        until(&shared, |beds| beds.timekeeper() == Some(soon));
        let later = soon + Duration::from_secs(1);
        let second = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || drop(shared.1.sleep(lock(&shared), Some(later))))
        };
        until(&shared, |beds| beds.idle() == 1);
        assert_eq!(lock(&shared).timekeeper(), Some(soon));
        let state = lock(&shared);
        shared.1.ring_all();
        drop(state);
        first.join().unwrap();
        second.join().unwrap();
    }
}
