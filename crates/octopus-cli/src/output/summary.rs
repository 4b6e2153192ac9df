//! The run's totals: tallied record by record, printed once at the end on stderr.
//!
//! Invariant: `ok + failed == urls`, and `urls + not_fetched + other_shard == lines` of the
//! input read;
//! `failed_by_kind` adds up to `failed` (non-ok HTTP statuses count as `http_status`);
//! `printed <= urls`.

use std::time::{Duration, Instant};

use serde::Serialize;

use octopus::{CrawlSummary, Response};

use super::stats::{Stats, StatsSummary};
use crate::counts::{Counts, HTTP_STATUS, InputStats};
use crate::stop::StopReason;

#[derive(Debug, Clone)]
pub struct Tally {
    started: Instant,
    /// Of every record of the output: this run's and, resumed, the earlier runs' the file
    /// holds.
    pub counts: Counts,
    pub stats: Stats,
    /// The earlier runs' part of `counts`.
    earlier: Counts,
}

impl Tally {
    /// A tally starting from `counts` and `stats` (of earlier runs' records, or none).
    pub fn start(counts: Counts, stats: Stats) -> Self {
        Tally {
            started: Instant::now(),
            earlier: counts.clone(),
            counts,
            stats,
        }
    }

    pub fn add(&mut self, record: &Response) {
        self.stats.add(record);
        let c = &mut self.counts;
        c.urls += 1;
        c.cached += u64::from(record.cached());
        if !record.waited().is_zero() {
            c.waited += 1;
            c.waited_ms += record.waited().as_millis() as u64;
        }
        c.retried += u64::from(record.attempts() > 1);
        c.skipped += u64::from(record.skipped());
        c.saved += u64::from(record.saved().is_some() && !record.skipped());
        c.bytes += record.bytes();
        if record.ok() {
            c.ok += 1;
            return;
        }
        c.failed += 1;
        let kind = record.error().map_or(HTTP_STATUS, |f| f.kind().as_str());
        c.failed_kind(kind);
    }

    /// The record just added was printed.
    pub fn printed(&mut self) {
        self.counts.printed += 1;
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Close the run: combine the tally with what the reader saw and why it stopped.
    /// `shard`: the shard that ran (`K/N`); `engine`: what the engine counted (lines left
    /// to other shards, waits for the shared limiter).
    pub fn finish(
        &self,
        input: &InputStats,
        stopped: Option<StopReason>,
        shard: Option<String>,
        engine: Option<&octopus::Stats>,
    ) -> Summary {
        let other_shard = engine.map_or(0, |e| e.other_shard);
        let secs = self.elapsed().as_secs_f64();
        // The rate is this run's: records read back from the output file took no time.
        let urls = self.counts.urls - self.counts.resumed;
        Summary {
            kind: "summary",
            counts: self.counts.clone(),
            elapsed_ms: round3(secs * 1000.0),
            urls_per_second: round3(if secs > 0.0 { urls as f64 / secs } else { 0.0 }),
            not_fetched: input
                .lines
                .saturating_sub(self.counts.urls)
                .saturating_sub(other_shard),
            shard,
            other_shard,
            limiter_waits: engine.map_or(0, |e| e.shared_waits),
            connections: engine.map(|e| e.connections),
            exchanges: engine.map(|e| e.exchanges),
            input_complete: input.complete,
            stopped: stopped.map(StopReason::as_str),
            stats: self.stats.summary(),
            this_run: RunPart {
                urls,
                ok: self.counts.ok - self.earlier.ok,
                failed: self.counts.failed - self.earlier.failed,
            },
            crawl: None,
            proxies: Vec::new(),
        }
    }
}

/// This run's records, of a summary that counts a resumed file's too.
#[derive(Debug, Clone, Serialize)]
pub struct RunPart {
    pub urls: u64,
    pub ok: u64,
    pub failed: u64,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The summary line's content; serialised as-is for `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(flatten)]
    pub counts: Counts,
    pub elapsed_ms: f64,
    pub urls_per_second: f64,
    pub not_fetched: u64,
    /// The shard this run took (`K/N`), and the lines it left to the other shards.
    pub shard: Option<String>,
    pub other_shard: u64,
    /// Times the shared limiter (`--redis`) held a request back.
    pub limiter_waits: u64,
    /// Connections made (to servers or proxies) and requests sent on them, every hop and
    /// try (absent for a crawl).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchanges: Option<u64>,
    pub input_complete: bool,
    pub stopped: Option<&'static str>,
    #[serde(flatten)]
    pub stats: StatsSummary,
    /// This run's part of the counts (the rest is the earlier runs' of a resumed file).
    pub this_run: RunPart,
    /// What `octopus crawl` did besides fetching (absent for `fetch`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crawl: Option<CrawlCounts>,
    /// How each proxy of a pool (`--proxy` given more than once, `--proxy-file`) was used
    /// (absent without a pool).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub proxies: Vec<octopus::ProxyUse>,
}

impl Summary {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A line per proxy of a pool, each after a newline: its requests, failures and
    /// set-asides.
    pub fn proxy_lines(&self) -> String {
        let mut s = String::new();
        for used in &self.proxies {
            s.push_str(&format!(
                "\n[octopus] proxy {}: {} {}, {} failed, set aside {} {}",
                used.proxy,
                used.requests,
                plural(used.requests, "request", "requests"),
                used.failures,
                used.set_aside,
                plural(used.set_aside, "time", "times"),
            ));
        }
        s
    }

