//! The progress bar on stderr (indicatif): done/total when the inputs are finite, a counter
//! with a rate when streaming stdin; ok and failed counts as they go.
//!
//! Invariants: drawn only to stderr and only when it is a terminal (decided in `settings.rs`
//! for `fetch`, here for `bench`);
//! counting lines for the total happens on a background thread, so fetching starts at once.

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
    outcomes: Arc<[AtomicU64; 2]>,
}

const COUNTER: &str = "{spinner} {pos} URLs  {outcomes}  {rate}  {elapsed}  {msg}";
const PHASE: &str = "{prefix:>14} [{elapsed_precise}] {wide_bar} {pos}/{len} URLs  {rate}";
const BAR: &str =
    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len}  {outcomes}  {rate}  ETA {eta}  {msg}";

/// A template with `{rate}` as whole URLs per second and `{outcomes}` as the ok and failed
/// counts.
fn style(template: &str, outcomes: &Arc<[AtomicU64; 2]>) -> Option<ProgressStyle> {
    let style = ProgressStyle::with_template(template).ok()?;
    let outcomes = Arc::clone(outcomes);
    Some(
        style
            .with_key(
                "rate",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0}/s", state.per_sec());
                },
            )
            .with_key(
                "outcomes",
                move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let ok = outcomes[0].load(Ordering::Relaxed);
                    let failed = outcomes[1].load(Ordering::Relaxed);
                    let _ = write!(w, "ok {ok}  failed {failed}");
                },
            ),
    )
}

impl Progress {
    pub fn hidden() -> Self {
        Progress {
            bar: None,
            outcomes: Arc::default(),
        }
    }

    pub fn new(sources: &[Source]) -> Self {
        let outcomes = Arc::default();
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Some(style) = style(COUNTER, &outcomes) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        if !sources.contains(&Source::Stdin) {
            let (bar, sources, outcomes) = (bar.clone(), sources.to_vec(), Arc::clone(&outcomes));
            let _ = std::thread::Builder::new()
                .name("octopus-count".into())
                .spawn(move || {
                    if let Some(total) = count_lines(&sources) {
                        bar.set_length(total);
                        if let Some(style) = style(BAR, &outcomes) {
                            bar.set_style(style.progress_chars("=> "));
                        }
                    }
                });
        }
        Progress {
            bar: Some(bar),
            outcomes,
        }
    }

    /// One more record, `ok` or not.
    pub fn inc(&self, ok: bool) {
        if let Some(bar) = &self.bar {
            self.outcomes[usize::from(!ok)].fetch_add(1, Ordering::Relaxed);
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
        let outcomes = Arc::default();
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Some(style) = style(PHASE, &outcomes) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(name.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar.tick();
        Progress {
            bar: Some(bar),
            outcomes,
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

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
