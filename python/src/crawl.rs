//! A crawl from Python (`octopus.crawl`): the library's `Crawl` on a thread of its own, its
//! pages handed to Python as Python iterates, each waited for without the GIL, in slices so
//! that Ctrl-C is seen. With `queue` the process is one of a crawl shared through Redis
//! (`Crawl::queue`), and a page is marked done there when the next is asked for (handled
//! by then), as `fetch_queue` marks a URL done.
//!
//! Invariants: the crawl's thread never touches a Python object; a shared crawl's page is
//! kept only after Python asked for the one after it, or the iteration ended; the
//! iteration interrupted (Ctrl-C) or dropped stops the crawl, and a dropped one leaves the
//! pages it did not hand out, or whose next was not asked for, to the job.

use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use pyo3::exceptions::{PyConnectionError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use octopus::{Crawl, CrawlKept, CrawlStop, CrawlSummary, Scope, Visit};

use super::{Response, SIGNAL_CHECK, builder, seconds};

/// Pages fetched and not yet taken by Python, at most (the crawl's handlers wait beyond).
const HANDED_AHEAD: usize = 64;

/// How long a shared crawl's dead process's hosts wait, unless told.
const LEASE: Duration = Duration::from_secs(30);

/// What the crawl's thread sends.
enum Item {
    Page(octopus::Response, Visit),
    End(Result<CrawlSummary, octopus::Error>),
}

/// What a page is handed to Python as: the response, its depth, the page that linked to
/// it, and whether it is an external link checked.
type Page = (Response, u32, Option<String>, bool);

/// A crawl running, its pages as Python iterates them.
#[pyclass(module = "octopus._octopus", frozen)]
pub struct Crawling {
    pages: Mutex<Receiver<Item>>,
    stop: CrawlStop,
    /// For a shared crawl: where kept pages are told, and the page handed out last.
    kept: Option<(CrawlKept, Mutex<Option<Visit>>)>,
    summary: Mutex<Option<Py<PyDict>>>,
}

/// `crawl` following only URLs matching a pattern of `include` (if any) and none of
/// `exclude`, with the pages of `sitemaps` as seeds.
fn patterns(
    mut crawl: Crawl,
    include: &[String],
    exclude: &[String],
    sitemaps: &[String],
) -> Crawl {
    for pattern in include {
        crawl = crawl.include(pattern);
    }
    for pattern in exclude {
        crawl = crawl.exclude(pattern);
    }
    for sitemap in sitemaps {
        crawl = crawl.sitemap(sitemap);
    }
    crawl
}

fn scope_named(name: &str) -> PyResult<Scope> {
    match name {
        "host" => Ok(Scope::Host),
        "domain" => Ok(Scope::Domain),
        "prefix" => Ok(Scope::Prefix),
        "any" => Ok(Scope::Any),
        _ => Err(PyValueError::new_err(format!(
            "scope must be \"host\", \"domain\", \"prefix\" or \"any\", not {name:?}"
        ))),
    }
}

#[pymethods]
impl Crawling {
    /// Start crawling from `seeds` (a list of URLs) with the engine's `settings` (as
    /// `Engine` takes them); the crawl's own keywords as `octopus.crawl` documents them.
    #[new]
    #[pyo3(signature = (seeds, scope="host", depth=None, max_pages=None, include=Vec::new(),
        exclude=Vec::new(), robots=true, check_external=false, sitemaps=Vec::new(),
        follow_sitemaps=false, queue=None, lease=None, **settings))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        seeds: Vec<String>,
        scope: &str,
        depth: Option<u32>,
        max_pages: Option<u64>,
        include: Vec<String>,
        exclude: Vec<String>,
        robots: bool,
        check_external: bool,
        sitemaps: Vec<String>,
        follow_sitemaps: bool,
        queue: Option<String>,
        lease: Option<f64>,
        settings: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let stop = CrawlStop::new();
        let crawl = Crawl::new(builder(settings)?)
            .scope(scope_named(scope)?)
            .robots(robots)
            .check_external(check_external)
            .follow_sitemaps(follow_sitemaps)
            .stop_with(stop.clone());
        let mut crawl = patterns(crawl, &include, &exclude, &sitemaps);
        if let Some(depth) = depth {
            crawl = crawl.depth(depth);
        }
        if let Some(n) = max_pages {
            crawl = crawl.max_pages(n);
        }
        let mut kept = None;
        if let Some(url) = queue {
            let lease = lease.map_or(Ok(LEASE), |l| seconds("lease", l))?;
            let marks = CrawlKept::new();
            crawl = crawl.queue(&url, lease).kept_with(marks.clone());
            kept = Some((marks, Mutex::new(None)));
        }
        let (pages, handed) = sync_channel(HANDED_AHEAD);
        let end = pages.clone();
        std::thread::Builder::new()
            .name("octopus-crawl".into())
            .spawn(move || {
                let summary = crawl.run(seeds, move |response, visit| {
                    // Python gone (the iteration dropped): the stop is on its way.
                    let _ = pages.send(Item::Page(response.clone(), visit.clone()));
                });
                let _ = end.send(Item::End(summary));
            })
            .map_err(|e| PyConnectionError::new_err(format!("cannot start the crawl: {e}")))?;
        Ok(Crawling {
            pages: Mutex::new(handed),
            stop,
            kept,
            summary: Mutex::new(None),
        })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Page>> {
        self.keep_last();
        loop {
            let next = py.detach(|| lock(&self.pages).recv_timeout(SIGNAL_CHECK));
            match next {
                Ok(Item::Page(response, visit)) => {
                    let page = (
                        Response::new(py, &response)?,
                        visit.depth(),
                        visit.parent().map(str::to_string),
                        visit.external(),
                    );
                    if let Some((_, last)) = &self.kept {
                        *lock(last) = Some(visit);
                    }
                    return Ok(Some(page));
                }
                Ok(Item::End(Ok(summary))) => {
                    *lock(&self.summary) = Some(summary_dict(py, &summary)?.unbind());
                    return Ok(None);
                }
                Ok(Item::End(Err(e))) => return Err(ended(e)),
                Err(RecvTimeoutError::Disconnected) => return Ok(None),
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(interrupted) = py.check_signals() {
                        self.stop.stop();
                        return Err(interrupted);
                    }
                }
            }
        }
    }

    /// What the crawl did (`pages`, `too_deep`, `out_of_scope`, …), once it is over;
    /// `None` before.
    #[getter]
    fn summary(&self, py: Python<'_>) -> Option<Py<PyDict>> {
        lock(&self.summary).as_ref().map(|s| s.clone_ref(py))
    }

    /// Fetch no more pages: those in flight end, and the iteration ends after them.
    fn stop(&self) {
        self.stop.stop();
    }
}

