//! One HTTP exchange per call: build the ureq agents from validated settings, fetch a URL,
//! read the body to the end (keeping it, and the headers, only when asked), classify any
//! failure.
//!
//! Invariants: `Client::fetch` never panics and never returns before the body is read or
//! abandoned; every ureq error maps to exactly one `ErrorKind`; no thread is spawned per
//! request (see `resolver.rs`); the whole exchange, redirects and body included, is bounded
//! by `timeout` (ureq's `timeout_global`, given what is left of it on each redirect hop).

use std::borrow::Cow;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use ureq::http::{self, HeaderName, HeaderValue, Method};
use ureq::tls::TlsConfig;
use ureq::{Agent, Proxy};
use url::Url;

use super::Fetched;
use super::redirect::{Hop, is_redirect, next_hop, same_origin, strip_credentials};
use super::resolver::{OctopusResolver, ResolveRule};
use crate::failure::{ErrorKind, Failure};
use crate::input::{redact, redact_text};

/// Everything that shapes the requests of an `Octopus`. Built and validated by the builder.
#[derive(Debug, Clone)]
pub(crate) struct ClientSettings {
    pub method: Method,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Arc<[u8]>>,
    pub user_agent: String,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_redirects: u32,
    pub max_body: u64,
    /// Keep the final response's body (up to `max_body`) rather than discard it.
    pub keep_body: bool,
    /// Keep the final response's headers.
    pub keep_headers: bool,
    pub insecure: bool,
    /// The proxy to use, if any (the builder reads the environment's when asked to).
    pub proxy: Option<Proxy>,
    pub resolve: Vec<ResolveRule>,
    /// Connection pools, each holding the idle connections of the hosts hashed to it.
    pub pool_shards: usize,
    /// Idle connections kept for reuse in each pool (bounded by the open-file limit).
    pub idle_per_shard: usize,
}

/// How many connection pools to spread hosts over. ureq's pool is one lock and its purge
/// walks every idle connection once per distinct host in it, on every checkout; with many
/// hosts in one pool that cost dominated a run (see ARCHITECTURE.md). Hashing hosts over
/// separate pools keeps each pool's host count, and its lock's traffic, small.
pub(crate) fn pool_shards(concurrency: usize) -> usize {
    concurrency.clamp(1, 64)
}

/// A configured HTTP client shared by all workers.
#[derive(Debug)]
pub(crate) struct Client {
    /// One agent (and connection pool) per shard; a host always uses the same one.
    agents: Vec<Agent>,
    cfg: ClientSettings,
}

/// Per-connection read buffer. ureq's default is 128 KiB in and 128 KiB out per
/// connection, which at a thousand connections is a quarter of a gigabyte.
const INPUT_BUFFER: usize = 64 * 1024;
const OUTPUT_BUFFER: usize = 16 * 1024;

impl Client {
    /// One agent per pool shard, configured from `cfg`.
    pub fn new(cfg: &ClientSettings) -> Client {
        let config = Agent::config_builder()
            .http_status_as_error(false)
            // Redirects are followed in `fetch` (see redirect.rs).
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(cfg.user_agent.as_str())
            .timeout_global(Some(cfg.timeout))
            .timeout_connect(Some(cfg.connect_timeout.min(cfg.timeout)))
            .max_idle_connections(cfg.idle_per_shard)
            .max_idle_connections_per_host(cfg.idle_per_shard)
            .input_buffer_size(INPUT_BUFFER)
            .output_buffer_size(OUTPUT_BUFFER)
            .max_response_header_size(INPUT_BUFFER)
            .allow_non_standard_methods(true)
            .tls_config(
                TlsConfig::builder()
                    .disable_verification(cfg.insecure)
                    .build(),
            )
            .proxy(cfg.proxy.clone())
            .build();
        let agents = (0..cfg.pool_shards.max(1))
            .map(|_| {
                let connector = ureq::unversioned::transport::DefaultConnector::default();
                Agent::with_parts(
                    config.clone(),
                    connector,
                    OctopusResolver::new(&cfg.resolve),
                )
            })
            .collect();
        Client {
            agents,
            cfg: cfg.clone(),
        }
    }

    fn agent_for(&self, url: &Url) -> &Agent {
        let shard = if self.agents.len() > 1 {
            let mut h = DefaultHasher::new();
            (url.host_str(), url.port_or_known_default()).hash(&mut h);
            h.finish() as usize % self.agents.len()
        } else {
            0
        };
        &self.agents[shard]
    }

    /// Fetch one URL, following redirects, and read the final body to the end.
    pub fn fetch(&self, url: &Url) -> Result<Fetched, Failure> {
        // The timeout is bounded when settings are validated; the fallback only guards that.
        let now = Instant::now();
        let deadline = now.checked_add(self.cfg.timeout).unwrap_or(now);
        let mut hop = Hop {
            url: url.clone(),
            method: self.cfg.method.clone(),
            keep_body: true,
        };
        let mut headers = Cow::Borrowed(&self.cfg.headers);
        let mut redirects = 0;
        loop {
            let response = self.send(&hop, &headers, redirects > 0, deadline, url)?;
            let status = response.status().as_u16();
            let location = is_redirect(status)
                .then(|| response.headers().get(http::header::LOCATION))
                .flatten();
            let Some(location) = location.filter(|_| self.cfg.max_redirects > 0) else {
                return self.read(response, &hop.url, redirects, url);
            };
            if redirects == self.cfg.max_redirects {
                let msg = format!(
                    "more than {} redirects (--max-redirects)",
                    self.cfg.max_redirects
                );
                return Err(Failure::new(ErrorKind::TooManyRedirects, msg));
            }
            let location = location.to_str().map_err(|_| {
                Failure::new(ErrorKind::Redirect, "redirect Location is not valid text")
            })?;
            let next = next_hop(&hop.url, &hop.method, status, location)?;
            // Read what little a redirect carries, so its connection can be reused.
            let _ = io::copy(
                &mut response.into_body().with_config().limit(64 * 1024).reader(),
                &mut io::sink(),
            );
            if !same_origin(&hop.url, &next.url) {
                strip_credentials(headers.to_mut());
            }
            hop = Hop {
                keep_body: hop.keep_body && next.keep_body,
                ..next
            };
            redirects += 1;
        }
    }

