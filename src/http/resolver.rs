//! Host-name resolution for ureq: overrides (`--resolve HOST:PORT:ADDR`, the builder's
//! `resolve`), then the system resolver.
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

#[derive(Debug, Default)]
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
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        _timeout: NextTimeout,
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
        let found = (host, port)
            .to_socket_addrs()
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
