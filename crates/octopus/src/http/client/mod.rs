//! The client: the pools and TLS configurations of octopus's exchange made from validated
//! settings; which proxy a request goes through and how (`route`); one request of a
//! redirect chain sent and its answer waited for here (`send`, for what cannot wait on no
//! thread: a request again after a kept connection was found closed); request headers;
//! failures classified. The chain itself, with the hops that wait on no thread, is
//! `chain.rs`'s; reading bodies is `receive.rs`'s.
//!
//! Invariants: every error maps to exactly one `ErrorKind`; no thread is spawned per
//! request; each request is bounded by what is left of the fetch's `timeout`.
//!
//! The request chain, the top layer of `http/`: this client (`mod.rs`), the redirect chain
//! hop by hop (`chain.rs`; what waits on no thread, `pending.rs`) with its redirects (`redirect.rs`), what came back read, decoded
//! and archived (`receive.rs`, `body.rs`, `decode.rs`), failures classified
//! (`classify.rs`), proxies chosen and a pool's failures moved to another
//! (`proxied.rs`), and the settings it runs with (`settings.rs`).

pub(crate) mod body;
pub(crate) mod chain;
pub(crate) mod classify;
pub(crate) mod decode;
pub(crate) mod dispatch;
pub(crate) mod follow;
pub(crate) mod hops;
pub(crate) mod pending;
pub(crate) mod proxied;
pub(crate) mod receive;
pub(crate) mod redirect;
pub(crate) mod settings;

use std::hash::BuildHasher;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use http::{self, HeaderName, HeaderValue};
use url::Url;

use crate::failure::{ErrorKind, Failure};
use crate::http::client::classify::{classify, is_stale, short_of_descriptors};
use crate::http::client::decode::ACCEPT_ENCODING;
use crate::http::client::dispatch::{Answered, H2, exchange};
use crate::http::client::redirect::Hop;
pub(crate) use crate::http::client::settings::ClientSettings;
use crate::http::client::settings::HttpVersion;
use crate::http::connect::pool::{Budget, Parked, noting_connections};
use crate::http::connect::socket::Socket;
use crate::http::connect::trust::client_config;
use crate::http::connect::trust::{RootCerts, system_roots};
use crate::http::dns::Dns;
use crate::http::dns::resolver::OctopusResolver;
use crate::http::error::{Error, Step, Timeout};
use crate::http::h1::head::Outgoing;
use crate::http::h2::pool::Multiplexed;
use crate::http::route::dial::Route;
use crate::http::route::made::Counts;
use crate::http::route::proxy::{Form, Proxy, Scheme, Via};

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
    /// The idle connections (`exchange.rs`), one pool per shard: a host always uses the
    /// same one.
    direct: Vec<Arc<Parked<Socket>>>,
    /// The HTTP/2 connections, shared by the requests to each origin.
    multiplexed: Arc<Multiplexed>,
    /// Looks up the hosts (and proxies) connected to.
    resolver: OctopusResolver,
    /// Connections made and requests sent.
    counts: Counts,
    /// The TLS configuration of `https` URLs (`tls.rs`), made at the first: a run without
    /// TLS reads no certificate store.
    tls: OnceLock<Result<Arc<rustls::ClientConfig>, Failure>>,
    /// The same for `https://` proxies (`--proxy-cacert`, `--proxy-insecure`).
    proxy_tls: OnceLock<Result<Arc<rustls::ClientConfig>, Failure>>,
    pub(crate) cfg: ClientSettings,
    /// Headers every request gets unless the settings give them: set here, so that an
    /// archived request shows every header sent (the exchange adds only `Host`,
    /// `Authorization` from the URL, and the body's length).
    defaults: Vec<(HeaderName, HeaderValue)>,
}

impl Client {
    /// A client for `cfg`.
    pub fn new(cfg: &ClientSettings) -> Client {
        let defaults = [
            (http::header::ACCEPT_ENCODING, ACCEPT_ENCODING),
            (http::header::USER_AGENT, cfg.user_agent.as_str()),
            (http::header::ACCEPT, "*/*"),
        ];
        let dns = Arc::new(Dns::new(&cfg.dns_servers, cfg.dns_concurrency));
        let resolver = OctopusResolver::new(&cfg.resolve, dns);
        let shards = cfg.pool_shards.max(1);
        // The pools together keep as many idle connections as one may (see `pool.rs`).
        let budget = Budget::new(cfg.idle_most);
        Client {
            direct: (0..shards)
                .map(|_| {
                    let budget = Arc::clone(&budget);
                    Arc::new(Parked::new(cfg.idle_per_shard, cfg.idle_per_shard, budget))
                })
                .collect(),
            multiplexed: Arc::new(Multiplexed::new(budget)),
            resolver,
            counts: Counts::default(),
            tls: OnceLock::new(),
            proxy_tls: OnceLock::new(),
            cfg: cfg.clone(),
            // The user agent was checked by the builder; a value that is not a header value
            // is not sent.
            defaults: defaults
                .into_iter()
                .filter_map(|(name, value)| Some((name, HeaderValue::from_str(value).ok()?)))
                .collect(),
        }
    }

