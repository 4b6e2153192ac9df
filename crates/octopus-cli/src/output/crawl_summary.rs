//! The end of `octopus crawl` on stderr: in text, what was crawled and what was not, and
//! why; with `--json`, `fetch`'s summary line with the crawl's own counts under `crawl`.

use serde::Serialize;

use octopus::CrawlSummary;

use super::summary::Summary;

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
}

impl CrawlCounts {
    pub fn new(s: &CrawlSummary, robots_ignored: bool) -> CrawlCounts {
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
        }
    }
}

/// `octopus: crawled 31 pages (30 ok, 1 failed) in 0.12 s; not fetched: …`.
pub fn text(summary: &Summary, crawl: &CrawlCounts) -> String {
    let c = &summary.counts;
    let robots = match crawl.robots {
        None => "robots.txt ignored (--ignore-robots)".to_string(),
        Some(n) => format!("{n} robots.txt fetched"),
    };
    let mut line = format!(
        "octopus: crawled {} pages ({} ok, {} failed) in {:.2} s; not fetched: {} \
         disallowed by robots.txt, {} out of scope, {} too deep, {} over --max-pages; {robots}",
        crawl.pages,
        c.ok,
        c.failed,
        summary.elapsed_ms / 1000.0,
        crawl.disallowed,
        crawl.out_of_scope,
        crawl.too_deep,
        crawl.over_limit,
    );
    if crawl.robots_failed > 0 {
        line += &format!(
            "; {} links to hosts whose robots.txt could not be fetched (not fetched, \
             counted as broken)",
            crawl.robots_failed
        );
    }
    if crawl.external > 0 {
        line += &format!("; {} external links checked", crawl.external);
    }
    if crawl.sitemaps > 0 {
        line += &format!("; {} sitemaps read", crawl.sitemaps);
    }
    if crawl.crawl_delays > 0 {
        line += &format!("; Crawl-delay honoured for {} hosts", crawl.crawl_delays);
    }
    if crawl.requeued > 0 {
        line += &format!(
            "; {} pages fetched again (their records were lost)",
            crawl.requeued
        );
    }
    if let Some(why) = summary.stopped {
        line += &format!("; stopped ({}) before the end", why.replace('_', " "));
    }
    line + &summary.proxy_lines()
}
