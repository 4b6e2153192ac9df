//! The `fetch` command: settings from the command line, an `Octopus` from them, the input
//! pulled through it, each response counted, shown in the progress bar and written to stdout
//! by this one thread; then the summary and the exit status.

use std::io::{self, IsTerminal, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use octopus::{ErrorKind, Octopus, Response, Responses};

use super::args::FetchArgs;
use super::counts::InputStats;
use super::exit_codes::{self, fail};
use super::feed::Input;
use super::journal;
use super::order::{Held, Order};
use super::output::progress::Progress;
use super::output::select::Selection;
use super::output::summary::Tally;
use super::output::{Format, Output};
use super::queue::{Feeder, Marks};
use super::settings::{FetchSettings, describe};
use super::stop::{Stop, StopReason};

/// `octopus fetch`.
pub fn fetch(args: &FetchArgs) -> i32 {
    let settings = match FetchSettings::from_args(args) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let octopus = match settings.builder.clone().build() {
        Ok(o) => o,
        Err(e) => return fail(&describe(&e)),
    };
    let queue = match &settings.queue {
        Some((url, lease)) => match super::queue::open(url, *lease) {
            Ok(queue) => Some(queue),
            Err(e) => return fail(&e),
        },
        None => None,
    };
    let (stream, fresh, prior): (Box<dyn Write>, bool, _) = match &settings.output {
        Some((path, mode)) => {
            match journal::open(path, *mode, settings.style.format, &settings.sources) {
                Ok(journal) => (Box::new(journal.file), journal.fresh, journal.prior),
                Err(e) => return fail(&e),
            }
        }
        None => (Box::new(io::stdout().lock()), true, None),
    };
    let resumed = prior.as_ref().map_or(0, |p| p.counts.urls);
    let progress = match settings.progress {
        true => Progress::new(&settings.sources, resumed),
        false => Progress::hidden(),
    };
    let stop = Arc::new(Stop::new(octopus.clone()).with_queue(queue.clone()));
    let tell = settings.summary;
    if let Err(e) = Stop::install_signal_handlers(Arc::clone(&stop), progress.clone(), tell) {
        return fail(&format!("cannot install signal handlers: {e}"));
    }
    let prior = prior.map(Arc::new);
    let order = settings
        .keep_order
        .map(|window| Arc::new(Order::new(window)));
    let mut sink = Sink {
        octopus: &octopus,
        order: order.clone().map(|order| (order, Held::default())),
        share_terminal: settings.progress
            && settings.output.is_none()
            && io::stdout().is_terminal(),
        output: Output::new(settings.style, stream, fresh),
        selection: &settings.selection,
        tally: Tally::start(
            prior.as_ref().map(|p| p.counts.clone()).unwrap_or_default(),
            prior.as_ref().map(|p| p.stats.clone()).unwrap_or_default(),
        ),
        progress: &progress,
        stop: &stop,
        told_save: false,
        limiter: settings.redis.is_some().then(|| (false, Instant::now())),
        marks: queue.clone().map(Marks::new),
    };
    let input = match queue {
        Some(queue) => match from_queue(&settings, &octopus, queue, &mut sink) {
            Ok(input) => input,
            Err(e) => return fail(&e),
        },
        None => {
            let (input, feed) = Input::new(settings.sources.clone(), prior.clone(), order);
            match octopus.fetch_all(feed) {
                Ok(mut responses) => receive(&mut responses, &mut sink),
                Err(e) => return fail(&describe(&e)),
            }
            progress.finish();
            input.finish(stop.is_stopped())
        }
    };
    if octopus.stats().limiter_lost {
        stop.request(StopReason::LimiterLost);
    }
    if let Some((path, _)) = &settings.output
        && let Some(unmatched) = prior.as_ref().map(|p| p.unmatched()).filter(|&n| n > 0)
        && input.complete
    {
        let _ = writeln!(
            io::stderr(),
            "octopus: {} holds {unmatched} records of lines the input no longer has",
            path.display()
        );
    }
    report(&settings, &octopus, &sink.tally, &input, &stop)
}

/// Fetch this process's part of a shared job (`--queue`): the input fed to the job if this
/// process gets the feeder's role, the batches taken until the job is over, each URL marked
/// done once its record is out. What the summary says of the input.
fn from_queue(
    settings: &FetchSettings,
    octopus: &Octopus,
    queue: octopus::queue::Queue,
    sink: &mut Sink<'_, impl Write>,
) -> Result<InputStats, String> {
    let feeder = Feeder::start(&queue, settings.sources.clone())?;
    let taken = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = Arc::clone(&taken);
    let requests = queue.take().inspect(move |_| {
        counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    match octopus.fetch_all(requests) {
        Ok(mut responses) => receive(&mut responses, sink),
        Err(e) => return Err(describe(&e)),
    }
    sink.progress.finish();
    let finished = queue.finish();
    if finished.is_err() || queue.lost() {
        sink.stop.request(StopReason::QueueLost);
        let why = finished
            .err()
            .map_or_else(String::new, |e| format!(" ({e})"));
        sink.progress.notice(&format!(
            "octopus: --queue: Redis could not be reached past --queue-lease{why}: what was \
             not done stays in the job, and the same command goes on with it"
        ));
    }
    Ok(InputStats {
        lines: taken.load(std::sync::atomic::Ordering::Relaxed),
        complete: !queue.lost() && !sink.stop.is_stopped(),
        errors: feeder.finish(),
    })
}

/// Print the input errors and the summary; the exit status.
fn report(
    settings: &FetchSettings,
    octopus: &Octopus,
    tally: &Tally,
    input: &InputStats,
    stop: &Stop,
) -> i32 {
    let stderr = &mut io::stderr();
    for error in &input.errors {
        let _ = writeln!(stderr, "octopus: {error}");
    }
    let refused = octopus.stats().worker_start_failures;
    if refused > 0 {
        let _ = writeln!(
            stderr,
            "octopus: the system refused {refused} worker threads; the run went on with fewer"
        );
    }
    let mut summary = tally.finish(
        input,
        stop.reason(),
        settings.shard.clone(),
        Some(&octopus.stats()),
    );
    summary.proxies = octopus.proxy_uses();
    if settings.summary {
        let line = match settings.style.format {
            Format::Json => summary.to_json(),
            Format::Text | Format::Csv => summary.to_text(),
        };
        let _ = writeln!(stderr, "{line}");
        if settings.stats && settings.style.format != Format::Json {
            let text = tally.stats.to_text(io::stderr().is_terminal());
            let _ = writeln!(stderr, "{text}");
        }
    }
    if let Some(reason) = stop.reason() {
        reason.exit_code()
    } else if !input.errors.is_empty() {
        exit_codes::USAGE
    } else if summary.counts.failed > 0 {
        exit_codes::SOME_FAILED
    } else {
        exit_codes::SUCCESS
    }
}

/// How long the receiver lets responses gather after a busy spell before it blocks again:
/// it then wakes once per handful of responses instead of once per response.
const GATHER: Duration = Duration::from_micros(500);

/// Hand every response to `sink` until the run is over; `idle` whenever none is waiting.
/// When the output closes, the run ends at once: nothing more can be written, so requests
/// still in flight are abandoned (counted as not fetched) rather than waited for.
fn receive(responses: &mut Responses, sink: &mut Sink<'_, impl Write>) {
    let mut busy = false;
    loop {
        if sink.stop.reason() == Some(StopReason::OutputClosed) {
            return;
        }
        if let Some(response) = responses.try_next() {
            busy = true;
            sink.record(&response);
            continue;
        }
        sink.idle();
        if std::mem::take(&mut busy) {
            std::thread::sleep(GATHER);
            continue;
        }
        match responses.next() {
            Some(response) => {
                busy = true;
                sink.record(&response);
            }
            None => break,
        }
    }
    sink.finish();
    sink.idle();
}

/// With `--queue`: records written, at most, before the output is flushed and they are
/// marked done.
const MARKS_AT_ONCE: usize = 256;

/// Receives each response: count it, advance the bar, write it.
struct Sink<'a, W: Write> {
    octopus: &'a Octopus,
    output: Output<W>,
    /// With `--keep-order`: the lines' order, and the records that came before their turn.
    order: Option<(Arc<Order>, Held)>,
    selection: &'a Selection,
    tally: Tally,
    progress: &'a Progress,
    stop: &'a Stop,
    /// stdout and the bar share one terminal: hide the bar while writing.
    share_terminal: bool,
    /// Whether a failure to save was told on stderr already.
    told_save: bool,
    /// The shared limiter: whether its Redis was last seen down, and when it was looked at.
    limiter: Option<(bool, Instant)>,
    /// With `--queue`: the URLs to mark done once their records are out.
    marks: Option<Marks>,
}

impl<W: Write> Sink<'_, W> {
    fn record(&mut self, response: &Response) {
        // A line cancelled by a stop was not fetched: the summary counts it as such.
        let cancelled = response
            .error()
            .is_some_and(|f| f.kind() == ErrorKind::Cancelled);
        if !cancelled {
            self.count(response);
        }
        let shown = !cancelled && self.selection.shows(response);
        match &mut self.order {
            Some((order, held)) => {
                for ready in order.arrived(held, response, shown) {
                    self.print(&ready);
                }
            }
            None if shown => self.print(response),
            None => {}
        }
        if let Some(marks) = &mut self.marks
            && marks.handed(response) >= MARKS_AT_ONCE
        {
            // Under a steady stream of responses the receiver is never idle: flush anyway.
            self.idle();
        }
    }

    /// Count a record; say a failure to save once.
    fn count(&mut self, response: &Response) {
        // Saving can fail for every URL (a full disk): said once here, in every record there.
        if let Some(failure) = response.error().filter(|f| f.kind() == ErrorKind::Save)
            && !std::mem::replace(&mut self.told_save, true)
        {
            let line = format!(
                "octopus: cannot save: {} (the records of URLs not saved say `save`; the run goes on)",
                failure.message()
            );
            self.progress.notice(&line);
        }
        self.tally.add(response);
        self.progress.inc(response.ok());
    }

    fn print(&mut self, response: &Response) {
        self.tally.printed();
        if !self.output.write(response, None) {
            self.stop.request(StopReason::OutputClosed);
        }
    }

    /// The run is over: print what `--keep-order` still holds.
    fn finish(&mut self) {
        if let Some((order, held)) = &mut self.order {
            for record in order.rest(held) {
                self.print(&record);
            }
        }
    }

    /// Say on stderr when the shared limiter's Redis becomes unreachable, and when it is back
    /// (looked at once a second at most).
    fn watch_limiter(&mut self) {
        let Some((was_down, looked)) = self.limiter else {
            return;
        };
        if looked.elapsed() < Duration::from_secs(1) {
            return;
        }
        let down = self.octopus.stats().limiter_down;
        self.limiter = Some((down, Instant::now()));
        match (was_down, down) {
            (false, true) => self.progress.notice(
                "octopus: Redis is unreachable: limited requests wait for it (up to --redis-outage, \
                 then the run stops with status 75)",
            ),
            (true, false) => self.progress.notice("octopus: Redis is back: the run goes on"),
            _ => {}
        }
    }

    /// No response is waiting right now: a good moment to flush buffered output.
    fn idle(&mut self) {
        self.watch_limiter();
        let open = if self.share_terminal {
            let output = &mut self.output;
            self.progress.suspend(|| output.flush())
        } else {
            self.output.flush()
        };
        if !open {
            self.stop.request(StopReason::OutputClosed);
        } else if let Some(marks) = &mut self.marks {
            marks.flushed();
        }
    }
}
