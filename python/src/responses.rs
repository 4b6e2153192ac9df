//! The responses of a `fetch_all` or a `fetch_queue` as Python iterates them: each waited
//! for without the GIL, in slices so that Ctrl-C is seen; for a shared job, each marked done
//! when the next is asked for (`queue::Handed`).

use pyo3::prelude::*;

use super::{Response, SIGNAL_CHECK, queue};

/// The responses of a `fetch_all`, as they complete.
#[pyclass(module = "octopus._octopus", frozen)]
pub struct Responses {
    pub inner: std::sync::Mutex<octopus::Responses>,
    /// From a shared job (`fetch_queue`): what is owed to it.
    pub job: Option<queue::Handed>,
}

#[pymethods]
impl Responses {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Response>> {
        if let Some(job) = &self.job {
            job.next_asked();
        }
        loop {
            // Waits for the next in slices, so that Ctrl-C is seen.
            let next = py.detach(|| {
                let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
                inner.next_timeout(SIGNAL_CHECK)
            });
            match next {
                Some(Some(response)) => {
                    if let Some(job) = &self.job {
                        job.handing(&response);
                    }
                    return Response::new(py, &response).map(Some);
                }
                Some(None) => {
                    if let Some(job) = &self.job {
                        py.detach(|| job.ended())?;
                    }
                    return Ok(None);
                }
                None => py.check_signals()?,
            }
        }
    }
}
