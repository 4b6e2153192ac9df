//! Which proxy a request goes through: the one given for every request, else the
//! environment's as curl reads it (the lowercase `http_proxy` only for `http`, the httpoxy
//! rule: a CGI program's `HTTP_PROXY` comes from a request's `Proxy:` header;
//! `https_proxy`/`HTTPS_PROXY` for `https`; `all_proxy`/`ALL_PROXY` for either), unless
//! the host is one `NO_PROXY` (or `no_proxy` given) names.
//!
//! `NO_PROXY` as curl matches it: `*` alone covers every host; a name covers itself and
//! its subdomains (`example.com` covers `www.example.com`, a leading dot changes nothing);
//! an address covers itself, a CIDR range (`10.0.0.0/8`, `fd00::/8`) its addresses; IPv6
//! addresses are written without brackets; entries are separated by commas or spaces; the
//! URL's own host is compared, never looked up.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use url::{Host, Url};

use crate::http::route::proxies::{Choice, ProxyPool};
use crate::http::route::proxy::Proxy;

/// The proxies requests go through, by the target's scheme, and the hosts that go direct.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProxyRules {
    pub http: Option<Arc<Proxy>>,
    pub https: Option<Arc<Proxy>>,
    /// Proxies every request is spread over (in place of `http` and `https`).
    pub pool: Option<Arc<ProxyPool>>,
    pub no_proxy: NoProxy,
}

/// The proxy a request goes through, and its place in the pool when it is one of a pool's.
#[derive(Debug, Clone)]
pub(crate) struct Chosen {
    pub proxy: Arc<Proxy>,
    pub slot: Option<usize>,
}

impl ProxyRules {
    /// The environment's rules, read with `var` (`std::env::var`, or a test's), `no_proxy`
    /// in place of its `NO_PROXY` when given. `Err`: the variable whose value is not a
    /// proxy, its value and why.
    pub fn from_env(
        var: impl Fn(&str) -> Option<String>,
        no_proxy: Option<NoProxy>,
    ) -> Result<ProxyRules, (String, String, String)> {
        let set = |name: &str| {
            var(name)
                .filter(|v| !v.trim().is_empty())
                .map(|v| (name.to_string(), v))
        };
        let first = |names: &[&str]| names.iter().find_map(|name| set(name));
        let all = first(&["all_proxy", "ALL_PROXY"]);
        let read = |found: Option<(String, String)>| match found {
            None => Ok(None),
            Some((name, value)) => match Proxy::parse(&value) {
                Ok(proxy) => Ok(Some(Arc::new(proxy))),
                Err(why) => Err((name, value, why)),
            },
        };
        let no_proxy = match no_proxy {
            Some(given) => given,
            None => NoProxy::parse(
                &first(&["no_proxy", "NO_PROXY"])
                    .map(|(_, v)| v)
                    .unwrap_or_default(),
            ),
        };
        Ok(ProxyRules {
            pool: None,
            http: read(first(&["http_proxy"]).or_else(|| all.clone()))?,
            https: read(first(&["https_proxy", "HTTPS_PROXY"]).or(all))?,
            no_proxy,
        })
    }

    /// The proxy a request to `url` goes through, if any; `Err`: every proxy of the pool
    /// is set aside, the first until then.
    pub fn choose(&self, url: &Url) -> Result<Option<Chosen>, Instant> {
        if let Some(pool) = &self.pool {
            if self.no_proxy.covers(url) {
                return Ok(None);
            }
            return match pool.choose() {
                Choice::Use(slot, proxy) => Ok(Some(Chosen {
                    proxy,
                    slot: Some(slot),
                })),
                Choice::AllOut(back) => Err(back),
            };
        }
        Ok(self.proxy_for(url).map(|proxy| Chosen {
            proxy: Arc::clone(proxy),
            slot: None,
        }))
    }

    /// The proxy a request to `url` goes through, if any (not a pool's).
    pub fn proxy_for(&self, url: &Url) -> Option<&Arc<Proxy>> {
        let proxy = match url.scheme() {
            "https" => self.https.as_ref(),
            _ => self.http.as_ref(),
        }?;
        (!self.no_proxy.covers(url)).then_some(proxy)
    }
}

/// The hosts requests go to directly, as `NO_PROXY` lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NoProxy {
    every: bool,
    names: Vec<String>,
    ranges: Vec<(IpAddr, u8)>,
}

