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

/// Which HTTP versions requests speak ([`crate::Builder::http_version`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HttpVersion {
    /// HTTP/2 where the server chooses it in the TLS handshake (ALPN offers `h2`, then
    /// `http/1.1`), HTTP/1.1 otherwise and for plain `http` (as curl).
    #[default]
    Auto,
    /// HTTP/1.1 only (curl's `--http1.1`).
    Http1,
    /// HTTP/2 for plain `http` too, without asking (h2c, curl's `--http2-prior-knowledge`):
    /// for servers known to speak it; `https` as `Auto`.
    Http2PriorKnowledge,
}

impl HttpVersion {
    /// Its name: `auto`, `1.1`, `2-prior-knowledge`.
    pub fn name(self) -> &'static str {
        match self {
            HttpVersion::Auto => "auto",
            HttpVersion::Http1 => "1.1",
            HttpVersion::Http2PriorKnowledge => "2-prior-knowledge",
        }
    }
}

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
    /// Which HTTP versions requests speak.
    pub http_version: HttpVersion,
    /// HTTP/2 connections are shared across host names (`h2/coalesce.rs`).
    pub coalesce_hosts: bool,
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
