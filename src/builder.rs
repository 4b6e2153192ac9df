//! `Builder`: every setting of an `Octopus`, checked in `build` (typed errors naming the
//! setting), then the open-file limit, the HTTP client and the engine.

use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};

use crate::error::{Error, Setting};
use crate::http::{Client, ClientSettings, ResolveRule, fdlimit, pool_shards};
use crate::policy::{Policy, PrefixLimit, RetryPolicy};
use crate::run::Octopus;
use crate::settings::{CacheSettings, Settings, StatusSet};

/// The longest duration any setting takes (a year): longer ones are refused, so that no
/// deadline can overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// The most requests in flight an `Octopus` takes.
pub const MAX_CONCURRENCY: usize = 100_000;

/// Settings for an [`Octopus`]; [`Builder::build`] checks them all and starts it.
///
/// Defaults: concurrency 50, timeout 10 s (connect 5 s), up to 10 redirects, GET,
/// `User-Agent: octopus/VERSION`, certificates verified, the proxy from the environment
/// (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`), bodies up to 100 MiB kept with the
/// headers, success = 200-399, no cache, no limits, no retries (retried statuses 429 and
/// 500-599, backoff from 1 s, waits of at most 60 s), look-ahead 1000.
#[derive(Debug, Clone)]
pub struct Builder {
    concurrency: usize,
    timeout: Duration,
    connect_timeout: Duration,
    max_redirects: u32,
    method: Option<String>,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    user_agent: Option<String>,
    accept_invalid_certs: bool,
    proxy: Option<String>,
    proxy_from_env: bool,
    resolve: Vec<(String, u16, IpAddr)>,
    max_body: u64,
    keep_bodies: bool,
    keep_headers: bool,
    ok_status: Vec<RangeInclusive<u16>>,
    cache_ttl: Option<Duration>,
    cache_size: usize,
    per_host: Option<usize>,
    limits: Vec<(String, usize)>,
    rate: Option<f64>,
    delay: Option<Duration>,
    lookahead: usize,
    retries: u32,
    retry_on: Vec<RangeInclusive<u16>>,
    retry_delay: Duration,
    max_retry_wait: Duration,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            concurrency: 50,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_redirects: 10,
            method: None,
            headers: Vec::new(),
            body: None,
            user_agent: None,
            accept_invalid_certs: false,
            proxy: None,
            proxy_from_env: true,
            resolve: Vec::new(),
            max_body: 100 << 20,
            keep_bodies: true,
            keep_headers: true,
            ok_status: vec![200..=399],
            cache_ttl: None,
            cache_size: 100_000,
            per_host: None,
            limits: Vec::new(),
            rate: None,
            delay: None,
            lookahead: 1000,
            retries: 0,
            retry_on: vec![429..=429, 500..=599],
            retry_delay: Duration::from_secs(1),
            max_retry_wait: Duration::from_secs(60),
        }
    }
}

impl Builder {
    /// Requests in flight at once (1 to 100000): the number of worker threads, started as
    /// work arrives. `build` raises the open-file limit to fit, or fails.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Deadline for each whole request: connect, headers, redirects and the full body.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Deadline for establishing each connection (TCP and TLS).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Follow at most `n` redirects; 0 does not follow them (the 3xx is the response).
    pub fn max_redirects(mut self, n: u32) -> Self {
        self.max_redirects = n;
        self
    }

