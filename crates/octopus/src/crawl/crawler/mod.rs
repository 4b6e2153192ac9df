//! A crawl running. The thread that called `Crawl::run` owns the crawl's state: the store
//! (`store.rs`: the seen-set and the frontier), the robots.txt of each origin and the
//! counts. The engines' threads only fetch, call the user's handler and send what came of
//! each page (its links) or robots.txt over a channel to that thread, which admits the
//! links, marks the page done and hands the engines the next URLs of the frontier: at most
//! `window` in flight (fetching, or waiting for their origin's robots.txt).
//!
//! Invariants: only the window is in memory, whatever the site's size; no lock is shared
//! and no engine thread waits on the store; the crawl ends when nothing is in flight and
//! the frontier is empty; the store's first error stops both engines and is what the crawl
//! returns.

mod shared;
mod sitemaps;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::{Duration, Instant};

use url::Url;

use super::engines::{Event, Handler, Shared};
use super::frontier::Frontier;
use super::robots::{Origins, Rules as RobotsRules, Verdict};
use super::scope::Rules;
use super::store::{Admitted, Entry, Failed};
use super::{CrawlKept, CrawlProgress, CrawlStop, CrawlSummary, Visit};
use crate::builder::Error;
use crate::run::Octopus;

/// How often a crawl waiting for pages looks whether it was stopped.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// How often the crawl's progress is told ([`CrawlProgress`]).
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Sitemaps a crawl reads at most (an index may name many).
const MAX_SITEMAPS: usize = 1000;

/// What the crawl does, as settings.
pub(super) struct Plan {
    pub rules: Rules,
    pub depth: u32,
    pub max_pages: Option<u64>,
    pub forms: bool,
    pub check_external: bool,
    /// Keep each page's links (for the broken-link report).
    pub keep_links: bool,
    /// URLs in flight at most.
    pub window: usize,
    /// Honour robots.txt.
    pub robots: bool,
    /// Sitemaps to read first.
    pub sitemaps: Vec<Url>,
    /// Read the sitemaps robots.txt files name, their pages taken as links of their site's
    /// root (scope and depth apply).
    pub follow_sitemaps: bool,
}

/// The engines a crawl runs on, and what stops it.
pub(super) struct Engines {
    pub pages: Octopus,
    /// Fetches robots.txt files and sitemaps (bodies kept), when either is read.
    pub files: Option<Octopus>,
    pub stop: CrawlStop,
    pub progress: Option<CrawlProgress>,
    /// Pages whose handler's work the program says it kept (a shared crawl marks a page
    /// done only then); `None`: kept when the handler returns.
    pub kept: Option<CrawlKept>,
}

/// A page handled, waiting for the program to say its work is kept.
struct Parked {
    visit: Visit,
    links: Vec<Url>,
    reached: Option<String>,
    failed: Option<Failed>,
}

pub(in crate::crawl) struct Crawler {
    plan: Plan,
    shared: Arc<Shared>,
    events: Receiver<Event>,
    pub frontier: Frontier,
    origins: Origins,
    pub summary: CrawlSummary,
    /// URLs handed to the engines and not yet handled.
    in_flight: usize,
    /// Sitemaps asked for (each once, at most `MAX_SITEMAPS`), and not yet read.
    sitemaps: HashSet<String>,
    sitemaps_in_flight: usize,
    /// The store's first error: the crawl stops.
    failed: Option<Error>,
    /// The crawl was stopped: nothing more is handed out.
    stopping: bool,
    /// Where the crawl's progress is told, and when it was last.
    progress: Option<(CrawlProgress, Instant)>,
    kept: Option<CrawlKept>,
    /// Pages handled, waiting for `kept` (shared crawls only).
    parked: HashMap<i64, Parked>,
    /// Pages said kept before their event arrived.
    kept_early: HashSet<i64>,
    /// A shared crawl's pages handled here and their links, for the broken-link report.
    pub links: Option<super::store::Store>,
}

impl Crawler {
    pub fn new(plan: Plan, mut frontier: Frontier, engines: Engines, handler: Handler) -> Crawler {
        if let Some(store) = frontier.local() {
            store.limits(plan.max_pages, plan.depth);
        }
        let leases = match &frontier {
            Frontier::Shared(partitions) => Some(partitions.leases()),
            Frontier::Local(_) => None,
        };
        // Bounded: an engine's thread waits when the crawl lags. The crawl's own thread never
        // sends, so it never waits for itself.
        let (events, receiver) = sync_channel(plan.window.max(64));
        let shared = Shared {
            pages: engines.pages,
            files: engines.files,
            stop: engines.stop,
            handler,
            forms: plan.forms,
            events,
            leases,
        };
        Crawler {
            plan,
            shared: Arc::new(shared),
            events: receiver,
            frontier,
            origins: Origins::default(),
            summary: CrawlSummary::default(),
            in_flight: 0,
            sitemaps: HashSet::new(),
            sitemaps_in_flight: 0,
            failed: None,
            stopping: false,
            progress: engines
                .progress
                .map(|p| (p, Instant::now() - PROGRESS_EVERY)),
            kept: engines.kept,
            parked: HashMap::new(),
            kept_early: HashSet::new(),
            links: None,
        }
    }

