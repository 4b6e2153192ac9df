//! The progress bar on stderr (indicatif): done/total when the inputs are finite, a counter
//! with a rate when streaming stdin; ok and failed counts as they go. When a run resumes,
//! the bar counts this run's lines only (the records already in the file are shown apart),
//! so its rate and ETA are this run's.
//!
//! Invariants: drawn only to stderr and only when it is a terminal (decided in `settings.rs`
//! for `fetch`, here for `bench`); counting lines for the total happens on a background
//! thread, so fetching starts at once; no ETA before the first record; the bar is cleared
//! before anything is printed after it, also when a second signal ends the run at once.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use octopus::input::{Source, count_lines};

/// The bar, or nothing (clones share one bar).
#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
    /// Records ok, and failed, so far.
    counts: Arc<Counts>,
}

const COUNTER: &str = "{spinner} {pos} URLs  {outcomes}  {rate}  {elapsed}  {msg}";
const CRAWL: &str =
    "{spinner} {pos} pages  {outcomes}  frontier {frontier}  {rate}  {elapsed}  {msg}";
const PHASE: &str = "{prefix:>14} [{elapsed_precise}] {wide_bar} {pos}/{len} URLs  {rate}";
const BAR: &str =
    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len}  {outcomes}  {rate}  ETA {eta}  {msg}";

/// A template with `{rate}` as whole URLs per second, `{eta}` (none before the first
/// record), and `{outcomes}` as the ok and failed counts (and the records resumed).
fn style(template: &str, counts: &Arc<Counts>) -> Option<ProgressStyle> {
    let style = ProgressStyle::with_template(template).ok()?;
    let counts = Arc::clone(counts);
    Some(
        style
            .with_key(
                "rate",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0}/s", state.per_sec());
                },
            )
            .with_key(
                "eta",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = match state.pos() {
                        0 => write!(w, "-"),
                        _ => write!(w, "{:#}", indicatif::HumanDuration(state.eta())),
                    };
                },
            )
            .with_key(
                "outcomes",
                move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let ok = counts.ok.load(Ordering::Relaxed);
                    let failed = counts.failed.load(Ordering::Relaxed);
                    let _ = write!(w, "ok {ok}  failed {failed}");
                    if counts.resumed > 0 {
                        let _ = write!(w, "  resumed {}", counts.resumed);
                    }
                },
            ),
    )
}

/// What the bar shows besides its position.
#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    failed: AtomicU64,
    /// Records of earlier runs, in the file being resumed: not this run's work.
    resumed: u64,
}

impl Progress {
    pub fn hidden() -> Self {
        Progress {
            bar: None,
            counts: Arc::default(),
        }
    }

    /// The bar of a `fetch` over `sources`, whose output file holds `resumed` records of
    /// them already.
    pub fn new(sources: &[Source], resumed: u64) -> Self {
        let counts = Arc::new(Counts {
            resumed,
            ..Counts::default()
        });
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Some(style) = style(COUNTER, &counts) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        if !sources.contains(&Source::Stdin) {
            let (bar, sources, counts) = (bar.clone(), sources.to_vec(), Arc::clone(&counts));
            let _ = std::thread::Builder::new()
                .name("octopus-count".into())
                .spawn(move || {
                    if let Some(total) = count_lines(&sources) {
                        bar.set_length(total.saturating_sub(counts.resumed));
                        if let Some(style) = style(BAR, &counts) {
                            bar.set_style(style.progress_chars("=> "));
                        }
                    }
                });
        }
        Progress {
            bar: Some(bar),
            counts,
        }
    }

    /// The bar of `octopus crawl`: pages done, ok and failed, the URLs left (`frontier`) and
    /// the rate.
    pub fn crawl(frontier: octopus::CrawlProgress) -> Self {
        let counts = Arc::default();
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        let style = style(CRAWL, &counts).map(|style| {
            style.with_key(
                "frontier",
                move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{}", frontier.frontier());
                },
            )
        });
        if let Some(style) = style {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress {
            bar: Some(bar),
            counts,
        }
    }

    /// One more record, `ok` or not.
    pub fn inc(&self, ok: bool) {
        if let Some(bar) = &self.bar {
            let count = if ok {
                &self.counts.ok
            } else {
                &self.counts.failed
            };
            count.fetch_add(1, Ordering::Relaxed);
            bar.inc(1);
        }
    }

    /// Run `f` with the bar hidden (for writing to a terminal the bar shares).
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// A bar for one phase of `octopus bench` (`total` URLs), when stderr is a terminal.
    pub fn phase(name: &str, total: u64) -> Self {
        if !std::io::stderr().is_terminal() {
            return Progress::hidden();
        }
        let counts = Arc::default();
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Some(style) = style(PHASE, &counts) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(name.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar.tick();
        Progress {
            bar: Some(bar),
            counts,
        }
    }

    /// A line for the user on stderr, above the bar when there is one.
    pub fn notice(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
        }
    }

    /// The bar says the run is stopping.
    pub fn stopping(&self) {
        if let Some(bar) = &self.bar {
            bar.set_message("stopping");
        }
    }

    /// Clear the bar: the run is over, or is ended at once.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
