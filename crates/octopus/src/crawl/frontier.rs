//! Where a crawl's frontier and seen-set live: an SQLite file of this process
//! (`store.rs`), or Redis, shared by every process of the job (`partitions/`). The crawl
//! asks either the same things: the next URLs, a page disallowed, how many wait; what
//! differs (a page's links admitted one by one, or in one step with the page done) is in
//! `Crawler::handled`.

use std::time::Duration;

use super::Crawl;
use super::partitions::{Limits, Partitions};
use super::store::{Entry, Store};
use crate::builder::Error;

pub(super) enum Frontier {
    Local(Store),
    Shared(Partitions),
}

impl Frontier {
    /// The next `n` URLs at most, taken.
    pub fn take(&mut self, n: usize) -> Result<Vec<Entry>, Error> {
        match self {
            Frontier::Local(store) => store.take(n),
            Frontier::Shared(partitions) => partitions.take(n).map_err(Error::Queue),
        }
    }

    /// robots.txt disallows page `id` (`unreachable`: its robots.txt failed so); whether a
    /// URL held back by the page limit was queued in its place.
    pub fn disallowed(&mut self, id: i64, unreachable: Option<&str>) -> Result<bool, Error> {
        match self {
            Frontier::Local(store) => store.disallowed(id, unreachable),
            Frontier::Shared(partitions) => {
                partitions.disallowed(id, unreachable).map_err(Error::Queue)
            }
        }
    }

    /// URLs waiting (not yet taken).
    pub fn waiting(&self) -> Result<u64, Error> {
        match self {
            Frontier::Local(store) => store.frontier(),
            Frontier::Shared(partitions) => Ok(partitions.status().map_err(Error::Queue)?.waiting),
        }
    }

    /// Whether nothing can come any more: always for a crawl of one process once its own
    /// frontier is empty; for a shared one, when no process has a URL waiting or in flight.
    pub fn over(&self) -> Result<bool, Error> {
        match self {
            Frontier::Local(_) => Ok(true),
            Frontier::Shared(partitions) => {
                Ok(partitions.status().map_err(Error::Queue)?.is_over())
            }
        }
    }

    /// Make what was written durable.
    pub fn commit(&mut self) -> Result<(), Error> {
        match self {
            Frontier::Local(store) => store.commit(),
            Frontier::Shared(_) => Ok(()),
        }
    }

    /// The local store, for what only a crawl of one process does (sitemaps, the report).
    pub fn local(&mut self) -> Option<&mut Store> {
        match self {
            Frontier::Local(store) => Some(store),
            Frontier::Shared(_) => None,
        }
    }
}

impl Crawl {
    /// Where the crawl's frontier lives (and pages requeued, continuing a crawl whose work
    /// was lost): shared through Redis, a state file, or a temporary one.
    pub(super) fn frontier(&self) -> Result<(Frontier, u64), Error> {
        let Some((url, lease)) = &self.queue else {
            let mut store = match &self.state {
                Some(path) => Store::open(path)?,
                None => Store::temporary()?,
            };
            let requeued = match &self.recorded {
                Some(recorded) => store.requeue_unrecorded(recorded.as_ref())?,
                None => 0,
            };
            return Ok((Frontier::Local(store), requeued));
        };
        let alone = [
            (
                self.state.is_some(),
                "a state file (the job in Redis is the state)",
            ),
            (
                self.recorded.is_some(),
                "recorded (the job in Redis is the state)",
            ),
        ];
        if let Some((_, what)) = alone.iter().find(|(set, _)| *set) {
            let reason = format!("a crawl shared through Redis does not take {what}");
            return Err(Error::Queue(crate::queue::QueueError::bad_url(reason)));
        }
        let limits = Limits {
            calm: self.builder.delay_set().unwrap_or(Duration::ZERO),
            max_depth: self.depth,
            max_pages: self.max_pages,
            concurrency: self.builder.concurrency_set(),
        };
        let partitions = Partitions::open(url, *lease, limits).map_err(Error::Queue)?;
        Ok((Frontier::Shared(partitions), 0))
    }
}