    /// Crawl from `seeds` until nothing is left (or the store fails).
    pub fn run(&mut self, seeds: Vec<Url>) -> Result<(), Error> {
        self.seed(&seeds);
        for sitemap in std::mem::take(&mut self.plan.sitemaps) {
            self.ask_sitemap(sitemap.as_str(), false);
        }
        self.refill();
        while self.in_flight > 0 || self.sitemaps_in_flight > 0 || !self.over() {
            if self.shared.stop.is_stopped() && !self.stopping {
                self.halt();
            }
            self.tell_progress();
            let event = match self.events.recv_timeout(STOP_CHECK) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout) => {
                    self.settle();
                    self.refill();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            match event {
                Event::Page {
                    visit,
                    links,
                    reached,
                    failed,
                } => self.page(visit, links, reached, failed),
                Event::Robots { origin, rules } => self.answered(&origin, rules),
                Event::Sitemap(sitemap) => self.read(sitemap),
                Event::Cancelled => self.in_flight -= 1,
                Event::Lost(id) => self.lost(id),
            }
            self.settle();
            self.refill();
        }
        if let Some(files) = &self.shared.files {
            files.wait();
        }
        self.shared.pages.wait();
        match self.failed.take() {
            Some(e) => Err(e),
            None => self.frontier.commit(),
        }
    }

    /// Tell the progress handle how many URLs are left, every `PROGRESS_EVERY` at most.
    fn tell_progress(&mut self) {
        let Some((progress, told)) = &mut self.progress else {
            return;
        };
        if told.elapsed() < PROGRESS_EVERY {
            return;
        }
        *told = Instant::now();
        if let Ok(waiting) = self.frontier.waiting() {
            progress.set_frontier(waiting + self.in_flight as u64);
        }
    }

    /// Stopped from outside: no request starts any more; what is in flight finishes.
    fn halt(&mut self) {
        self.stopping = true;
        self.summary.stopped = true;
        self.shared.pages.stop();
        if let Some(files) = &self.shared.files {
            files.stop();
        }
    }

    /// Stop the crawl on a store error (the first is kept).
    fn fail(&mut self, error: Error) {
        if self.failed.is_none() {
            self.failed = Some(error);
            self.shared.pages.stop();
            if let Some(files) = &self.shared.files {
                files.stop();
            }
        }
    }

    fn count(&mut self, admitted: Result<Admitted, Error>) {
        let summary = &mut self.summary;
        match admitted {
            Ok(Admitted::OverLimit) => summary.over_limit += 1,
            Ok(Admitted::TooDeep) => summary.too_deep += 1,
            Ok(Admitted::NoLongerTooDeep { over }) => {
                summary.too_deep = summary.too_deep.saturating_sub(1);
                summary.over_limit += u64::from(over);
            }
            Ok(Admitted::Queued | Admitted::Seen) => {}
            Err(e) => self.fail(e),
        }
    }

    /// Hand the engines URLs of the frontier until the window is full or the frontier
    /// empty; once an eighth of the window has room, or nothing is in flight (a query of
    /// the frontier per page would cost more than the page).
    fn refill(&mut self) {
        loop {
            let room = self.plan.window.saturating_sub(self.in_flight);
            let worth = room >= (self.plan.window / 8).max(1) || self.in_flight == 0;
            if room == 0 || !worth || self.failed.is_some() || self.stopping {
                return;
            }
            let entries = match self.frontier.take(room) {
                Ok(entries) if entries.is_empty() => return,
                Ok(entries) => entries,
                Err(e) => return self.fail(e),
            };
            for entry in entries {
                let (url, visit) = visit_of(entry);
                let Some(url) = url else {
                    // Not a URL (the file was edited): handled as a page with nothing.
                    self.in_flight += 1;
                    self.handled(&visit, &[], None, None);
                    continue;
                };
                let verdict = match self.plan.robots && !visit.external {
                    true => self.origins.verdict(&url, &visit),
                    false => Verdict::Fetch,
                };
                match verdict {
                    Verdict::Disallowed => {
                        self.disallowed(&visit, None);
                        continue;
                    }
                    Verdict::Unanswered(kind) => {
                        self.disallowed(&visit, Some(kind));
                        continue;
                    }
                    Verdict::Waits => {}
                    Verdict::AskFirst(robots_txt) => {
                        self.summary.robots += 1;
                        self.shared.ask_robots(robots_txt);
                    }
                    Verdict::Fetch => self.shared.fetch(url, visit),
                }
                self.in_flight += 1;
            }
        }
    }

