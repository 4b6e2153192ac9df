//! Stopping a run early: Ctrl-C, SIGTERM, stdout closed by the reader of our output, or the
//! shared limiter's or the shared job's Redis lost (the engine stops itself, or the job's
//! requests end; the reason is noted here).
//!
//! Invariants: the first reason wins and is never overwritten; a stop stops the `Octopus`
//! or the crawl (no new request starts; requests in flight finish within their deadline;
//! a crawl's frontier is kept for `--resume`); the first
//! signal is answered once on stderr (how many requests are still finishing); a second
//! signal exits at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use octopus::queue::Queue;
use octopus::{CrawlStop, Octopus};

use super::output::progress::Progress;

/// Why a run stopped before its input ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    Interrupt,
    Terminate,
    OutputClosed,
    LimiterLost,
    QueueLost,
}

impl StopReason {
    /// The conventional exit status for this reason: 128 + the signal's number, and for a
    /// closed output that of a process killed by SIGPIPE, as `cat` or `grep` give there.
    pub fn exit_code(self) -> i32 {
        match self {
            StopReason::Interrupt => super::exit_codes::INTERRUPTED,
            StopReason::Terminate => super::exit_codes::TERMINATED,
            StopReason::OutputClosed => super::exit_codes::OUTPUT_CLOSED,
            StopReason::LimiterLost | StopReason::QueueLost => super::exit_codes::LIMITER_LOST,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Interrupt => "interrupted",
            StopReason::Terminate => "terminated",
            StopReason::OutputClosed => "output_closed",
            StopReason::LimiterLost => "limiter_unreachable",
            StopReason::QueueLost => "queue_unreachable",
        }
    }

    fn code(self) -> u8 {
        match self {
            StopReason::Interrupt => 1,
            StopReason::Terminate => 2,
            StopReason::OutputClosed => 3,
            StopReason::LimiterLost => 4,
            StopReason::QueueLost => 5,
        }
    }
}

/// What a stop stops.
enum Run {
    Fetch(Octopus),
    Crawl(CrawlStop),
}

/// Why the run of one `Octopus`, or one crawl, was stopped, if it was.
pub struct Stop {
    reason: AtomicU8,
    run: Run,
    /// The shared job a fetch takes its requests from (`--queue`): it stops taking too.
    queue: Option<Queue>,
}

impl Stop {
    pub fn new(octopus: Octopus) -> Self {
        Stop {
            reason: AtomicU8::new(0),
            run: Run::Fetch(octopus),
            queue: None,
        }
    }

    /// For a fetch taking its requests from `queue`.
    pub fn with_queue(self, queue: Option<Queue>) -> Self {
        Stop { queue, ..self }
    }

    /// For a crawl.
    pub fn crawl(crawl: CrawlStop) -> Self {
        Stop {
            reason: AtomicU8::new(0),
            run: Run::Crawl(crawl),
            queue: None,
        }
    }

    /// Stop the run; the first reason given is kept.
    pub fn request(&self, reason: StopReason) {
        let _ = self
            .reason
            .compare_exchange(0, reason.code(), Ordering::SeqCst, Ordering::SeqCst);
        match &self.run {
            Run::Fetch(octopus) => octopus.stop(),
            Run::Crawl(crawl) => crawl.stop(),
        }
        if let Some(queue) = &self.queue {
            queue.stop();
        }
    }

    pub fn reason(&self) -> Option<StopReason> {
        match self.reason.load(Ordering::SeqCst) {
            1 => Some(StopReason::Interrupt),
            2 => Some(StopReason::Terminate),
            3 => Some(StopReason::OutputClosed),
            4 => Some(StopReason::LimiterLost),
            5 => Some(StopReason::QueueLost),
            _ => None,
        }
    }

    pub fn is_stopped(&self) -> bool {
        self.reason.load(Ordering::Relaxed) != 0
    }

    /// Route SIGINT and SIGTERM to this `Stop`: the first stops the run and, when `tell`,
    /// says so through `progress` (above the bar, or on stderr); a second exits at once.
    pub fn install_signal_handlers(
        stop: Arc<Stop>,
        progress: Progress,
        tell: bool,
    ) -> std::io::Result<()> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
        std::thread::Builder::new()
            .name("octopus-signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    if stop.is_stopped() {
                        // Nothing is printed after the bar is left behind on the terminal.
                        progress.finish();
                        std::process::exit(128 + signal);
                    }
                    let reason = if signal == SIGTERM {
                        StopReason::Terminate
                    } else {
                        StopReason::Interrupt
                    };
                    stop.request(reason);
                    if tell {
                        progress.stopping();
                        progress.notice(&stop.stopping(reason));
                    }
                }
            })?;
        Ok(())
    }

    /// What the first signal is answered with.
    fn stopping(&self, reason: StopReason) -> String {
        let finishing = match &self.run {
            Run::Fetch(octopus) => match octopus.stats().in_flight {
                1 => "1 request in flight finishes".to_string(),
                n => format!("{n} requests in flight finish"),
            },
            Run::Crawl(_) => "the pages in flight finish".to_string(),
        };
        let again = match reason {
            StopReason::Terminate => "a second SIGTERM",
            _ => "Ctrl-C again",
        };
        format!("octopus: stopping: {finishing} first (within --timeout); {again} quits now")
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
        let told = stop.stopping(StopReason::Interrupt);
        assert!(told.contains("0 requests in flight") && told.contains("Ctrl-C again"));
    }
}
