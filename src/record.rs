//! `Record`: a response as one JSON Lines object, with the documented, stable field set the
//! command line's `--json` writes.

use serde::Serialize;

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
}

impl<'a> From<&'a Response> for Record<'a> {
    fn from(r: &'a Response) -> Self {
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
        }
    }
}

/// Milliseconds with microsecond precision.
fn millis(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}
