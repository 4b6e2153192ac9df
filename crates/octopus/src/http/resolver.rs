//! Host-name resolution for ureq: overrides (`--resolve HOST:PORT:ADDR`, the builder's
//! `resolve`), then the system resolver.
//!
//! Resolution waits until a connection is made (`socket.rs` calls `lookup`): ureq asks its
//! resolver before every request, before it looks for an idle connection, so a name was
//! looked up (`getaddrinfo`: /etc/hosts, nscd, DNS) on every request even when a kept
//! connection then carried it. When a proxy is configured, ureq's connectors for it need
//! the addresses from ureq's call, which therefore still resolves.
//!
//! Invariant: resolution runs on the calling worker thread. ureq's default resolver spawns a
//! thread per request whenever a whole-request timeout is set (measured: ~4x fewer requests
//! per second on loopback); resolving inline lets `--timeout` be a true deadline
//! (`timeout_global`) at no such cost. The system lookup itself is bounded by the resolver's
//! own timeouts (resolv.conf), not by `--timeout`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// One override: connections to `host:port` (host in lower case) go to `addr` instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResolveRule {
    pub host: String,
    pub port: u16,
    pub addr: IpAddr,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct OctopusResolver {
    overrides: HashMap<(String, u16), SocketAddr>,
}

impl OctopusResolver {
    pub fn new(rules: &[ResolveRule]) -> Self {
        let overrides = rules
            .iter()
            .map(|r| ((r.host.clone(), r.port), SocketAddr::new(r.addr, r.port)))
            .collect();
        OctopusResolver { overrides }
    }
}

impl Resolver for OctopusResolver {
    /// Nothing yet unless a proxy is configured: the connection, if one has to be made,
    /// looks the name up (see the module's documentation).
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        if config.proxy().is_some() {
            self.lookup(uri, config)
        } else {
            Ok(self.empty())
        }
    }
}

impl OctopusResolver {
    /// The addresses of `uri`'s host: an override, a literal address, or the system's.
    pub fn lookup(&self, uri: &Uri, config: &Config) -> Result<ResolvedSocketAddrs, ureq::Error> {
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
        let found = crate::blocking::during(|| (host, port).to_socket_addrs())
            .map_err(|_| ureq::Error::HostNotFound)?;
        for addr in config.ip_family().keep_wanted(found).take(16) {
            result.push(addr);
        }
        if result.is_empty() {
            Err(ureq::Error::HostNotFound)
        } else {
            Ok(result)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn resolver() -> OctopusResolver {
        OctopusResolver::new(&[ResolveRule {
            host: "site.test".into(),
            port: 8080,
            addr: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9)),
        }])
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
        let looked_up = r.lookup(&uri("http://SITE.test:8080/x"), &config).unwrap();
        assert_eq!(looked_up.to_vec(), vec!["127.0.0.9:8080".parse().unwrap()]);
        let literal = r.lookup(&uri("http://127.0.0.3/"), &config).unwrap();
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