    /// robots.txt disallows `visit`'s URL (`unanswered`: its robots.txt failed so).
    fn disallowed(&mut self, visit: &Visit, unanswered: Option<&str>) {
        match unanswered {
            Some(_) => self.summary.robots_failed += 1,
            None => self.summary.disallowed += 1,
        }
        match self.frontier.disallowed(visit.id, unanswered) {
            Ok(true) => self.summary.over_limit = self.summary.over_limit.saturating_sub(1),
            Ok(false) => {}
            Err(e) => self.fail(e),
        }
    }

    /// An origin's robots.txt was answered: its delay set, its sitemaps asked for, the URLs
    /// that waited for it fetched or not.
    fn answered(&mut self, origin: &str, rules: RobotsRules) {
        if self.stopping {
            // Its answer may be the stop's cancellation: its URLs stay in the frontier.
            let waited = self.origins.answered(origin, RobotsRules::AllowAll);
            self.in_flight -= waited.len();
            return;
        }
        if let Some(delay) = rules.delay() {
            self.summary.crawl_delays += 1;
            self.shared.pages.delay_host(origin, delay);
        }
        if self.plan.follow_sitemaps {
            for sitemap in rules.sitemaps() {
                self.ask_sitemap(sitemap, true);
            }
        }
        for (url, visit, verdict) in self.origins.answered(origin, rules) {
            let unanswered = match verdict {
                Verdict::Fetch => {
                    self.shared.fetch(url, visit);
                    continue;
                }
                Verdict::Unanswered(kind) => Some(kind),
                _ => None,
            };
            self.in_flight -= 1;
            self.disallowed(&visit, unanswered);
        }
    }

    /// A page was handled: count it, admit its links, mark it done.
    fn handled(
        &mut self,
        visit: &Visit,
        links: &[Url],
        reached: Option<String>,
        failed: Option<Failed>,
    ) {
        self.in_flight -= 1;
        if self.failed.is_some() {
            return;
        }
        if !visit.again {
            self.summary.pages += 1;
        }
        if let Frontier::Shared(_) = self.frontier {
            return self.handled_shared(visit, links, reached, failed);
        }
        let mut result = Ok(());
        if visit.external {
            self.summary.external += 1;
        } else {
            result = self.admit_links(visit, links, reached);
        }
        let done = match self.frontier.local() {
            Some(store) => result.and_then(|()| store.done(visit.id, failed)),
            None => result,
        };
        if let Err(e) = done {
            self.fail(e);
        }
    }

    fn admit_links(
        &mut self,
        visit: &Visit,
        links: &[Url],
        reached: Option<String>,
    ) -> Result<(), Error> {
        let Some(store) = self.frontier.local() else {
            return Ok(());
        };
        if let Some(reached) = reached {
            let follows = Url::parse(&reached).is_ok_and(|url| self.plan.rules.follows(&url));
            if follows {
                store.reached(&reached, visit.depth, visit.parent_id)?;
            }
        }
        // Found closer to a seed while it was in flight: its links are that much closer.
        let depth = store.closer(visit.id).unwrap_or(visit.depth) + 1;
        for link in links {
            self.admit_link(link, depth, visit.id)?;
        }
        Ok(())
    }

    /// Offer `link`, found on page `page` (or a page the sitemap `page` lists), at `depth`.
    fn admit_link(&mut self, link: &Url, depth: u32, page: i64) -> Result<(), Error> {
        let (url, follows) = (link.as_str(), self.plan.rules.follows(link));
        let Some(store) = self.frontier.local() else {
            return Ok(());
        };
        if !follows && !self.plan.check_external {
            if store.out_of_scope(url)? {
                self.summary.out_of_scope += 1;
            }
            return Ok(());
        }
        let admitted = store.admit(url, depth, Some(page), !follows);
        let kept = matches!(
            admitted,
            Ok(Admitted::Queued | Admitted::Seen | Admitted::NoLongerTooDeep { over: false })
        );
        if kept && self.plan.keep_links {
            store.link(page, url)?;
        }
        self.count(admitted);
        Ok(())
    }
}

/// A frontier entry as a URL to fetch and where it was found.
fn visit_of(entry: Entry) -> (Option<Url>, Visit) {
    let visit = Visit {
        depth: entry.depth,
        parent: entry.parent.map(Arc::from),
        id: entry.id,
        parent_id: entry.parent_id,
        external: entry.external,
        again: entry.again,
        partition: entry.partition,
    };
    (Url::parse(&entry.url).ok(), visit)
}
