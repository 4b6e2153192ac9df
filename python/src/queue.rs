//! A job shared through Redis from Python (`octopus.Queue`, `octopus.fetch_queue`): the
//! library's `octopus::queue::Queue`, its network calls made without the GIL; and what a
//! `Responses` of a job owes it: each response marked done when the next is asked for (the
//! caller has handled it then), the last one at the end.
//!
//! Invariants: a response is marked done only after Python asked for the one after it, or
//! the iteration ended: a process killed while handling a response has not marked it.

use std::sync::Mutex;

use pyo3::exceptions::{PyConnectionError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use octopus::queue::{Feeding, QueueSettings};

use super::{PyUrls, seconds};

/// A job shared through Redis by many processes (`redis://HOST[:PORT]/JOB`).
#[pyclass(module = "octopus._octopus", frozen)]
pub struct Queue {
    pub inner: octopus::queue::Queue,
}

fn failed(error: octopus::queue::QueueError) -> PyErr {
    PyConnectionError::new_err(error.to_string())
}

#[pymethods]
impl Queue {
    /// Join the job `url` names; `lease`: seconds a dead process's batches wait before the
    /// living take them (and Redis may stay unreachable).
    #[new]
    #[pyo3(signature = (url, lease=None))]
    fn new(py: Python<'_>, url: &str, lease: Option<f64>) -> PyResult<Self> {
        let mut settings = QueueSettings::default();
        if let Some(lease) = lease {
            settings.lease = seconds("lease", lease)?;
        }
        let inner = py
            .detach(|| octopus::queue::Queue::open_with(url, settings))
            .map_err(|e| match e.is_bad_url() {
                true => PyValueError::new_err(e.to_string()),
                false => failed(e),
            })?;
        Ok(Queue { inner })
    }

    /// The job's name.
    #[getter]
    fn job(&self) -> String {
        self.inner.job().to_string()
    }

    /// Feed `urls` (an iterable of strings) to the job if this process gets the feeder's
    /// role, then mark its input whole: whether it did (False: another process feeds it,
    /// or fed it). Waits while another feeds it, to take over if that one dies.
    fn feed(&self, py: Python<'_>, urls: Bound<'_, PyAny>) -> PyResult<bool> {
        let urls = PyUrls(urls.try_iter()?.unbind());
        let fed = py
            .detach(|| self.inner.feed(urls.map(octopus::Request::from)))
            .map_err(failed)?;
        Ok(matches!(fed, Feeding::Fed(_)))
    }

    /// Add `urls` to the job (from anywhere): how many were added.
    fn add(&self, py: Python<'_>, urls: Bound<'_, PyAny>) -> PyResult<u64> {
        let urls = PyUrls(urls.try_iter()?.unbind());
        py.detach(|| self.inner.add(urls.map(octopus::Request::from)))
            .map_err(failed)
    }

    /// Mark the job's input whole: once every URL is done, the job is over.
    fn complete_input(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.complete_input()).map_err(failed)
    }

    /// Where the job stands: `added`, `pending`, `done`, `dead`, `input_complete`, `over`.
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = py.detach(|| self.inner.status()).map_err(failed)?;
        let status = PyDict::new(py);
        status.set_item("added", s.added)?;
        status.set_item("pending", s.pending)?;
        status.set_item("done", s.done)?;
        status.set_item("dead", s.dead)?;
        status.set_item("input_complete", s.input_complete)?;
        status.set_item("over", s.is_over())?;
        Ok(status)
    }

    /// Take nothing more: a `fetch_queue` of this job ends once what it has is done.
    fn stop(&self) {
        self.inner.stop();
    }
}

/// What a `Responses` of a job owes it.
pub struct Handed {
    queue: octopus::queue::Queue,
    last: Mutex<Option<octopus::Response>>,
}

impl Handed {
    pub fn new(queue: octopus::queue::Queue) -> Handed {
        Handed {
            queue,
            last: Mutex::new(None),
        }
    }

    /// The response handed out before was handled: it is done.
    pub fn next_asked(&self) {
        if let Some(last) = self.lock().take() {
            self.queue.done(&last);
        }
    }

    /// `response` is handed out now.
    pub fn handing(&self, response: &octopus::Response) {
        *self.lock() = Some(response.clone());
    }

    /// The responses ended: the marks go out; an error if Redis was lost.
    pub fn ended(&self) -> PyResult<()> {
        self.next_asked();
        match self.queue.finish() {
            Ok(()) if !self.queue.lost() => Ok(()),
            Ok(()) => Err(PyConnectionError::new_err(
                "the job's Redis could not be reached for its lease: what was not done stays \
                 pending for the next run",
            )),
            Err(e) => Err(failed(e)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<octopus::Response>> {
        self.last.lock().unwrap_or_else(|p| p.into_inner())
    }
}
