//! What a crawl hands back: where each page was found (`Visit`), the links that failed
//! (`BrokenLink`) and what the crawl did (`CrawlSummary`).

use std::sync::Arc;

/// A link that failed, as a page links to it ([`Crawl::broken_links`](crate::Crawl::broken_links)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BrokenLink {
    /// The link (normalised).
    pub url: String,
    /// Its status, when it was answered (and the status is not a success).
    pub status: Option<u16>,
    /// The kind of its failure (`ErrorKind::as_str`: `connect`, `timeout`, …) when it was
    /// not answered.
    pub error: Option<String>,
}

/// Where a page was found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Visit {
    pub(super) depth: u32,
    pub(super) parent: Option<Arc<str>>,
    /// The page's row in the store, and its parent's.
    pub(super) id: i64,
    pub(super) parent_id: Option<i64>,
    pub(super) external: bool,
    /// Fetched again for its links only (found closer to a seed): not handed to the handler.
    pub(super) again: bool,
    /// Its partition, in a crawl shared through Redis: handed on only while it is held.
    pub(super) partition: Option<u16>,
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

    /// An external link checked (out of the scope, with [`Crawl::check_external`](crate::Crawl::check_external)): asked
    /// with HEAD, then GET if HEAD was not answered with success; its links not followed.
    pub fn external(&self) -> bool {
        self.external
    }
}

/// What a crawl did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CrawlSummary {
    /// URLs fetched (each page's handler was called).
    pub pages: u64,
    /// Links out of the scope or the patterns: not fetched (each URL once, however many
    /// pages link to it).
    pub out_of_scope: u64,
    /// External links checked ([`Crawl::check_external`](crate::Crawl::check_external)), among the pages.
    pub external: u64,
    /// Pages a stopped crawl had handled whose handler's work was lost ([`Crawl::recorded`](crate::Crawl::recorded)):
    /// fetched again.
    pub requeued: u64,
    /// The crawl was stopped ([`CrawlStop`](crate::CrawlStop)) before its frontier was empty.
    pub stopped: bool,
    /// URLs robots.txt disallowed: not fetched.
    pub disallowed: u64,
    /// URLs of hosts whose robots.txt could not be fetched (no connection, a timeout):
    /// not fetched, as RFC 9309 says, and reported as broken links with that failure's
    /// kind ([`Crawl::broken_links`](crate::Crawl::broken_links)).
    pub robots_failed: u64,
    /// URLs found only deeper than the depth: not fetched (each URL once).
    pub too_deep: u64,
    /// URLs left once the page limit was reached: not fetched.
    pub over_limit: u64,
    /// robots.txt files fetched.
    pub robots: u64,
    /// Hosts whose robots.txt set a `Crawl-delay` (honoured, up to 30 s).
    pub crawl_delays: u64,
    /// Sitemaps read (from robots.txt's `Sitemap:` lines and [`Crawl::sitemap`](crate::Crawl::sitemap)).
    pub sitemaps: u64,
    /// In a shared crawl ([`Crawl::queue`](crate::Crawl::queue)): pages this process
    /// fetched but did not mark done, their hosts' partition having passed to another
    /// process meanwhile (that one fetches them again).
    pub lost: u64,
    /// In a shared crawl: URLs another process had taken and not finished (it died, or was
    /// stopped), taken over by this one.
    pub taken_over: u64,
    /// How each proxy of a pool ([`Builder::proxies`](crate::Builder::proxies)) carried the
    /// pages' requests; empty without a pool.
    pub proxies: Vec<crate::ProxyUse>,
}
