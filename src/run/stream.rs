//! The pull form: `Octopus::fetch_all` takes requests from an iterator on a feeder thread,
//! never more than a window ahead of the responses, and `Responses` hands the responses out
//! as an iterator.
//!
//! Invariants: at most `window` requests are taken and not yet answered, so memory is
//! bounded whatever the iterator's length; the feeder wakes once per refill, not once per
//! response; `Responses` ends after the last response, and also when the `Octopus` is
//! stopped and every request taken has been answered (the iterator may be blocked in a read
//! that never ends, such as a terminal's stdin).

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::{Error, Octopus, Request, Response};

/// How often a blocked feeder or reader looks whether the run was stopped.
const POLL: Duration = Duration::from_millis(100);

/// The responses of [`Octopus::fetch_all`], in the order they complete (an iterator).
pub struct Responses {
    responses: Receiver<Response>,
    window: Arc<Window>,
    octopus: Octopus,
}

/// How many requests are taken and not yet answered.
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

    /// Wait for room for one more request; false when no more should be taken.
    fn take(&self, octopus: &Octopus) -> bool {
        let mut taken = self.lock();
        loop {
            if !taken.open || octopus.is_stopped() {
                return false;
            }
            if taken.outstanding < self.size {
                taken.outstanding += 1;
                return true;
            }
            taken = match self.room.wait_timeout(taken, POLL) {
                Ok((taken, _)) => taken,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    fn answered(&self) {
        let mut taken = self.lock();
        taken.outstanding -= 1;
        if taken.outstanding == self.refill_at {
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

    /// The next response if one is ready now, without waiting.
    pub fn try_next(&mut self) -> Option<Response> {
        self.responses.try_recv().ok()
    }
}

/// Take requests while there is room, each answered into `sender`.
fn feed(
    octopus: &Octopus,
    mut requests: impl Iterator<Item = Request>,
    sender: &Sender<Response>,
    window: &Arc<Window>,
) {
    while window.take(octopus) {
        let Some(request) = requests.next() else {
            window.answered();
            return;
        };
        let (sender, window) = (sender.clone(), Arc::clone(window));
        octopus.submit(
            request,
            Box::new(move |response| {
                // The receiver may be gone (the `Responses` was dropped): nothing to do then.
                let _ = sender.send(response);
                window.answered();
            }),
        );
    }
}

impl Iterator for Responses {
    type Item = Response;

    fn next(&mut self) -> Option<Response> {
        loop {
            match self.responses.recv_timeout(POLL) {
                Ok(response) => return Some(response),
                Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) => {
                    // Stopped, with the feeder perhaps blocked in its iterator for good.
                    let done = self.octopus.is_stopped() && self.window.outstanding() == 0;
                    if done && self.responses.is_empty() {
                        return None;
                    }
                }
            }
        }
    }
}

impl Drop for Responses {
    fn drop(&mut self) {
        self.window.close();
    }
}
