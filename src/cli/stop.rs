//! Stopping a run early: Ctrl-C, SIGTERM, or stdout closed by the reader of our output.
//!
//! Invariants: the first reason wins and is never overwritten; a stop stops the `Octopus`
//! (no new request starts; requests in flight finish within their deadline); a second
//! signal exits at once.

use std::sync::atomic::{AtomicU8, Ordering};

use octopus::Octopus;

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

/// Why the run of one `Octopus` was stopped, if it was.
pub struct Stop {
    reason: AtomicU8,
    octopus: Octopus,
}

impl Stop {
    pub fn new(octopus: Octopus) -> Self {
        Stop {
            reason: AtomicU8::new(0),
            octopus,
        }
    }

    /// Stop the run; the first reason given is kept.
    pub fn request(&self, reason: StopReason) {
        let _ = self
            .reason
            .compare_exchange(0, reason.code(), Ordering::SeqCst, Ordering::SeqCst);
        self.octopus.stop();
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
    fn first_reason_wins_and_the_octopus_stops() {
        let octopus = Octopus::builder().concurrency(1).build().unwrap();
        let stop = Stop::new(octopus.clone());
        assert!(!stop.is_stopped());
        stop.request(StopReason::OutputClosed);
        stop.request(StopReason::Interrupt);
        assert_eq!(stop.reason(), Some(StopReason::OutputClosed));
        assert!(octopus.is_stopped());
    }
}