    /// The HTTP method (upper-cased); default GET, or POST when a body is set.
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_string());
        self
    }

    /// An extra request header (repeatable). `Authorization`, `Cookie` and
    /// `Proxy-Authorization` are dropped when a redirect leaves the URL's origin.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// A request body, sent with every request.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// The `User-Agent` header (default `octopus/VERSION`).
    pub fn user_agent(mut self, user_agent: &str) -> Self {
        self.user_agent = Some(user_agent.to_string());
        self
    }

    /// Accept any TLS certificate (default: verify them).
    pub fn accept_invalid_certs(mut self, accept: bool) -> Self {
        self.accept_invalid_certs = accept;
        self
    }

    /// A proxy for every request (`http://`, `https://` or `socks5://`).
    pub fn proxy(mut self, url: &str) -> Self {
        self.proxy = Some(url.to_string());
        self
    }

    /// Whether, without [`Builder::proxy`], the proxy environment variables are honoured
    /// (default true).
    pub fn proxy_from_env(mut self, honour: bool) -> Self {
        self.proxy_from_env = honour;
        self
    }

    /// Connect to `addr` for `host`:`port` instead of resolving `host` (like curl's `--resolve`).
    pub fn resolve(mut self, host: &str, port: u16, addr: IpAddr) -> Self {
        self.resolve.push((host.to_string(), port, addr));
        self
    }

    /// The largest body read per URL; a larger one is a `body_too_large` failure.
    pub fn max_body(mut self, bytes: u64) -> Self {
        self.max_body = bytes;
        self
    }

    /// Keep bodies in responses (default true); without them only their size is counted.
    pub fn keep_bodies(mut self, keep: bool) -> Self {
        self.keep_bodies = keep;
        self
    }

    /// Keep headers in responses (default true; the `Content-Type` is kept either way).
    pub fn keep_headers(mut self, keep: bool) -> Self {
        self.keep_headers = keep;
        self
    }

    /// Statuses that count as success ([`crate::Response::ok`]), e.g. `[200..=299, 304..=304]`.
    pub fn ok_status(mut self, ranges: impl IntoIterator<Item = RangeInclusive<u16>>) -> Self {
        self.ok_status = ranges.into_iter().collect();
        self
    }

    /// Turn the cache on: a repeat of a URL inside `ttl` is served from memory, and repeats
    /// of a URL being fetched wait for that fetch (GET and HEAD only). Zero turns it off.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = Some(ttl);
        self
    }

    /// The most responses the cache keeps (default 100000).
    pub fn cache_size(mut self, entries: usize) -> Self {
        self.cache_size = entries;
        self
    }

    /// At most `n` requests in flight to one host (scheme, host and port).
    pub fn per_host(mut self, n: usize) -> Self {
        self.per_host = Some(n);
        self
    }

    /// At most `n` requests in flight to URLs starting with `prefix` (repeatable; the first
    /// matching prefix applies). This is the original octopus's limiter.
    pub fn limit(mut self, prefix: &str, n: usize) -> Self {
        self.limits.push((prefix.to_string(), n));
        self
    }

    /// At most `per_second` request starts per second, overall (fractions allowed).
    pub fn rate(mut self, per_second: f64) -> Self {
        self.rate = Some(per_second);
        self
    }

    /// At least `gap` between two request starts to the same host.
    pub fn delay(mut self, gap: Duration) -> Self {
        self.delay = Some(gap);
        self
    }

    /// How many waiting URLs are looked at for one that may start now (default 1000).
    pub fn lookahead(mut self, n: usize) -> Self {
        self.lookahead = n;
        self
    }

    /// Retry transport failures, timeouts and [`Builder::retry_on`] statuses up to `n` times.
    pub fn retries(mut self, n: u32) -> Self {
        self.retries = n;
        self
    }

    /// Statuses that are retried (default 429 and 500-599).
    pub fn retry_on(mut self, ranges: impl IntoIterator<Item = RangeInclusive<u16>>) -> Self {
        self.retry_on = ranges.into_iter().collect();
        self
    }

    /// Base of the exponential backoff between retries (doubling, with jitter).
    pub fn retry_delay(mut self, base: Duration) -> Self {
        self.retry_delay = base;
        self
    }

    /// The longest wait before a retry, a server's `Retry-After` included.
    pub fn max_retry_wait(mut self, wait: Duration) -> Self {
        self.max_retry_wait = wait;
        self
    }

    /// Check every setting, make room in the open-file limit and start the `Octopus`.
    pub fn build(self) -> Result<Octopus, Error> {
        let mut settings = self.settings()?;
        let client = &mut settings.client;
        client.idle_per_shard = fdlimit::ensure_room(settings.concurrency, client.pool_shards)?;
        let client = Client::new(&settings.client);
        let engine = crate::run::Engine::start(settings, client)?;
        Ok(Octopus::from_engine(engine))
    }

    /// The settings, validated.
    fn settings(&self) -> Result<Settings, Error> {
        let concurrency = self.concurrency;
        if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
            let reason = format!("must be from 1 to {MAX_CONCURRENCY}");
            return Err(Error::setting(Setting::Concurrency, concurrency, reason));
        }
        let method = self.checked_method()?;
        let cache = match self.cache_ttl {
            Some(ttl) if !ttl.is_zero() && self.cache_size > 0 => Some(CacheSettings {
                ttl: bounded(Setting::CacheTtl, ttl)?,
                capacity: self.cache_size,
            }),
            _ => None,
        };
        Ok(Settings {
            concurrency,
            // Only safe methods are answered from the cache or merged with each other.
            cache: cache.filter(|_| method == Method::GET || method == Method::HEAD),
            client: self.client(method, concurrency)?,
            ok_status: statuses(Setting::OkStatus, &self.ok_status)?,
            policy: self.policy()?,
        })
    }

    fn checked_method(&self) -> Result<Method, Error> {
        match &self.method {
            Some(m) => Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                .map_err(|_| Error::setting(Setting::Method, m, "not an HTTP method")),
            None if self.body.is_some() => Ok(Method::POST),
            None => Ok(Method::GET),
        }
    }

    fn client(&self, method: Method, concurrency: usize) -> Result<ClientSettings, Error> {
        let timeout = positive(Setting::Timeout, self.timeout)?;
        let connect_timeout = positive(Setting::ConnectTimeout, self.connect_timeout)?;
        let headers = self
            .headers
            .iter()
            .map(|(n, v)| header(n, v))
            .collect::<Result<Vec<_>, _>>()?;
        let user_agent = match &self.user_agent {
            Some(ua) => {
                HeaderValue::from_str(ua).map_err(|_| {
                    Error::setting(Setting::UserAgent, ua, "contains control characters")
                })?;
                ua.clone()
            }
            None => format!("octopus/{}", env!("CARGO_PKG_VERSION")),
        };
        let proxy = match &self.proxy {
            Some(p) => Some(
                ureq::Proxy::new(p)
                    .map_err(|e| Error::setting(Setting::Proxy, p, e.to_string()))?,
            ),
            None if self.proxy_from_env => ureq::Proxy::try_from_env(),
            None => None,
        };
        let resolve = self
            .resolve
            .iter()
            .map(|(host, port, addr)| match host.is_empty() {
                true => Err(Error::setting(Setting::Resolve, host, "the host is empty")),
                false => Ok(ResolveRule {
                    host: host.to_ascii_lowercase(),
                    port: *port,
                    addr: *addr,
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ClientSettings {
            method,
            headers,
            body: self.body.as_deref().map(Arc::from),
            user_agent,
            timeout,
            connect_timeout,
            max_redirects: self.max_redirects,
            max_body: self.max_body,
            keep_body: self.keep_bodies,
            keep_headers: self.keep_headers,
            insecure: self.accept_invalid_certs,
            proxy,
            resolve,
            pool_shards: pool_shards(concurrency),
            idle_per_shard: concurrency,
        })
    }

    fn policy(&self) -> Result<Policy, Error> {
        let positive_count = |setting, n: usize| match n {
            0 => Err(Error::setting(setting, n, "must be at least 1")),
            n => Ok(n),
        };
        let limits = self
            .limits
            .iter()
            .map(|(prefix, max)| match prefix.is_empty() {
                true => Err(Error::setting(
                    Setting::Limit,
                    prefix,
                    "the prefix is empty",
                )),
                false => Ok(PrefixLimit {
                    prefix: prefix.clone(),
                    max: positive_count(Setting::Limit, *max)?,
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy {
            per_host: self
                .per_host
                .map(|n| positive_count(Setting::PerHost, n))
                .transpose()?,
            limits,
            interval: self.rate.map(interval).transpose()?,
            delay: self
                .delay
                .map(|d| bounded(Setting::Delay, d))
                .transpose()?
                .filter(|d| !d.is_zero()),
            retry: RetryPolicy {
                retries: self.retries,
                on_status: statuses(Setting::RetryOn, &self.retry_on)?,
                base: bounded(Setting::RetryDelay, self.retry_delay)?,
                max_wait: bounded(Setting::MaxRetryWait, self.max_retry_wait)?,
            },
            lookahead: positive_count(Setting::Lookahead, self.lookahead)?,
        })
    }
}

/// `d` if it is at most `MAX_DURATION`.
fn bounded(setting: Setting, d: Duration) -> Result<Duration, Error> {
    if d > MAX_DURATION {
        let reason = "is too long (at most 365 days)";
        return Err(Error::setting(setting, format!("{d:?}"), reason));
    }
    Ok(d)
}

/// `d` if it is more than zero and at most `MAX_DURATION`.
fn positive(setting: Setting, d: Duration) -> Result<Duration, Error> {
    if d.is_zero() {
        return Err(Error::setting(setting, "0s", "must be more than zero"));
    }
    bounded(setting, d)
}

/// The gap between request starts at `per_second`; a year at most.
fn interval(per_second: f64) -> Result<Duration, Error> {
    let refused = |reason| Error::setting(Setting::Rate, format!("{per_second}/s"), reason);
    if !per_second.is_finite() || per_second <= 0.0 {
        return Err(refused("must be a number above zero"));
    }
    match Duration::try_from_secs_f64(1.0 / per_second) {
        Ok(gap) if gap <= MAX_DURATION => Ok(gap),
        _ => Err(refused("is too slow (at least one request a year)")),
    }
}

fn header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), Error> {
    let shown = || format!("{name}: {value}");
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| Error::setting(Setting::Header, shown(), "not a valid header name"))?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| {
        let reason = "the value contains characters not allowed in a header \
                      (CR, LF, NUL or other control characters)";
        Error::setting(Setting::Header, shown(), reason)
    })?;
    Ok((name, value))
}

fn statuses(setting: Setting, ranges: &[RangeInclusive<u16>]) -> Result<StatusSet, Error> {
    let shown = |r: &RangeInclusive<u16>| format!("{}-{}", r.start(), r.end());
    if ranges.is_empty() {
        return Err(Error::setting(setting, "", "no status given"));
    }
    let mut set = Vec::with_capacity(ranges.len());
    for r in ranges {
        let (lo, hi) = (*r.start(), *r.end());
        if !(100..=999).contains(&lo) || !(100..=999).contains(&hi) || lo > hi {
            let reason = "statuses are from 100 to 999, low to high";
            return Err(Error::setting(setting, shown(r), reason));
        }
        set.push((lo, hi));
    }
    Ok(StatusSet::new(set))
}
