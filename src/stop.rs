//! Stopping a run early: Ctrl-C, SIGTERM, or stdout closed by the reader of our output.
//!
//! Invariants: the first request wins and is never overwritten; once stopped, no new request
//! starts (requests in flight finish within their deadline); a second signal exits at once.
//! `Stop::waiter()` hands out a channel that disconnects on stop, so threads blocked in a
//! channel `select!` wake immediately.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

use crossbeam_channel::{Receiver, Sender};

/// Why a run stopped before its input ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    Interrupt,
    Terminate,
    OutputClosed,
}

impl StopReason {
    /// The conventional exit status for this reason (128 + signal number), if any.
    pub fn exit_code(self) -> Option<i32> {
        match self {
            StopReason::Interrupt => Some(130),
            StopReason::Terminate => Some(143),
            StopReason::OutputClosed => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Interrupt => "interrupted",
            StopReason::Terminate => "terminated",
            StopReason::OutputClosed => "output_closed",
        }
    }

    fn code(self) -> u8 {
        match self {
            StopReason::Interrupt => 1,
            StopReason::Terminate => 2,
            StopReason::OutputClosed => 3,
        }
    }
}

pub struct Stop {
    reason: AtomicU8,
    wake: Mutex<Option<Sender<()>>>,
    waiter: Receiver<()>,
}

impl Default for Stop {
    fn default() -> Self {
        let (tx, rx) = crossbeam_channel::bounded(0);
        Stop {
            reason: AtomicU8::new(0),
            wake: Mutex::new(Some(tx)),
            waiter: rx,
        }
    }
}

impl Stop {
    /// Ask the run to stop; the first reason given is kept.
    pub fn request(&self, reason: StopReason) {
        let _ = self
            .reason
            .compare_exchange(0, reason.code(), Ordering::SeqCst, Ordering::SeqCst);
        // Dropping the sender disconnects every waiter.
        if let Ok(mut wake) = self.wake.lock() {
            wake.take();
        }
    }

    pub fn reason(&self) -> Option<StopReason> {
        match self.reason.load(Ordering::SeqCst) {
            1 => Some(StopReason::Interrupt),
            2 => Some(StopReason::Terminate),
            3 => Some(StopReason::OutputClosed),
            _ => None,
        }
    }

    pub fn is_stopped(&self) -> bool {
        self.reason.load(Ordering::Relaxed) != 0
    }

    /// A receiver that never yields a message and disconnects when the run is stopped.
    pub fn waiter(&self) -> &Receiver<()> {
        &self.waiter
    }

    /// Route SIGINT and SIGTERM to this `Stop`; a second signal exits the process at once.
    pub fn install_signal_handlers(stop: std::sync::Arc<Stop>) -> std::io::Result<()> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
        std::thread::Builder::new()
            .name("octopus-signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    if stop.is_stopped() {
                        std::process::exit(128 + signal);
                    }
                    stop.request(if signal == SIGTERM {
                        StopReason::Terminate
                    } else {
                        StopReason::Interrupt
                    });
                }
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_reason_wins_and_waiters_wake() {
        let stop = Stop::default();
        assert!(!stop.is_stopped());
        assert!(stop.waiter().try_recv().is_err());
        stop.request(StopReason::OutputClosed);
        stop.request(StopReason::Interrupt);
        assert_eq!(stop.reason(), Some(StopReason::OutputClosed));
        assert_eq!(
            stop.waiter().recv(),
            Err(crossbeam_channel::RecvError),
            "disconnected"
        );
    }
}
