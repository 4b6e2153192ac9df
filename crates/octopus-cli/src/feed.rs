//! The `fetch` command's input: the lines of its sources as requests, taken by the library's
//! pull (`Octopus::fetch_all`) on its feeder thread, with what the reader saw kept for the
//! summary.
//!
//! Invariants: input is streamed (the pull takes lines only as fast as there is room);
//! every line counted in `lines` was handed over, or had a record in the resumed output
//! file, or is counted after a stop as not fetched;
//! after a stop, the rest of finite inputs is counted, but stdin is never read further (it
//! may never end), nor waited for when a read of it is blocked.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use octopus::Request;
use octopus::input::{Lines, Source};

use super::counts::InputStats;
use super::journal::{Prior, Seen as Journaled};
use super::order::Order;

#[derive(Default)]
struct Seen {
    lines: AtomicU64,
    complete: AtomicBool,
    errors: Mutex<Vec<String>>,
}

impl Seen {
    fn error(&self, error: impl ToString) {
        if let Ok(mut errors) = self.errors.lock() {
            errors.push(error.to_string());
        }
    }
}

/// The command's end of the input: what was seen, once the run is over.
pub struct Input {
    lines: Arc<Mutex<Lines>>,
    seen: Arc<Seen>,
    reads_stdin: bool,
}

/// The pull's end: an iterator of requests, one per line (but those an output file being
/// resumed has already).
pub struct Feed {
    lines: Arc<Mutex<Lines>>,
    seen: Arc<Seen>,
    prior: Option<Arc<Prior>>,
    /// With `--keep-order`: the lines handed over and not yet printed.
    order: Option<Arc<Order>>,
    /// The input turned out to differ from the resumed file's: no more lines.
    ended: bool,
}

fn lock(lines: &Mutex<Lines>) -> MutexGuard<'_, Lines> {
    lines.lock().unwrap_or_else(|p| p.into_inner())
}

impl Input {
    /// The input of `sources`, skipping the lines `prior` has records of, noting in `order`
    /// the lines handed over.
    pub fn new(
        sources: Vec<Source>,
        prior: Option<Arc<Prior>>,
        order: Option<Arc<Order>>,
    ) -> (Input, Feed) {
        let reads_stdin = sources.contains(&Source::Stdin);
        let lines = Arc::new(Mutex::new(Lines::new(sources)));
        let seen = Arc::new(Seen::default());
        let feed = Feed {
            lines: Arc::clone(&lines),
            seen: Arc::clone(&seen),
            prior,
            order,
            ended: false,
        };
        let input = Input {
            lines,
            seen,
            reads_stdin,
        };
        (input, feed)
    }

    /// What the reader saw. After a stop, the rest of finite inputs is counted first.
    pub fn finish(self, stopped: bool) -> InputStats {
        if stopped {
            // A read of stdin may be blocked, holding the lines: do not wait for it then.
            let lines = match self.reads_stdin {
                true => self.lines.try_lock().ok(),
                false => Some(lock(&self.lines)),
            };
            if let Some(mut lines) = lines {
                self.count_rest(&mut lines);
            }
        }
        InputStats {
            lines: self.seen.lines.load(Ordering::SeqCst),
            complete: self.seen.complete.load(Ordering::SeqCst),
            errors: self
                .seen
                .errors
                .lock()
                .map(|e| e.clone())
                .unwrap_or_default(),
        }
    }

    fn count_rest(&self, lines: &mut Lines) {
        while !lines.is_on_stdin() {
            match lines.next_line() {
                Some(Ok(_)) => {
                    self.seen.lines.fetch_add(1, Ordering::SeqCst);
                }
                Some(Err(error)) => self.seen.error(error),
                None => {
                    self.seen.complete.store(true, Ordering::SeqCst);
                    return;
                }
            }
        }
    }
}

impl Iterator for Feed {
    type Item = Request;

    fn next(&mut self) -> Option<Request> {
        if let Some(order) = &self.order {
            order.wait_for_room();
        }
        while !self.ended {
            let next = lock(&self.lines).next_line();
            let request = match next {
                Some(Ok(line)) => {
                    self.seen.lines.fetch_add(1, Ordering::SeqCst);
                    Request::from(line)
                }
                Some(Err(error)) => {
                    self.seen.error(error);
                    continue;
                }
                None => {
                    self.seen.complete.store(true, Ordering::SeqCst);
                    return None;
                }
            };
            match self.prior.as_ref().map(|p| p.seen(&request)) {
                None | Some(Journaled::New) => {
                    if let Some(order) = &self.order {
                        order.hand_over(&request);
                    }
                    return Some(request);
                }
                Some(Journaled::Done) => {}
                Some(Journaled::Changed(why)) => {
                    self.seen.error(why);
                    self.ended = true;
                }
            }
        }
        None
    }

    /// At least one more line without a read that may block (so that the pull hands over
    /// what it has before such a read), or none promised.
    fn size_hint(&self) -> (usize, Option<usize>) {
        let full = self.order.as_ref().is_some_and(|o| o.is_full());
        (usize::from(!full && !lock(&self.lines).would_read()), None)
    }
}
