//! The end of `octopus crawl` on stderr: in text, what was crawled and what was not, and
//! why; with `--json`, `fetch`'s summary line with the crawl's own counts under `crawl`.

use super::summary::{CrawlCounts, Summary};

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
    if let Some(shared) = crawl.shared.as_ref().filter(|s| s.taken_over + s.lost > 0) {
        line += &format!(
            "; {} URLs taken over from another process, {} pages given up to another",
            shared.taken_over, shared.lost
        );
    }
    if let Some(why) = summary.stopped {
        line += &format!("; stopped ({}) before the end", why.replace('_', " "));
    }
    line + &summary.proxy_lines()
}
