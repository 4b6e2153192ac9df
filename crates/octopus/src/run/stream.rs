//! The pull form: `Octopus::fetch_all` takes requests from an iterator on a feeder thread,
//! never more than a window ahead of the responses, and `Responses` hands the responses out
//! as an iterator.
//!
//! Invariants: at most `window` requests are taken whose responses are not yet read, so
//! memory is bounded whatever the iterator's length and however slow the reader; the feeder wakes once per refill, not once per
//! response; `Responses` ends after the last response, and also when the `Octopus` is
//! stopped and every request taken has been answered (the iterator may be blocked in a read
//! that never ends, such as a terminal's stdin).

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::Octopus;
use super::job::Consumer;
use crate::builder::error::Error;
use crate::input::Request;
use crate::response::Response;

/// How often a blocked feeder or reader looks whether the run was stopped.
const POLL: Duration = Duration::from_millis(100);

/// The responses of [`Octopus::fetch_all`], in the order they complete (an iterator).
///
/// It ends after the last request's response, or, once the `Octopus` is stopped, when every
/// request taken has been answered. Dropping it early stops taking requests from the
/// iterator; those already taken are still fetched.
pub struct Responses {
    responses: Receiver<Response>,
    window: Arc<Window>,
    octopus: Octopus,
}

/// How many requests are taken and their responses not yet read.
struct Window {
    state: Mutex<Taken>,
    room: Condvar,
    size: usize,
    /// The feeder is woken when the count drops to this.
    refill_at: usize,
}

struct Taken {
    outstanding: usize,
    /// False once the `Responses` is dropped: take no more.
    open: bool,
}

