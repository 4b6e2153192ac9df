//! `Response`: what became of one enqueued URL, as its handler (or a pull) receives it.
//!
//! Invariant: every field is filled in one place (`Response::settled`), with one meaning
//! whatever way the outcome came (a fetch, the cache, another request's fetch, a refusal).

use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime};

use http::HeaderMap;

use crate::capture::{Captured, Hash, Saved};
use crate::failure::Failure;
use crate::fetched::Fetched;
use crate::input::Origin;
use crate::timings::Timings;
use crate::warc::WarcLocation;

/// What became of one request.
// Always behind an `Arc` (`Shared`), built once and never moved around: the variants' sizes
// do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The server answered (any status).
    Answered(Fetched),
    /// No answer, and why.
    Failed(Failure),
    /// Not fetched: its body was saved before (`skip_existing`).
    Skipped(Saved),
}

/// An outcome shared between the cache and every response it serves.
pub(crate) type Shared = Arc<Outcome>;

impl Outcome {
    pub fn answer(&self) -> Option<&Fetched> {
        match self {
            Outcome::Answered(fetched) => Some(fetched),
            _ => None,
        }
    }
}

impl From<Result<Fetched, Failure>> for Outcome {
    fn from(result: Result<Fetched, Failure>) -> Self {
        match result {
            Ok(fetched) => Outcome::Answered(fetched),
            Err(failure) => Outcome::Failed(failure),
        }
    }
}

/// What became of one URL: an HTTP response (any status) or a [`Failure`], with how long it
/// took, whether it came from the cache, and how many attempts and how much waiting it took.
///
/// Bodies and headers are there when the builder kept them ([`crate::Builder::keep_bodies`],
/// [`crate::Builder::keep_headers`], both on by default); `bytes()` counts the body either way.
/// Digests, the HTML title and the saved file are there when asked for.
#[derive(Debug, Clone)]
pub struct Response {
    url: String,
    origin: Option<Origin>,
    outcome: Shared,
    elapsed: Duration,
    waited: Duration,
    attempts: u32,
    cached: bool,
    ok: bool,
    finished_at: SystemTime,
}

/// How an outcome reached a response: timing and provenance, filled in by the scheduler.
pub(crate) struct Settled {
    pub elapsed: Duration,
    pub waited: Duration,
    pub attempts: u32,
    pub cached: bool,
    pub ok: bool,
}

static NO_HEADERS: LazyLock<HeaderMap> = LazyLock::new(HeaderMap::new);

impl Response {
    /// The one constructor: `url` as shown, where it came from, its outcome and how.
    pub(crate) fn settled(
        url: String,
        origin: Option<Origin>,
        outcome: Shared,
        how: Settled,
    ) -> Response {
        Response {
            url,
            origin,
            outcome,
            elapsed: how.elapsed,
            waited: how.waited,
            attempts: how.attempts,
            cached: how.cached,
            ok: how.ok,
            finished_at: SystemTime::now(),
        }
    }

    fn fetched(&self) -> Option<&Fetched> {
        self.outcome.answer()
    }

    fn captured(&self) -> Option<&Captured> {
        self.fetched().and_then(Fetched::captured)
    }

    /// The URL as enqueued, normalised (`http://` added, password masked); the text itself
    /// when it is not a URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL after redirects (password masked); `None` when there is no response.
    pub fn final_url(&self) -> Option<&str> {
        self.fetched().map(|f| f.final_url.as_str())
    }

    /// The HTTP status; `None` when there is no response (see [`Response::error`]).
    pub fn status(&self) -> Option<u16> {
        self.fetched().map(|f| f.status)
    }

    /// Whether the status counts as success ([`crate::Builder::ok_status`]); false for failures.
    pub fn ok(&self) -> bool {
        self.ok
    }

    /// The final response's headers (empty when there is no response or headers are not kept).
    pub fn headers(&self) -> &HeaderMap {
        self.fetched()
            .and_then(|f| f.headers.as_deref())
            .unwrap_or(&NO_HEADERS)
    }

    /// Whether headers were kept ([`crate::Builder::keep_headers`]) for this response.
    pub fn has_headers(&self) -> bool {
        self.fetched().is_some_and(|f| f.headers.is_some())
    }

    /// The first value of header `name` (any case), if it is there and is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers().get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Content-Type`, kept even when headers are not.
    pub fn content_type(&self) -> Option<&str> {
        self.fetched().and_then(|f| f.content_type.as_deref())
    }

    /// The body, decoded (gzip, brotli); empty when there is none or bodies are not kept.
    pub fn body(&self) -> &[u8] {
        self.kept_body().unwrap_or_default()
    }

    /// The body when it was kept ([`crate::Builder::keep_bodies`]), even if empty.
    pub fn kept_body(&self) -> Option<&[u8]> {
        self.captured().and_then(|c| c.body.as_deref())
    }

