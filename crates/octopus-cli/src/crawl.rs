//! The `crawl` command: the fetch settings and a `Crawl` from the library over them; the
//! seeds read from the inputs; each page's response sent by the crawl's handler to this
//! thread, which alone writes the records (with their depth, parent and links) and the
//! broken-link report, a progress bar on a terminal (pages, ok, failed, the frontier);
//! then a summary of what was fetched and what was not (with `--json`, `fetch`'s summary
//! line with the crawl's counts), and the exit status.
//!
//! With `-o FILE` the crawl's state (seen-set and frontier) is kept in `FILE.crawl`;
//! `--resume` continues it: pages recorded in FILE are not fetched again, nor recorded
//! twice (a page fetched again for its links, its record kept but its links' admission
//! lost with a killed run, is not printed). Without `--resume` the state starts anew.
//!
//! Ctrl-C (or SIGTERM) stops the crawl: pages in flight finish and are recorded, the rest
//! stays in the frontier (`--resume` continues it); a second one quits at once.
//!
//! With `--queue redis://HOST/JOB` the crawl is shared by every process given it: the
//! library keeps its frontier and seen-set in Redis; this process writes the records of
//! the pages it fetched (`-o` appends) and tells the library a page's work is kept only
//! once its record was flushed (`CrawlKept`), so a process killed at any moment leaves no
//! page done without its record. Redis lost past `--queue-lease`: exit 75.
//!
//! Not taken, and said so at once: `--keep-order` (a crawl's order is the frontier's),
//! `--shard` (its seen-set is one process's: `--queue` shares a crawl); with `--queue`,
//! `--resume` (the job in Redis is the state). With `--queue --report broken`, each
//! process reports the pages it fetched (their failed links, wherever those were fetched).

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

use octopus::input::{Lines, parse_target};
use octopus::{BrokenLink, Crawl, CrawlKept, CrawlProgress, CrawlStop, Response, Scope, Visit};

use super::args::{CrawlArgs, CrawlReport, ScopeArg};
use super::counts::{Counts, InputStats};
use super::exit_codes::{self, fail};
use super::journal::{self, Mode, url_hash};
use super::output::crawl_summary;
use super::output::progress::Progress;
use super::output::stats::Stats;
use super::output::summary::{CrawlCounts, Tally};
use super::output::{Format, Output, broken};
use super::settings::{FetchSettings, describe};
use super::stop::Stop;

/// Pages fetched and not yet printed, at most.
const PRINT_AHEAD: usize = 1024;

/// What the crawl's threads hand this one.
enum Message {
    Page(Response, Visit),
    Broken(String, Vec<BrokenLink>),
}

/// Where records and reports go.
struct Outputs {
    /// Records: the `-o` file, else stdout unless a report takes it.
    records: Option<Output<Box<dyn Write>>>,
    /// The report, on stdout.
    report: Option<Output<io::StdoutLock<'static>>>,
    /// With `--resume`: the URLs the file has records of (hashed).
    recorded: Option<Arc<HashSet<u64>>>,
}

