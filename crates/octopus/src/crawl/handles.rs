//! Handles on a running crawl, for other threads: `CrawlStop` stops it, `CrawlProgress` says
//! how far it is, `CrawlKept` says which pages' work was kept.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::Visit;

/// Stops a running crawl from another thread (on Ctrl-C, say): no new request starts;
/// requests in flight finish and their pages are handled; the rest stays in the frontier,
/// for a crawl with the same [`Crawl::state`](crate::Crawl::state) to continue. Cloned, it stops the same crawl.
#[derive(Debug, Clone, Default)]
pub struct CrawlStop(Arc<AtomicBool>);

impl CrawlStop {
    /// A handle for [`Crawl::stop_with`](crate::Crawl::stop_with).
    pub fn new() -> CrawlStop {
        CrawlStop::default()
    }

    /// Stop the crawl (it returns soon after, its summary saying `stopped`).
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`CrawlStop::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How far a running crawl is, read from another thread (for a progress bar, say):
/// [`Crawl::progress_with`](crate::Crawl::progress_with). Cloned, it reads the same crawl.
#[derive(Debug, Clone, Default)]
pub struct CrawlProgress(Arc<AtomicU64>);

impl CrawlProgress {
    /// A handle for [`Crawl::progress_with`](crate::Crawl::progress_with).
    pub fn new() -> CrawlProgress {
        CrawlProgress::default()
    }

    /// URLs admitted and not yet handled: waiting in the frontier or in flight (updated a
    /// few times a second).
    pub fn frontier(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    pub(super) fn set_frontier(&self, n: u64) {
        self.0.store(n, Ordering::Relaxed);
    }
}

/// Says which pages' work the program kept, for a crawl shared through Redis
/// ([`Crawl::kept_with`](crate::Crawl::kept_with)): a page is marked done in Redis only
/// once its work is kept, so that a process killed at any moment leaves no page done
/// without, say, its record written (the others fetch it again). Cloned, it tells the same
/// crawl.
#[derive(Debug, Clone, Default)]
pub struct CrawlKept(Arc<Mutex<Marks>>);

#[derive(Debug, Default)]
struct Marks {
    /// Pages said kept since the crawl last looked.
    kept: Vec<i64>,
    /// The program keeps nothing more.
    closed: bool,
}

impl CrawlKept {
    /// A handle for [`Crawl::kept_with`](crate::Crawl::kept_with).
    pub fn new() -> CrawlKept {
        CrawlKept::default()
    }

    /// The work of the page `visit` (as its handler saw it) is kept.
    pub fn keep(&self, visit: &Visit) {
        self.marks().kept.push(visit.id);
    }

    /// The program will say no more pages kept (it goes away without handling what it was
    /// given): the crawl stops (as [`CrawlStop::stop`] does), and the pages handed to it
    /// and not said kept are not done: they go back to their partitions for whichever
    /// process holds them next.
    pub fn close(&self) {
        self.marks().closed = true;
    }

    /// The pages said kept since the last call, and whether the program keeps no more.
    pub(super) fn drain(&self) -> (Vec<i64>, bool) {
        let mut marks = self.marks();
        (std::mem::take(&mut marks.kept), marks.closed)
    }

    fn marks(&self) -> std::sync::MutexGuard<'_, Marks> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
