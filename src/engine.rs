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
    let mut started = 0;
    std::thread::scope(|scope| {
        for i in 0..config.concurrency {
            let (worker, feed, records) = (&worker, &feed, record_tx.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("octopus-worker-{i}"))
                .stack_size(WORKER_STACK)
                .spawn_scoped(scope, move || worker.work(feed, &records));
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
        receive(&record_rx, sink);
    });
    let input = reader.finish(feed, stop);
    if started == 0 {
        return Err(format!(
            "cannot start any of {} worker threads",
            config.concurrency
        ));
    }
    Ok(input)
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

struct Worker<'a> {
    client: &'a Client,
    cache: Option<&'a Cache>,
    config: &'a Config,
    stop: &'a Stop,
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
