//! `Builder`: every setting of an `Octopus`, declared once each in `table.rs` (field,
//! default, setter, name, own check; the macro is `declare.rs`, the checks `checks.rs`),
//! the setters that take more than one value here, `validate.rs` turning them into the
//! engine's `Settings`, and `build`: the open-file limit (`fdlimit.rs`), the HTTP client
//! and the engine. What can go wrong on the way is `error.rs`'s `Error`.

#[macro_use]
mod declare;
pub(crate) mod by_name;
pub(crate) mod checks;
pub(crate) mod error;
mod fdlimit;
pub(crate) mod table;
mod validate;

use std::net::{IpAddr, SocketAddr};

use crate::http::Client;
use crate::input::mask_userinfo;
use crate::run::Octopus;
use crate::shared::SharedLimits;
pub use by_name::SettingValue;
pub use error::Error;
pub use table::{Builder, Setting};
pub(crate) use validate::checked_header;

impl Octopus {
    /// Settings for a new `Octopus`, starting from [`defaults`](crate::defaults).
    pub fn builder() -> Builder {
        Builder::default()
    }
}

/// The setters that take more than one value, or add to a list.
impl Builder {
    /// An extra request header (repeatable). `Authorization`, `Cookie` and
    /// `Proxy-Authorization` are dropped when a redirect leaves the URL's origin.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.header.push((name.to_string(), value.to_string()));
        self
    }

    /// Present this client certificate to servers that ask for one (mutual TLS): the chain
    /// in `certs`, its private key in `key` (PEM; the same text may hold both).
    pub fn client_cert_pem(mut self, certs: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        self.client_cert_pem = Some((certs.into(), key.into()));
        self
    }

    /// Ask the name server at `addr` (port 53 unless given) instead of those of
    /// `/etc/resolv.conf` (repeatable; asked in turn), like curl's `--dns-servers`.
    /// `/etc/hosts` and [`Builder::resolve`] still come first.
    pub fn dns_server(mut self, addr: SocketAddr) -> Self {
        self.dns_server.push(addr);
        self
    }

    /// Spread requests over these proxies (see [`Builder::proxy_pick`]); each as
    /// [`Builder::proxy`] reads it. Replaces any list given before.
    pub fn proxies<I, S>(mut self, proxies: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.proxies = proxies
            .into_iter()
            .map(|p| p.as_ref().to_string())
            .collect();
        self
    }

    /// Connect to `addr` for `host`:`port` instead of resolving `host` (like curl's `--resolve`).
    pub fn resolve(mut self, host: &str, port: u16, addr: IpAddr) -> Self {
        self.resolve.push((host.to_string(), port, addr));
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

    /// The namespace of the shared limits' keys (not empty; default
    /// [`defaults::REDIS_PREFIX`](crate::defaults::REDIS_PREFIX)).
    pub fn redis_prefix(mut self, prefix: &str) -> Self {
        self.redis_prefix = prefix.to_string();
        self
    }

    /// At most `n` requests in flight to URLs starting with `prefix` (repeatable; the first
    /// matching prefix applies). This is the original octopus's limiter.
    pub fn limit(mut self, prefix: &str, n: usize) -> Self {
        self.limit.push((prefix.to_string(), n));
        self
    }

    /// These settings for a crawl's robots.txt files and sitemaps: bodies kept, no links
    /// read, nothing saved or archived (the pages' engine does that, to the same files).
    pub(crate) fn for_files(mut self) -> Builder {
        self.keep_bodies = true;
        self.links = false;
        self.save_to = None;
        self.warc = None;
        self.warc_max_size = None;
        self
    }

    /// Whether a shard is set (a crawl refuses it).
    pub(crate) fn sharded(&self) -> Option<(u64, u64)> {
        self.shard
    }

    /// The delay between two requests to a host (a shared crawl keeps it across processes).
    pub(crate) fn delay_set(&self) -> Option<std::time::Duration> {
        self.delay
    }

    /// The concurrency set (a crawl sizes its window by it).
    pub(crate) fn concurrency_set(&self) -> usize {
        self.concurrency
    }

    /// Check every setting, make room in the open-file limit and start the `Octopus`.
    pub fn build(self) -> Result<Octopus, Error> {
        let mut settings = self.settings()?;
        let client = &mut settings.client;
        client.idle_per_shard = fdlimit::ensure_room(settings.concurrency, client.pool_shards)?;
        client.idle_most = client
            .idle_most
            .min(client.idle_per_shard.saturating_mul(client.pool_shards));
        let client = Client::new(&settings.client);
        let shared = match &settings.shared {
            Some(shared) => Some(
                SharedLimits::connect(shared.clone())
                    .map_err(|e| Error::setting(Setting::Redis, mask_userinfo(&shared.url), e))?,
            ),
            None => None,
        };
        crate::run::start(settings, client, shared)
    }
}