/// `octopus crawl`.
pub fn crawl(args: &CrawlArgs) -> i32 {
    let mut settings = match FetchSettings::from_args(&args.fetch) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    if settings.keep_order.is_some() {
        return fail("crawl does not take --keep-order");
    }
    if settings.shard.is_some() {
        return fail("crawl does not take --shard: a crawl's seen-set is one process's");
    }
    settings.style.crawl = true;
    if let Some(bad) = args.sitemap.iter().find(|s| parse_target(s).is_err()) {
        return fail(&format!("--sitemap {bad}: not a URL"));
    }
    let seeds = match seeds(&settings) {
        Ok(seeds) => seeds,
        Err(e) => return fail(&e),
    };
    let (mut outputs, state) = match outputs(&settings, args.report.is_some()) {
        Ok(opened) => opened,
        Err(e) => return fail(&e),
    };
    let mut crawl = configure(Crawl::new(settings.builder.clone()), args);
    if let Some(state) = state {
        crawl = crawl.state(state);
    }
    let kept = settings.queue.as_ref().map(|_| CrawlKept::new());
    if let (Some((url, lease)), Some(kept)) = (&settings.queue, &kept) {
        crawl = crawl.queue(url, *lease).kept_with(kept.clone());
    }
    if let Some(recorded) = outputs.recorded.clone() {
        crawl = crawl.recorded(move |url| recorded.contains(&url_hash(url)));
    }
    let frontier = CrawlProgress::new();
    let progress = match settings.progress {
        true => {
            crawl = crawl.progress_with(frontier.clone());
            Progress::crawl(frontier)
        }
        false => Progress::hidden(),
    };
    let stop = match stop_on_signals(&settings, &progress) {
        Ok(stop) => stop,
        Err(e) => return fail(&e),
    };
    crawl = crawl.stop_with(stop.1);
    // Bounded: when printing lags, the crawl's handlers wait, rather than responses pile up.
    let (sender, messages) = mpsc::sync_channel::<Message>(PRINT_AHEAD);
    if args.report == Some(CrawlReport::Broken) {
        let to = sender.clone();
        crawl = crawl.broken_links(move |page, links| {
            let _ = to.send(Message::Broken(page.to_string(), links));
        });
    }
    let running = std::thread::spawn(move || {
        crawl.run(seeds, move |response: &Response, visit: &Visit| {
            let _ = sender.send(Message::Page(response.clone(), visit.clone()));
        })
    });
    let printed = print(&messages, &settings, &mut outputs, &progress, kept.as_ref());
    progress.finish();
    let Some(tally) = printed else {
        return exit_codes::OUTPUT_CLOSED;
    };
    let crawled = match running.join() {
        Ok(Ok(summary)) => summary,
        Ok(Err(octopus::Error::Queue(e))) if e.is_lost() => {
            let _ = writeln!(
                io::stderr(),
                "octopus: --queue: {e}: what was not done stays in the job, and the same \
                 command goes on with it"
            );
            return exit_codes::LIMITER_LOST;
        }
        Ok(Err(e)) => return fail(&describe(&e)),
        Err(_) => return fail("the crawl stopped on an internal error"),
    };
    let reason = stop.0.reason().filter(|_| crawled.stopped);
    let input = InputStats {
        lines: tally.counts.urls,
        complete: true,
        errors: Vec::new(),
    };
    let mut summary = tally.finish(&input, reason, None, None);
    let crawl = CrawlCounts::new(&crawled, args.ignore_robots, settings.queue.is_some());
    summary.crawl = Some(crawl.clone());
    summary.proxies = crawled.proxies.clone();
    if settings.summary {
        let line = match settings.style.format {
            Format::Json => summary.to_json(),
            Format::Text | Format::Csv => crawl_summary::text(&summary, &crawl),
        };
        let _ = writeln!(io::stderr(), "{line}");
        if settings.stats && settings.style.format != Format::Json {
            let _ = write!(
                io::stderr(),
                "{}",
                tally.stats.to_text(io::stderr().is_terminal())
            );
        }
    }
    // A link to a host whose robots.txt could not be fetched is a broken link too.
    match (reason, summary.counts.failed + crawl.robots_failed) {
        (Some(reason), _) => reason.exit_code(),
        (None, 0) => exit_codes::SUCCESS,
        (None, _) => exit_codes::SOME_FAILED,
    }
}

/// Ctrl-C and SIGTERM stop the crawl (pages in flight finish, the frontier is kept); a
/// second one quits at once.
fn stop_on_signals(
    settings: &FetchSettings,
    progress: &Progress,
) -> Result<(Arc<Stop>, CrawlStop), String> {
    let handle = CrawlStop::new();
    let stop = Arc::new(Stop::crawl(handle.clone()));
    Stop::install_signal_handlers(Arc::clone(&stop), progress.clone(), settings.summary)
        .map_err(|e| format!("cannot install signal handlers: {e}"))?;
    Ok((stop, handle))
}

/// Write what the crawl sends until it ends, flushing whenever nothing waits; the tally of
/// this run's pages (those a resumed file records aside), or `None` if stdout closed. With
/// `kept` (a shared crawl), the pages are said kept after each flush that wrote them.
fn print(
    messages: &mpsc::Receiver<Message>,
    settings: &FetchSettings,
    outputs: &mut Outputs,
    progress: &Progress,
    kept: Option<&CrawlKept>,
) -> Option<Tally> {
    let mut tally = Tally::start(Counts::default(), Stats::default());
    let mut unflushed: Vec<Visit> = Vec::new();
    let flush = |outputs: &mut Outputs, unflushed: &mut Vec<Visit>| {
        progress.suspend(|| outputs.flush())?;
        if let Some(kept) = kept {
            unflushed.drain(..).for_each(|visit| kept.keep(&visit));
        }
        Some(())
    };
    loop {
        let message = match messages.try_recv() {
            Ok(message) => message,
            Err(mpsc::TryRecvError::Empty) => {
                flush(outputs, &mut unflushed)?;
                match messages.recv() {
                    Ok(message) => message,
                    Err(_) => break,
                }
            }
            Err(mpsc::TryRecvError::Disconnected) => break,
        };
        let written = match message {
            Message::Page(response, visit) => {
                let recorded = outputs.recorded.as_ref();
                if recorded.is_some_and(|r| r.contains(&url_hash(response.url()))) {
                    continue;
                }
                tally.add(&response);
                progress.inc(response.ok());
                let written = match &mut outputs.records {
                    Some(out) if settings.selection.shows(&response) => {
                        tally.printed();
                        out.write(&response, Some(&visit))
                    }
                    _ => true,
                };
                if kept.is_some() {
                    unflushed.push(visit);
                }
                written
            }
            Message::Broken(page, links) => match &mut outputs.report {
                Some(out) => {
                    out.write_with(|format, buf| broken::print(format, &page, &links, buf))
                }
                None => true,
            },
        };
        if !written {
            // The reader went away (`| head`): nothing more can be said.
            return None;
        }
    }
    flush(outputs, &mut unflushed)?;
    Some(tally)
}

