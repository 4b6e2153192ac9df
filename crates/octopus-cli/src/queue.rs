//! A job shared through Redis, as the command line takes part in it: `fetch --queue` (its
//! feeder thread, and the marks of what its records say), `octopus enqueue` and `octopus
//! queue status`. The job itself is the library's (`octopus::queue`).
//!
//! Invariants: a URL is marked done only once its record was written out of this process
//! (the output flushed), or was left out by the selection: a process killed at any moment
//! leaves no URL marked done without its record; a URL cancelled by a stop is not marked.

use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use octopus::input::{Lines, Source};
use octopus::queue::{Feeding, Queue, QueueSettings};
use octopus::{ErrorKind, Request, Response};

use super::exit_codes::{self, fail};

/// Join the job `url` names, its batches' lease `lease`.
pub fn open(url: &str, lease: Duration) -> Result<Queue, String> {
    let settings = QueueSettings {
        lease,
        ..QueueSettings::default()
    };
    Queue::open_with(url, settings).map_err(|e| e.to_string())
}

/// The requests of `sources`, the lines unreadable noted in `errors`.
fn requests(
    sources: Vec<Source>,
    errors: Arc<Mutex<Vec<String>>>,
) -> impl Iterator<Item = Request> {
    let mut lines = Lines::new(sources);
    std::iter::from_fn(move || {
        loop {
            match lines.next_line()? {
                Ok(line) => return Some(Request::from(line)),
                Err(error) => {
                    if let Ok(mut errors) = errors.lock() {
                        errors.push(error.to_string());
                    }
                }
            }
        }
    })
}

/// A feeder of `sources` to the job, on a thread of its own: it feeds them if it gets the
/// role (or takes it over), and ends when the job's input is whole.
pub struct Feeder {
    thread: Option<JoinHandle<Result<Feeding, String>>>,
    errors: Arc<Mutex<Vec<String>>>,
}

impl Feeder {
    pub fn start(queue: &Queue, sources: Vec<Source>) -> Result<Feeder, String> {
        let errors = Arc::new(Mutex::new(Vec::new()));
        let thread = match sources.is_empty() {
            true => None,
            false => {
                let (queue, noted) = (queue.clone(), Arc::clone(&errors));
                let thread = std::thread::Builder::new()
                    .name("octopus-feeder".into())
                    .spawn(move || {
                        (queue.feed(requests(sources, noted))).map_err(|e| e.to_string())
                    })
                    .map_err(|e| format!("cannot start the feeder's thread: {e}"))?;
                Some(thread)
            }
        };
        Ok(Feeder { thread, errors })
    }

    /// The input's errors (unreadable lines, files; the feeder's own failure). Waits for
    /// the thread only if it ended (it waits for the job's input to be whole, which a job
    /// over has).
    pub fn finish(mut self) -> Vec<String> {
        let mut errors = self.errors.lock().map(|e| e.clone()).unwrap_or_default();
        if let Some(thread) = self.thread.take().filter(|t| t.is_finished())
            && let Ok(Err(error)) = thread.join()
        {
            errors.push(error);
        }
        errors
    }
}

/// The marks a `fetch --queue` owes its job: responses whose records were written but not
/// yet flushed out of the process.
pub struct Marks {
    pub queue: Queue,
    written: Vec<Response>,
}

impl Marks {
    pub fn new(queue: Queue) -> Marks {
        Marks {
            queue,
            written: Vec::new(),
        }
    }

    /// `response` was handed to the output (or left out by the selection): how many wait
    /// for the output to be flushed.
    pub fn handed(&mut self, response: &Response) -> usize {
        let cancelled = response
            .error()
            .is_some_and(|f| f.kind() == ErrorKind::Cancelled);
        if !cancelled {
            self.written.push(response.clone());
        }
        self.written.len()
    }

