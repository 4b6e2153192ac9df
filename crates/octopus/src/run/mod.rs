//! Running requests: [`Octopus`], the handle callers hold, on one engine.
//!
//! How a request moves. `enqueue` (or the pull's feeder, `stream.rs`) hands it to the
//! engine, which makes it a `Job` (`job.rs`) and admits it to the scheduler
//! (`scheduler.rs`) under the engine's one lock (`engine.rs`). When it may start (limits,
//! rate, delay, the concurrency; a repeat may be answered by the cache or joined to a fetch
//! in flight instead), a worker takes it as a task and fetches it (`worker.rs`). A plain
//! `http` request sent directly then waits in the waiting set (`waiting.rs`, one epoll set)
//! holding no thread, and its worker goes on; when its answer comes, the worker that polls
//! the set moves it to the ready queue and goes on with it (or with a redirect's next hop,
//! back to the set). Anything else is answered on its worker. The outcome goes back to the
//! scheduler (to be retried, cached, or settled, with its repeats), and the settled
//! response to its consumer (a handler, or the pull's channel), counted done by the ledger
//! (`ledger.rs`), which is what `wait` waits for.
//!
//! Who may wake whom. Only the engine wakes or starts workers, and only as `plan.rs`
//! decides from a snapshot of its counters: when work is added (`enqueue`, `stop`), when
//! a worker takes a task or sets a timer, and when a worker is about to block (a
//! connection, a proxied exchange and its lookup, a handler, Redis: `blocking.rs`
//! tells the engine, which may start another in its place). Idle workers sleep on one
//! condvar and the timekeeper on another (`beds.rs`); the poller sleeps in the waiting set
//! and is woken through its eventfd, at most once per poll. A worker never wakes another
//! directly, and nothing outside the engine does.

mod beds;
mod cache;
mod engine;
mod job;
mod ledger;
mod limits;
mod plan;
mod scheduler;
mod stream;
mod waiting;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use crate::builder::error::Error;
use crate::http::Client;
use crate::input::Request;
use crate::response::Response;
use crate::settings::Settings;
use crate::shared::SharedLimits;
use engine::Engine;
use job::Consumer;
pub use stream::Responses;

/// A bulk HTTP fetcher: enqueue URLs with a handler each; worker threads fetch them,
/// politely and concurrently, and call each handler with the URL's [`Response`].
///
/// Built with [`Octopus::builder`](crate::Octopus::builder). Cheap to clone (clones share one engine) and
/// `Send + Sync`: URLs can be enqueued from any thread, also from inside a handler (a
/// crawler), while others are in flight. The engine's threads end once every clone is
/// dropped and nothing is left to do.
///
/// Handlers run on the worker threads, one call per enqueued URL, whatever happens to it:
/// an invalid URL, a transport failure and a cancelled request are responses too (see
/// [`Response::error`]). A handler that panics is counted ([`Stats::handler_panics`]; the
/// panic message goes to stderr through the standard panic hook) and the run goes on.
#[derive(Clone)]
pub struct Octopus {
    handle: Arc<Handle>,
}

impl std::fmt::Debug for Octopus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Octopus")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// What the engine's counters say (see [`Octopus::stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Requests whose handler has not returned yet.
    pub pending: u64,
    /// Requests being fetched now.
    pub in_flight: usize,
    /// Handlers that panicked.
    pub handler_panics: u64,
    /// Worker threads started and not ended: a few (at most twice the cores, often one)
    /// while requests wait on no thread, more while some block (up to the concurrency).
    pub workers: usize,
    /// Worker threads the system refused to start (the run goes on with fewer).
    pub worker_start_failures: u64,
    /// Requests left to other shards ([`crate::Builder::shard`]): not fetched, and their
    /// handlers not called.
    pub other_shard: u64,
    /// Times the shared limiter ([`crate::Builder::redis`]) held a request back (it waited
    /// in the window meanwhile, counted in its `waited`).
    pub shared_waits: u64,
    /// Whether the shared limiter's Redis is unreachable now (limited requests wait).
    pub limiter_down: bool,
    /// Whether Redis stayed unreachable past [`crate::Builder::redis_outage`] and the run was
    /// stopped (what had not started was cancelled).
    pub limiter_lost: bool,
    /// Connections made so far (to servers, or to proxies), kept ones not counted again.
    pub connections: u64,
    /// Requests sent so far on those connections (every hop and every try): divided by
    /// `connections`, how many each carried.
    pub exchanges: u64,
}

/// Closes the engine when the last clone of an `Octopus` is dropped.
struct Handle {
    engine: Arc<Engine>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.engine.close();
    }
}

/// Start an engine for `settings` with its first worker: an `Octopus` for it.
pub(crate) fn start(
    settings: Settings,
    client: Client,
    shared: Option<SharedLimits>,
) -> Result<Octopus, Error> {
    let engine = Arc::new(Engine::new(settings, client, shared, worker::spawn));
    worker::spawn(&engine).map_err(Error::Thread)?;
    Ok(Octopus {
        handle: Arc::new(Handle { engine }),
    })
}

