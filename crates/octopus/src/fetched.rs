//! `Fetched`: what one fetch produced when the server answered (the final response of the
//! redirect chain, its body read to the end). Made by `http`, kept by the cache, read by
//! `response`: a module of its own so that neither of those depends on the other.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;

use crate::capture::Captured;
use crate::failure::Failure;
use crate::timings::Timings;
use crate::warc::WarcLocation;

/// What one exchange produced when the server answered: the final response of the redirect
/// chain, its body read to the end (kept only when asked for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fetched {
    pub status: u16,
    /// The URL after redirects, password masked.
    pub final_url: String,
    pub redirects: u32,
    /// Body bytes read (decoded), whether or not the body is kept.
    pub bytes: u64,
    pub content_type: Option<String>,
    /// What a `Retry-After` header asked for, if the response had one.
    pub retry_after: Option<Duration>,
    /// From sending the first request to the end of the final body, redirects included.
    pub took: Duration,
    /// Where the final request's time went.
    pub timings: Timings,
    /// The final response's headers, when kept (boxed: a cached response that keeps none
    /// costs a pointer).
    pub headers: Option<Box<HeaderMap>>,
    /// What was kept of the body (see `capture`), when anything was asked for.
    pub capture: Option<Box<Captured>>,
    /// Where the final response was archived, or why it could not be (or an earlier hop),
    /// when a WARC file is written.
    pub warc: Option<Box<Result<WarcLocation, Failure>>>,
    /// The proxy the final request went through, if any (as shown: no credentials).
    pub proxy: Option<Arc<str>>,
    /// The final response's HTTP version (`1.0`, `1.1`).
    pub http_version: &'static str,
}

impl Fetched {
    /// What was kept of the body, if anything was asked for.
    pub fn captured(&self) -> Option<&Captured> {
        self.capture.as_deref()
    }
}