    /// Send one request of the chain; hops after the first get what is left of the deadline.
    fn send(
        &self,
        hop: &Hop,
        headers: &[(HeaderName, HeaderValue)],
        later_hop: bool,
        deadline: Instant,
        original: &Url,
    ) -> Result<http::Response<ureq::Body>, Failure> {
        let agent = self.agent_for(&hop.url);
        let mut builder = http::Request::builder()
            .method(hop.method.clone())
            .uri(hop.url.as_str());
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if later_hop && remaining.is_zero() {
            return Err(Failure::new(
                ErrorKind::Timeout,
                "deadline passed (--timeout)",
            ));
        }
        let budget = later_hop.then_some(remaining);
        let sent = match self.cfg.body.as_ref().filter(|_| hop.keep_body) {
            Some(body) => builder.body(&body[..]).map(|r| run(agent, r, budget)),
            None => builder.body(()).map(|r| run(agent, r, budget)),
        };
        match sent {
            Err(e) => {
                let msg = format!("URL cannot be sent: {e}");
                Err(Failure::new(
                    ErrorKind::InvalidUrl,
                    redact_text(&msg, original),
                ))
            }
            Ok(Err(e)) => Err(classify(e, original)),
            Ok(Ok(r)) => Ok(r),
        }
    }

    /// Read the final response's body to the end and describe it.
    fn read(
        &self,
        response: http::Response<ureq::Body>,
        at: &Url,
        redirects: u32,
        original: &Url,
    ) -> Result<Fetched, Failure> {
        let (parts, mut body) = response.into_parts();
        let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let content_type = header(http::header::CONTENT_TYPE).map(str::to_string);
        let retry_after =
            header(http::header::RETRY_AFTER).and_then(|v| parse_retry_after(v, SystemTime::now()));
        let mut reader = body.with_config().limit(self.cfg.max_body).reader();
        let mut kept = Vec::new();
        let read = if self.cfg.keep_body {
            io::Read::read_to_end(&mut reader, &mut kept).map(|n| n as u64)
        } else {
            io::copy(&mut reader, &mut io::sink())
        };
        let bytes = read.map_err(|e| classify(ureq::Error::from(e), original))?;
        Ok(Fetched {
            status: parts.status.as_u16(),
            final_url: redact(at),
            redirects,
            bytes,
            content_type,
            retry_after,
            headers: if self.cfg.keep_headers {
                parts.headers
            } else {
                http::HeaderMap::new()
            },
            body: kept,
        })
    }
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

/// Run one request, with `budget` as its whole deadline when given (later redirect hops).
fn run<S: ureq::AsSendBody>(
    agent: &Agent,
    request: http::Request<S>,
    budget: Option<Duration>,
) -> Result<http::Response<ureq::Body>, ureq::Error> {
    match budget {
        Some(left) => agent.run(
            agent
                .configure_request(request)
                .timeout_global(Some(left))
                .build(),
        ),
        None => agent.run(request),
    }
}

/// Map a ureq error to the record's error kind and a message with any password masked.
fn classify(error: ureq::Error, url: &Url) -> Failure {
    use ureq::Error as E;
    let kind = match &error {
        E::Timeout(_) => ErrorKind::Timeout,
        E::HostNotFound => ErrorKind::Dns,
        E::ConnectionFailed => ErrorKind::Connect,
        E::Tls(_) | E::Pem(_) | E::Rustls(_) | E::TlsRequired => ErrorKind::Tls,
        E::TooManyRedirects => ErrorKind::TooManyRedirects,
        E::RedirectFailed => ErrorKind::Redirect,
        E::BodyExceedsLimit(_) => ErrorKind::BodyTooLarge,
        E::InvalidProxyUrl | E::ConnectProxyFailed(_) => ErrorKind::Proxy,
        E::BadUri(_) => ErrorKind::InvalidUrl,
        E::Protocol(_)
        | E::Http(_)
        | E::LargeResponseHeader(..)
        | E::Decompress(..)
        | E::BodyStalled
        | E::StatusCode(_) => ErrorKind::Protocol,
        E::Io(io)
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()) =>
        {
            ErrorKind::Tls
        }
        E::Io(io) => match io.kind() {
            io::ErrorKind::ConnectionRefused
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::AddrNotAvailable => ErrorKind::Connect,
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ErrorKind::Timeout,
            io::ErrorKind::InvalidData => ErrorKind::Protocol,
            _ => ErrorKind::Io,
        },
        _ => ErrorKind::Io,
    };
    let message = match &error {
        E::BodyExceedsLimit(limit) => format!("body larger than --max-body ({limit} bytes)"),
        E::Timeout(ureq::Timeout::Global) => "deadline passed (--timeout)".to_string(),
        E::Timeout(ureq::Timeout::Connect) => {
            "no connection in time (--connect-timeout)".to_string()
        }
        other => other.to_string(),
    };
    Failure::new(kind, redact_text(&message, url))
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
}
