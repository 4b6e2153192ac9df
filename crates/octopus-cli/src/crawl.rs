//! The `crawl` command: the fetch settings and a `Crawl` from the library over them; the
//! seeds read from the inputs; each page's response sent by the crawl's handler to this
//! thread, which alone writes the records (with their depth, parent and links); then a
//! summary of what was fetched and what was not, and the exit status.
//!
//! Not taken yet, and said so at once: `-o`/`--resume`, `--keep-order`, `--format csv`.

use std::io::{self, Write};
use std::sync::mpsc;
use std::time::Instant;

use octopus::input::{Lines, parse_target};
use octopus::{Crawl, CrawlSummary, Response, Scope, Visit};

use super::args::{CrawlArgs, ScopeArg};
use super::exit_codes;
use super::fetch::fail;
use super::output::{Format, Output};
use super::settings::{FetchSettings, describe};

/// Pages fetched and not yet printed, at most.
const PRINT_AHEAD: usize = 1024;

/// `octopus crawl`.
pub fn crawl(args: &CrawlArgs) -> i32 {
    let settings = match FetchSettings::from_args(&args.fetch) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    if settings.output.is_some() || settings.keep_order.is_some() {
        return fail("crawl does not take -o/--resume or --keep-order yet");
    }
    if settings.style.format == Format::Csv {
        return fail("crawl writes text or JSON Lines records (--format csv is not taken yet)");
    }
    let seeds = match seeds(&settings) {
        Ok(seeds) => seeds,
        Err(e) => return fail(&e),
    };
    let crawl = configure(Crawl::new(settings.builder.clone()), args);
    let started = Instant::now();
    // Bounded: when printing lags, the crawl's handlers wait, rather than responses pile up.
    let (pages, records) = mpsc::sync_channel::<(Response, Visit)>(PRINT_AHEAD);
    let running = std::thread::spawn(move || {
        crawl.run(seeds, move |response: &Response, visit: &Visit| {
            let _ = pages.send((response.clone(), visit.clone()));
        })
    });
    let mut output = Output::new(settings.style, io::stdout().lock(), true);
    let (mut ok, mut failed) = (0u64, 0u64);
    for (response, visit) in records {
        match response.ok() {
            true => ok += 1,
            false => failed += 1,
        }
        if settings.selection.shows(&response) && !output.write(&response, Some(&visit)) {
            // The reader went away (`| head`): nothing more can be said.
            return exit_codes::OUTPUT_CLOSED;
        }
    }
    if !output.flush() {
        return exit_codes::OUTPUT_CLOSED;
    }
    let summary = match running.join() {
        Ok(Ok(summary)) => summary,
        Ok(Err(e)) => return fail(&describe(&e)),
        Err(_) => return fail("the crawl stopped on an internal error"),
    };
    if settings.summary {
        let took = started.elapsed().as_secs_f64();
        let line = summary_line(&summary, ok, failed, took, args.ignore_robots);
        let _ = writeln!(io::stderr(), "{line}");
    }
    match failed {
        0 => exit_codes::SUCCESS,
        _ => exit_codes::SOME_FAILED,
    }
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
        .follow_forms(args.follow_forms);
    if let Some(n) = args.max_pages {
        crawl = crawl.max_pages(n);
    }
    for pattern in &args.include {
        crawl = crawl.include(pattern);
    }
    for pattern in &args.exclude {
        crawl = crawl.exclude(pattern);
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

/// `octopus: crawled 31 pages (30 ok, 1 failed) in 0.12 s; not fetched: …`.
fn summary_line(s: &CrawlSummary, ok: u64, failed: u64, took: f64, ignored: bool) -> String {
    let robots = match ignored {
        true => "robots.txt ignored (--ignore-robots)".to_string(),
        false => format!("{} robots.txt fetched", s.robots),
    };
    format!(
        "octopus: crawled {} pages ({ok} ok, {failed} failed) in {took:.2} s; not fetched: {} \
         disallowed by robots.txt, {} out of scope, {} too deep, {} over --max-pages; {robots}",
        s.pages, s.disallowed, s.out_of_scope, s.too_deep, s.over_limit
    )
}
