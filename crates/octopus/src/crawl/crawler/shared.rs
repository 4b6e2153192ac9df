//! What a crawl does differently when its frontier is shared through Redis
//! (`partitions/`): seeds, a sitemap's pages and a page's links admitted in one step each, the page done in the
//! same step and only once the program kept its work (`CrawlKept`), a page whose partition
//! passed to another process dropped, and the crawl over only when no process has
//! anything left.

use url::Url;

use super::super::frontier::Frontier;
use super::super::partitions::{Offer, Tally};
use super::super::store::Failed;
use super::{Crawler, Parked};
use crate::crawl::Visit;
use crate::queue::QueueError;

impl Crawler {
    /// Admit the seeds.
    pub(super) fn seed(&mut self, seeds: &[Url]) {
        let admitted: Vec<_> = match &mut self.frontier {
            Frontier::Local(store) => seeds
                .iter()
                .map(|seed| store.admit(seed.as_str(), 0, None, false))
                .collect(),
            Frontier::Shared(partitions) => {
                let offers: Vec<Offer<'_>> = seeds.iter().map(Offer::Follow).collect();
                match partitions.listed("", 0, &offers) {
                    Ok(tally) => tally.admitted.into_iter().map(Ok).collect(),
                    Err(e) => vec![Err(crate::builder::Error::Queue(e))],
                }
            }
        };
        for admitted in admitted {
            self.count(admitted);
        }
    }

    /// Whether nothing more can come: the crawl failed or was stopped, or no process of
    /// it has anything left (at once for a crawl of one process).
    pub(super) fn over(&mut self) -> bool {
        if self.failed.is_some() || self.stopping {
            return true;
        }
        match self.frontier.over() {
            Ok(over) => over,
            Err(e) => {
                self.fail(e);
                true
            }
        }
    }

    /// A page was fetched and handed on: handled now, or, in a shared crawl whose program
    /// says when a page's work is kept, once it is.
    pub(super) fn page(
        &mut self,
        visit: Visit,
        links: Vec<Url>,
        reached: Option<String>,
        failed: Option<Failed>,
    ) {
        let shared = matches!(self.frontier, Frontier::Shared(_));
        if shared && self.kept.is_some() && !visit.again && !self.kept_early.remove(&visit.id) {
            let parked = Parked {
                visit,
                links,
                reached,
                failed,
            };
            self.parked.insert(parked.visit.id, parked);
            return;
        }
        self.handled(&visit, &links, reached, failed);
    }

    /// Handle the parked pages whose work the program kept. A page may be said kept before
    /// its event arrives here (the handler runs first): it is handled when it arrives. Once
    /// the program keeps nothing more (`CrawlKept::close`), the crawl stops and the parked
    /// pages go back.
    pub(super) fn settle(&mut self) {
        let Some(kept) = &self.kept else { return };
        let (ids, closed) = kept.drain();
        for id in ids {
            match self.parked.remove(&id) {
                Some(parked) => {
                    let Parked {
                        visit,
                        links,
                        reached,
                        failed,
                    } = parked;
                    self.handled(&visit, &links, reached, failed);
                }
                None => {
                    self.kept_early.insert(id);
                }
            }
        }
        if closed {
            if !self.stopping {
                self.halt();
            }
            let given_up: Vec<i64> = self.parked.keys().copied().collect();
            for id in given_up {
                self.parked.remove(&id);
                self.give_back(id);
            }
        }
    }

    /// Page `id` was not handed on: its lease looked lapsed (another process may hold its
    /// partition now; if not, it goes back in the partition's list).
    pub(super) fn lost(&mut self, id: i64) {
        self.summary.lost += 1;
        self.give_back(id);
    }

    /// Page `id` is not done here: back in its partition's list if the partition is still
    /// this process's.
    fn give_back(&mut self, id: i64) {
        self.in_flight -= 1;
        if let Frontier::Shared(partitions) = &mut self.frontier
            && let Err(e) = partitions.give_back(id)
        {
            self.fail(crate::builder::Error::Queue(e));
        }
    }

