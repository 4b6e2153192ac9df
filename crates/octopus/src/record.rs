//! `Record`: a response as one JSON Lines object, with the documented, stable field set the
//! command line's `--json` writes. Fields for what was kept of the body (headers, body,
//! digests, title, saved file, WARC record) appear only when there is something to show.

use std::borrow::Cow;

use base64::Engine as _;
use http::HeaderMap;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::capture::Hash;
use crate::failure::Failure;
use crate::response::Response;

/// A [`Response`] in the JSON Lines schema (see the README): serialize it with serde.
///
/// ```
/// # fn show(response: &octopus::Response) -> serde_json::Result<String> {
/// serde_json::to_string(&octopus::Record::from(response))
/// # }
/// ```
#[derive(Debug, Serialize)]
pub struct Record<'a> {
    url: &'a str,
    final_url: Option<&'a str>,
    input: Option<&'a str>,
    line: Option<u64>,
    status: Option<u16>,
    ok: bool,
    error: Option<&'a Failure>,
    bytes: u64,
    elapsed_ms: f64,
    redirects: u32,
    cached: bool,
    content_type: Option<&'a str>,
    attempts: u32,
    waited_ms: f64,
    fetch_ms: Option<f64>,
    dns_ms: Option<f64>,
    connect_ms: Option<f64>,
    proxy_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    proxy: Option<&'a str>,
    http_version: Option<&'a str>,
    tls_ms: Option<f64>,
    ttfb_ms: Option<f64>,
    finished_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<Headers<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_base64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha1: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha512: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    md5: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    saved: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    layout: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    skipped: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    warc: Option<Archived<'a>>,
}

/// Where a response's WARC record is.
#[derive(Debug, Serialize)]
struct Archived<'a> {
    file: Cow<'a, str>,
    offset: u64,
}

impl<'a> From<&'a Response> for Record<'a> {
    fn from(r: &'a Response) -> Self {
        let body = r.kept_body();
        let text = body.and_then(|b| std::str::from_utf8(b).ok());
        let timings = r.timings();
        Record {
            url: r.url(),
            final_url: r.final_url(),
            input: r.input(),
            line: r.line(),
            status: r.status(),
            ok: r.ok(),
            error: r.error(),
            bytes: r.bytes(),
            elapsed_ms: millis(r.elapsed()),
            redirects: r.redirects(),
            cached: r.cached(),
            content_type: r.content_type(),
            attempts: r.attempts(),
            waited_ms: millis(r.waited()),
            fetch_ms: r.fetch_time().map(millis),
            dns_ms: timings.dns.map(millis),
            connect_ms: timings.connect.map(millis),
            proxy_ms: timings.proxy.map(millis),
            proxy: r.proxy(),
            http_version: r.http_version(),
            tls_ms: timings.tls.map(millis),
            ttfb_ms: timings.ttfb.map(millis),
            finished_at: humantime::format_rfc3339_millis(r.finished_at()).to_string(),
            headers: r.has_headers().then(|| Headers(r.headers())),
            body: text.map(Cow::Borrowed),
            body_base64: body
                .filter(|_| text.is_none())
                .map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
            sha256: r.hash(Hash::Sha256),
            sha1: r.hash(Hash::Sha1),
            sha512: r.hash(Hash::Sha512),
            md5: r.hash(Hash::Md5),
            title: r.title(),
            saved: r.saved().map(|s| s.path().to_string_lossy()),
            layout: r.saved().map(|s| s.layout().name()),
            skipped: r.skipped(),
            warc: r.warc().map(|w| Archived {
                file: w.file().to_string_lossy(),
                offset: w.offset(),
            }),
        }
    }
}

impl Record<'_> {
    /// The record without the body, even when the response kept one (the command line keeps
    /// bodies to match them with `--match-regex`, and prints them only with `--include-body`).
    pub fn without_body(mut self) -> Self {
        self.body = None;
        self.body_base64 = None;
        self
    }
}

/// Headers as a JSON object: lower-case names; one value as a string, a repeated header's
/// values as a list of strings, in order.
#[derive(Debug)]
struct Headers<'a>(&'a HeaderMap);

impl Serialize for Headers<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.keys_len()))?;
        for name in self.0.keys() {
            let values: Vec<Cow<'_, str>> = self
                .0
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()))
                .collect();
            match values.as_slice() {
                [one] => map.serialize_entry(name.as_str(), one)?,
                many => map.serialize_entry(name.as_str(), many)?,
            }
        }
        map.end()
    }
}

/// Milliseconds with microsecond precision.
fn millis(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}