    /// The body as text, when it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(self.body()).ok()
    }

    /// Body bytes read (decoded), whether or not the body was kept.
    pub fn bytes(&self) -> u64 {
        self.fetched().map_or(0, |f| f.bytes)
    }

    /// Why there is no response, if there is none; or, for a response whose body could not
    /// be saved or archived, why (kind `save`; the status is there too).
    pub fn error(&self) -> Option<&Failure> {
        match self.outcome.as_ref() {
            Outcome::Failed(failure) => Some(failure),
            Outcome::Answered(f) => {
                let saved = f.captured().and_then(|c| c.saved.as_ref()?.as_ref().err());
                saved.or_else(|| f.warc.as_deref()?.as_ref().err())
            }
            Outcome::Skipped(_) => None,
        }
    }

    /// The final response's HTTP version (`"1.0"`, `"1.1"`), when a server answered.
    pub fn http_version(&self) -> Option<&'static str> {
        self.fetched().map(|f| f.http_version)
    }

    /// The proxy the final request went through (`scheme://host:port`, never its
    /// credentials), if it went through one: for a pool ([`crate::Builder::proxies`]), the
    /// one that carried it, or the last tried when it failed.
    pub fn proxy(&self) -> Option<&str> {
        match self.outcome.as_ref() {
            Outcome::Answered(fetched) => fetched.proxy.as_deref(),
            Outcome::Failed(failure) => failure.proxy(),
            Outcome::Skipped(_) => None,
        }
    }

    /// Where the response was archived ([`crate::Builder::warc`]): its WARC file and the
    /// offset of its record. A response served from the cache names the record of the
    /// fetch that served it (repeats are not archived again).
    pub fn warc(&self) -> Option<&WarcLocation> {
        self.fetched()?.warc.as_deref()?.as_ref().ok()
    }

    /// The body's digest by `hash`, in lower-case hex, when asked for ([`crate::Builder::hashes`]).
    pub fn hash(&self, hash: Hash) -> Option<&str> {
        self.digests()
            .iter()
            .find(|(h, _)| *h == hash)
            .map(|(_, hex)| hex.as_str())
    }

    /// Every digest asked for, with its algorithm.
    pub fn digests(&self) -> &[(Hash, String)] {
        self.captured().map_or(&[], |c| c.digests.as_slice())
    }

    /// The HTML title (entities decoded, white space collapsed), when asked for
    /// ([`crate::Builder::titles`]) and the response is an HTML page with one.
    pub fn title(&self) -> Option<&str> {
        self.captured().and_then(|c| c.title.as_deref())
    }

    /// The links of an HTML page, when asked for ([`crate::Builder::links`]): resolved
    /// against its `<base href>` or final URL, normalised, each once (empty for a page
    /// that is not HTML, or when not asked for).
    pub fn links(&self) -> &[crate::Link] {
        self.captured()
            .and_then(|c| c.links.as_deref())
            .unwrap_or_default()
    }

    /// Where the body was saved ([`crate::Builder::save_to`]), or for a skipped request,
    /// where it had been saved before.
    pub fn saved(&self) -> Option<&Saved> {
        match self.outcome.as_ref() {
            Outcome::Answered(f) => f.captured()?.saved.as_ref()?.as_ref().ok(),
            Outcome::Skipped(saved) => Some(saved),
            Outcome::Failed(_) => None,
        }
    }

    /// Whether the request was not made because its file was there already
    /// ([`crate::Builder::skip_existing`]). A skipped response has no status and is `ok`.
    pub fn skipped(&self) -> bool {
        matches!(self.outcome.as_ref(), Outcome::Skipped(_))
    }

    /// Redirects followed to the final response.
    pub fn redirects(&self) -> u32 {
        self.fetched().map_or(0, |f| f.redirects)
    }

    /// How long the exchange took, from sending the first request to the end of the final
    /// body (redirects included; not the time waiting for a worker, a limit or a retry).
    /// `None` when no response came. A response from the cache has its fetch's.
    pub fn fetch_time(&self) -> Option<Duration> {
        self.fetched().map(|f| f.took)
    }

    /// Where the final request's time went: lookup, connection, TLS handshake, first byte
    /// (see [`Timings`]). Every step `None` when no response came, for a response from the
    /// cache, and through a proxy.
    pub fn timings(&self) -> Timings {
        match self.cached {
            true => Timings::default(),
            false => self.fetched().map(|f| f.timings).unwrap_or_default(),
        }
    }

    /// When the outcome was settled: the response read, the failure seen, the cache's answer
    /// given.
    pub fn finished_at(&self) -> SystemTime {
        self.finished_at
    }

    /// From being enqueued to the outcome: waits, attempts and redirects included.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Time spent waiting for a limit, a rate or a delay, and between retries.
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// Requests made for this URL (0 when none was: cache, invalid URL, cancelled).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether the outcome came from the cache or from another request's fetch of the same URL.
    pub fn cached(&self) -> bool {
        self.cached
    }

    /// The name of the input the URL came from ([`crate::Request::with_origin`]), if given.
    pub fn input(&self) -> Option<&str> {
        self.origin.as_ref().map(|o| &*o.input)
    }

    /// The URL's line number in its input, if given.
    pub fn line(&self) -> Option<u64> {
        self.origin.as_ref().map(|o| o.line)
    }

    /// Where it sits in the shared job it was taken from, if it was.
    pub(crate) fn queued(&self) -> Option<&crate::input::Queued> {
        self.origin.as_ref().and_then(|o| o.queued.as_ref())
    }
}
