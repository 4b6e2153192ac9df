//! What shapes the requests of an `Octopus`, as the builder validated it: read by the
//! client (`client.rs`) and the archive.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};

use crate::capture::Capture;
use crate::http::connect::trust::{ClientCert, RootCerts};
use crate::http::dns::resolver::ResolveRule;
use crate::http::route::proxy::ProxyRules;
use crate::warc::Warc;

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
    /// What to keep of each final response's body.
    pub capture: Capture,
    /// Keep the final response's headers.
    pub keep_headers: bool,
    /// Where every exchange is archived, if anywhere.
    pub warc: Option<Arc<Warc>>,
    pub insecure: bool,
    /// The certificate authorities trusted when given (`--cacert`); `None`: the system's
    /// (see `trust.rs`).
    pub roots: Option<RootCerts>,
    /// The certificate presented to servers that ask for one (mutual TLS).
    pub client_cert: Option<ClientCert>,
    /// Which proxy each request goes through, if any (the builder reads the environment's
    /// when asked to).
    pub proxies: ProxyRules,
    /// The certificate authorities trusted for `https://` proxies (`--proxy-cacert`);
    /// `None`: those of the origins.
    pub proxy_roots: Option<RootCerts>,
    /// `https://` proxies' certificates are not verified (`--proxy-insecure`).
    pub proxy_insecure: bool,
    /// Plain `http` through an `http://` proxy is tunnelled (`CONNECT`), not sent in
    /// absolute-form.
    pub proxy_tunnel: bool,
    pub resolve: Vec<ResolveRule>,
    /// Name servers asked instead of resolv.conf's (`dns_server`), if any.
    pub dns_servers: Vec<SocketAddr>,
    /// Names looked up at once, at most.
    pub dns_concurrency: usize,
    /// Connection pools, each holding the idle connections of the hosts hashed to it.
    pub pool_shards: usize,
    /// Idle connections kept for reuse in each pool (bounded by the open-file limit).
    pub idle_per_shard: usize,
    /// Idle connections kept for reuse by all the pools together (see `pool::Budget`).
    pub idle_most: usize,
}
