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
//! Invariant: resolution runs on the calling worker thread (inside `blocking::during`) and
//! ends by the request's deadline. ureq's default resolver spawns a thread per request
//! whenever a whole-request timeout is set (measured: ~4x fewer requests per second on
//! loopback); resolving inline lets `--timeout` be a true deadline (`timeout_global`) at no
//! such cost.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;
use ureq::unversioned::transport::time::Duration as UreqDuration;

use super::dns::{Dns, DnsError};

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

impl OctopusResolver {
    /// The addresses of `uri`'s host: an override, a literal address, or the resolver's,
    /// by `deadline`.
    pub fn lookup(
        &self,
        uri: &Uri,
        config: &Config,
        deadline: Instant,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
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
            return Ok(result);
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            result.push(SocketAddr::new(ip, port));
            return Ok(result);
        }
        let found =
            crate::blocking::during(|| self.dns.lookup(host, deadline)).map_err(|e| match e {
                DnsError::Deadline => ureq::Error::Timeout(ureq::Timeout::Global),
                other => ureq::Error::Io(std::io::Error::other(other)),
            })?;
        let found = found.into_iter().map(|ip| SocketAddr::new(ip, port));
        for addr in config.ip_family().keep_wanted(found).take(16) {
            result.push(addr);
        }
        match result.is_empty() {
            true => Err(ureq::Error::Io(std::io::Error::other(DnsError::NoAddress))),
            false => Ok(result),
        }
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
