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
use pyo3::types::{PyBytes, PyDict, PyList};

mod crawl;
mod keywords;
mod queue;
mod responses;

use responses::Responses;

use keywords::{setting_example, setting_named, setting_value, settings};

/// How often `wait` looks for a signal (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// The Python thread state one of the engine's workers keeps (see `keep_thread_state`);
/// when the worker ends, its state is left to be freed under the GIL (`free_ended`).
struct Kept(*mut pyo3::ffi::PyThreadState);

impl Drop for Kept {
    fn drop(&mut self) {
        if !self.0.is_null() {
            let mut ended = ENDED.lock().unwrap_or_else(|p| p.into_inner());
            ended.push(self.0 as usize);
        }
    }
}

thread_local! {
    /// This thread's kept state: `None` until its first callback (null when the thread
    /// is Python's own and has one already).
    static KEPT: std::cell::RefCell<Option<Kept>> = const { std::cell::RefCell::new(None) };
}

/// The states of workers that ended, to free.
static ENDED: std::sync::Mutex<Vec<usize>> = std::sync::Mutex::new(Vec::new());

/// Give this thread (one of the engine's workers) a Python thread state for as long as it
/// lives, the GIL released: each callback then only takes the GIL. Without it, every
/// callback made and freed a thread state, its frame stack with mmap and munmap, whose TLB
/// shootdowns cost more than a small handler (W3 from Python's `Octopus`, 20,000
/// callbacks: 0.93 s → 0.61 s).
fn keep_thread_state() {
    KEPT.with(|kept| {
        let mut kept = kept.borrow_mut();
        if kept.is_some() {
            return;
        }
        // SAFETY: only on a thread with no thread state, so not holding the GIL (not a
        // Python thread: one that enqueues may have a URL refused at once);
        // `PyGILState_Ensure` makes one and takes the GIL, `PyEval_SaveThread` releases
        // the GIL and keeps the state current for this thread, so that later
        // `PyGILState_Ensure` calls (PyO3's `attach`) find it.
        let state = unsafe {
            if pyo3::ffi::PyGILState_GetThisThreadState().is_null() {
                pyo3::ffi::PyGILState_Ensure();
                pyo3::ffi::PyEval_SaveThread()
            } else {
                std::ptr::null_mut()
            }
        };
        *kept = Some(Kept(state));
    });
}

/// Free the thread states of workers that ended (their engines dropped).
fn free_ended(_py: Python<'_>) {
    let ended = std::mem::take(&mut *ENDED.lock().unwrap_or_else(|p| p.into_inner()));
    for state in ended {
        // SAFETY: the GIL is held (`_py`); the state was kept by a thread that has ended,
        // so it is no thread's current state and runs no frame.
        unsafe {
            let state = state as *mut pyo3::ffi::PyThreadState;
            pyo3::ffi::PyThreadState_Clear(state);
            pyo3::ffi::PyThreadState_Delete(state);
        }
    }
}

/// octopus's engine: a pool of requests in flight, its settings fixed when made.
#[pyclass(module = "octopus._octopus", frozen)]
struct Engine {
    otto: octopus::Octopus,
}

/// A builder with these settings (see `Engine::new`).
fn builder(settings: Option<&Bound<'_, PyDict>>) -> PyResult<octopus::Builder> {
    let mut builder = octopus::Octopus::builder();
    for (name, value) in settings.into_iter().flatten() {
        if !value.is_none() {
            let name = name.extract::<String>()?;
            let setting = setting_named(&name)?;
            builder = builder
                .set(setting, setting_value(&name, &value)?)
                .map_err(|e| PyValueError::new_err(e.to_string()))?;
        }
    }
    Ok(builder)
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
    /// An engine with these settings: every setting of the library's builder, by its name
    /// with `_` for `-` (`settings()` lists them with what each takes: seconds as numbers,
    /// `headers`/`header` as `(name, value)` pairs, `limits`/`limit` as `(url_prefix, n)`
    /// pairs, …). A setting not given is octopus's default; `None` leaves it so.
    #[new]
    #[pyo3(signature = (**settings))]
    fn new(py: Python<'_>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        free_ended(py);
        let otto = builder(settings)?
            .build()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(Engine { otto })
    }

    /// Fetch `url`; call `callback(response)` once, on one of the engine's threads, with
    /// the GIL. Never blocks. The request is sent as the settings say, or with its own
    /// `method`, `headers` (`(name, value)` pairs, replacing the settings' of those
    /// names), `body` (bytes), `timeout` (seconds) or `max_redirects`.
    #[pyo3(signature = (url, callback, method=None, headers=Vec::new(), body=None,
        timeout=None, max_redirects=None))]
    #[allow(clippy::too_many_arguments)]
    fn enqueue(
        &self,
        url: String,
        callback: Py<PyAny>,
        method: Option<String>,
        headers: Vec<(String, String)>,
        body: Option<Vec<u8>>,
        timeout: Option<f64>,
        max_redirects: Option<u32>,
    ) -> PyResult<()> {
        let mut request = octopus::Request::new(url);
        let refused = |e: octopus::Error| PyValueError::new_err(e.to_string());
        if let Some(method) = method {
            request = request.with_method(&method).map_err(refused)?;
        }
        for (name, value) in &headers {
            request = request.with_header(name, value).map_err(refused)?;
        }
        if let Some(body) = body {
            request = request.with_body(body);
        }
        if let Some(timeout) = timeout {
            request = request.with_timeout(seconds("timeout", timeout)?);
        }
        if let Some(n) = max_redirects {
            request = request.with_max_redirects(n);
        }
        self.otto.enqueue(request, move |r: &octopus::Response| {
            keep_thread_state();
            Python::attach(|py| {
                let called =
                    Response::new(py, r).and_then(|response| callback.call1(py, (response,)));
                if let Err(e) = called {
                    e.write_unraisable(py, Some(callback.bind(py)));
                }
            });
        });
        Ok(())
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
            job: None,
        })
    }

    /// Fetch this process's part of the shared job `queue`, yielding the responses as they
    /// complete; each is marked done when the next is asked for (handled by then).
    fn fetch_queue(&self, py: Python<'_>, queue: &queue::Queue) -> PyResult<Responses> {
        let taken = queue.inner.take();
        let responses = py
            .detach(|| self.otto.fetch_all(taken))
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(Responses {
            inner: std::sync::Mutex::new(responses),
            job: Some(queue::Handed::new(queue.inner.clone())),
        })
    }
}