impl Outputs {
    fn flush(&mut self) -> Option<()> {
        let records = self.records.as_mut().is_none_or(|o| o.flush());
        let report = self.report.as_mut().is_none_or(|o| o.flush());
        (records && report).then_some(())
    }
}

/// Open the outputs; the crawl's state file with `-o FILE` (removed first unless resumed).
fn outputs(settings: &FetchSettings, report: bool) -> Result<(Outputs, Option<PathBuf>), String> {
    let style = settings.style;
    let stdout = || {
        let mut out = Output::new(style, io::stdout().lock(), false);
        out.write_with(broken::begin);
        out
    };
    let Some((path, mode)) = &settings.output else {
        let records =
            (!report).then(|| Output::new(style, Box::new(io::stdout().lock()) as _, true));
        let report = report.then(stdout);
        return Ok((
            Outputs {
                records,
                report,
                recorded: None,
            },
            None,
        ));
    };
    // A shared crawl's state is the job in Redis.
    let state = (settings.queue.is_none()).then(|| state_of(path));
    if let Some(state) = &state
        && !matches!(mode, Mode::Resume(_))
    {
        remove_state(state)?;
    }
    let (file, fresh, recorded) = journal::open_crawl(path, *mode, style.format)?;
    let file: Box<dyn Write> = Box::new(file);
    let outputs = Outputs {
        records: Some(Output::new(style, file, fresh)),
        report: report.then(stdout),
        recorded: recorded.map(Arc::new),
    };
    Ok((outputs, state))
}

/// Where a crawl recorded in `output` keeps its state.
fn state_of(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".crawl");
    PathBuf::from(name)
}

/// Remove a crawl state (and SQLite's files beside it), for a crawl that starts anew.
fn remove_state(state: &Path) -> Result<(), String> {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = state.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(format!("cannot remove {}: {e}", state.display()));
            }
            _ => {}
        }
    }
    // Only to say early that the directory cannot be written.
    File::create(state)
        .map(drop)
        .map_err(|e| format!("crawl state {}: {e}", state.display()))
}

/// The crawl's settings from the command line.
fn configure(mut crawl: Crawl, args: &CrawlArgs) -> Crawl {
    let scope = match args.scope {
        ScopeArg::Host => Scope::Host,
        ScopeArg::Domain => Scope::Domain,
        ScopeArg::Prefix => Scope::Prefix,
        ScopeArg::Any => Scope::Any,
    };
    crawl = crawl
        .scope(scope)
        .depth(args.depth)
        .robots(!args.ignore_robots)
        .follow_forms(args.follow_forms)
        .follow_sitemaps(args.follow_sitemaps)
        .check_external(args.check_external);
    if let Some(n) = args.max_pages {
        crawl = crawl.max_pages(n);
    }
    for pattern in &args.include {
        crawl = crawl.include(pattern);
    }
    for pattern in &args.exclude {
        crawl = crawl.exclude(pattern);
    }
    for sitemap in &args.sitemap {
        crawl = crawl.sitemap(sitemap);
    }
    crawl
}

/// The seeds: the URLs of the inputs' lines (a line that is not one is reported and
/// skipped).
fn seeds(settings: &FetchSettings) -> Result<Vec<String>, String> {
    let mut lines = Lines::new(settings.sources.clone());
    let mut seeds = Vec::new();
    while let Some(line) = lines.next_line() {
        let line = line.map_err(|e| e.to_string())?;
        let checked =
            line.text
                .map_err(|e| e.to_string())
                .and_then(|text| match parse_target(&text) {
                    Ok(_) => Ok(text),
                    Err(failure) => Err(failure.message().to_string()),
                });
        match checked {
            Ok(text) => seeds.push(text),
            Err(e) => {
                let _ = writeln!(io::stderr(), "octopus: {}:{}: {e}", line.input, line.number);
            }
        }
    }
    Ok(seeds)
}
