//! `Builder`: every setting of an `Octopus`, checked in `build` (typed errors naming the
//! setting), then the open-file limit, the HTTP client and the engine.

mod validate;

use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use crate::capture::{Hash, Layout};
use crate::error::{Error, Setting};
use crate::http::{Client, fdlimit};
use crate::input::ShardBy;
use crate::input::mask_userinfo;
use crate::run::Octopus;
use crate::shared::SharedLimits;

/// The longest duration any setting takes (a year): longer ones are refused, so that no
/// deadline can overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// The most requests in flight an `Octopus` takes.
pub const MAX_CONCURRENCY: usize = 100_000;

/// Settings for an [`Octopus`]; [`Builder::build`] checks them all and starts it.
///
/// Defaults: concurrency 50, timeout 10 s (connect 5 s), up to 10 redirects, GET,
/// `User-Agent: octopus/VERSION`, certificates verified against the system's roots, the
/// proxy from the environment
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
    root_certs: Option<Vec<u8>>,
    client_cert: Option<(Vec<u8>, Vec<u8>)>,
    proxy: Option<String>,
    proxy_from_env: bool,
    resolve: Vec<(String, u16, IpAddr)>,
    max_body: u64,
    keep_bodies: bool,
    keep_headers: bool,
    hashes: Vec<Hash>,
    titles: bool,
    save_to: Option<PathBuf>,
    layout: Layout,
    save_all: bool,
    skip_existing: bool,
    warc: Option<PathBuf>,
    warc_max_size: Option<u64>,
    shard: Option<(u64, u64)>,
    shard_by: ShardBy,
    redis: Option<String>,
    redis_prefix: String,
    redis_lease: Duration,
    redis_outage: Duration,
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
            root_certs: None,
            client_cert: None,
            proxy: None,
            proxy_from_env: true,
            resolve: Vec::new(),
            max_body: 100 << 20,
            keep_bodies: true,
            keep_headers: true,
            hashes: Vec::new(),
            titles: false,
            save_to: None,
            layout: Layout::Mirror,
            save_all: false,
            skip_existing: false,
            warc: None,
            warc_max_size: None,
            shard: None,
            shard_by: ShardBy::Host,
            redis: None,
            redis_prefix: "octopus".into(),
            redis_lease: Duration::from_secs(30),
            redis_outage: Duration::from_secs(60),
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

impl Octopus {
    /// Settings for a new `Octopus`, with the defaults listed on [`Builder`].
    pub fn builder() -> Builder {
        Builder::default()
    }
}

impl Builder {
    /// Requests in flight at once (1 to 100000). A plain `http` request sent directly (and a
    /// redirect's next hop to one) waits for its answer on no thread; a few worker threads
    /// do the work, and another starts whenever one blocks (a TLS or proxied exchange, a
    /// name lookup, a slow handler), up to this many. `build` raises the open-file limit to
    /// fit, or fails.
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