    /// The human summary, in the original benchmark's words.
    pub fn to_text(&self) -> String {
        let c = &self.counts;
        let urls = c.urls - c.resumed;
        let mut s = format!(
            "[octopus] Retrieving {urls} {} took {:.2} seconds meaning {:.2} urls/second. ok: {}, failed: {}",
            plural(urls, "url", "urls"),
            self.elapsed_ms / 1000.0,
            self.urls_per_second,
            c.ok,
            c.failed
        );
        if !c.failed_by_kind.is_empty() {
            let kinds: Vec<String> = c
                .failed_by_kind
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            s.push_str(&format!(" ({})", kinds.join(", ")));
        }
        s.push_str(&format!(", cached: {}", c.cached));
        if c.waited > 0 {
            s.push_str(&format!(
                ", waited: {} ({} ms in all)",
                c.waited, c.waited_ms
            ));
        }
        if c.retried > 0 {
            s.push_str(&format!(", retried: {}", c.retried));
        }
        if let (Some(made), Some(sent)) = (self.connections, self.exchanges)
            && made > 0
        {
            s.push_str(&format!(
                ", connections: {made} ({:.1} requests each)",
                sent as f64 / made as f64
            ));
        }
        if c.saved > 0 || c.skipped > 0 {
            s.push_str(&format!(", saved: {}, skipped: {}", c.saved, c.skipped));
        }
        if c.printed != c.urls {
            s.push_str(&format!(", printed: {}", c.printed));
        }
        if c.resumed > 0 {
            s.push_str(&format!(
                ", resumed: {} records of earlier runs (counted in ok and failed, as in \
                 every figure here); this run: {} ok, {} failed",
                c.resumed, self.this_run.ok, self.this_run.failed
            ));
        }
        if self.limiter_waits > 0 {
            s.push_str(&format!(
                ", held by the shared limiter: {} times",
                self.limiter_waits
            ));
        }
        s.push_str(&self.proxy_lines());
        if let Some(shard) = &self.shard {
            s.push_str(&format!(
                "\n[octopus] shard {shard}: {} lines left to the other shards",
                self.other_shard
            ));
        }
        if let Some(why) = self.stopped {
            s.push_str(&format!(
                "\n[octopus] stopped ({}): {} URLs not fetched",
                why.replace('_', " "),
                self.not_fetched
            ));
            if !self.input_complete {
                s.push_str(", and the rest of the input was not read");
            }
        }
        s
    }
}

/// `one` for 1, else `many`.
pub fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    match n {
        1 => one,
        _ => many,
    }
}

/// What a crawl did, as the JSON summary's `crawl` object says it.
#[derive(Debug, Clone, Serialize)]
pub struct CrawlCounts {
    /// URLs fetched (every page handled, those a resumed file records included).
    pub pages: u64,
    pub disallowed: u64,
    /// URLs of hosts whose robots.txt could not be fetched: not fetched, reported broken.
    pub robots_failed: u64,
    pub out_of_scope: u64,
    pub too_deep: u64,
    pub over_limit: u64,
    pub external: u64,
    /// robots.txt files fetched (`null`: robots.txt ignored).
    pub robots: Option<u64>,
    pub sitemaps: u64,
    pub crawl_delays: u64,
    pub requeued: u64,
    /// With `--queue` only: what this process took over and gave up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared: Option<SharedCounts>,
}

/// A process's part in a crawl shared through Redis (`crawl --queue`).
#[derive(Debug, Clone, Serialize)]
pub struct SharedCounts {
    /// URLs another process had taken and not finished (it died, or was stopped), fetched by this one.
    pub taken_over: u64,
    /// Pages fetched here whose hosts passed to another process before they were done
    /// (fetched again there; nothing written here for those not yet recorded).
    pub lost: u64,
}

impl CrawlCounts {
    /// `shared`: the crawl was shared through Redis.
    pub fn new(s: &CrawlSummary, robots_ignored: bool, shared: bool) -> CrawlCounts {
        CrawlCounts {
            pages: s.pages,
            disallowed: s.disallowed,
            robots_failed: s.robots_failed,
            out_of_scope: s.out_of_scope,
            too_deep: s.too_deep,
            over_limit: s.over_limit,
            external: s.external,
            robots: (!robots_ignored).then_some(s.robots),
            sitemaps: s.sitemaps,
            crawl_delays: s.crawl_delays,
            requeued: s.requeued,
            shared: shared.then_some(SharedCounts {
                taken_over: s.taken_over,
                lost: s.lost,
            }),
        }
    }
}