impl Window {
    fn new(size: usize) -> Self {
        let size = size.max(1);
        Window {
            state: Mutex::new(Taken {
                outstanding: 0,
                open: true,
            }),
            room: Condvar::new(),
            size,
            refill_at: size - (size / 8).max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Taken> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wait for room, and take room for up to `most` requests: how many (0 when no more
    /// should be taken: the `Responses` was dropped, or the run `stopped`).
    fn take(&self, most: usize, stopped: impl Fn() -> bool) -> usize {
        let mut taken = self.lock();
        loop {
            if !taken.open || stopped() {
                return 0;
            }
            if taken.outstanding < self.size {
                let room = most.min(self.size - taken.outstanding);
                taken.outstanding += room;
                return room;
            }
            taken = match self.room.wait_timeout(taken, POLL) {
                Ok((taken, _)) => taken,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// `n` responses were read (or room taken for them was not used).
    fn answered(&self, n: usize) {
        let mut taken = self.lock();
        let before = taken.outstanding;
        taken.outstanding -= n;
        if (taken.outstanding..before).contains(&self.refill_at) {
            self.room.notify_one();
        }
    }

    fn outstanding(&self) -> usize {
        self.lock().outstanding
    }

    fn close(&self) {
        self.lock().open = false;
        self.room.notify_one();
    }
}

impl Responses {
    pub(crate) fn start<I>(octopus: Octopus, requests: I) -> Result<Responses, Error>
    where
        I: Iterator<Item = Request> + Send + 'static,
    {
        let (sender, responses) = crossbeam_channel::unbounded();
        let window = Arc::new(Window::new(octopus.pull_window()));
        let feeder = (octopus.clone(), Arc::clone(&window));
        std::thread::Builder::new()
            .name("octopus-feeder".into())
            .spawn(move || feed(&feeder.0, requests, &sender, &feeder.1))
            .map_err(Error::Thread)?;
        Ok(Responses {
            responses,
            window,
            octopus,
        })
    }

    /// The next response, waiting at most `timeout` for it: `None` when the time ran out,
    /// `Some(None)` when there are no more (as `next` ends), `Some(Some(response))`
    /// otherwise. For a caller that must look up between waits (a Python binding looking
    /// for Ctrl-C).
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Option<Response>> {
        match self.responses.recv_timeout(timeout.min(POLL)) {
            Ok(response) => {
                self.window.answered(1);
                Some(Some(response))
            }
            Err(RecvTimeoutError::Disconnected) => Some(None),
            // Stopped, with the feeder perhaps blocked in its iterator for good.
            Err(RecvTimeoutError::Timeout)
                if self.octopus.is_stopped() && self.window.outstanding() == 0 =>
            {
                Some(None)
            }
            Err(RecvTimeoutError::Timeout) => None,
        }
    }

    /// The next response if one is ready now, without waiting.
    pub fn try_next(&mut self) -> Option<Response> {
        let response = self.responses.try_recv().ok()?;
        self.window.answered(1);
        Some(response)
    }
}

/// Requests handed to the engine at once, at most: an eighth of the window, within these
/// bounds. The feeder is one thread among as many workers as the concurrency; handing over
/// 64 at a time, it took a second and a half to fill ten thousand slots (BENCHMARKS.md, W9).
const BATCH: (usize, usize) = (64, 1024);

/// Take requests while there is room, each answered into `sender`. They are handed over in
/// batches, a batch as soon as the iterator may block for the next one (the lower bound of
/// its `size_hint` is zero), so that a slow source never has requests held back.
fn feed(
    octopus: &Octopus,
    mut requests: impl Iterator<Item = Request>,
    sender: &Sender<Response>,
    window: &Arc<Window>,
) {
    let batch_size = (window.size / 8).clamp(BATCH.0, BATCH.1);
    loop {
        let room = window.take(batch_size, || octopus.is_stopped());
        if room == 0 {
            return;
        }
        let mut batch = Vec::with_capacity(room);
        let mut ended = false;
        while batch.len() < room {
            let Some(request) = requests.next() else {
                ended = true;
                break;
            };
            let consumer = Consumer::Channel(sender.clone());
            batch.push((request, consumer));
            if requests.size_hint().0 == 0 {
                break;
            }
        }
        window.answered(room - batch.len());
        if !batch.is_empty() {
            octopus.submit(batch);
        }
        if ended {
            return;
        }
    }
}

impl Iterator for Responses {
    type Item = Response;

    fn next(&mut self) -> Option<Response> {
        loop {
            if let Some(next) = self.next_timeout(POLL) {
                return next;
            }
        }
    }
}

impl Drop for Responses {
    fn drop(&mut self) {
        self.window.close();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    #[test]
    fn the_window_bounds_what_is_taken_and_not_answered() {
        let window = Window::new(16);
        assert_eq!(window.take(10, || false), 10);
        // Only the room left is taken.
        assert_eq!(window.take(10, || false), 6);
        assert_eq!(window.outstanding(), 16);
        window.answered(3);
        assert_eq!(window.take(10, || false), 3);
    }

    #[test]
    fn a_full_window_waits_until_answers_make_room() {
        let window = Arc::new(Window::new(8));
        assert_eq!(window.take(8, || false), 8);
        let taker = {
            let window = Arc::clone(&window);
            std::thread::spawn(move || window.take(8, || false))
        };
        // One answer makes room for one; the feeder is woken at the refill point (7).
        window.answered(1);
        assert_eq!(taker.join().unwrap(), 1);
    }

    #[test]
    fn nothing_is_taken_once_closed_or_stopped() {
        let window = Arc::new(Window::new(4));
        assert_eq!(window.take(4, || false), 4);
        let stopped = Arc::new(AtomicBool::new(false));
        let taker = {
            let (window, stopped) = (Arc::clone(&window), Arc::clone(&stopped));
            std::thread::spawn(move || window.take(4, || stopped.load(Ordering::SeqCst)))
        };
        // A stop is seen within the blocked take's next look (it polls every 100 ms).
        stopped.store(true, Ordering::SeqCst);
        assert_eq!(taker.join().unwrap(), 0);
        window.answered(4);
        window.close();
        assert_eq!(window.take(4, || false), 0);
    }
}