/// URLs read from a Python iterator, the GIL taken for each; what is not a string, or an
/// error of the iterator, ends them (the error is reported).
struct PyUrls(Py<pyo3::types::PyIterator>);

impl Iterator for PyUrls {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        keep_thread_state();
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

/// What came of one URL, read once from octopus's response: the body one `bytes` object
/// and the headers one list and one dict, made when the response is, never copied again.
#[pyclass(module = "octopus._octopus", frozen, get_all)]
struct Response {
    /// The URL asked for.
    url: String,
    /// The URL of the final response, after redirects (`None` when none came).
    final_url: Option<String>,
    /// The HTTP status (`None` when no response came).
    status: Option<u16>,
    /// The response's headers, in order, names in lower case: `(name, value)` tuples.
    header_list: Py<PyList>,
    /// The headers as a dict (repeated names joined with ", ", as requests does).
    headers: Py<PyDict>,
    /// Why there is no response (`None` when there is one).
    error: Option<String>,
    /// The kind of failure (`dns`, `connect`, `timeout`, `tls`, …), or `None`.
    error_kind: Option<String>,
    /// Seconds from the request's start to its end.
    elapsed: f64,
    /// Seconds a limit held it back before it started (and waits before retries).
    waited: f64,
    attempts: u32,
    redirects: u32,
    /// Served from the cache.
    cached: bool,
    /// The final response's HTTP version (`"1.1"`), `None` when none came.
    http_version: Option<&'static str>,
    /// The proxy the request went through (`scheme://host:port`), if any.
    proxy: Option<String>,
    /// The body.
    body: Py<PyBytes>,
}

impl Response {
    fn new(py: Python<'_>, r: &octopus::Response) -> PyResult<Response> {
        let pairs: Vec<(String, String)> = r
            .headers()
            .iter()
            .map(|(n, v)| {
                let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (n.to_string(), value)
            })
            .collect();
        let headers = PyDict::new(py);
        for (name, value) in &pairs {
            match headers.get_item(name)? {
                Some(before) => {
                    let joined = format!("{}, {value}", before.extract::<String>()?);
                    headers.set_item(name, joined)?;
                }
                None => headers.set_item(name, value)?,
            }
        }
        Ok(Response {
            url: r.url().to_string(),
            final_url: r.final_url().map(str::to_string),
            status: r.status(),
            header_list: PyList::new(py, pairs)?.unbind(),
            headers: headers.unbind(),
            error: r.error().map(|f| f.message().to_string()),
            error_kind: r.error().map(|f| f.kind().to_string()),
            elapsed: r.elapsed().as_secs_f64(),
            waited: r.waited().as_secs_f64(),
            attempts: r.attempts(),
            redirects: r.redirects(),
            cached: r.cached(),
            http_version: r.http_version(),
            proxy: r.proxy().map(str::to_string),
            body: PyBytes::new(py, r.body()).unbind(),
        })
    }
}

#[pymethods]
impl Response {
    /// The body, as bytes (the same object as `body`).
    #[getter]
    fn content(&self, py: Python<'_>) -> Py<PyBytes> {
        self.body.clone_ref(py)
    }
}

/// The module.
#[pymodule]
fn _octopus(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Engine>()?;
    module.add_class::<Response>()?;
    module.add_class::<Responses>()?;
    module.add_class::<queue::Queue>()?;
    module.add_class::<crawl::Crawling>()?;
    module.add_function(wrap_pyfunction!(settings, module)?)?;
    module.add_function(wrap_pyfunction!(setting_example, module)?)?;
    Ok(())
}
