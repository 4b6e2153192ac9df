//! `octopus._octopus`: octopus's engine as a Python extension module, for the `octopus`
//! package (`python/octopus/`), which gives the original octopus-http's API over it.
//!
//! `Engine` is an `octopus::Octopus`: URLs are fetched on the engine's threads without the
//! GIL; a callback is called once per URL, on a worker, with the GIL, given a `Response`
//! whose fields are read from octopus's response once. `wait` releases the GIL and looks
//! for signals every 50 ms, so Ctrl-C stops the run and raises `KeyboardInterrupt`.
//! `fetch_all` pulls URLs from a Python iterable lazily (taking the GIL for each) and
//! yields the responses as they complete.
//!
//! Invariants: no Python object is touched without the GIL; a callback that raises is
//! reported (`sys.unraisablehook`) and the run goes on.

use std::time::{Duration, Instant};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

/// How often `wait` looks for a signal (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// octopus's engine: a pool of requests in flight, its settings fixed when made.
#[pyclass(module = "octopus._octopus", frozen)]
struct Engine {
    otto: octopus::Octopus,
}

/// Seconds as a `Duration`, refusing what is not a positive finite number.
fn seconds(name: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "{name} must be a positive number of seconds, not {value}"
            ))
        })
}

#[pymethods]
impl Engine {
    /// An engine with these settings (seconds as numbers; `None`: octopus's default or
    /// off). `limits` are `(url_prefix, n)` pairs: at most `n` requests in flight to URLs
    /// starting with the prefix.
    #[new]
    #[pyo3(signature = (concurrency=10, timeout=5.0, connect_timeout=None, cache_ttl=None,
        per_host=None, rate=None, retries=0, insecure=false, limits=Vec::new()))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        concurrency: usize,
        timeout: f64,
        connect_timeout: Option<f64>,
        cache_ttl: Option<f64>,
        per_host: Option<usize>,
        rate: Option<f64>,
        retries: u32,
        insecure: bool,
        limits: Vec<(String, usize)>,
    ) -> PyResult<Self> {
        let mut builder = octopus::Octopus::builder()
            .concurrency(concurrency)
            .timeout(seconds("timeout", timeout)?)
            .retries(retries)
            .accept_invalid_certs(insecure);
        if let Some(connect) = connect_timeout {
            builder = builder.connect_timeout(seconds("connect_timeout", connect)?);
        }
        if let Some(ttl) = cache_ttl {
            builder = builder.cache_ttl(seconds("cache_ttl", ttl)?);
        }
        if let Some(n) = per_host {
            builder = builder.per_host(n);
        }
        if let Some(rate) = rate {
            builder = builder.rate(rate);
        }
        for (prefix, n) in &limits {
            builder = builder.limit(prefix, *n);
        }
        let otto = builder
            .build()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(Engine { otto })
    }

    /// Fetch `url`; call `callback(response)` once, on one of the engine's threads, with
    /// the GIL. Never blocks.
    fn enqueue(&self, url: String, callback: Py<PyAny>) {
        self.otto.enqueue(url, move |r: &octopus::Response| {
            let response = Response::from(r);
            Python::attach(|py| {
                if let Err(e) = callback.call1(py, (response,)) {
                    e.write_unraisable(py, Some(callback.bind(py)));
                }
            });
        });
    }

    /// Wait until every URL is done (`timeout`: at most that many seconds; `None`: for
    /// ever), the GIL released; true when done. Ctrl-C stops the run (requests in flight
    /// end, the others are handed over as cancelled) and raises `KeyboardInterrupt`.
    #[pyo3(signature = (timeout=None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let deadline = match timeout {
            Some(t) => Some(Instant::now() + seconds("timeout", t.max(1e-9))?),
            None => None,
        };
        loop {
            let step = deadline.map_or(SIGNAL_CHECK, |d| {
                SIGNAL_CHECK.min(d.saturating_duration_since(Instant::now()))
            });
            if py.detach(|| self.otto.wait_timeout(step)) {
                return Ok(true);
            }
            if let Err(interrupted) = py.check_signals() {
                self.otto.stop();
                return Err(interrupted);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(false);
            }
        }
    }

    /// Start nothing more: what waits is handed to its callback as cancelled.
    fn stop(&self) {
        self.otto.stop();
    }

    /// URLs enqueued whose callback has not returned yet.
    #[getter]
    fn pending(&self) -> u64 {
        self.otto.stats().pending
    }

    /// Requests being fetched now.
    #[getter]
    fn in_flight(&self) -> usize {
        self.otto.stats().in_flight
    }

    /// Fetch the URLs of `urls` (any iterable of strings, read lazily), yielding the
    /// responses as they complete.
    fn fetch_all(&self, py: Python<'_>, urls: Bound<'_, PyAny>) -> PyResult<Responses> {
        let iterator = urls.try_iter()?.unbind();
        let feed = PyUrls(iterator);
        let responses = py
            .detach(|| self.otto.fetch_all(feed))
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(Responses {
            inner: std::sync::Mutex::new(responses),
        })
    }
}

