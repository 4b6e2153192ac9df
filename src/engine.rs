//! The scheduler: the feed (`feed.rs`) streams input lines, `concurrency` worker threads
//! fetch them, and records flow over a bounded channel to the one receiver on the calling
//! thread (which alone owns stdout).
//!
//! Invariants: memory is bounded by the feed and the record channel (a few lines per
//! worker), never by the input's size; every line a worker takes up yields exactly one record; after a stop no
//! new request starts; `run` returns only when every worker has finished.
//!
//! Workers are plain scoped threads that block in I/O, not a rayon pool: an idle rayon
//! thread searches every other thread's deque for work before it sleeps, which is
//! O(threads²) at start and at the tail of a run. Measured on 2 cores: a 1000-thread pool
//! cost 0.3-2 s of CPU per run, a 5000-thread one minutes (see ARCHITECTURE.md).

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use crate::cache::Cache;
use crate::client::Client;
use crate::config::Config;
use crate::feed::{self, Feed, InputStats};
use crate::input::Line;
use crate::record::{ErrorKind, Failure, Outcome, Record};
use crate::stop::Stop;
use crate::target::{parse_target, redact, redact_raw};
use url::Url;

/// Receives the records of a run, on the thread that called `run`.
pub trait RecordSink {
    fn record(&mut self, record: Record);
    /// No record is waiting right now: a good moment to flush buffered output.
    fn idle(&mut self) {}
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
    let (record_tx, record_rx) = crossbeam_channel::bounded::<Record>(depth);
    let (feed, reader) = feed::start(config.sources.clone(), depth, stop)?;

    let worker = Worker {
        client: &client,
        cache: cache.as_ref(),
        config,
        stop,
    };
    // Only used on the polite path: the dispatcher hands jobs out and hears back.
    let (job_tx, job_rx) = crossbeam_channel::bounded(config.concurrency);
    let (done_tx, done_rx) = crossbeam_channel::unbounded();
    let started = std::thread::scope(|scope| {
        let started = if config.policy.is_active() {
            // The dispatcher alone reads the feed; workers fetch what it hands them. It
            // starts first, so a failure to start it leaves nothing running.
            let (scheduled, feed, records) = (&worker, &feed, record_tx.clone());
            let dispatcher = std::thread::Builder::new()
                .name("octopus-dispatcher".into())
                .spawn_scoped(scope, move || {
                    scheduled.dispatch(feed, job_tx, &done_rx, &records)
                });
            match dispatcher {
                Ok(_) => Ok(spawn_workers(
                    scope,
                    config.concurrency,
                    &record_tx,
                    |records| worker.work_scheduled(&job_rx, &done_tx, records),
                )),
                Err(e) => Err(format!("cannot start the dispatcher thread: {e}")),
            }
        } else {
            Ok(spawn_workers(
                scope,
                config.concurrency,
                &record_tx,
                |records| worker.work(&feed, records),
            ))
        };
        drop(record_tx);
        receive(&record_rx, sink);
        started
    });
    let input = reader.finish(feed, stop);
    match started? {
        0 => Err(format!(
            "cannot start any of {} worker threads",
            config.concurrency
        )),
        _ => Ok(input),
    }
}

/// Start up to `n` worker threads running `work` with their own handle on `records`.
/// Returns how many started (a system out of threads gets a warning and fewer workers).
fn spawn_workers<'scope, 'env, F>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    n: usize,
    records: &Sender<Record>,
    work: F,
) -> usize
where
    F: Fn(&Sender<Record>) + Send + Sync + 'scope,
{
    let work = Arc::new(work);
    for i in 0..n {
        let (work, records) = (Arc::clone(&work), records.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("octopus-worker-{i}"))
            .stack_size(WORKER_STACK)
            .spawn_scoped(scope, move || work(&records));
        if let Err(e) = spawned {
            let _ = writeln!(
                std::io::stderr(),
                "octopus: could start only {i} of {n} workers ({e}); going on with {i}"
            );
            return i;
        }
    }
    n
}

/// How long the receiver lets records gather after a busy spell before it blocks again:
/// it then wakes once per handful of records instead of once per record.
const GATHER: Duration = Duration::from_micros(500);

/// Hand every record to `sink` until all workers are gone; `idle` whenever none is waiting.
fn receive(records: &Receiver<Record>, sink: &mut dyn RecordSink) {
    let mut busy = false;
    loop {
        match records.try_recv() {
            Ok(record) => {
                busy = true;
                sink.record(record);
            }
            Err(TryRecvError::Empty) => {
                sink.idle();
                if std::mem::take(&mut busy) {
                    std::thread::sleep(GATHER);
                    continue;
                }
                match records.recv() {
                    Ok(record) => {
                        busy = true;
                        sink.record(record);
                    }
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        }
    }
    sink.idle();
}

/// What every worker (and the polite path's dispatcher) shares for one run.
pub(crate) struct Worker<'a> {
    pub(crate) client: &'a Client,
    pub(crate) cache: Option<&'a Cache>,
    pub(crate) config: &'a Config,
    pub(crate) stop: &'a Stop,
}

impl Worker<'_> {
    fn work(&self, feed: &Feed, records: &Sender<Record>) {
        while let Some(line) = feed.next(self.stop) {
            if self.stop.is_stopped() || records.send(self.process(line)).is_err() {
                return;
            }
        }
    }

    fn process(&self, line: Line) -> Record {
        let started = Instant::now();
        let (url, shown) = match parse_line(&line) {
            Ok(target) => target,
            Err((shown, failure)) => return self.record(&line, shown, Arc::new(Err(failure))),
        };
        let (outcome, cached) = match self.cache {
            Some(cache) => cache.get_or_fetch(&self.config.client.method, url.as_str(), || {
                self.client.fetch(&url)
            }),
            None => (Arc::new(self.client.fetch(&url)), false),
        };
        let mut record = self.record(&line, shown, outcome);
        record.elapsed = started.elapsed();
        record.cached = cached;
        record.attempts = u32::from(!cached);
        record
    }

    pub(crate) fn record(&self, line: &Line, shown: String, outcome: Outcome) -> Record {
        Record::new(
            line.input.clone(),
            line.number,
            shown,
            outcome,
            &self.config.ok_status,
        )
    }
}

/// The URL to fetch for `line` and how to show it (password masked), or the record's
/// `invalid_url` failure with the line as shown.
pub(crate) fn parse_line(line: &Line) -> Result<(Url, String), (String, Failure)> {
    let invalid =
        |shown: String, message: String| (shown, Failure::new(ErrorKind::InvalidUrl, message));
    let text = match &line.text {
        Ok(text) => text,
        Err(e) => return Err(invalid(redact_raw(&line.raw), e.to_string())),
    };
    match parse_target(text) {
        Ok(url) => {
            let shown = redact(&url);
            Ok((url, shown))
        }
        Err(message) => Err(invalid(redact_raw(text), message)),
    }
}
