//! `Crawl`: follow the links of pages from seeds, on an `Octopus`. Each page's handler sees
//! its response and where it was found (`Visit`); then the page's links (read as the body
//! streams through, `capture/links.rs`) that the crawl follows (`scope.rs`) and has not
//! seen are fetched in turn, up to the depth and the page limit, each origin's robots.txt
//! first (`robots.rs`).
//!
//! Invariants: a URL (normalised) is fetched at most once per crawl, the seen-set exact;
//! every URL admitted is fetched or counted (disallowed, out of scope, too deep, over the
//! page limit); the crawl ends when both engines (pages, robots.txt) have nothing left.

mod crawler;
mod engines;
mod found;
mod frontier;
mod handles;
mod partitions;
mod recent;
mod robots;
mod scope;
mod sitemap;
mod store;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use regex::Regex;
use url::Url;

use crate::builder::{Builder, Error, Setting};
use crate::capture::normalise;
use crate::input::parse_target;
use crate::response::Response;
use crawler::{Crawler, Engines, Plan};
pub use found::{BrokenLink, CrawlSummary, Visit};
use frontier::Frontier;
pub use handles::{CrawlKept, CrawlProgress, CrawlStop};
pub use partitions::{PARTITIONS, SharedCrawlStatus, partition, shared_status};
use scope::Rules;
pub use scope::Scope;
use store::Store;

/// How deep a crawl goes unless told: the seeds are at depth 0 (wget's `-r` default).
pub const DEPTH: u32 = 5;
/// The user agent whose robots.txt rules a crawl honours.
pub const ROBOTS_AGENT: &str = "octopus";
/// URLs a crawl hands the engine at once, at least (else four times the concurrency): the
/// rest of the frontier waits on disk.
pub const WINDOW: usize = 1024;

/// Which pages of a stopped crawl had their handler's work kept (see [`Crawl::recorded`]).
type Recorded = Box<dyn Fn(&str) -> bool + Send + Sync>;
/// What a crawl's broken links are reported to (see [`Crawl::broken_links`]).
type Report = Box<dyn FnMut(&str, Vec<BrokenLink>) + Send>;

/// A crawl from seeds: what it follows, how deep, how many pages, whether robots.txt is
/// honoured; fetched with the builder's settings.
///
/// ```
/// use octopus::{Crawl, Scope};
/// # let server = octopus_testserver::Server::start().expect("a loopback server");
/// # let seed = server.url("/html");
/// let summary = Crawl::new(octopus::Octopus::builder().concurrency(8))
///     .scope(Scope::Host)
///     .depth(2)
///     .run([seed], |response, visit| {
///         println!("{} at depth {} from {:?}", response.url(), visit.depth(), visit.parent());
///     })?;
/// println!("{} pages", summary.pages);
/// # Ok::<(), octopus::Error>(())
/// ```
pub struct Crawl {
    builder: Builder,
    scope: Scope,
    depth: u32,
    max_pages: Option<u64>,
    include: Vec<String>,
    exclude: Vec<String>,
    robots: bool,
    forms: bool,
    check_external: bool,
    sitemaps: Vec<String>,
    follow_sitemaps: bool,
    window: Option<usize>,
    state: Option<PathBuf>,
    recorded: Option<Recorded>,
    report: Option<Report>,
    stop: CrawlStop,
    progress: Option<CrawlProgress>,
    /// The shared job's URL and lease.
    queue: Option<(String, Duration)>,
    kept: Option<CrawlKept>,
}