impl Crawling {
    /// The page handed out before was handled: for a shared crawl, it is kept.
    fn keep_last(&self) {
        if let Some((marks, last)) = &self.kept
            && let Some(visit) = lock(last).take()
        {
            marks.keep(&visit);
        }
    }
}

impl Drop for Crawling {
    /// The iteration goes away: the crawl stops, and a shared crawl's pages handed out and
    /// not kept (the last one, those on their way) go back to the job.
    fn drop(&mut self) {
        self.stop.stop();
        if let Some((marks, _)) = &self.kept {
            marks.close();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// The crawl's error as Python's: Redis lost or unreachable is a `ConnectionError`, the
/// rest (a setting, a pattern, a queue's URL) a `ValueError`.
fn ended(error: octopus::Error) -> PyErr {
    match &error {
        octopus::Error::Queue(e) if !e.is_bad_url() => {
            PyConnectionError::new_err(error.to_string())
        }
        _ => PyValueError::new_err(error.to_string()),
    }
}

fn summary_dict<'py>(py: Python<'py>, s: &CrawlSummary) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let counts = [
        ("pages", s.pages),
        ("out_of_scope", s.out_of_scope),
        ("external", s.external),
        ("disallowed", s.disallowed),
        ("robots_failed", s.robots_failed),
        ("too_deep", s.too_deep),
        ("over_limit", s.over_limit),
        ("robots", s.robots),
        ("crawl_delays", s.crawl_delays),
        ("sitemaps", s.sitemaps),
        ("lost", s.lost),
        ("taken_over", s.taken_over),
    ];
    for (name, n) in counts {
        d.set_item(name, n)?;
    }
    d.set_item("stopped", s.stopped)?;
    Ok(d)
}
