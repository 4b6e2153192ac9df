//! The engines' side of a crawl: what their threads do with a page (call the handler, send
//! its links), a robots.txt or a sitemap, and tell the crawl's thread over a bounded
//! channel (`Event`). Nothing here touches the crawl's state.

use std::sync::Arc;
use std::sync::mpsc::SyncSender;

use url::Url;

use super::partitions::Leases;
use super::robots::Rules as RobotsRules;
use super::sitemap::{self, Sitemap};
use super::store::Failed;
use super::{CrawlStop, ROBOTS_AGENT, Visit};
use crate::capture::LinkKind;
use crate::failure::ErrorKind;
use crate::input::Request;
use crate::response::Response;
use crate::run::Octopus;

/// What a crawl's pages are handed to.
pub(super) type Handler = Arc<dyn Fn(&Response, &Visit) + Send + Sync>;

/// What an engine's thread tells the crawl.
pub(super) enum Event {
    /// A page was fetched and handed to the handler.
    Page {
        visit: Visit,
        /// Its links to consider (forms only when followed).
        links: Vec<Url>,
        /// Where its redirects ended, when elsewhere.
        reached: Option<String>,
        failed: Option<Failed>,
    },
    /// An origin's robots.txt was answered.
    Robots { origin: String, rules: RobotsRules },
    /// A sitemap was read.
    Sitemap(SitemapRead),
    /// A page was not fetched: the crawl was stopped first (it stays in the frontier).
    Cancelled,
    /// A page of a shared crawl was not handed on: its partition is no longer this
    /// process's (another fetches it again).
    Lost(i64),
}

/// A sitemap read, and where it was named.
pub(super) struct SitemapRead {
    pub url: String,
    /// Named by a robots.txt (or by a sitemap it named), not by [`super::Crawl::sitemap`].
    pub from_robots: bool,
    pub sitemap: Sitemap,
}

/// The engines and the handler, shared with the engines' threads.
pub(super) struct Shared {
    pub pages: Octopus,
    pub files: Option<Octopus>,
    pub stop: CrawlStop,
    pub handler: Handler,
    pub forms: bool,
    pub events: SyncSender<Event>,
    /// The partitions this process holds, in a shared crawl.
    pub leases: Option<Arc<Leases>>,
}

impl Shared {
    /// Fetch a page (an external link: HEAD, then GET if HEAD was not a success); its
    /// handler, then what came of it told to the crawl.
    pub fn fetch(self: &Arc<Self>, url: Url, visit: Visit) {
        let shared = Arc::clone(self);
        if !visit.external {
            return self.pages.enqueue(url, move |response: &Response| {
                shared.page(response, visit);
            });
        }
        let head = match Request::new(url.as_str()).with_method("HEAD") {
            Ok(head) => head,
            Err(_) => Request::new(url.as_str()),
        };
        self.pages.enqueue(head, move |response: &Response| {
            if response.ok() {
                return shared.page(response, visit);
            }
            let again = Arc::clone(&shared);
            shared.pages.enqueue(url, move |response: &Response| {
                again.page(response, visit);
            });
        });
    }

    /// A page's response: its handler, then its links to the crawl (unless the crawl's stop
    /// cancelled it: then nothing was fetched, and nothing is handled).
    pub fn page(&self, response: &Response, visit: Visit) {
        let cancelled = response.error().map(|f| f.kind()) == Some(ErrorKind::Cancelled);
        if cancelled && self.stop.is_stopped() {
            return self.tell(Event::Cancelled);
        }
        // A stale holder writes nothing: the page is another process's now.
        if let (Some(leases), Some(partition)) = (&self.leases, visit.partition)
            && !leases.holds(partition)
        {
            return self.tell(Event::Lost(visit.id));
        }
        // Fetched again for its links only: its handler saw it the first time.
        if !visit.again {
            (self.handler)(response, &visit);
        }
        let links = match visit.external {
            true => Vec::new(),
            false => response
                .links()
                .iter()
                .filter(|link| self.forms || link.kind() != LinkKind::Form)
                .map(|link| link.url().clone())
                .collect(),
        };
        let reached = response
            .final_url()
            .filter(|f| *f != response.url())
            .map(str::to_string);
        let failed = (!response.ok()).then(|| Failed {
            status: response.status(),
            error: response.error().map(|f| f.kind().as_str()),
        });
        self.tell(Event::Page {
            visit,
            links,
            reached,
            failed,
        });
    }

    /// Read the sitemap at `url` on `files`; what it lists told to the crawl.
    pub fn ask_sitemap(self: &Arc<Self>, files: &Octopus, url: Url, from_robots: bool) {
        let shared = Arc::clone(self);
        let named = url.to_string();
        files.enqueue(url, move |response: &Response| {
            let sitemap = match response.ok() {
                true => sitemap::read(response.body()),
                false => Sitemap::default(),
            };
            let read = SitemapRead {
                url: named,
                from_robots,
                sitemap,
            };
            shared.tell(Event::Sitemap(read));
        });
    }

    /// Fetch an origin's robots.txt; its rules told to the crawl.
    pub fn ask_robots(self: &Arc<Self>, robots_txt: Url) {
        let Some(robots) = &self.files else { return };
        let origin = robots_txt.origin().ascii_serialization();
        let shared = Arc::clone(self);
        robots.enqueue(robots_txt, move |response: &Response| {
            let rules = RobotsRules::of(response, ROBOTS_AGENT);
            shared.tell(Event::Robots { origin, rules });
        });
    }

    pub fn tell(&self, event: Event) {
        // The crawl waits for every URL it handed out: it is there to receive.
        let _ = self.events.send(event);
    }
}