    /// The certificate authorities trusted: none needed when nothing is verified, those
    /// given, or the system's (read now).
    fn roots(given: Option<&RootCerts>, insecure: bool) -> Result<RootCerts, Failure> {
        Ok(match (given, insecure) {
            (_, true) => RootCerts::Bundled,
            (Some(given), false) => given.clone(),
            (None, false) => system_roots().map_err(|e| Failure::new(ErrorKind::Tls, e))?,
        })
    }

    /// The TLS configuration of `https` URLs, made on first use.
    fn tls_config(&self) -> Result<&Arc<rustls::ClientConfig>, Failure> {
        let made = self.tls.get_or_init(|| {
            let cfg = &self.cfg;
            let roots = Client::roots(cfg.roots.as_ref(), cfg.insecure)?;
            let h2 = cfg.http_version != HttpVersion::Http1;
            client_config(&roots, cfg.insecure, cfg.client_cert.as_ref(), h2)
                .map_err(|e| Failure::new(ErrorKind::Tls, e))
        });
        made.as_ref().map_err(Clone::clone)
    }

    /// The TLS configuration of `https://` proxies, made on first use: the proxy's own
    /// roots when given, else the origins'.
    fn proxy_tls_config(&self) -> Result<&Arc<rustls::ClientConfig>, Failure> {
        let made = self.proxy_tls.get_or_init(|| {
            let cfg = &self.cfg;
            let given = cfg.proxy_roots.as_ref().or(cfg.roots.as_ref());
            let roots = Client::roots(given, cfg.proxy_insecure)?;
            client_config(&roots, cfg.proxy_insecure, None, false)
                .map_err(|e| Failure::new(ErrorKind::Proxy, format!("proxy TLS: {e}")))
        });
        made.as_ref().map_err(Clone::clone)
    }

