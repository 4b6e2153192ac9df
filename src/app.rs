//! The `fetch` command from validated settings to exit status: wires the engine's records
//! into the tally, the progress bar and stdout, then prints the summary.

use std::io::{self, IsTerminal, Write};
use std::sync::Arc;

use crate::cli::{Cli, Command, FetchArgs};
use crate::config::{Config, Format};
use crate::engine::{self, RecordSink};
use crate::exit_codes;
use crate::output::Output;
use crate::progress::Progress;
use crate::record::Record;
use crate::stop::{Stop, StopReason};
use crate::summary::Tally;

/// Run the parsed command line; returns the process exit status.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Some(Command::Fetch(args)) => fetch(&args),
        Some(Command::Bench(args)) => crate::bench::run(&args),
        None => fetch(&cli.fetch),
    }
}

fn fail(message: &str) -> i32 {
    let _ = writeln!(io::stderr(), "octopus: {message}");
    exit_codes::USAGE
}

/// `octopus fetch`.
pub fn fetch(args: &FetchArgs) -> i32 {
    let mut config = match Config::from_args(args) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    match crate::fdlimit::ensure_room(config.concurrency, config.client.pool_shards) {
        Ok(idle) => config.client.idle_per_shard = idle,
        Err(e) => return fail(&e),
    }
    let stop = Arc::new(Stop::default());
    if let Err(e) = Stop::install_signal_handlers(Arc::clone(&stop)) {
        return fail(&format!("cannot install signal handlers: {e}"));
    }
    let progress = if config.progress {
        Progress::new(&config.sources)
    } else {
        Progress::hidden()
    };
    let stdout = io::stdout();
    let mut sink = Sink {
        share_terminal: config.progress && stdout.is_terminal(),
        output: Output::new(config.format, stdout.lock()),
        tally: Tally::start(),
        progress: &progress,
        stop: &stop,
    };
    let input = match engine::run(&config, &stop, &mut sink) {
        Ok(input) => input,
        Err(e) => return fail(&e),
    };
    progress.finish();
    let stderr = &mut io::stderr();
    for error in &input.errors {
        let _ = writeln!(stderr, "octopus: {error}");
    }
    let summary = sink.tally.finish(&input, stop.reason());
    if config.summary {
        let line = match config.format {
            Format::Json => summary.to_json(),
            Format::Text => summary.to_text(),
        };
        let _ = writeln!(stderr, "{line}");
    }
    if let Some(code) = stop.reason().and_then(StopReason::exit_code) {
        code
    } else if !input.errors.is_empty() {
        exit_codes::USAGE
    } else if summary.counts.failed > 0 {
        exit_codes::SOME_FAILED
    } else {
        exit_codes::SUCCESS
    }
}

/// Receives each record: count it, advance the bar, write it.
struct Sink<'a, W: Write> {
    output: Output<W>,
    tally: Tally,
    progress: &'a Progress,
    stop: &'a Stop,
    /// stdout and the bar share one terminal: hide the bar while writing.
    share_terminal: bool,
}

impl<W: Write> RecordSink for Sink<'_, W> {
    fn record(&mut self, record: Record) {
        self.tally.add(&record);
        self.progress.inc();
        if !self.output.write(&record) {
            self.stop.request(StopReason::OutputClosed);
        }
    }

    fn idle(&mut self) {
        let open = if self.share_terminal {
            let output = &mut self.output;
            self.progress.suspend(|| output.flush())
        } else {
            self.output.flush()
        };
        if !open {
            self.stop.request(StopReason::OutputClosed);
        }
    }
}
