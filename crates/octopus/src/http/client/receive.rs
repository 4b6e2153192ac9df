//! What came back: the final response's body read once (`body.rs`) into a `Fetched`, a
//! redirect's body read so its connection can be reused, and each exchange archived when a
//! WARC file is written.
//!
//! Invariants: bodies are decoded by octopus (`decode.rs`), so the entity as sent is at hand
//! for the archive while everything else sees the decoded body; an exchange is archived
//! only once a response came back (a transport failure leaves no record), and a cut body is
//! archived marked truncated.

use std::time::{Duration, SystemTime};

use http::{self, HeaderName, HeaderValue, Method, response};
use url::Url;

use crate::failure::{ErrorKind, Failure};
use crate::fetched::Fetched;
use crate::http::client::Client;
use crate::http::client::body::{Body, Reader};
use crate::http::client::decode::Decoder;
use crate::http::client::dispatch::Incoming;
use crate::http::client::redirect::Hop;
use crate::http::connect::pool::peer;
use crate::input::redact;
use crate::timings::Timings;
use crate::warc::{Exchange, WarcLocation};

/// A redirect's body is read up to this much (more is not read, and is cut in an archive).
const REDIRECT_BODY: u64 = 64 * 1024;

/// One request of a chain as it was sent.
pub(crate) struct Sent<'a> {
    pub hop: &'a Hop,
    pub headers: &'a [(HeaderName, HeaderValue)],
    /// The body it carried.
    pub body: Option<&'a [u8]>,
    pub later_hop: bool,
    pub at: SystemTime,
    /// Where its time went, up to its answer's head.
    pub timings: Timings,
}

impl Client {
    /// Read the final response's body to the end and describe it (`requested` names a
    /// saved file).
    pub(crate) fn read(
        &self,
        response: http::Response<Incoming>,
        sent: &Sent<'_>,
        redirects: u32,
        requested: &Url,
        archived: Option<Failure>,
    ) -> Result<Fetched, Failure> {
        let cfg = &self.cfg;
        let (parts, mut body) = response.into_parts();
        let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let content_type = header(http::header::CONTENT_TYPE).map(str::to_string);
        let retry_after =
            header(http::header::RETRY_AFTER).and_then(|v| parse_retry_after(v, SystemTime::now()));
        let status = parts.status.as_u16();
        // HEAD, 1xx, 204 and 304 have no body, whatever Content-Encoding says: nothing to
        // read or decode (the body reader has put the connection back already).
        let bodiless = sent.hop.method == Method::HEAD || matches!(status, 100..=199 | 204 | 304);
        let reading = (!cfg.capture.is_empty()).then(|| {
            cfg.capture.start(
                requested,
                &sent.hop.url,
                status,
                content_type.as_deref(),
                bodiless,
            )
        });
        let mut read = Reader {
            decoder: Decoder::for_encoding(header(http::header::CONTENT_ENCODING)),
            reading,
            max_body: cfg.max_body,
            keep_raw: cfg.warc.is_some(),
            bodiless,
        }
        .read(&mut body);
        let warc = self.archive(sent, &parts, &mut read);
        if let Some(failure) = read.failure {
            return Err(failure);
        }
        // A failure to archive an earlier hop is the chain's.
        let warc = match (archived, warc) {
            (Some(failure), _) => Some(Box::new(Err(failure))),
            (None, warc) => warc.map(Box::new),
        };
        Ok(Fetched {
            status,
            final_url: redact(&sent.hop.url),
            redirects,
            bytes: read.bytes,
            content_type,
            retry_after,
            // Set by the chain (`chain.rs`), which knows when it started.
            took: Duration::ZERO,
            timings: sent.timings,
            headers: cfg.keep_headers.then(|| Box::new(parts.headers)),
            capture: read.captured,
            warc,
            // Set by the chain, which knows the proxy.
            proxy: None,
            http_version: version_name(parts.version),
        })
    }

    /// Read what little a redirect carries, so its connection can be reused; archive the
    /// exchange. A failure to archive it, if any.
    pub(crate) fn pass_redirect(
        &self,
        response: http::Response<Incoming>,
        sent: &Sent<'_>,
    ) -> Option<Failure> {
        let (parts, mut body) = response.into_parts();
        let mut read = Reader {
            decoder: Decoder::Identity,
            reading: None,
            max_body: REDIRECT_BODY,
            keep_raw: self.cfg.warc.is_some(),
            bodiless: sent.hop.method == Method::HEAD,
        }
        .read(&mut body);
        self.archive(sent, &parts, &mut read)?.err()
    }

    /// Write the exchange to the WARC file, if one is written: where its response went.
    fn archive(
        &self,
        sent: &Sent<'_>,
        response: &response::Parts,
        read: &mut Body,
    ) -> Option<Result<WarcLocation, Failure>> {
        let warc = self.cfg.warc.as_ref()?;
        let payload = read.raw.take()?;
        let written = self
            .head(sent.hop, sent.headers, sent.later_hop)
            .and_then(|request| {
                let exchange = Exchange {
                    target: &without_credentials(&sent.hop.url),
                    date: sent.at,
                    // Through a proxy, the peer is the proxy: not the host's address.
                    ip: peer().map(|addr| addr.ip()),
                    request: &request,
                    request_body: sent.body,
                    response,
                    payload,
                    truncated: read.truncated,
                };
                warc.write(exchange).map_err(|e| {
                    let file = warc.path().display();
                    Failure::new(ErrorKind::Save, format!("cannot write to {file}: {e}"))
                })
            });
        Some(written)
    }
}

/// How records write an HTTP version.
fn version_name(version: http::Version) -> &'static str {
    match version {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

/// The URL without user name and password: archives do not keep credentials.
fn without_credentials(url: &Url) -> Url {
    let mut url = url.clone();
    // Only fails for URLs that cannot have credentials, which then have none.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url
}

/// Parse a `Retry-After` value: delay-seconds or an HTTP date (relative to `now`).
fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn archived_urls_lose_their_credentials() {
        let url = Url::parse("http://user:secret@127.0.0.1:8080/a?b").unwrap();
        assert_eq!(
            without_credentials(&url).as_str(),
            "http://127.0.0.1:8080/a?b"
        );
    }
}