/// URLs read from a Python iterator, the GIL taken for each; what is not a string, or an
/// error of the iterator, ends them (the error is reported).
struct PyUrls(Py<pyo3::types::PyIterator>);

impl Iterator for PyUrls {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        Python::attach(|py| {
            let mut iterator = self.0.bind(py).clone();
            match iterator.next()? {
                Ok(item) => match item.extract::<String>() {
                    Ok(url) => Some(url),
                    Err(e) => {
                        e.write_unraisable(py, Some(&item));
                        None
                    }
                },
                Err(e) => {
                    e.write_unraisable(py, None);
                    None
                }
            }
        })
    }
}

/// The responses of a `fetch_all`, as they complete.
#[pyclass(module = "octopus._octopus", frozen)]
struct Responses {
    inner: std::sync::Mutex<octopus::Responses>,
}

#[pymethods]
impl Responses {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Response>> {
        loop {
            // Waits for the next in slices, so that Ctrl-C is seen.
            let next = py.detach(|| {
                let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
                inner.next_timeout(SIGNAL_CHECK)
            });
            match next {
                Some(Some(response)) => return Ok(Some(Response::from(&response))),
                Some(None) => return Ok(None),
                None => py.check_signals()?,
            }
        }
    }
}

/// What came of one URL, read once from octopus's response.
#[pyclass(module = "octopus._octopus", frozen, get_all)]
struct Response {
    /// The URL asked for.
    url: String,
    /// The URL of the final response, after redirects (`None` when none came).
    final_url: Option<String>,
    /// The HTTP status (`None` when no response came).
    status: Option<u16>,
    /// The response's headers, in order, names in lower case.
    header_list: Vec<(String, String)>,
    /// Why there is no response (`None` when there is one).
    error: Option<String>,
    /// The kind of failure (`dns`, `connect`, `timeout`, `tls`, …), or `None`.
    error_kind: Option<String>,
    /// Seconds from the request's start to its end.
    elapsed: f64,
    attempts: u32,
    redirects: u32,
    /// Served from the cache.
    cached: bool,
    body: Vec<u8>,
}

impl From<&octopus::Response> for Response {
    fn from(r: &octopus::Response) -> Self {
        Response {
            url: r.url().to_string(),
            final_url: r.final_url().map(str::to_string),
            status: r.status(),
            header_list: r
                .headers()
                .iter()
                .map(|(n, v)| {
                    (
                        n.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            error: r.error().map(|f| f.message().to_string()),
            error_kind: r.error().map(|f| f.kind().to_string()),
            elapsed: r.elapsed().as_secs_f64(),
            attempts: r.attempts(),
            redirects: r.redirects(),
            cached: r.cached(),
            body: r.body().to_vec(),
        }
    }
}

#[pymethods]
impl Response {
    /// The body, as bytes.
    #[getter]
    fn content<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.body)
    }

    /// The headers as a dict (repeated names joined with ", ", as requests does).
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in &self.header_list {
            let joined = match dict.get_item(name)? {
                Some(before) => format!("{}, {value}", before.extract::<String>()?),
                None => value.clone(),
            };
            dict.set_item(name, joined)?;
        }
        Ok(dict)
    }
}

/// The module.
#[pymodule]
fn _octopus(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Engine>()?;
    module.add_class::<Response>()?;
    module.add_class::<Responses>()?;
    Ok(())
}