impl Octopus {
    fn engine(&self) -> &Arc<Engine> {
        &self.handle.engine
    }

    /// Fetch `request` (a URL as `&str` or `String`, or a [`Request`]) and call `handler`
    /// with its response, on a worker thread, exactly once. Never blocks: the queue grows
    /// with what is enqueued (for a bounded pull over many URLs, see [`Octopus::fetch_all`]).
    ///
    /// While a handler runs, its worker fetches nothing: a handler should not wait for other
    /// requests of the same `Octopus` (`wait` returns at once there; reading a pull there
    /// can stall once every worker does it). Enqueueing more is fine.
    pub fn enqueue<R, H>(&self, request: R, handler: H)
    where
        R: Into<Request>,
        H: FnOnce(&Response) + Send + 'static,
    {
        let consumer = Consumer::Handler(Box::new(move |response| handler(&response)));
        self.engine().enqueue(vec![(request.into(), consumer)]);
    }

    /// Fetch `requests`, taken lazily from the iterator on a thread of their own, and
    /// return their responses as an iterator, in the order they complete. At most the
    /// look-ahead plus the concurrency are taken ahead of the responses read, so memory
    /// stays bounded however long the iterator is.
    ///
    /// ```
    /// # let server = octopus_testserver::Server::start().unwrap();
    /// # let site = server.url("");
    /// let otto = octopus::Octopus::builder().concurrency(8).build()?;
    /// let urls = (0..100).map(move |i| format!("{site}/page/{i}"));
    /// let ok = otto.fetch_all(urls)?.filter(|r| r.ok()).count();
    /// assert_eq!(ok, 100);
    /// # Ok::<(), octopus::Error>(())
    /// ```
    pub fn fetch_all<I>(&self, requests: I) -> Result<Responses, Error>
    where
        I: IntoIterator + Send + 'static,
        I::IntoIter: Send + 'static,
        I::Item: Into<Request>,
    {
        Responses::start(self.clone(), requests.into_iter().map(Into::into))
    }

    pub(crate) fn submit(&self, requests: Vec<(Request, Consumer)>) {
        self.engine().enqueue(requests);
    }

    /// How many requests may be outstanding in a pull: the look-ahead plus the concurrency.
    pub(crate) fn pull_window(&self) -> usize {
        let settings = self.engine().settings();
        settings
            .policy
            .lookahead
            .saturating_add(settings.concurrency)
    }

    /// Return when nothing is queued, in flight or running in a handler. Called from inside
    /// a handler, returns at once (it would wait for itself).
    pub fn wait(&self) {
        self.engine().wait(None);
    }

    /// Like [`Octopus::wait`], for at most `timeout`: true when everything is done.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.engine().wait(Some(timeout))
    }

    /// Start no new request: those waiting (for a slot, a rate, a delay) are handed to their
    /// handlers as `cancelled` failures, those waiting for a retry with their last outcome,
    /// and URLs enqueued from now on are cancelled at once. Requests in flight finish
    /// (within their timeout) and are delivered as usual. Stopping is for good.
    pub fn stop(&self) {
        self.engine().stop();
    }

    /// From now on, at least `delay` between two requests to `origin` (`scheme://host`
    /// with a port when it is not the scheme's default, as [`url::Origin`] serialises it):
    /// what a robots.txt's `Crawl-delay` asks. The longer of this and the builder's `delay`
    /// applies; requests already started are not affected.
    pub fn delay_host(&self, origin: &str, delay: Duration) {
        self.engine().delay_host(origin, delay);
    }

    /// Whether [`Octopus::stop`] was called (on this or any clone).
    pub fn is_stopped(&self) -> bool {
        self.engine().is_stopped()
    }

    /// The engine's counters now.
    pub fn stats(&self) -> Stats {
        self.engine().stats()
    }

    /// How each proxy of the pool ([`crate::Builder::proxies`]) was used so far, in the
    /// pool's order; empty without a pool.
    pub fn proxy_uses(&self) -> Vec<crate::ProxyUse> {
        self.engine().client().proxy_uses()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Helpers for the unit tests of the run modules.

    use std::time::Duration;

    use crate::fetched::Fetched;
    use crate::policy::{Policy, RetryPolicy};
    use crate::status::StatusSet;

    pub(crate) fn fetched(status: u16) -> Fetched {
        Fetched {
            status,
            final_url: "http://a/".into(),
            redirects: 0,
            bytes: 3,
            content_type: None,
            retry_after: None,
            took: Duration::from_millis(1),
            timings: Default::default(),
            headers: None,
            capture: None,
            warc: None,
            proxy: None,
            http_version: "1.1",
        }
    }

    /// No limits, no retries, a look-ahead of 1000.
    pub(crate) fn policy() -> Policy {
        Policy {
            per_host: None,
            limits: Vec::new(),
            interval: None,
            delay: None,
            retry: RetryPolicy {
                retries: 0,
                on_status: StatusSet::new(vec![(429, 429), (500, 599)]),
                base: Duration::from_millis(100),
                max_wait: Duration::from_secs(60),
            },
            lookahead: 1000,
        }
    }
}
