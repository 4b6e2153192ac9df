//! Statistics of a run, kept record by record: latency percentiles (an HDR histogram, three
//! significant digits), statuses, the hosts that failed most. Always in the JSON summary;
//! in the text summary with `--stats`, with a latency histogram drawn in block characters
//! when stderr is a terminal (as `hey` and `oha` print).
//!
//! With `--resume`, the records of earlier runs the output file holds are counted too, as
//! their JSON says (`add_record`): the statistics are of the whole file, like the counts.
//!
//! Invariant: latency is of the responses received (not failures, cache answers or skipped
//! lines), each its `fetch_time`: from sending the request to the end of the body,
//! without time spent waiting for a worker, a politeness limit or a retry. The steps (name
//! lookup, connection, TLS handshake, first byte) are of the same responses, each counted
//! where it happened (`Response::timings`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use octopus::Response;

/// Hosts listed in `top_failing_hosts`, at most.
const TOP_HOSTS: usize = 5;
/// Bars in the drawn histogram.
const BARS: u64 = 10;

/// What the statistics keep.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Microseconds, 1 µs to one hour (longer ones are counted as an hour).
    latency: Option<Histogram<u64>>,
    /// The same for each step: lookup, connection, TLS handshake, first byte.
    steps: [Option<Histogram<u64>>; 4],
    statuses: BTreeMap<u16, u64>,
    failures: HashMap<String, u64>,
}

/// The statistics as the summary shows them.
#[derive(Debug, Clone, Serialize)]
pub struct StatsSummary {
    pub latency_ms: Option<Percentiles>,
    pub steps_ms: Steps,
    pub statuses: BTreeMap<String, u64>,
    pub top_failing_hosts: Vec<HostFailures>,
}

/// Percentiles of each step, over the responses that had it.
#[derive(Debug, Clone, Serialize)]
pub struct Steps {
    pub dns: Option<Percentiles>,
    pub connect: Option<Percentiles>,
    pub tls: Option<Percentiles>,
    pub ttfb: Option<Percentiles>,
}

/// The names of the steps, in `Stats::steps`'s order.
const STEPS: [&str; 4] = ["dns", "connect", "tls", "ttfb"];

#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    pub fetched: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostFailures {
    pub host: String,
    pub failed: u64,
}

const HOUR_US: u64 = 3_600_000_000;

impl Default for Stats {
    fn default() -> Self {
        let histogram = || Histogram::new_with_bounds(1, HOUR_US, 3).ok();
        Stats {
            latency: histogram(),
            steps: [histogram(), histogram(), histogram(), histogram()],
            statuses: BTreeMap::new(),
            failures: HashMap::new(),
        }
    }
}

/// What the statistics take of one record, a response's or an earlier run's.
struct Counted<'a> {
    url: &'a str,
    status: Option<u16>,
    ok: bool,
    /// A request went to the host (or its answer came from the cache).
    sent: bool,
    /// Its fetch time and steps, when it was fetched (not a cache answer).
    fetched: Option<(Duration, [Option<Duration>; 4])>,
}

impl Stats {
    pub fn add(&mut self, r: &Response) {
        let t = r.timings();
        self.count(Counted {
            url: r.url(),
            status: r.status(),
            ok: r.ok(),
            sent: r.attempts() > 0 || r.status().is_some(),
            fetched: r
                .fetch_time()
                .filter(|_| !r.cached())
                .map(|took| (took, [t.dns, t.connect, t.tls, t.ttfb])),
        });
    }

    /// Count a record of an earlier run, as its JSON says (`--resume`).
    pub fn add_record(&mut self, record: &serde_json::Value) {
        let ms = |field: &str| {
            record[field]
                .as_f64()
                .filter(|ms| ms.is_finite() && *ms >= 0.0)
                .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        };
        let status = record["status"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok());
        let cached = record["cached"].as_bool().unwrap_or(false);
        self.count(Counted {
            url: record["url"].as_str().unwrap_or_default(),
            status,
            ok: record["ok"].as_bool().unwrap_or(false),
            sent: record["attempts"].as_u64().unwrap_or(0) > 0 || status.is_some(),
            fetched: ms("fetch_ms")
                .filter(|_| !cached)
                .map(|took| (took, ["dns_ms", "connect_ms", "tls_ms", "ttfb_ms"].map(ms))),
        });
    }

    fn count(&mut self, r: Counted<'_>) {
        if let Some(status) = r.status {
            *self.statuses.entry(status).or_default() += 1;
        }
        // A host is counted only when a request went to it (or its answer came from the
        // cache): not for a line that was never a URL octopus would fetch, nor one cancelled.
        if !r.ok
            && r.sent
            && let Some(host) = host(r.url)
        {
            *self.failures.entry(host.to_string()).or_default() += 1;
        }
        if let Some((took, steps)) = r.fetched {
            record(&mut self.latency, took);
            for (histogram, step) in self.steps.iter_mut().zip(steps) {
                if let Some(step) = step {
                    record(histogram, step);
                }
            }
        }
    }