impl NoProxy {
    /// The list `text` gives (`*`, or names, addresses and CIDR ranges).
    pub fn parse(text: &str) -> NoProxy {
        let mut list = NoProxy::default();
        let entries = text.split(|c: char| c == ',' || c.is_whitespace());
        for entry in entries.map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                list.every = true;
                continue;
            }
            if let Some(range) = range(entry) {
                list.ranges.push(range);
                continue;
            }
            let name = entry.trim_start_matches('.').trim_end_matches('.');
            if !name.is_empty() {
                list.names.push(name.to_ascii_lowercase());
            }
        }
        list
    }

    /// Whether a request to `url` goes directly.
    pub fn covers(&self, url: &Url) -> bool {
        if self.every {
            return true;
        }
        match url.host() {
            Some(Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                self.names.iter().any(|entry| {
                    name == *entry
                        || name
                            .strip_suffix(entry.as_str())
                            .is_some_and(|rest| rest.ends_with('.'))
                })
            }
            Some(Host::Ipv4(ip)) => self.in_ranges(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.in_ranges(IpAddr::V6(ip)),
            None => false,
        }
    }

    fn in_ranges(&self, ip: IpAddr) -> bool {
        self.ranges.iter().any(|&(net, bits)| within(ip, net, bits))
    }
}

/// An address (`127.0.0.1`, `::1`, `[::1]`) or a CIDR range (`10.0.0.0/8`), with its
/// prefix length.
fn range(entry: &str) -> Option<(IpAddr, u8)> {
    let (addr, bits) = match entry.split_once('/') {
        Some((addr, bits)) => (addr, Some(bits.parse::<u8>().ok()?)),
        None => (entry, None),
    };
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = addr.parse().ok()?;
    let most = match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    Some((ip, bits.unwrap_or(most).min(most)))
}

/// Whether `ip` is in `net/bits`.
fn within(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let prefix = |a: u128, b: u128, width: u32| {
        let bits = u32::from(bits);
        bits == 0 || (a ^ b) >> (width - bits) == 0
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            prefix(u128::from(u32::from(a)), u128::from(u32::from(b)), 32)
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => prefix(u128::from(a), u128::from(b), 128),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covers(list: &str, url: &str) -> bool {
        NoProxy::parse(list).covers(&Url::parse(url).unwrap())
    }

    #[test]
    fn no_proxy_matches_as_curl_does() {
        assert!(covers("*", "http://anything.test/"));
        assert!(!covers("*.test", "http://a.test/"), "no globs but a lone *");
        assert!(covers("example.com", "http://example.com/"));
        assert!(covers("example.com", "http://www.EXAMPLE.com./"));
        assert!(covers(".example.com", "http://example.com/"));
        assert!(!covers("example.com", "http://badexample.com/"));
        assert!(covers("a.test, 10.0.0.0/8", "http://10.1.2.3:8080/"));
        assert!(!covers("10.0.0.0/8", "http://11.0.0.1/"));
        assert!(covers("127.0.0.1", "http://127.0.0.1:9/"));
        assert!(!covers("127.0.0.1", "http://127.0.0.2/"));
        assert!(covers("::1", "http://[::1]:80/"));
        assert!(covers("fd00::/8", "http://[fd12::1]/"));
        assert!(covers("0.0.0.0/0", "http://1.2.3.4/"));
        assert!(!covers("localhost", "http://127.0.0.1/"), "never looked up");
        assert!(!covers("", "http://a.test/"));
    }

    #[test]
    fn the_environment_is_read_as_curl_reads_it() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let plain = Url::parse("http://a.test/").unwrap();
        let secure = Url::parse("https://a.test/").unwrap();
        // httpoxy: the uppercase HTTP_PROXY is not read.
        let rules = ProxyRules::from_env(env(&[("HTTP_PROXY", "http://evil:1")]), None).unwrap();
        assert!(rules.proxy_for(&plain).is_none());
        let rules = ProxyRules::from_env(
            env(&[
                ("http_proxy", "http://p:1"),
                ("HTTPS_PROXY", "http://s:2"),
                ("NO_PROXY", "b.test"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(rules.proxy_for(&plain).unwrap().to_string(), "http://p:1");
        assert_eq!(rules.proxy_for(&secure).unwrap().to_string(), "http://s:2");
        assert!(
            rules
                .proxy_for(&Url::parse("http://x.b.test/").unwrap())
                .is_none()
        );
        let rules = ProxyRules::from_env(env(&[("ALL_PROXY", "socks5h://s:1080")]), None).unwrap();
        assert_eq!(
            rules.proxy_for(&secure).unwrap().to_string(),
            "socks5h://s:1080"
        );
        assert_eq!(
            rules.proxy_for(&plain).unwrap().to_string(),
            "socks5h://s:1080"
        );
        let given = Some(NoProxy::parse("a.test"));
        let rules = ProxyRules::from_env(env(&[("all_proxy", "http://p:1")]), given).unwrap();
        assert!(rules.proxy_for(&plain).is_none());
        let bad = ProxyRules::from_env(env(&[("https_proxy", "ftp://x")]), None).unwrap_err();
        assert_eq!(bad.0, "https_proxy");
    }
}