    /// Trust only the certificate authorities in `pem` (PEM, one or more certificates), like
    /// curl's `--cacert`. Without it, the operating system's trusted roots are used
    /// (`SSL_CERT_FILE` and `SSL_CERT_DIR` override them), or, on a system that has none,
    /// the roots bundled with octopus (Mozilla's).
    pub fn root_certs_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certs = Some(pem.into());
        self
    }

    /// Present this client certificate to servers that ask for one (mutual TLS): the chain
    /// in `certs`, its private key in `key` (PEM; the same text may hold both).
    pub fn client_cert_pem(mut self, certs: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        self.client_cert = Some((certs.into(), key.into()));
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

    /// Digests of each body to compute, as it streams through ([`crate::Response::hash`]).
    pub fn hashes(mut self, hashes: impl IntoIterator<Item = Hash>) -> Self {
        self.hashes = hashes.into_iter().collect();
        self
    }

    /// Read the `<title>` of HTML responses ([`crate::Response::title`]), with an HTML
    /// tokenizer over at most the first MiB of the body.
    pub fn titles(mut self, titles: bool) -> Self {
        self.titles = titles;
        self
    }

    /// Save each body whose status is OK ([`Builder::ok_status`]) under `dir` (created if
    /// needed), in the [`Builder::save_layout`]: written whole or not at all, never
    /// outside `dir`. [`crate::Response::saved`] says where.
    pub fn save_to(mut self, dir: impl Into<PathBuf>) -> Self {
        self.save_to = Some(dir.into());
        self
    }

    /// How saved bodies are laid out (default [`Layout::Mirror`]).
    pub fn save_layout(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }

    /// Save every HTTP response's body, whatever its status (default: OK ones only).
    pub fn save_all(mut self, all: bool) -> Self {
        self.save_all = all;
        self
    }

    /// Do not fetch a URL whose file is already saved (mirror layout): its response says
    /// it was skipped ([`crate::Response::skipped`]).
    pub fn skip_existing(mut self, skip: bool) -> Self {
        self.skip_existing = skip;
        self
    }

    /// Archive every HTTP exchange, redirect hops included, as WARC/1.1 `request` and
    /// `response` records in the file at `path`: each record its own gzip member, or
    /// uncompressed when the name ends in `.warc`. Bodies are archived as the server sent
    /// them (still content-encoded). An existing file is appended to.
    /// [`crate::Response::warc`] says where each response went.
    ///
    /// ```
    /// # let server = octopus_testserver::Server::start().expect("a loopback server");
    /// # let dir = std::env::temp_dir().join(format!("octopus-doc-warc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).expect("a scratch directory");
    /// let otto = octopus::Octopus::builder()
    ///     .warc(dir.join("crawl.warc.gz"))
    ///     .build()?;
    /// for response in otto.fetch_all([server.url("/a"), server.url("/b")])? {
    ///     if let Some(at) = response.warc() {
    ///         println!("{} is at {}:{}", response.url(), at.file().display(), at.offset());
    ///     }
    /// #   assert!(response.warc().is_some());
    /// }
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), octopus::Error>(())
    /// ```
    pub fn warc(mut self, path: impl Into<PathBuf>) -> Self {
        self.warc = Some(path.into());
        self
    }

    /// Write numbered WARC files (`crawl-00000.warc.gz`, `crawl-00001.warc.gz`, …), starting
    /// a new one before a file would grow past `bytes`.
    pub fn warc_max_size(mut self, bytes: u64) -> Self {
        self.warc_max_size = Some(bytes);
        self
    }

    /// Take only the requests of shard `index` of `count` (1-based), by the stable hash of
    /// [`crate::input::Shard`]: each of `count` processes given the same list and its own
    /// index fetches its part, disjoint, together all of it. A request of another shard is
    /// not fetched and its handler is not called; [`crate::Stats::other_shard`] counts them.
    pub fn shard(mut self, index: u64, count: u64) -> Self {
        self.shard = Some((index, count));
        self
    }

    /// What decides a request's shard (default [`ShardBy::Host`]: every URL of a host in one
    /// shard).
    pub fn shard_by(mut self, by: ShardBy) -> Self {
        self.shard_by = by;
        self
    }

    /// Share `per_host`, `limit`, `rate` and `delay` with every process that names the same
    /// Redis (`redis://host:port/db`) and [`Builder::redis_prefix`]: together they never
    /// exceed them. Slots are leases taken atomically (one Lua script), released when a
    /// request ends, renewed while it runs, and expired after [`Builder::redis_lease`] if
    /// their process died. `build` fails when Redis does not answer.
    pub fn redis(mut self, url: &str) -> Self {
        self.redis = Some(url.to_string());
        self
    }

    /// The namespace of the shared limits' keys (default `octopus`).
    pub fn redis_prefix(mut self, prefix: &str) -> Self {
        self.redis_prefix = prefix.to_string();
        self
    }

    /// How long a slot stays taken after its process died (default 30 s; renewed every third
    /// of it while the request runs).
    pub fn redis_lease(mut self, lease: Duration) -> Self {
        self.redis_lease = lease;
        self
    }

    /// How long Redis may stay unreachable during a run (limited requests wait meanwhile)
    /// before the run is stopped (default 60 s; [`crate::Stats::limiter_lost`]).
    pub fn redis_outage(mut self, outage: Duration) -> Self {
        self.redis_outage = outage;
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
        let shared = match &settings.shared {
            Some(shared) => Some(
                SharedLimits::connect(shared.clone())
                    .map_err(|e| Error::setting(Setting::Redis, mask_userinfo(&shared.url), e))?,
            ),
            None => None,
        };
        let engine = crate::run::Engine::start(settings, client, shared)?;
        Ok(Octopus::from_engine(engine))
    }
}
