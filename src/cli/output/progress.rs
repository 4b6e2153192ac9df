//! The progress bar on stderr (indicatif): done/total when the inputs are finite, a counter
//! with a rate when streaming stdin.
//!
//! Invariants: drawn only to stderr and only when it is a terminal (decided in `settings.rs`
//! for `fetch`, here for `bench`);
//! counting lines for the total happens on a background thread, so fetching starts at once.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use octopus::input::{Source, count_lines};

/// The bar, or nothing (clones share one bar).
#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

const COUNTER: &str = "{spinner} {pos} URLs  {rate}  {elapsed}  {msg}";
const PHASE: &str = "{prefix:>14} [{elapsed_precise}] {wide_bar} {pos}/{len} URLs  {rate}";
const BAR: &str = "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len}  {rate}  ETA {eta}  {msg}";

/// A template with `{rate}` as whole URLs per second.
fn style(template: &str) -> Option<ProgressStyle> {
    let style = ProgressStyle::with_template(template).ok()?;
    Some(style.with_key(
        "rate",
        |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0}/s", state.per_sec());
        },
    ))
}

impl Progress {
    pub fn hidden() -> Self {
        Progress { bar: None }
    }

    pub fn new(sources: &[Source]) -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Some(style) = style(COUNTER) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        if !sources.contains(&Source::Stdin) {
            let (bar, sources) = (bar.clone(), sources.to_vec());
            let _ = std::thread::Builder::new()
                .name("octopus-count".into())
                .spawn(move || {
                    if let Some(total) = count_lines(&sources) {
                        bar.set_length(total);
                        if let Some(style) = style(BAR) {
                            bar.set_style(style.progress_chars("=> "));
                        }
                    }
                });
        }
        Progress { bar: Some(bar) }
    }

    pub fn inc(&self) {
        if let Some(bar) = &self.bar {
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
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Some(style) = style(PHASE) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(name.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar.tick();
        Progress { bar: Some(bar) }
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