    /// Connections made so far.
    pub(crate) fn connections(&self) -> u64 {
        self.counts
            .opened
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Requests sent so far.
    pub(crate) fn exchanges(&self) -> u64 {
        self.counts.sent.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How a request to `url` goes out (through `proxy`, as `proxy_for` gives it). `Err`:
    /// no TLS configuration could be made (the system's certificates unreadable), or the
    /// scheme is not one octopus fetches.
    pub(crate) fn route(
        &self,
        url: &Url,
        proxy: Option<&Arc<Proxy>>,
    ) -> Result<Route<'_>, Failure> {
        let tls = match url.scheme() {
            "http" => None,
            "https" => Some(self.tls_config()?),
            other => {
                return Err(Failure::new(
                    ErrorKind::InvalidUrl,
                    format!("{other}: URLs are not fetched (http and https are)"),
                ));
            }
        };
        let via = proxy.map(|proxy| Via::new(proxy, url, self.cfg.proxy_tunnel));
        let proxy_tls = match proxy.is_some_and(|p| p.scheme == Scheme::Https) {
            true => Some(self.proxy_tls_config()?),
            false => None,
        };
        let parked = self
            .direct
            .get(shard(url, self.direct.len()))
            .ok_or_else(|| Failure::new(ErrorKind::Io, "no connection pool"))?;
        let finish_tls = tls.is_some() && self.cfg.http_version != HttpVersion::Http1;
        Ok(Route {
            parked,
            resolver: &self.resolver,
            connect_timeout: self.cfg.connect_timeout,
            finish_tls,
            // HTTP/2 connections are shared across names only when the certificate that
            // vouches for a name was verified, and not through a proxy (nor for an address).
            coalesce: finish_tls
                && self.cfg.coalesce_hosts
                && via.is_none()
                && !self.cfg.insecure
                && matches!(url.host(), Some(url::Host::Domain(_))),
            tls,
            via,
            proxy_tls,
            counts: &self.counts,
        })
    }

    /// How HTTP/2 may be spoken on `route`: over TLS when the server chooses it, on plain
    /// `http` with prior knowledge; never to a proxy that forwards requests (it speaks
    /// HTTP/1.1 to octopus), nor with `--http1.1`.
    pub(crate) fn h2(&self, route: &Route<'_>) -> Option<H2<'_>> {
        let forwarded = route
            .via
            .as_ref()
            .is_some_and(|via| via.form == Form::Forward);
        let assumed = match self.cfg.http_version {
            HttpVersion::Http1 => return None,
            _ if forwarded => return None,
            HttpVersion::Auto => false,
            HttpVersion::Http2PriorKnowledge => route.tls.is_none(),
        };
        (route.tls.is_some() || assumed).then_some(H2 {
            pool: &self.multiplexed,
            assumed,
        })
    }

    /// Send one request of the chain (through `proxy`, the hop's, as `proxy_for` gives
    /// it) and wait for its answer on this thread. A request of an idempotent method that
    /// fails on a pooled connection the server had already closed is sent again (as curl
    /// and Go's client do); each such failure uses up one pooled connection, and one on a
    /// new connection is final.
    pub(crate) fn send(
        &self,
        hop: &Hop,
        headers: &[(HeaderName, HeaderValue)],
        body: Option<&[u8]>,
        later_hop: bool,
        deadline: Instant,
        proxy: Option<&Arc<Proxy>>,
    ) -> Result<Answered, Failure> {
        let route = self.route(&hop.url, proxy)?;
        // The first hop's URL was checked when it was read.
        if later_hop {
            sendable(&hop.url, later_hop)?;
        }
        let shown = proxy.map(ToString::to_string);
        // The last refusal, to say if every try was refused.
        let mut refused = None;
        for _ in 0..=self.cfg.idle_per_shard {
            if Instant::now() >= deadline {
                let late = Timeout::request(Step::Send);
                return Err(Failure::new(ErrorKind::Timeout, late.to_string()));
            }
            let request = Outgoing {
                method: &hop.method,
                url: &hop.url,
                headers: self.request_headers(headers),
                body,
            };
            let h2 = self.h2(&route);
            let (result, connected) =
                noting_connections(|| exchange(&route, h2, request, deadline));
            match result {
                Err(e) if !connected && is_stale(&e) && hop.method.is_idempotent() => {}
                // Not taken by the server (HTTP/2: refused, a GOAWAY, a 421 on a connection
                // made for another name): sent again, on another connection.
                Err(e @ Error::Refused(_)) => refused = Some(e),
                Err(e) if short_of_descriptors(&e) => self.make_room(&e),
                Err(e) => return Err(classify(&e, shown.as_deref())),
                Ok(response) => return Ok(response),
            }
        }
        Err(match refused {
            Some(e) => classify(&e, shown.as_deref()),
            None => Failure::new(
                ErrorKind::Io,
                "every pooled connection to the host had been closed by the server",
            ),
        })
    }

    /// The request head for `hop`, as archived. The first hop's URL was checked sendable
    /// when it was parsed; a redirect's target that cannot be sent is a `redirect` failure.
    pub(crate) fn head(
        &self,
        hop: &Hop,
        headers: &[(HeaderName, HeaderValue)],
        later_hop: bool,
    ) -> Result<http::request::Parts, Failure> {
        let uri = sendable(&hop.url, later_hop)?;
        let (mut head, ()) = http::Request::new(()).into_parts();
        head.method = hop.method.clone();
        head.uri = uri;
        for (name, value) in self.request_headers(headers) {
            head.headers.append(name, value.clone());
        }
        Ok(head)
    }

    /// When `e` says no descriptor was left, close some idle connections (one per pool of
    /// HTTP/1.1 ones, as many HTTP/2 ones) so that the request, sent again, finds one:
    /// not all of them, which the requests to come would have to make again.
    pub(crate) fn make_room(&self, e: &Error) {
        if short_of_descriptors(e) {
            for pool in &self.direct {
                pool.close_one();
                self.multiplexed.close_idle();
            }
        }
    }

    /// The headers a request carries: those given, then each default that is not given.
    pub(crate) fn request_headers<'a>(
        &'a self,
        given: &'a [(HeaderName, HeaderValue)],
    ) -> impl Iterator<Item = (&'a HeaderName, &'a HeaderValue)> + Clone {
        let defaults = self
            .defaults
            .iter()
            .filter(move |(name, _)| !given.iter().any(|(g, _)| g == name));
        given
            .iter()
            .chain(defaults)
            .map(|(name, value)| (name, value))
    }
}

/// `url` as a request target; one that cannot be sent is a `redirect` failure when a
/// redirect led to it, else an `invalid_url` one.
pub(crate) fn sendable(url: &Url, later_hop: bool) -> Result<http::Uri, Failure> {
    url.as_str().parse::<http::Uri>().map_err(|e| {
        let kind = if later_hop {
            ErrorKind::Redirect
        } else {
            ErrorKind::InvalidUrl
        };
        Failure::new(kind, format!("URL cannot be sent: {e}"))
    })
}

/// The pool shard of `url`'s host among `shards`: a host always uses the same one.
fn shard(url: &Url, shards: usize) -> usize {
    if shards <= 1 {
        return 0;
    }
    let hash = foldhash::fast::FixedState::default()
        .hash_one((url.host_str(), url.port_or_known_default()));
    hash as usize % shards
}