    /// The output was flushed: what was written is done.
    pub fn flushed(&mut self) {
        for response in self.written.drain(..) {
            self.queue.done(&response);
        }
    }
}

/// `octopus enqueue QUEUE [INPUT…]`.
pub fn enqueue(args: &super::args::EnqueueArgs) -> i32 {
    let sources: Vec<Source> = match args.inputs.is_empty() {
        true if io::stdin().is_terminal() => {
            return fail("no URLs given: pass URLs or files of URLs, or pipe URLs on stdin");
        }
        true => vec![Source::Stdin],
        false => args.inputs.iter().map(|a| Source::from_arg(a)).collect(),
    };
    for source in &sources {
        if let Err(e) = source.check() {
            return fail(&e.to_string());
        }
    }
    let queue = match open(&args.queue, QueueSettings::default().lease) {
        Ok(queue) => queue,
        Err(e) => return fail(&e),
    };
    let errors = Arc::new(Mutex::new(Vec::new()));
    let added = match queue.add(requests(sources, Arc::clone(&errors))) {
        Ok(added) => added,
        Err(e) => return fail(&e.to_string()),
    };
    if !args.more
        && let Err(e) = queue.complete_input()
    {
        return fail(&e.to_string());
    }
    let stderr = &mut io::stderr();
    let errors = errors.lock().map(|e| e.clone()).unwrap_or_default();
    for error in &errors {
        let _ = writeln!(stderr, "octopus: {error}");
    }
    let whole = if args.more {
        ""
    } else {
        "; its input is whole"
    };
    let _ = writeln!(
        stderr,
        "octopus: {added} URLs added to {}{whole}",
        queue.job()
    );
    match errors.is_empty() {
        true => exit_codes::SUCCESS,
        false => exit_codes::USAGE,
    }
}

/// `octopus queue status QUEUE`.
pub fn status(url: &str, json: bool) -> i32 {
    match octopus::crawl::shared_status(url) {
        Ok(Some(crawl)) => return crawl_status(url, &crawl, json),
        Ok(None) => {}
        Err(e) => return fail(&e.to_string()),
    }
    let status = match open(url, QueueSettings::default().lease).and_then(|q| {
        q.status()
            .map(|s| (q.job().to_string(), s))
            .map_err(|e| e.to_string())
    }) {
        Ok(status) => status,
        Err(e) => return fail(&e),
    };
    let (job, s) = status;
    let line = match json {
        true => serde_json::json!({
            "job": job, "added": s.added, "pending": s.pending, "done": s.done,
            "dead": s.dead, "input_complete": s.input_complete, "over": s.is_over(),
        })
        .to_string(),
        false => format!(
            "{job}: {} added, {} pending, {} done, {} dead; input {}{}",
            s.added,
            s.pending,
            s.done,
            s.dead,
            if s.input_complete {
                "whole"
            } else {
                "still coming"
            },
            if s.is_over() { "; over" } else { "" },
        ),
    };
    let _ = writeln!(io::stdout(), "{line}");
    exit_codes::SUCCESS
}

/// `octopus queue status` of a shared crawl (`crawl --queue`).
fn crawl_status(url: &str, s: &octopus::crawl::SharedCrawlStatus, json: bool) -> i32 {
    let job = url.rsplit('/').next().and_then(|j| j.split('?').next());
    let job = job.unwrap_or(url);
    let line = match json {
        true => serde_json::json!({
            "job": job, "crawl": true, "admitted": s.admitted, "waiting": s.waiting,
            "in_flight": s.in_flight, "pages": s.pages, "over": s.is_over(),
        })
        .to_string(),
        false => format!(
            "{job} (a crawl): {} URLs admitted, {} waiting, {} in flight, {} pages done{}",
            s.admitted,
            s.waiting,
            s.in_flight,
            s.pages,
            if s.is_over() { "; over" } else { "" },
        ),
    };
    let _ = writeln!(io::stdout(), "{line}");
    exit_codes::SUCCESS
}
