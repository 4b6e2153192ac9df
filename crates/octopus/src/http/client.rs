//! The client: build the ureq agents (for proxies) and the pools and TLS configuration of
//! octopus's own exchange (`http` and `https` sent directly, `exchange.rs`) from validated
//! settings, send
//! one request of a redirect chain and wait for its answer here (`send`, for what cannot
//! wait on no thread), build request heads, classify any failure. The chain itself, with
//! the hops that wait on no thread, is `chain.rs`'s; reading bodies is `receive.rs`'s.
//!
//! Invariants: every ureq error maps to exactly one `ErrorKind`; no thread is spawned per
//! request (see `resolver.rs`); each request is bounded by what is left of the fetch's
//! `timeout` (ureq's `timeout_global` on later tries and hops).

use std::hash::BuildHasher;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use ureq::Agent;
use ureq::http::{self, HeaderName, HeaderValue};
use ureq::tls::{RootCerts, TlsConfig};
use url::Url;

use super::classify::{classify, is_stale};
use super::connector::agents;
use super::decode::ACCEPT_ENCODING;
use super::dial::Route;
use super::dns::Dns;
use super::exchange::{Answered, exchange};
use super::head::{Outgoing, basic_credentials};
use super::pool::{Budget, Parked, noting_connections};
use super::proxy::Via;
use super::redirect::Hop;
use super::resolver::OctopusResolver;
pub(crate) use super::settings::ClientSettings;
use super::socket::Socket;
use super::tls::client_config;
use super::trust::system_roots;
use crate::failure::{ErrorKind, Failure};
use crate::input::mask_userinfo;
use crate::timings::Timings;

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
    /// For `http` URLs through a proxy: one agent (and connection pool) per shard; a host
    /// always uses the same one.
    plain: Vec<Agent>,
    /// For `http` URLs sent directly (`exchange.rs`): the idle connections, one pool per
    /// shard as for the agents.
    direct: Vec<Arc<Parked<Socket>>>,
    /// Looks up the hosts of direct exchanges (as the agents' connectors do).
    resolver: OctopusResolver,
    /// The same for `https` URLs through a proxy, made at the first one: a run without TLS
    /// reads no certificate store.
    secure: OnceLock<Result<Vec<Agent>, Failure>>,
    /// The TLS configuration of `https` URLs sent directly (`tls.rs`), made at the first.
    tls: OnceLock<Result<Arc<rustls::ClientConfig>, Failure>>,
    pub(super) cfg: ClientSettings,
    /// Headers every request gets unless the settings give them: set here rather than by
    /// ureq, so that an archived request shows every header sent (ureq adds only `Host`,
    /// and the body's length).
    defaults: Vec<(HeaderName, HeaderValue)>,
}

