//! `octopus bench`: the original project's benchmark, reproduced offline. An embedded server
//! on 127.0.0.1 simulates latency; the same engine `fetch` uses runs three times over URL
//! lists written to temporary files: sequentially (`-c 1`), at the given concurrency, and
//! with the cache on over URLs drawn from a small distinct set.
//!
//! Invariant: every run goes through `Config::from_args` and `engine::run`, exactly like
//! `octopus fetch FILE` with default options, so the numbers are the product's numbers.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use serde::Serialize;

use crate::cli::{BenchArgs, Cli, Command};
use crate::config::Config;
use crate::engine::{self, RecordSink};
use crate::exit_codes;
use crate::record::Record;
use crate::server::Server;
use crate::stop::Stop;
use crate::summary::Tally;

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
    /// ideal / octopus time.
    pub efficiency: f64,
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

pub fn bench(args: &BenchArgs) -> Result<BenchReport, String> {
    // Client and server sockets both live in this process.
    let threads = args.threads as usize;
    let idle_per_shard =
        crate::fdlimit::ensure_room(2 * threads, crate::client::pool_shards(threads))?;
    let server = Server::start().map_err(|e| format!("cannot start the embedded server: {e}"))?;
    let ms = args.latency.as_millis();
    let plain = UrlFile::write("plain", args.urls, |i| {
        server.url(&format!("/delay/{ms}/{i}"))
    })?;
    let mut draw = XorShift(0x9E37_79B9_7F4A_7C15);
    let cached = UrlFile::write("cached", args.urls, |_| {
        let pick = draw.next() % args.distinct;
        server.url(&format!("/delay/{ms}/site-{pick}"))
    })?;

    let runs = vec![
        timed_run(
            "sequential",
            &plain.0,
            1,
            &["--no-cache"],
            &server,
            idle_per_shard,
        )?,
        timed_run(
            "octopus",
            &plain.0,
            args.threads,
            &["--no-cache"],
            &server,
            idle_per_shard,
        )?,
        timed_run(
            "octopus+cache",
            &cached.0,
            args.threads,
            &[],
            &server,
            idle_per_shard,
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
        efficiency: ratio(ideal, runs[1].seconds),
        speedup: ratio(runs[0].seconds, runs[1].seconds),
        runs,
    })
}

/// One run of the fetch engine over `file`, exactly as `octopus fetch -c C [extra] FILE`.
fn timed_run(
    name: &'static str,
    file: &Path,
    concurrency: u32,
    extra: &[&str],
    server: &Server,
    idle_per_shard: usize,
) -> Result<RunResult, String> {
    let mut argv = vec!["octopus".to_string(), "fetch".into(), "-q".into()];
    argv.extend(["-c".to_string(), concurrency.to_string()]);
    argv.extend(extra.iter().map(|s| s.to_string()));
    argv.push(file.display().to_string());
    let Ok(Cli {
        command: Some(Command::Fetch(fetch)),
        ..
    }) = Cli::try_parse_from(&argv)
    else {
        return Err(format!("internal: cannot build the {name} run's options"));
    };
    let mut config = Config::from_args(&fetch)?;
    config.client.idle_per_shard = config.client.idle_per_shard.min(idle_per_shard);
    let before = server.requests();
    let mut sink = CountingSink(Tally::start());
    let started = Instant::now();
    engine::run(&config, &Arc::new(Stop::default()), &mut sink)?;
    let seconds = started.elapsed().as_secs_f64();
    let tally = sink.0.counts;
    Ok(RunResult {
        name,
        urls: tally.urls,
        concurrency,
        seconds,
        urls_per_second: if seconds > 0.0 {
            tally.urls as f64 / seconds
        } else {
            0.0
        },
        ok: tally.ok,
        failed: tally.failed,
        server_requests: server.requests() - before,
    })
}

struct CountingSink(Tally);

impl RecordSink for CountingSink {
    fn record(&mut self, record: Record) {
        self.0.add(&record);
    }
}

/// The RESULTS block, in the original benchmark's words.
pub fn render(r: &BenchReport) -> String {
    let mut s = String::from("=======\nRESULTS\n=======\n\n");
    for run in &r.runs {
        let _ = writeln!(
            s,
            "[{}] Retrieving {} urls took {:.2} seconds meaning {:.2} urls/second.",
            run.name, run.urls, run.seconds, run.urls_per_second
        );
        if run.failed > 0 {
            let _ = writeln!(s, "  ({} of them failed)", run.failed);
        }
    }
    let cached = &r.runs[2];
    let _ = write!(
        s,
        "\nIdeal time at concurrency {} with {} ms latency: {:.2} seconds; octopus reached {:.1}% of it.\n\
         The server saw {} requests for the {} URLs of the cached run ({} distinct).\n\n\
         Overall, octopus was {:.2} times faster than sequential requests.",
        r.concurrency,
        r.latency_ms,
        r.ideal_seconds,
        r.efficiency * 100.0,
        cached.server_requests,
        cached.urls,
        r.distinct,
        r.speedup
    );
    s
}

/// A temporary file of URLs, removed when dropped.
struct UrlFile(PathBuf);

impl UrlFile {
    fn write(label: &str, n: u64, mut url: impl FnMut(u64) -> String) -> Result<UrlFile, String> {
        let path =
            std::env::temp_dir().join(format!("octopus-bench-{}-{label}.txt", std::process::id()));
        let file = UrlFile(path);
        let err = |e: io::Error| format!("cannot write {}: {e}", file.0.display());
        let mut out = BufWriter::new(std::fs::File::create(&file.0).map_err(err)?);
        for i in 0..n {
            writeln!(out, "{}", url(i)).map_err(err)?;
        }
        out.flush().map_err(err)?;
        Ok(file)
    }
}

impl Drop for UrlFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
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