    pub fn summary(&self) -> StatsSummary {
        let [dns, connect, tls, ttfb] = self.steps.each_ref().map(percentiles);
        let latency_ms = percentiles(&self.latency);
        let mut hosts: Vec<(&String, &u64)> = self.failures.iter().collect();
        hosts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        StatsSummary {
            latency_ms,
            steps_ms: Steps {
                dns,
                connect,
                tls,
                ttfb,
            },
            statuses: self
                .statuses
                .iter()
                .map(|(status, n)| (status.to_string(), *n))
                .collect(),
            top_failing_hosts: hosts
                .into_iter()
                .take(TOP_HOSTS)
                .map(|(host, failed)| HostFailures {
                    host: host.clone(),
                    failed: *failed,
                })
                .collect(),
        }
    }

    /// The text lines of `--stats`; with `histogram`, the latency bars too.
    pub fn to_text(&self, histogram: bool) -> String {
        let s = self.summary();
        let mut out = String::new();
        match &s.latency_ms {
            Some(p) => {
                let _ = write!(
                    out,
                    "[octopus] latency of {} responses: p50 {} ms, p90 {} ms, p99 {} ms, max {} ms",
                    p.fetched, p.p50, p.p90, p.p99, p.max
                );
            }
            None => out.push_str("[octopus] latency: no response was fetched"),
        }
        let steps = [
            &s.steps_ms.dns,
            &s.steps_ms.connect,
            &s.steps_ms.tls,
            &s.steps_ms.ttfb,
        ];
        let shown: Vec<String> = STEPS
            .iter()
            .zip(steps)
            .filter_map(|(name, p)| {
                let p = p.as_ref()?;
                Some(format!(
                    "{name} p50 {} p90 {} max {} ({})",
                    p.p50, p.p90, p.max, p.fetched
                ))
            })
            .collect();
        if !shown.is_empty() {
            let _ = write!(out, "\n[octopus] steps (ms): {}", shown.join("; "));
        }
        if !s.statuses.is_empty() {
            let list: Vec<String> = s
                .statuses
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            let _ = write!(out, "\n[octopus] statuses: {}", list.join(", "));
        }
        if !s.top_failing_hosts.is_empty() {
            let list: Vec<String> = s
                .top_failing_hosts
                .iter()
                .map(|h| format!("{}: {}", h.host, h.failed))
                .collect();
            let _ = write!(out, "\n[octopus] most failures: {}", list.join(", "));
        }
        if histogram && let Some(h) = self.latency.as_ref().filter(|h| !h.is_empty()) {
            out.push_str(&bars(h));
        }
        out
    }
}

/// Count `took` in `histogram` (in microseconds, at most an hour).
fn record(histogram: &mut Option<Histogram<u64>>, took: Duration) {
    if let Some(histogram) = histogram.as_mut() {
        let micros = u64::try_from(took.as_micros()).unwrap_or(HOUR_US);
        let _ = histogram.record(micros.clamp(1, HOUR_US));
    }
}

/// The percentiles of `histogram` in milliseconds; `None` when it counted nothing.
fn percentiles(histogram: &Option<Histogram<u64>>) -> Option<Percentiles> {
    let ms = |us: u64| (us as f64 / 1000.0 * 1000.0).round() / 1000.0;
    histogram
        .as_ref()
        .filter(|h| !h.is_empty())
        .map(|h| Percentiles {
            fetched: h.len(),
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
        })
}

/// Ten bars from the fastest request to the slowest, each as long as its share.
fn bars(h: &Histogram<u64>) -> String {
    let (lo, hi) = (h.min(), h.max().max(h.min() + 1));
    let step = (hi - lo).div_ceil(BARS).max(1);
    let counts: Vec<(u64, u64)> = (0..BARS)
        .map(|i| {
            let from = lo + i * step;
            (from, h.count_between(from, from + step - 1))
        })
        .collect();
    let most = counts.iter().map(|c| c.1).max().unwrap_or(1).max(1);
    let mut out = String::from("\n[octopus] latency histogram (ms):");
    for (from, count) in counts {
        let eighths = (count * 40 * 8).div_ceil(most) as usize;
        let mut bar = "█".repeat(eighths / 8);
        if eighths % 8 > 0 && count > 0 {
            bar.push(['▏', '▎', '▍', '▌', '▋', '▊', '▉'][eighths % 8 - 1]);
        }
        let _ = write!(out, "\n  {:>10.3}  {bar} {count}", from as f64 / 1000.0);
    }
    out
}

/// The host (and port) of a URL, as text.
fn host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    Some(
        authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host),
    )
    .filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_urls() {
        assert_eq!(host("http://a.example:8080/x?y"), Some("a.example:8080"));
        assert_eq!(host("https://u:***@b.example"), Some("b.example"));
        assert_eq!(host("not a url"), None);
    }
}
