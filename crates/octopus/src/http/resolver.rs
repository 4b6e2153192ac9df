//! Host-name resolution for ureq and octopus's own exchange: overrides (`--resolve
//! HOST:PORT:ADDR`, the builder's `resolve`), address literals, then octopus's resolver
//! (`dns/`: /etc/hosts, a cache, the name servers).
//!
//! Resolution waits until a connection is made (`socket.rs` calls `lookup`): ureq asks its
//! resolver before every request, before it looks for an idle connection, so a name was
//! looked up (`getaddrinfo`: /etc/hosts, nscd, DNS) on every request even when a kept
//! connection then carried it. When a proxy is configured, ureq's connectors for it need
//! the addresses from ureq's call, which therefore still resolves.
//!
//! Invariant: resolution ends by the request's deadline. A direct exchange's lookup
//! waits on no thread (`begin`, then `resume` from the waiting set); ureq's (through a
//! proxy) waits on its worker (`lookup`, inside `blocking::during`). ureq's default resolver spawns a thread per request
//! whenever a whole-request timeout is set (measured: ~4x fewer requests per second on
//! loopback); resolving inline lets `--timeout` be a true deadline (`timeout_global`) at no
//! such cost.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;
use ureq::unversioned::transport::time::Duration as UreqDuration;

use super::dns::{Dns, DnsError, Looked, Lookup};

/// One override: connections to `host:port` (host in lower case) go to `addr` instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResolveRule {
    pub host: String,
    pub port: u16,
    pub addr: IpAddr,
}

#[derive(Debug, Clone)]
pub(crate) struct OctopusResolver {
    overrides: HashMap<(String, u16), SocketAddr>,
    dns: Arc<Dns>,
}

impl OctopusResolver {
    pub fn new(rules: &[ResolveRule], dns: Arc<Dns>) -> Self {
        let overrides = rules
            .iter()
            .map(|r| ((r.host.clone(), r.port), SocketAddr::new(r.addr, r.port)))
            .collect();
        OctopusResolver { overrides, dns }
    }
}

/// When `timeout` (ureq's, relative) ends.
pub(crate) fn deadline_of(timeout: &NextTimeout) -> Instant {
    let far = Instant::now() + Duration::from_secs(365 * 24 * 3600);
    match timeout.after {
        UreqDuration::Exact(after) => Instant::now().checked_add(after).unwrap_or(far),
        _ => far,
    }
}

impl Resolver for OctopusResolver {
    /// Nothing yet unless a proxy is configured: the connection, if one has to be made,
    /// looks the name up (see the module's documentation).
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        if config.proxy().is_some() {
            self.lookup(uri, config, deadline_of(&timeout))
        } else {
            Ok(self.empty())
        }
    }
}

/// What resolving a host came to so far. Returned by value and taken apart at once.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Resolution {
    /// Where to connect.
    Ready(ResolvedSocketAddrs),
    /// A lookup to wait for (`Resolving::watch`, `Resolving::deadline`), then `resume`.
    Waiting(Resolving),
}

/// A host's lookup under way, held by no thread while it waits.
#[derive(Debug)]
pub(crate) struct Resolving {
    lookup: Lookup,
    port: u16,
}

impl Resolving {
    /// The descriptor to wait on, and whether it was waited on before.
    pub fn watch(&mut self) -> (RawFd, bool) {
        self.lookup.watch()
    }

    /// When the wait must end, for a request that must end by `deadline`.
    pub fn deadline(&self, deadline: Instant) -> Instant {
        self.lookup.deadline(deadline)
    }
}

impl OctopusResolver {
    /// The addresses of `uri`'s host: an override, a literal address, or the resolver's,
    /// by `deadline`, waiting on this thread.
    pub fn lookup(
        &self,
        uri: &Uri,
        config: &Config,
        deadline: Instant,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let mut resolution = self.begin(uri, config, deadline)?;
        loop {
            match resolution {
                Resolution::Ready(addrs) => return Ok(addrs),
                Resolution::Waiting(resolving) => {
                    resolution = self.resume(resolving, config, deadline)?;
                }
            }
        }
    }

