//! The feed from input to workers: a reader thread streams lines into a bounded channel in
//! batches, and workers take lines one at a time from the batch at hand.
//!
//! Invariants: at most a few batches are buffered, whatever the input's size; a batch is
//! handed over when full or as soon as the next line would need a read from the OS (so a
//! slow producer on stdin never has lines held back); after a stop, nothing more is handed
//! over and only the rest of finite inputs is counted (for the summary's `not_fetched`).
//! Batching wakes the reader once per batch rather than once per line.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, select};

use crate::input::{Line, Lines, Source};
use crate::stop::Stop;

/// Lines per batch at most.
const BATCH: usize = 256;

/// What the reader saw of the input.
#[derive(Debug, Default)]
pub struct InputStats {
    /// Lines that deserve a record (non-blank, non-comment), including any not fetched.
    pub lines: u64,
    /// Whether the input was read to its end (false when a stop left stdin unread).
    pub complete: bool,
    /// Inputs that could not be read (opened or read), with the reason.
    pub errors: Vec<String>,
}

#[derive(Default)]
struct Shared {
    lines: AtomicU64,
    complete: AtomicBool,
    errors: Mutex<Vec<String>>,
}

/// The workers' end: hands out lines one at a time.
pub struct Feed {
    batches: Receiver<Vec<Line>>,
    current: Mutex<std::vec::IntoIter<Line>>,
}

/// The reader's end, to collect its statistics when the run is over.
pub struct Reader {
    thread: JoinHandle<()>,
    shared: Arc<Shared>,
    reads_stdin: bool,
}

/// Start the reader thread over `sources`, buffering about `depth` lines.
pub fn start(
    sources: Vec<Source>,
    depth: usize,
    stop: &Arc<Stop>,
) -> Result<(Feed, Reader), String> {
    let (tx, rx) = crossbeam_channel::bounded((depth / BATCH).max(2));
    let shared = Arc::new(Shared::default());
    let reads_stdin = sources.contains(&Source::Stdin);
    let thread = {
        let (stop, shared) = (Arc::clone(stop), Arc::clone(&shared));
        std::thread::Builder::new()
            .name("octopus-reader".into())
            .spawn(move || read(sources, &tx, &stop, &shared))
            .map_err(|e| format!("cannot start the input reader: {e}"))?
    };
    let feed = Feed {
        batches: rx,
        current: Mutex::new(Vec::new().into_iter()),
    };
    Ok((
        feed,
        Reader {
            thread,
            shared,
            reads_stdin,
        },
    ))
}

impl Feed {
    /// The batches themselves, for a consumer that selects over other events too (the
    /// scheduler's dispatcher). Not to be mixed with `next` in one run.
    pub fn batches(&self) -> &Receiver<Vec<Line>> {
        &self.batches
    }

    /// The next line, or `None` when the input is exhausted or the run is stopped.
    pub fn next(&self, stop: &Stop) -> Option<Line> {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(line) = current.next() {
            return Some(line);
        }
        // Other workers wait on the lock meanwhile; each sees the stop in turn.
        let batch = select! {
            recv(self.batches) -> batch => batch.ok()?,
            recv(stop.waiter()) -> _ => return None,
        };
        *current = batch.into_iter();
        current.next()
    }
}

impl Reader {
    /// Collect what the reader saw, once every worker is done. The feed must be dropped
    /// first so that a reader blocked on a full channel sees it closed.
    pub fn finish(self, feed: Feed, stop: &Stop) -> InputStats {
        drop(feed);
        // A stop can leave the reader blocked on stdin: don't wait for it then.
        if !(stop.is_stopped() && self.reads_stdin) {
            let _ = self.thread.join();
        }
        InputStats {
            lines: self.shared.lines.load(Ordering::SeqCst),
            complete: self.shared.complete.load(Ordering::SeqCst),
            errors: self
                .shared
                .errors
                .lock()
                .map(|e| e.clone())
                .unwrap_or_default(),
        }
    }
}

fn read(sources: Vec<Source>, batches: &Sender<Vec<Line>>, stop: &Stop, shared: &Shared) {
    let mut lines = Lines::new(sources);
    let mut batch = Vec::with_capacity(BATCH);
    let mut sending = true;
    let hand_over = |batch: &mut Vec<Line>| {
        let full = std::mem::replace(batch, Vec::with_capacity(BATCH));
        select! {
            send(batches, full) -> sent => sent.is_ok(),
            recv(stop.waiter()) -> _ => false,
        }
    };
    while let Some(item) = lines.next_line() {
        let line = match item {
            Ok(line) => line,
            Err(message) => {
                if let Ok(mut errors) = shared.errors.lock() {
                    errors.push(message);
                }
                continue;
            }
        };
        shared.lines.fetch_add(1, Ordering::SeqCst);
        if sending {
            batch.push(line);
            if batch.len() >= BATCH || lines.would_read() {
                sending = hand_over(&mut batch);
            }
        }
        if !sending && lines.on_stdin {
            return;
        }
    }
    if sending && !batch.is_empty() {
        hand_over(&mut batch);
    }
    shared.complete.store(true, Ordering::SeqCst);
}
