//! `octopus bench`: the original project's benchmark, reproduced offline. An embedded server
//! on 127.0.0.1 simulates latency; the library runs three times over generated URLs:
//! sequentially (concurrency 1), at the given concurrency, and with the cache on over URLs
//! drawn from a small distinct set.
//!
//! On a terminal, each run shows its progress on stderr; the report goes to stdout.
//!
//! Invariant: every run is the library's `Octopus::fetch_all` with the command line's
//! default settings (the same engine and path as `octopus fetch`), so the numbers are the
//! product's numbers.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use octopus::Octopus;
use octopus_testserver::Server;
use serde::Serialize;

use super::args::BenchArgs;
use super::exit_codes;
use super::output::progress::Progress;
use super::output::summary::{Tally, plural};

/// The result of one timed run.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub name: &'static str,
    pub urls: u64,
    pub concurrency: u32,
    pub seconds: f64,
    pub urls_per_second: f64,
    pub ok: u64,
    pub failed: u64,
    /// Requests the embedded server received during this run.
    pub server_requests: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub urls: u64,
    pub concurrency: u32,
    pub latency_ms: f64,
    pub distinct: u64,
    pub runs: Vec<RunResult>,
    /// ⌈urls / concurrency⌉ × latency.
    pub ideal_seconds: f64,
    /// ideal / octopus time (none without latency: there is no ideal time then).
    pub efficiency: Option<f64>,
    /// sequential time / octopus time.
    pub speedup: f64,
}

pub fn run(args: &BenchArgs) -> i32 {
    match bench(args) {
        Ok(report) => {
            let text = if args.json {
                serde_json::to_string(&report).unwrap_or_default()
            } else {
                render(&report)
            };
            let _ = writeln!(io::stdout(), "{text}");
            let failed: u64 = report.runs.iter().map(|r| r.failed).sum();
            if failed > 0 {
                exit_codes::SOME_FAILED
            } else {
                exit_codes::SUCCESS
            }
        }
        Err(e) => {
            let _ = writeln!(io::stderr(), "octopus bench: {e}");
            exit_codes::USAGE
        }
    }
}

fn bench(args: &BenchArgs) -> Result<BenchReport, String> {
    let server = Server::start().map_err(|e| format!("cannot start the embedded server: {e}"))?;
    let ms = args.latency.as_millis();
    let base = server.url("/delay");
    let plain = move |i: u64| format!("{base}/{ms}/{i}");
    let base = server.url("/delay");
    let distinct = args.distinct;
    // The same deterministic draw of URLs in every run.
    let mut draw = XorShift(0x9E37_79B9_7F4A_7C15);
    let cached = move |_| {
        let pick = draw.next() % distinct;
        format!("{base}/{ms}/site-{pick}")
    };
    let runs = vec![
        timed_run("sequential", args.urls, 1, false, &server, plain.clone())?,
        timed_run("octopus", args.urls, args.threads, false, &server, plain)?,
        timed_run(
            "octopus+cache",
            args.urls,
            args.threads,
            true,
            &server,
            cached,
        )?,
    ];
    let ideal = args.urls.div_ceil(u64::from(args.threads)) as f64 * args.latency.as_secs_f64();
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    Ok(BenchReport {
        urls: args.urls,
        concurrency: args.threads,
        latency_ms: args.latency.as_secs_f64() * 1000.0,
        distinct: args.distinct,
        ideal_seconds: ideal,
        efficiency: (ideal > 0.0).then(|| ratio(ideal, runs[1].seconds)),
        speedup: ratio(runs[0].seconds, runs[1].seconds),
        runs,
    })
}

/// One run over `urls` URLs made by `url`, with the command line's default settings, through
/// the library's pull (as `octopus fetch -c C [--no-cache]` runs).
fn timed_run(
    name: &'static str,
    urls: u64,
    concurrency: u32,
    cache: bool,
    server: &Server,
    url: impl FnMut(u64) -> String + Send + 'static,
) -> Result<RunResult, String> {
    // Offline whatever the environment says: no proxy.
    let mut builder = Octopus::builder()
        .concurrency(concurrency as usize)
        .proxy_from_env(false)
        .keep_bodies(false)
        .keep_headers(false);
    if cache {
        builder = builder.cache_ttl(Duration::from_secs(30));
    }
    let octopus = builder.build().map_err(|e| e.to_string())?;
    let before = server.requests();
    let progress = Progress::phase(name, urls);
    let mut tally = Tally::start(Default::default(), Default::default());
    let started = Instant::now();
    let responses = octopus
        .fetch_all((0..urls).map(url))
        .map_err(|e| e.to_string())?;
    for response in responses {
        tally.add(&response);
        progress.inc(true);
    }
    progress.finish();
    let seconds = started.elapsed().as_secs_f64();
    let counts = tally.counts;
    Ok(RunResult {
        name,
        urls: counts.urls,
        concurrency,
        seconds,
        urls_per_second: if seconds > 0.0 {
            counts.urls as f64 / seconds
        } else {
            0.0
        },
        ok: counts.ok,
        failed: counts.failed,
        server_requests: server.requests() - before,
    })
}

/// The RESULTS block, in the original benchmark's words.
pub fn render(r: &BenchReport) -> String {
    let mut s = String::from("=======\nRESULTS\n=======\n\n");
    for run in &r.runs {
        let _ = writeln!(
            s,
            "[{}] Retrieving {} {} took {:.2} seconds meaning {:.2} urls/second.",
            run.name,
            run.urls,
            plural(run.urls, "url", "urls"),
            run.seconds,
            run.urls_per_second
        );
        if run.failed > 0 {
            let _ = writeln!(s, "  ({} of them failed)", run.failed);
        }
    }
    let _ = match r.efficiency {
        Some(efficiency) => writeln!(
            s,
            "\nIdeal time at concurrency {} with {} ms latency: {:.2} seconds; octopus reached {:.1}% of it.",
            r.concurrency,
            r.latency_ms,
            r.ideal_seconds,
            efficiency * 100.0,
        ),
        None => writeln!(
            s,
            "\nNo latency was simulated (--latency 0): there is no ideal time to compare with; \
             the runs measure octopus's own cost per URL."
        ),
    };
    let cached = &r.runs[2];
    let _ = write!(
        s,
        "The server saw {} requests for the {} URLs of the cached run ({} distinct).\n\n\
         Overall, octopus was {:.2} times faster than sequential requests.",
        cached.server_requests, cached.urls, r.distinct, r.speedup
    );
    s
}

/// A tiny deterministic generator: the same draw of URLs in every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
