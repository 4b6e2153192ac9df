//! The scheduler: one reader thread streams input lines into a bounded channel,
//! `concurrency` worker threads fetch them, and records flow over a second bounded channel
//! to the one receiver on the calling thread (which alone owns stdout).
//!
//! Invariants: memory is bounded by the two channels (a few lines per worker), never by the
//! input's size; every line a worker takes up yields exactly one record; after a stop no
//! new request starts; `run` returns only when every worker has finished.
//!
//! Workers are plain scoped threads that block in I/O, not a rayon pool: an idle rayon
//! thread searches every other thread's deque for work before it sleeps, which is
//! O(threads²) at start and at the tail of a run. Measured on 2 cores: a 1000-thread pool
//! cost 0.3-2 s of CPU per run, a 5000-thread one minutes (see ARCHITECTURE.md).

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select};

use crate::cache::Cache;
use crate::client::Client;
use crate::config::Config;
use crate::input::{Line, Lines, Source};
use crate::record::{ErrorKind, Failure, Outcome, Record};
use crate::stop::Stop;
use crate::target::{parse_target, redact, redact_raw};

/// Receives the records of a run, on the thread that called `run`.
pub trait RecordSink {
    fn record(&mut self, record: Record);
    /// No record is waiting right now: a good moment to flush buffered output.
    fn idle(&mut self) {}
}

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
struct SharedInput {
    lines: AtomicU64,
    complete: AtomicBool,
    errors: Mutex<Vec<String>>,
}

/// Stack for each worker thread: requests need little, and there may be thousands of workers.
const WORKER_STACK: usize = 512 * 1024;

/// Fetch every line of `config.sources`, handing each record to `sink` as it completes.
pub fn run(
    config: &Config,
    stop: &Arc<Stop>,
    sink: &mut dyn RecordSink,
) -> Result<InputStats, String> {
    let client = Client::new(&config.client)?;
    let cache = config
        .cache
        .map(|c| Cache::new(c.ttl, c.capacity, &config.client))
        .filter(|_| Cache::applies_to(&config.client.method));
    let depth = (config.concurrency * 2).max(64);
    let (job_tx, job_rx) = crossbeam_channel::bounded::<Line>(depth);
    let (record_tx, record_rx) = crossbeam_channel::bounded::<Record>(depth);
    let shared = Arc::new(SharedInput::default());
    let reads_stdin = config.sources.contains(&Source::Stdin);

    let reader = {
        let (sources, stop, shared) = (
            config.sources.clone(),
            Arc::clone(stop),
            Arc::clone(&shared),
        );
        std::thread::Builder::new()
            .name("octopus-reader".into())
            .spawn(move || read_input(sources, &job_tx, &stop, &shared))
            .map_err(|e| format!("cannot start the input reader: {e}"))?
    };

    let worker = Worker {
        client: &client,
        cache: cache.as_ref(),
        config,
        stop,
    };
    let mut started = 0;
    std::thread::scope(|scope| {
        for i in 0..config.concurrency {
            let (worker, jobs, records) = (&worker, &job_rx, record_tx.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("octopus-worker-{i}"))
                .stack_size(WORKER_STACK)
                .spawn_scoped(scope, move || worker.work(jobs, &records));
            match spawned {
                Ok(_) => started += 1,
                Err(e) => {
                    let _ = writeln!(
                        std::io::stderr(),
                        "octopus: could start only {started} of {} workers ({e}); going on with {started}",
                        config.concurrency
                    );
                    break;
                }
            }
        }
        drop(record_tx);
        loop {
            let record = match record_rx.try_recv() {
                Ok(r) => r,
                Err(_) => {
                    sink.idle();
                    match record_rx.recv() {
                        Ok(r) => r,
                        Err(_) => break,
                    }
                }
            };
            sink.record(record);
        }
    });
    sink.idle();
    // With every worker gone, a reader blocked on a full job channel gets an error and stops.
    drop(job_rx);
    if started == 0 {
        return Err(format!(
            "cannot start any of {} worker threads",
            config.concurrency
        ));
    }

    // The reader is done unless a stop left it blocked on stdin; don't wait for that.
    if !(stop.is_stopped() && reads_stdin) {
        let _ = reader.join();
    } else {
        std::thread::sleep(Duration::from_millis(20));
    }
    let errors = shared.errors.lock().map(|e| e.clone()).unwrap_or_default();
    Ok(InputStats {
        lines: shared.lines.load(Ordering::SeqCst),
        complete: shared.complete.load(Ordering::SeqCst),
        errors,
    })
}

/// The reader thread: stream lines into the job channel; after a stop, only count the rest
/// of finite inputs (so the summary can say how many were not fetched).
fn read_input(sources: Vec<Source>, jobs: &Sender<Line>, stop: &Stop, shared: &SharedInput) {
    let mut lines = Lines::new(sources);
    let mut sending = true;
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
            select! {
                send(jobs, line) -> sent => sending = sent.is_ok(),
                recv(stop.waiter()) -> _ => sending = false,
            }
        }
        if !sending && lines.on_stdin {
            return;
        }
    }
    shared.complete.store(true, Ordering::SeqCst);
}

struct Worker<'a> {
    client: &'a Client,
    cache: Option<&'a Cache>,
    config: &'a Config,
    stop: &'a Stop,
}

impl Worker<'_> {
    fn work(&self, jobs: &Receiver<Line>, records: &Sender<Record>) {
        loop {
            let line = select! {
                recv(jobs) -> line => match line {
                    Ok(line) => line,
                    Err(_) => return,
                },
                recv(self.stop.waiter()) -> _ => return,
            };
            if self.stop.is_stopped() || records.send(self.process(line)).is_err() {
                return;
            }
        }
    }

    fn process(&self, line: Line) -> Record {
        let started = Instant::now();
        let (url, outcome, cached) = self.outcome(&line);
        let ok = match outcome.as_ref() {
            Ok(response) => self.config.ok_status.contains(response.status),
            Err(_) => false,
        };
        Record {
            input: line.input,
            line: line.number,
            url,
            outcome,
            elapsed: started.elapsed(),
            cached,
            ok,
        }
    }

    fn outcome(&self, line: &Line) -> (String, Outcome, bool) {
        let invalid = |shown: String, message: String| {
            let failure = Failure::new(ErrorKind::InvalidUrl, message);
            (shown, Arc::new(Err(failure)), false)
        };
        let text = match &line.text {
            Ok(text) => text,
            Err(e) => return invalid(redact_raw(&line.raw), e.to_string()),
        };
        let url = match parse_target(text) {
            Ok(url) => url,
            Err(message) => return invalid(redact_raw(text), message),
        };
        let shown = redact(&url);
        let (outcome, cached) = match self.cache {
            Some(cache) => cache.get_or_fetch(&self.config.client.method, url.as_str(), || {
                self.client.fetch(&url)
            }),
            None => (Arc::new(self.client.fetch(&url)), false),
        };
        (shown, outcome, cached)
    }
}