    /// How each of `links` is offered to a shared frontier: followed, checked (external)
    /// or only counted, as the scope and the patterns say.
    fn offers<'a>(&self, links: &'a [Url]) -> Vec<Offer<'a>> {
        let rules = &self.plan.rules;
        let check = self.plan.check_external;
        let offer = |link| match (rules.follows(link), check) {
            (true, _) => Offer::Follow(link),
            (false, true) => Offer::External(link),
            (false, false) => Offer::Out(link),
        };
        links.iter().map(offer).collect()
    }

    /// A page of a shared crawl handled: its links (and the end of its redirects) admitted
    /// and the page done, in one step.
    pub(super) fn handled_shared(
        &mut self,
        visit: &Visit,
        links: &[Url],
        reached: Option<String>,
        failed: Option<Failed>,
    ) {
        let offers = match visit.external {
            true => Vec::new(),
            false => self.offers(links),
        };
        let reached = reached
            .and_then(|r| Url::parse(&r).ok())
            .filter(|url| !visit.external && self.plan.rules.follows(url));
        let Frontier::Shared(partitions) = &mut self.frontier else {
            return;
        };
        // The page's URL, only for the broken-link report's store of links.
        let page = (self.links.is_some())
            .then(|| partitions.url_of(visit.id).map(str::to_string))
            .flatten();
        let handled = partitions.handled(visit.id, reached.as_ref(), failed.as_ref(), &offers);
        if matches!(handled, Ok(Some(_)))
            && let (Some(store), Some(page)) = (&mut self.links, page)
        {
            let kept: Vec<&str> = (offers.iter())
                .filter_map(|offer| match offer {
                    Offer::Follow(url) | Offer::External(url) => Some(url.as_str()),
                    Offer::Out(_) => None,
                })
                .collect();
            if let Err(e) = store.page_links(&page, &kept) {
                self.fail(e);
            }
        }
        if visit.external && matches!(handled, Ok(Some(_))) {
            self.summary.external += 1;
        }
        self.tally(handled);
    }

    /// Call `each` with every page that links to URLs that failed, and those: from the
    /// store of a crawl of one process; in a shared crawl, for the pages handled here, the
    /// failures (wherever they were fetched) read from Redis once the crawl is over.
    pub(in crate::crawl) fn report(
        &mut self,
        each: &mut dyn FnMut(&str, Vec<crate::crawl::BrokenLink>),
    ) -> Result<(), crate::builder::Error> {
        let failures = match &mut self.frontier {
            Frontier::Local(store) => return store.broken(each),
            Frontier::Shared(partitions) => partitions
                .failures()
                .map_err(crate::builder::Error::Queue)?,
        };
        let Some(store) = &mut self.links else {
            return Ok(());
        };
        for (url, status, error) in failures {
            store.failed_elsewhere(&url, status, error.as_deref())?;
        }
        store.broken(each)
    }

    /// The pages a sitemap of a shared crawl lists, admitted at `depth`.
    pub(super) fn listed_shared(&mut self, sitemap: &str, depth: u32, pages: &[Url]) {
        let offers = self.offers(pages);
        let Frontier::Shared(partitions) = &mut self.frontier else {
            return;
        };
        let listed = partitions.listed(sitemap, depth, &offers).map(Some);
        self.tally(listed);
    }

    /// Count what came of a step's URLs (`None`: the step was refused, its partition lost).
    fn tally(&mut self, step: Result<Option<Tally>, QueueError>) {
        match step {
            Ok(Some(Tally {
                admitted,
                out_of_scope,
            })) => {
                self.summary.out_of_scope += out_of_scope;
                for admitted in admitted {
                    self.count(Ok(admitted));
                }
            }
            Ok(None) => self.summary.lost += 1,
            Err(e) => self.fail(crate::builder::Error::Queue(e)),
        }
    }
}