impl Client {
    /// A client for `cfg`, with its agents for `http` URLs.
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
            plain: agents(cfg, TlsConfig::default(), &resolver),
            direct: (0..shards)
                .map(|_| {
                    let budget = Arc::clone(&budget);
                    Arc::new(Parked::new(cfg.idle_per_shard, cfg.idle_per_shard, budget))
                })
                .collect(),
            resolver,
            secure: OnceLock::new(),
            tls: OnceLock::new(),
            cfg: cfg.clone(),
            // The user agent was checked by the builder; a value that is not a header value
            // is left to ureq's default.
            defaults: defaults
                .into_iter()
                .filter_map(|(name, value)| Some((name, HeaderValue::from_str(value).ok()?)))
                .collect(),
        }
    }

    /// The certificate authorities trusted: none needed when nothing is verified, those
    /// given, or the system's (read now).
    fn roots(&self) -> Result<RootCerts, Failure> {
        Ok(match (&self.cfg.roots, self.cfg.insecure) {
            (_, true) => RootCerts::WebPki,
            (Some(given), false) => given.clone(),
            (None, false) => system_roots().map_err(|e| Failure::new(ErrorKind::Tls, e))?,
        })
    }

    /// The agents for `https` URLs through a proxy, made with the trusted roots on first
    /// use.
    fn secure_agents(&self) -> Result<&[Agent], Failure> {
        let made = self.secure.get_or_init(|| {
            let cfg = &self.cfg;
            let tls = TlsConfig::builder()
                .disable_verification(cfg.insecure)
                .root_certs(self.roots()?)
                .client_cert(cfg.client_cert.clone())
                .build();
            Ok(agents(cfg, tls, &self.resolver))
        });
        made.as_deref().map_err(Clone::clone)
    }

    /// The TLS configuration of `https` URLs sent directly, made on first use.
    fn tls_config(&self) -> Result<&Arc<rustls::ClientConfig>, Failure> {
        let made = self.tls.get_or_init(|| {
            let cfg = &self.cfg;
            client_config(&self.roots()?, cfg.insecure, cfg.client_cert.as_ref())
                .map_err(|e| Failure::new(ErrorKind::Tls, e))
        });
        made.as_ref().map_err(Clone::clone)
    }

    fn agent_for(&self, url: &Url) -> Result<&Agent, Failure> {
        let agents = match url.scheme() {
            "https" => self.secure_agents()?,
            _ => &self.plain,
        };
        agents
            .get(shard(url, agents.len()))
            .ok_or_else(|| Failure::new(ErrorKind::Io, "no connection pool"))
    }

    /// How a request to `url` goes out on octopus's own exchange: `http` or `https` with no
    /// proxy, `http` through an `http://` proxy (`proxy.rs`); `None` for ureq's (the other
    /// proxies). `Err`: no TLS configuration
    /// could be made (the system's certificates unreadable).
    pub(super) fn direct_route(
        &self,
        url: &Url,
        proxy: Option<&str>,
    ) -> Result<Option<Route<'_>>, Failure> {
        let via = match proxy {
            None => None,
            Some(_) if self.cfg.proxy_tunnel => return Ok(None),
            Some(_) => match self.cfg.proxy.as_ref().and_then(|p| Via::of(p, url)) {
                Some(via) => Some(via),
                None => return Ok(None),
            },
        };
        let tls = match url.scheme() {
            "http" => None,
            "https" => Some(self.tls_config()?),
            _ => return Ok(None),
        };
        let (Some(parked), Some(agent)) = (
            self.direct.get(shard(url, self.direct.len())),
            self.plain.first(),
        ) else {
            return Ok(None);
        };
        Ok(Some(Route {
            parked,
            // The plain agents all have the same configuration.
            config: agent.config(),
            resolver: &self.resolver,
            connect_timeout: self.cfg.connect_timeout,
            tls,
            via,
        }))
    }

    /// Send one request of the chain (through `proxy`, the hop's, as `proxy_for` gives
    /// it); hops after the first get what is left of the deadline. A request of an
    /// idempotent method that fails on a pooled connection the server had already closed is
    /// sent again (as curl and Go's client do); each such failure uses up one pooled
    /// connection, and one on a new connection is final.
    pub(super) fn send(
        &self,
        hop: &Hop,
        headers: &[(HeaderName, HeaderValue)],
        body: Option<&[u8]>,
        later_hop: bool,
        deadline: Instant,
        proxy: Option<&str>,
    ) -> Result<Answered, Failure> {
        let way = match self.direct_route(&hop.url, proxy)? {
            Some(route) => {
                // The first hop's URL was checked when it was read.
                if later_hop {
                    sendable(&hop.url, later_hop)?;
                }
                Way::Direct(route)
            }
            None => Way::Ureq(self.agent_for(&hop.url)?),
        };
        let mut budget = later_hop.then(|| deadline.saturating_duration_since(Instant::now()));
        for _ in 0..=self.cfg.idle_per_shard {
            if budget.is_some_and(|left| left.is_zero()) {
                return Err(Failure::new(
                    ErrorKind::Timeout,
                    "deadline passed (timeout)",
                ));
            }
            let (result, connected) = match &way {
                Way::Direct(route) => {
                    let request = Outgoing {
                        method: &hop.method,
                        url: &hop.url,
                        headers: self.request_headers(headers),
                        body,
                    };
                    noting_connections(|| exchange(route, request, deadline))
                }
                Way::Ureq(agent) => {
                    let mut head = self.head(hop, headers, later_hop)?;
                    on_the_wire(&mut head.headers, &hop.url, body);
                    let (result, connected) = noting_connections(|| match body {
                        Some(body) => run(agent, http::Request::from_parts(head, body), budget),
                        None => run(agent, http::Request::from_parts(head, ()), budget),
                    });
                    // Through a proxy nothing is measured.
                    let answered = result.map(|response| Answered {
                        response,
                        timings: Timings::default(),
                    });
                    (answered, connected)
                }
            };
            match result {
                Err(e) if !connected && is_stale(&e) && hop.method.is_idempotent() => {
                    budget = Some(deadline.saturating_duration_since(Instant::now()));
                }
                Err(e) => return Err(classify(&e, proxy)),
                Ok(response) => return Ok(response),
            }
        }
        Err(Failure::new(
            ErrorKind::Io,
            "every pooled connection to the host had been closed by the server",
        ))
    }

    /// The request head for `hop`. The first hop's URL was checked sendable when it was
    /// parsed; a redirect's target that cannot be sent is a `redirect` failure.
    pub(super) fn head(
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

    /// The headers a request carries: those given, then each default that is not given.
    pub(super) fn request_headers<'a>(
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

    /// The proxy a request to `url` goes through, as shown in messages.
    pub(super) fn proxy_for(&self, url: &Url) -> Option<String> {
        let proxy = self.cfg.proxy.as_ref()?;
        let uri = url.as_str().parse::<http::Uri>().ok()?;
        (!proxy.is_no_proxy(&uri)).then(|| mask_userinfo(&proxy.uri().to_string()))
    }
}

/// What a request sent through ureq carries besides its head as archived, as octopus's
/// own exchange writes it: `Authorization` from the URL's credentials, percent-decoded
/// (ureq would send them as written), and `Content-Length: 0` for an empty body.
fn on_the_wire(headers: &mut http::HeaderMap, url: &Url, body: Option<&[u8]>) {
    if !headers.contains_key(http::header::AUTHORIZATION)
        && let Some(basic) = basic_credentials(url)
    {
        headers.insert(http::header::AUTHORIZATION, basic);
    }
    if body.is_some_and(<[u8]>::is_empty) && !headers.contains_key(http::header::CONTENT_LENGTH) {
        headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    }
}

/// How a request goes out: on octopus's own exchange, or on a ureq agent.
enum Way<'a> {
    Direct(Route<'a>),
    Ureq(&'a Agent),
}

/// `url` as a request target; one that cannot be sent is a `redirect` failure when a
/// redirect led to it, else an `invalid_url` one.
pub(super) fn sendable(url: &Url, later_hop: bool) -> Result<http::Uri, Failure> {
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

/// Run one request, with `budget` as its whole deadline when given (later tries).
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