impl std::fmt::Debug for Crawl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crawl")
            .field("scope", &self.scope)
            .field("depth", &self.depth)
            .field("max_pages", &self.max_pages)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Crawl {
    /// A crawl whose requests have `builder`'s settings; by default within the seeds'
    /// hosts, [`DEPTH`] deep, no page limit, robots.txt honoured, forms not followed.
    pub fn new(builder: Builder) -> Crawl {
        Crawl {
            builder,
            scope: Scope::default(),
            depth: DEPTH,
            max_pages: None,
            include: Vec::new(),
            exclude: Vec::new(),
            robots: true,
            forms: false,
            check_external: false,
            sitemaps: Vec::new(),
            follow_sitemaps: false,
            window: None,
            state: None,
            recorded: None,
            report: None,
            stop: CrawlStop::default(),
            progress: None,
            queue: None,
            kept: None,
        }
    }

    /// Follow links within `scope` of the seeds.
    pub fn scope(mut self, scope: Scope) -> Crawl {
        self.scope = scope;
        self
    }

    /// Follow links at most `depth` away from a seed (0: the seeds only).
    pub fn depth(mut self, depth: u32) -> Crawl {
        self.depth = depth;
        self
    }

    /// Fetch at most `n` URLs (robots.txt files aside).
    pub fn max_pages(mut self, n: u64) -> Crawl {
        self.max_pages = Some(n);
        self
    }

    /// Follow only URLs matching `pattern` (a regular expression; repeatable: any).
    pub fn include(mut self, pattern: &str) -> Crawl {
        self.include.push(pattern.to_string());
        self
    }

    /// Never follow URLs matching `pattern` (repeatable).
    pub fn exclude(mut self, pattern: &str) -> Crawl {
        self.exclude.push(pattern.to_string());
        self
    }

    /// Honour robots.txt (the default), or not.
    pub fn robots(mut self, honour: bool) -> Crawl {
        self.robots = honour;
        self
    }

    /// Follow forms' `action` URLs too (not by default).
    pub fn follow_forms(mut self, follow: bool) -> Crawl {
        self.forms = follow;
        self
    }

    /// Fetch each link out of the scope once, HEAD then GET, never following its links
    /// (a link checker's view of external links; robots.txt is not asked for them).
    pub fn check_external(mut self, check: bool) -> Crawl {
        self.check_external = check;
        self
    }

    /// Read the sitemap at `url` (a `urlset` or a `sitemapindex`, gzipped or not) and crawl
    /// the pages it lists that are in scope, as seeds (repeatable): each page's parent is
    /// the sitemap, so that a page of it that fails is reported under it.
    pub fn sitemap(mut self, url: &str) -> Crawl {
        self.sitemaps.push(url.to_string());
        self
    }

    /// Read the sitemaps robots.txt files name (`Sitemap:` lines; not by default): their
    /// pages are taken as links of their site's root, at depth 1, so the scope and the
    /// depth apply to them (with `depth(0)`, none is fetched). Off by default, because a
    /// crawl seeded with one page of a site would otherwise take in every page the site
    /// lists, whatever the seed and the depth meant. Needs robots.txt honoured.
    pub fn follow_sitemaps(mut self, follow: bool) -> Crawl {
        self.follow_sitemaps = follow;
        self
    }

    /// Hand the engine at most `n` URLs at once (at least 1); the rest of the frontier waits
    /// on disk. By default [`WINDOW`] or four times the concurrency, whichever is more: a
    /// smaller window saves memory, a larger one keeps more hosts busy when a per-host limit
    /// holds some back.
    pub fn window(mut self, n: usize) -> Crawl {
        self.window = Some(n.max(1));
        self
    }

    /// Keep the crawl's state (the seen-set and the frontier; an SQLite file) at `path`
    /// rather than in a temporary file. If it holds a crawl that stopped, even killed, this
    /// one continues it: what it handled is not fetched again; the rest of its frontier is.
    pub fn state(mut self, path: impl Into<PathBuf>) -> Crawl {
        self.state = Some(path.into());
        self
    }

    /// When continuing a crawl ([`Crawl::state`]): whether a page it handled had its
    /// handler's work kept (a record written, say). Pages for which `recorded` is false are
    /// fetched again. By default every page handled is taken as kept.
    pub fn recorded(mut self, recorded: impl Fn(&str) -> bool + Send + Sync + 'static) -> Crawl {
        self.recorded = Some(Box::new(recorded));
        self
    }

    /// Be one process of the crawl `url` names (`redis://HOST[:PORT]/JOB`), shared by any
    /// number of processes on any machines: the frontier and the seen-set live in Redis,
    /// each host's URLs are fetched by the one process that holds its partition (a lease,
    /// passed to the living when its holder dies), and [`Crawl::run`] returns when no
    /// process has anything left. Each process's handler sees the pages it fetched; give
    /// every process the same settings and seeds (seeds already seen are not fetched
    /// again). Not with [`Crawl::state`] or [`Crawl::recorded`] (the job in Redis is the
    /// state); [`Crawl::broken_links`] reports the pages this process fetched, once the
    /// whole crawl is over (their links that failed, wherever they were fetched). `lease`: how long a dead process's partitions wait before the living
    /// take them, and how long Redis may stay unreachable before the crawl stops with
    /// [`Error::Queue`].
    pub fn queue(mut self, url: &str, lease: Duration) -> Crawl {
        self.queue = Some((url.to_string(), lease));
        self
    }

    /// With [`Crawl::queue`]: mark a page done in Redis only once `kept` says its work is
    /// kept ([`CrawlKept::keep`], for every page the handler sees), not when its handler
    /// returns, so that a process killed at any moment leaves no page done without its
    /// work (a record written after a flush, say).
    pub fn kept_with(mut self, kept: CrawlKept) -> Crawl {
        self.kept = Some(kept);
        self
    }

    /// Let `progress` tell another thread how far the crawl is.
    pub fn progress_with(mut self, progress: CrawlProgress) -> Crawl {
        self.progress = Some(progress);
        self
    }

    /// Let `stop` stop the crawl from another thread.
    pub fn stop_with(mut self, stop: CrawlStop) -> Crawl {
        self.stop = stop;
        self
    }

    /// When the crawl is over, call `report` with each page that links to URLs that
    /// failed (a status that is not a success, or no answer), and those links: the link
    /// checker's view. Every page linking to a broken URL is reported, not only the first
    /// found (the crawl keeps its links for this, in its state).
    pub fn broken_links(
        mut self,
        report: impl FnMut(&str, Vec<BrokenLink>) + Send + 'static,
    ) -> Crawl {
        self.report = Some(Box::new(report));
        self
    }

    /// Crawl from `seeds` (URLs as the command line reads them; one that is not is
    /// skipped), calling `handler` with each page fetched, on the engine's threads; returns
    /// when nothing is left.
    pub fn run<I, H>(self, seeds: I, handler: H) -> Result<CrawlSummary, Error>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
        H: Fn(&Response, &Visit) + Send + Sync + 'static,
    {
        let compile = |patterns: &[String]| -> Result<Vec<Regex>, Error> {
            patterns
                .iter()
                .map(|p| {
                    Regex::new(p).map_err(|e| Error::Pattern {
                        pattern: p.clone(),
                        reason: e.to_string(),
                    })
                })
                .collect()
        };
        if let Some((index, count)) = self.builder.sharded() {
            // Its requests would be dropped, unanswered: a crawl's seen-set is one process's.
            let reason = "a crawl is not sharded (its seen-set is one process's)";
            return Err(Error::setting(
                Setting::Shard,
                format!("{index}/{count}"),
                reason,
            ));
        }
        let mut rules = Rules::new(self.scope, compile(&self.include)?, compile(&self.exclude)?);
        let seeds: Vec<Url> = seeds
            .into_iter()
            .filter_map(|s| parse_target(s.as_ref()).ok())
            .map(|mut url| {
                normalise(&mut url);
                url
            })
            .collect();
        for seed in &seeds {
            rules.seed(seed);
        }
        let (frontier, requeued) = self.frontier()?;
        // The seen-set fetches each URL once: a cache would only hold responses (and
        // their links) for nothing.
        let builder = self.builder.cache_ttl(Duration::ZERO);
        let sitemaps: Vec<Url> = self
            .sitemaps
            .iter()
            .filter_map(|s| parse_target(s).ok())
            .collect();
        let files = match self.robots || !sitemaps.is_empty() {
            true => Some(builder.clone().for_files().build()?),
            false => None,
        };
        let window = self
            .window
            .unwrap_or_else(|| WINDOW.max(builder.concurrency_set().saturating_mul(4)));
        let plan = Plan {
            rules,
            depth: self.depth,
            max_pages: self.max_pages,
            forms: self.forms,
            check_external: self.check_external,
            keep_links: self.report.is_some(),
            window,
            robots: self.robots,
            sitemaps,
            follow_sitemaps: self.follow_sitemaps,
        };
        let pages = builder.links(true).build()?;
        let counted = pages.clone();
        let engines = Engines {
            pages,
            files,
            stop: self.stop,
            progress: self.progress,
            kept: self.kept,
        };
        let shared = matches!(frontier, Frontier::Shared(_));
        let mut crawler = Crawler::new(plan, frontier, engines, Arc::new(handler));
        if shared && self.report.is_some() {
            crawler.links = Some(Store::temporary()?);
        }
        let ran = crawler.run(seeds);
        let mut summary = crawler.summary.clone();
        if let Frontier::Shared(partitions) = &crawler.frontier {
            summary.taken_over = partitions.taken_over;
        }
        ran?;
        if let Some(mut report) = self.report {
            crawler.report(&mut report)?;
        }
        summary.requeued = requeued;
        summary.proxies = counted.proxy_uses();
        Ok(summary)
    }
}
