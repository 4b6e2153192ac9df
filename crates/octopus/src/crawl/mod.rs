//! `Crawl`: follow the links of pages from seeds, on an `Octopus`. Each page's handler sees
//! its response and where it was found (`Visit`); then the page's links (read as the body
//! streams through, `capture/links.rs`) that the crawl follows (`scope.rs`) and has not
//! seen are fetched in turn, up to the depth and the page limit, each origin's robots.txt
//! first (`robots.rs`).
//!
//! Invariants: a URL (normalised) is fetched at most once per crawl, the seen-set exact;
//! every URL admitted is fetched or counted (disallowed, out of scope, too deep, over the
//! page limit); the crawl ends when both engines (pages, robots.txt) have nothing left.

mod robots;
mod scope;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

use regex::Regex;
use url::Url;

use crate::builder::{Builder, Error};
use crate::capture::{LinkKind, normalise};
use crate::input::parse_target;
use crate::response::Response;
use crate::run::Octopus;
use robots::{Origins, Rules as RobotsRules, Verdict};
use scope::Rules;
pub use scope::Scope;

/// How deep a crawl goes unless told: the seeds are at depth 0 (wget's `-r` default).
pub const DEPTH: u32 = 5;
/// The user agent whose robots.txt rules a crawl honours.
pub const ROBOTS_AGENT: &str = "octopus";

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
#[derive(Debug, Clone)]
pub struct Crawl {
    builder: Builder,
    scope: Scope,
    depth: u32,
    max_pages: Option<u64>,
    include: Vec<String>,
    exclude: Vec<String>,
    robots: bool,
    forms: bool,
}

/// Where a page was found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Visit {
    depth: u32,
    parent: Option<Arc<str>>,
}

impl Visit {
    /// Links from a seed: 0 for a seed, one more for each page on the way.
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// The page whose link led here (`None` for a seed).
    pub fn parent(&self) -> Option<&str> {
        self.parent.as_deref()
    }
}

/// What a crawl did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CrawlSummary {
    /// URLs fetched (each page's handler was called).
    pub pages: u64,
    /// Links out of the scope or the patterns: not fetched.
    pub out_of_scope: u64,
    /// URLs robots.txt disallowed: not fetched.
    pub disallowed: u64,
    /// Links deeper than the depth: not fetched.
    pub too_deep: u64,
    /// URLs left once the page limit was reached: not fetched.
    pub over_limit: u64,
    /// robots.txt files fetched.
    pub robots: u64,
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
        let robots = match self.robots {
            true => Some(
                self.builder
                    .clone()
                    .links(false)
                    .keep_bodies(true)
                    .build()?,
            ),
            false => None,
        };
        let crawler = Arc::new(Crawler {
            pages: self.builder.links(true).build()?,
            robots,
            rules,
            depth: self.depth,
            max_pages: self.max_pages,
            forms: self.forms,
            state: Mutex::default(),
            handler: Box::new(handler),
        });
        for seed in seeds {
            crawler.admit(seed, Visit::default());
        }
        crawler.wait();
        let summary = crawler.lock().summary.clone();
        Ok(summary)
    }
}

/// What a crawl's pages are handed to.
type Handler = Box<dyn Fn(&Response, &Visit) + Send + Sync>;

/// A crawl running.
struct Crawler {
    pages: Octopus,
    /// Fetches robots.txt files (bodies kept), when honoured.
    robots: Option<Octopus>,
    rules: Rules,
    depth: u32,
    max_pages: Option<u64>,
    forms: bool,
    state: Mutex<State>,
    handler: Handler,
}

#[derive(Default)]
struct State {
    seen: HashSet<String>,
    admitted: u64,
    origins: Origins,
    summary: CrawlSummary,
}

impl Crawler {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Fetch `url` if the crawl takes it (else count why not).
    fn admit(self: &Arc<Self>, url: Url, visit: Visit) {
        let mut state = self.lock();
        if !self.rules.follows(&url) {
            state.summary.out_of_scope += 1;
            return;
        }
        if visit.depth > self.depth {
            state.summary.too_deep += 1;
            return;
        }
        if !state.seen.insert(url.as_str().to_string()) {
            return;
        }
        if self.max_pages.is_some_and(|most| state.admitted >= most) {
            state.summary.over_limit += 1;
            return;
        }
        state.admitted += 1;
        let verdict = match self.robots {
            Some(_) => state.origins.verdict(&url, &visit),
            None => Verdict::Fetch,
        };
        match verdict {
            Verdict::Fetch => {
                drop(state);
                self.fetch(url, visit);
            }
            Verdict::Disallowed => state.summary.disallowed += 1,
            Verdict::Waits => {}
            Verdict::AskFirst(robots_txt) => {
                state.summary.robots += 1;
                drop(state);
                self.ask_robots(robots_txt, url.origin().ascii_serialization());
            }
        }
    }

    /// Fetch a page; then its links.
    fn fetch(self: &Arc<Self>, url: Url, visit: Visit) {
        let crawler = Arc::clone(self);
        self.pages.enqueue(url, move |response: &Response| {
            crawler.lock().summary.pages += 1;
            (crawler.handler)(response, &visit);
            let parent: Arc<str> = Arc::from(response.url());
            for link in response.links() {
                if link.kind() == LinkKind::Form && !crawler.forms {
                    continue;
                }
                let next = Visit {
                    depth: visit.depth + 1,
                    parent: Some(Arc::clone(&parent)),
                };
                crawler.admit(link.url().clone(), next);
            }
        });
    }

    /// Fetch an origin's robots.txt; then the URLs that waited for it.
    fn ask_robots(self: &Arc<Self>, robots_txt: Url, origin: String) {
        let Some(robots) = &self.robots else { return };
        let crawler = Arc::clone(self);
        robots.enqueue(robots_txt, move |response: &Response| {
            let rules = RobotsRules::of(response, ROBOTS_AGENT);
            let waited = crawler.lock().origins.answered(&origin, rules);
            for (url, visit, allowed) in waited {
                match allowed {
                    true => crawler.fetch(url, visit),
                    false => crawler.lock().summary.disallowed += 1,
                }
            }
        });
    }

    /// Wait until neither engine has anything left: a page may lead to a robots.txt, and
    /// a robots.txt to pages; each enqueues before its handler returns.
    fn wait(&self) {
        loop {
            if let Some(robots) = &self.robots {
                robots.wait();
            }
            self.pages.wait();
            if self.robots.as_ref().is_none_or(|r| r.stats().pending == 0) {
                return;
            }
        }
    }
}