    /// Begin resolving `uri`'s host: an override, a literal address, a name known, or a
    /// lookup to wait for.
    pub fn begin(
        &self,
        uri: &Uri,
        config: &Config,
        deadline: Instant,
    ) -> Result<Resolution, ureq::Error> {
        let missing = || ureq::Error::BadUri(format!("{uri} has no host"));
        let authority = uri.authority().ok_or_else(missing)?;
        let port = authority
            .port_u16()
            .or_else(|| match uri.scheme_str() {
                Some("https") => Some(443),
                Some("socks4" | "socks4a" | "socks5" | "socks5h") => Some(1080),
                _ => Some(80),
            })
            .ok_or_else(missing)?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let mut result = self.empty();

        if !self.overrides.is_empty()
            && let Some(addr) = self.overrides.get(&(host.to_ascii_lowercase(), port))
        {
            result.push(*addr);
            return Ok(Resolution::Ready(result));
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            result.push(SocketAddr::new(ip, port));
            return Ok(Resolution::Ready(result));
        }
        let looked = self.dns.begin(host, deadline).map_err(dns_error)?;
        self.resolved(looked, port, config)
    }

    /// Go on with `resolving` once its descriptor is readable or its deadline passed.
    pub fn resume(
        &self,
        resolving: Resolving,
        config: &Config,
        deadline: Instant,
    ) -> Result<Resolution, ureq::Error> {
        let Resolving { lookup, port } = resolving;
        let looked = self.dns.resume(lookup, deadline).map_err(dns_error)?;
        self.resolved(looked, port, config)
    }

    /// Where a lookup `looked` leads: the addresses found (of the families wanted), or a
    /// wait.
    fn resolved(
        &self,
        looked: Looked,
        port: u16,
        config: &Config,
    ) -> Result<Resolution, ureq::Error> {
        let found = match looked {
            Looked::Found(found) => found,
            Looked::Wait(lookup) => return Ok(Resolution::Waiting(Resolving { lookup, port })),
        };
        let mut result = self.empty();
        let found = found.into_iter().map(|ip| SocketAddr::new(ip, port));
        for addr in config.ip_family().keep_wanted(found).take(16) {
            result.push(addr);
        }
        match result.is_empty() {
            true => Err(ureq::Error::Io(std::io::Error::other(DnsError::NoAddress))),
            false => Ok(Resolution::Ready(result)),
        }
    }
}

/// A lookup's failure as ureq's error (`classify.rs` finds the `DnsError` in it).
fn dns_error(e: DnsError) -> ureq::Error {
    match e {
        DnsError::Deadline => ureq::Error::Timeout(ureq::Timeout::Global),
        other => ureq::Error::Io(std::io::Error::other(other)),
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn resolver() -> OctopusResolver {
        let rule = ResolveRule {
            host: "site.test".into(),
            port: 8080,
            addr: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9)),
        };
        OctopusResolver::new(&[rule], Arc::new(Dns::new(&[], 1)))
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    fn uri(text: &str) -> Uri {
        text.parse().unwrap()
    }

    #[test]
    fn without_a_proxy_names_are_left_for_the_connection_to_look_up() {
        let config = ureq::Agent::config_builder().build();
        let r = resolver();
        let asked = r.resolve(
            &uri("http://site.test:8080/"),
            &config,
            NextTimeout::default(),
        );
        assert!(asked.unwrap().is_empty());
        let looked_up = r
            .lookup(&uri("http://SITE.test:8080/x"), &config, soon())
            .unwrap();
        assert_eq!(looked_up.to_vec(), vec!["127.0.0.9:8080".parse().unwrap()]);
        let literal = r
            .lookup(&uri("http://127.0.0.3/"), &config, soon())
            .unwrap();
        assert_eq!(literal.to_vec(), vec!["127.0.0.3:80".parse().unwrap()]);
    }

    #[test]
    fn with_a_proxy_names_are_resolved_when_ureq_asks() {
        let proxy = ureq::Proxy::new("socks4://127.0.0.1:9").unwrap();
        let config = ureq::Agent::config_builder().proxy(Some(proxy)).build();
        let asked = resolver()
            .resolve(
                &uri("http://site.test:8080/"),
                &config,
                NextTimeout::default(),
            )
            .unwrap();
        assert_eq!(asked.to_vec(), vec!["127.0.0.9:8080".parse().unwrap()]);
    }
}
