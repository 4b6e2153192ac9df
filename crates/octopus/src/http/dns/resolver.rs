//! Host-name resolution for every connection: overrides (`--resolve HOST:PORT:ADDR`, the
//! builder's `resolve`), address literals, then octopus's resolver (`dns/`: /etc/hosts, a
//! cache, the name servers).
//!
//! A name is looked up only when a connection has to be made (`dial.rs`): a request that
//! finds an idle connection asks nothing (ureq asked its resolver before every request,
//! so a name was looked up even when a kept connection then carried it).
//!
//! Invariant: resolution ends by the request's deadline, and waits on no thread (`begin`,
//! then `resume` from the waiting set).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::Instant;

use url::{Host, Url};

use crate::http::dns::{Dns, DnsError, Looked, Lookup};
use crate::http::error::{Error, Step, Timeout};

/// The most addresses of a host tried.
const MOST_ADDRESSES: usize = 16;

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

/// What resolving a host came to so far. Returned by value and taken apart at once.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Resolution {
    /// Where to connect.
    Ready(Vec<SocketAddr>),
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
    /// The addresses of `url`'s host, by `deadline`, waiting on this thread.
    #[cfg(test)]
    pub fn lookup(&self, url: &Url, deadline: Instant) -> Result<Vec<SocketAddr>, Error> {
        let mut resolution = self.begin(url, deadline)?;
        loop {
            match resolution {
                Resolution::Ready(addrs) => return Ok(addrs),
                Resolution::Waiting(mut resolving) => {
                    let (fd, _) = resolving.watch();
                    let until = resolving.deadline(deadline);
                    crate::http::wire::wait_watch(crate::http::wire::Watch::read(fd, false), until);
                    resolution = self.resume(resolving, deadline)?;
                }
            }
        }
    }

    /// Begin resolving `url`'s host: an override, a literal address, a name known, or a
    /// lookup to wait for.
    pub fn begin(&self, url: &Url, deadline: Instant) -> Result<Resolution, Error> {
        let port = url.port_or_known_default().unwrap_or(80);
        let host = match url.host() {
            Some(Host::Domain(name)) => name,
            Some(Host::Ipv4(ip)) => return Ok(Resolution::Ready(vec![(ip, port).into()])),
            Some(Host::Ipv6(ip)) => return Ok(Resolution::Ready(vec![(ip, port).into()])),
            None => return Err(Error::BadUri(format!("{url} has no host"))),
        };
        if !self.overrides.is_empty()
            && let Some(addr) = self.overrides.get(&(host.to_ascii_lowercase(), port))
        {
            return Ok(Resolution::Ready(vec![*addr]));
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(Resolution::Ready(vec![SocketAddr::new(ip, port)]));
        }
        let looked = self.dns.begin(host, deadline).map_err(dns_error)?;
        resolved(looked, port)
    }

    /// Go on with `resolving` once its descriptor is readable or its deadline passed.
    pub fn resume(&self, resolving: Resolving, deadline: Instant) -> Result<Resolution, Error> {
        let Resolving { lookup, port } = resolving;
        let looked = self.dns.resume(lookup, deadline).map_err(dns_error)?;
        resolved(looked, port)
    }
}

/// Where a lookup `looked` leads: the addresses found, or a wait.
fn resolved(looked: Looked, port: u16) -> Result<Resolution, Error> {
    let found = match looked {
        Looked::Found(found) => found,
        Looked::Wait(lookup) => return Ok(Resolution::Waiting(Resolving { lookup, port })),
    };
    let addrs: Vec<SocketAddr> = found
        .into_iter()
        .take(MOST_ADDRESSES)
        .map(|ip| SocketAddr::new(ip, port))
        .collect();
    match addrs.is_empty() {
        true => Err(Error::Io(std::io::Error::other(DnsError::NoAddress))),
        false => Ok(Resolution::Ready(addrs)),
    }
}

/// A lookup's failure as an error (`classify.rs` finds the `DnsError` in it).
fn dns_error(e: DnsError) -> Error {
    match e {
        DnsError::Deadline => Timeout::request(Step::Lookup),
        other => Error::Io(std::io::Error::other(other)),
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::Duration;

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

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn overrides_and_literals_are_the_addresses() {
        let r = resolver();
        let looked_up = r.lookup(&url("http://SITE.test:8080/x"), soon()).unwrap();
        assert_eq!(looked_up, vec!["127.0.0.9:8080".parse().unwrap()]);
        let literal = r.lookup(&url("http://127.0.0.3/"), soon()).unwrap();
        assert_eq!(literal, vec!["127.0.0.3:80".parse().unwrap()]);
        let v6 = r.lookup(&url("https://[::1]/"), soon()).unwrap();
        assert_eq!(v6, vec!["[::1]:443".parse().unwrap()]);
    }
}
