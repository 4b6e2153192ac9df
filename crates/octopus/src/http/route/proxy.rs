//! Proxies, on octopus's own exchange like every request: which proxy a request goes
//! through (`rules.rs`: the settings, the environment as curl reads it, `NO_PROXY`), and
//! how (`Via`):
//!
//! - an `http` target through an `http://` or `https://` proxy goes to the proxy in
//!   absolute-form (`GET http://host/path HTTP/1.1`, the target's `Host`), with
//!   `Proxy-Authorization: Basic` from the proxy URL's credentials, as curl, wget,
//!   requests and Go's client send it; its connections are the proxy's, kept and reused;
//! - an `https` target (or any, with `proxy_tunnel`) opens a tunnel with `CONNECT
//!   host:port` (`tunnel.rs`), then TLS to the origin through it; the tunnel is kept and
//!   reused as the origin's connection;
//! - through a SOCKS proxy (`socks.rs`: SOCKS4, 4a, 5 and 5h, RFC 1929 credentials), the
//!   proxy connects to the target and the connection is the target's from then on.
//!
//! The handshake with the proxy (TLS to an `https://` proxy, CONNECT, SOCKS) is a step of
//! making the connection (`dial.rs`), waited for in the waiting set like the lookup and
//! the TCP connect before it.
//!
//! Invariants: the request line carries no userinfo or fragment; the proxy's credentials
//! go only to the proxy and never appear in messages, records or the archive (the WARC
//! request record is the origin's); proxies are shown as `scheme://host:port`.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use http::HeaderValue;
use url::Url;

use crate::failure::{ErrorKind, Failure};

pub(crate) use crate::http::route::greeting::Greeting;
pub(crate) use crate::http::route::proxies::{ProxyPool, ProxyUse};
pub(crate) use crate::http::route::rules::{Chosen, NoProxy, ProxyRules};

/// The protocols a proxy is spoken to in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Http,
    Https,
    Socks4,
    /// SOCKS4 with the target's name resolved by the proxy.
    Socks4a,
    Socks5,
    /// SOCKS5 with the target's name resolved by the proxy.
    Socks5h,
}

impl Scheme {
    fn parse(name: &str) -> Option<Scheme> {
        Some(match name {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            "socks4" => Scheme::Socks4,
            "socks4a" => Scheme::Socks4a,
            "socks5" | "socks" => Scheme::Socks5,
            "socks5h" => Scheme::Socks5h,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::Socks4 => "socks4",
            Scheme::Socks4a => "socks4a",
            Scheme::Socks5 => "socks5",
            Scheme::Socks5h => "socks5h",
        }
    }

    /// A SOCKS proxy (the proxy connects; the connection is the target's).
    pub fn is_socks(self) -> bool {
        !matches!(self, Scheme::Http | Scheme::Https)
    }

    /// The proxy is given the target's name (else octopus looks it up).
    pub fn resolves_names(self) -> bool {
        matches!(self, Scheme::Socks4a | Scheme::Socks5h)
    }
}

/// A proxy, as given by a URL (`http://user:password@host:port`).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Proxy {
    pub scheme: Scheme,
    /// The host, a name or an address (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    /// The user name and password, percent-decoded.
    pub credentials: Option<(String, String)>,
    /// `http://host:port/`: what is looked up and connected to.
    pub endpoint: Url,
}

impl fmt::Debug for Proxy {
    // Never the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proxy({self})")
    }
}

impl fmt::Display for Proxy {
    /// `scheme://host:port`, without credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = &self.host;
        match host.contains(':') {
            true => write!(f, "{}://[{host}]:{}", self.scheme.name(), self.port),
            false => write!(f, "{}://{host}:{}", self.scheme.name(), self.port),
        }
    }
}

impl Proxy {
    /// The proxy `text` names: a URL (`socks5h://host:1080`) or, as curl reads it, a bare
    /// `host[:port]` for an `http://` proxy. The port defaults to 1080 (443 for
    /// `https://`), as curl's does. `Err`: why not.
    pub fn parse(text: &str) -> Result<Proxy, String> {
        let text = text.trim();
        let url = match text.contains("://") {
            true => Url::parse(text),
            false => Url::parse(&format!("http://{text}")),
        }
        .map_err(|e| format!("not a proxy URL: {e}"))?;
        let scheme = Scheme::parse(url.scheme()).ok_or_else(|| {
            format!(
                "the proxy scheme {}:// is not one octopus speaks (http, https, socks4, \
                 socks4a, socks5, socks5h)",
                url.scheme()
            )
        })?;
        let host = match url.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(host) => host.to_string(),
            None => return Err("the proxy URL has no host".to_string()),
        };
        let port = url.port().unwrap_or(match scheme {
            Scheme::Https => 443,
            _ => 1080,
        });
        let decoded = |part: &str| {
            percent_encoding::percent_decode_str(part)
                .decode_utf8_lossy()
                .into_owned()
        };
        let credentials = (!url.username().is_empty() || url.password().is_some()).then(|| {
            (
                decoded(url.username()),
                decoded(url.password().unwrap_or_default()),
            )
        });
        let bracketed = match host.contains(':') {
            true => format!("[{host}]"),
            false => host.clone(),
        };
        let endpoint = Url::parse(&format!("http://{bracketed}:{port}/"))
            .map_err(|e| format!("not a proxy URL: {e}"))?;
        Ok(Proxy {
            scheme,
            host,
            port,
            credentials,
            endpoint,
        })
    }

    /// `Basic …` for the proxy's credentials (`Proxy-Authorization`), if it has any.
    pub fn basic(&self) -> Option<HeaderValue> {
        let (user, password) = self.credentials.as_ref()?;
        basic(user.as_bytes(), password.as_bytes())
    }
}

/// `Basic …` for `user` and `password` (RFC 7617), for `Authorization` as much as for
/// `Proxy-Authorization`.
pub(crate) fn basic(user: &[u8], password: &[u8]) -> Option<HeaderValue> {
    let mut pair = Vec::with_capacity(user.len() + 1 + password.len());
    pair.extend_from_slice(user);
    pair.push(b':');
    pair.extend_from_slice(password);
    let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
    HeaderValue::from_str(&format!("Basic {encoded}")).ok()
}

/// How a request goes through its proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// The request itself, in absolute-form, on the proxy's connection.
    Forward,
    /// A `CONNECT` tunnel to the target, then the request as to the target.
    Tunnel,
    /// A SOCKS connection to the target, then the request as to the target.
    Socks,
}

/// A request's way through a proxy.
#[derive(Debug, Clone)]
pub(crate) struct Via {
    pub proxy: Arc<Proxy>,
    pub form: Form,
}

impl Via {
    /// How a request to `target` goes through `proxy`: `tunnel_plain` tunnels `http`
    /// targets too (curl's `--proxytunnel`).
    pub fn new(proxy: &Arc<Proxy>, target: &Url, tunnel_plain: bool) -> Via {
        let form = match proxy.scheme {
            scheme if scheme.is_socks() => Form::Socks,
            _ if target.scheme() == "https" || tunnel_plain => Form::Tunnel,
            _ => Form::Forward,
        };
        Via {
            proxy: Arc::clone(proxy),
            form,
        }
    }

    /// `Proxy-Authorization` for a request in absolute-form.
    pub fn forward_authorization(&self) -> Option<HeaderValue> {
        match self.form {
            Form::Forward => self.proxy.basic(),
            _ => None,
        }
    }

    /// What connections through this proxy are kept under: the proxy's own for requests
    /// in absolute-form, else the tunnel's (proxy and target).
    pub fn key(&self, target: &str) -> String {
        match self.form {
            Form::Forward => format!("proxy {}", self.proxy),
            _ => format!("{} > {target}", self.proxy),
        }
    }
}

/// What went wrong with a proxy's part of a request: said in words, of kind `proxy` but
/// for a target the proxy could not reach (`connect`, as without a proxy), and whether
/// trying again may help.
#[derive(Debug)]
pub(crate) struct ProxyError {
    pub kind: ErrorKind,
    pub message: String,
    pub retried: bool,
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProxyError {}

impl ProxyError {
    /// A refusal that the same request would meet again.
    pub fn refused(message: impl Into<String>) -> io::Error {
        ProxyError::io(ErrorKind::Proxy, message, false)
    }

    /// A failure that may pass.
    pub fn failed(message: impl Into<String>) -> io::Error {
        ProxyError::io(ErrorKind::Proxy, message, true)
    }

    /// The proxy could not reach the target (a `connect` failure, as without a proxy).
    pub fn unreachable(message: impl Into<String>) -> io::Error {
        ProxyError::io(ErrorKind::Connect, message, true)
    }

    fn io(kind: ErrorKind, message: impl Into<String>, retried: bool) -> io::Error {
        io::Error::other(ProxyError {
            kind,
            message: message.into(),
            retried,
        })
    }

    /// The failure, for a request through `proxy` (as shown).
    pub fn failure(&self, proxy: &str) -> Failure {
        let message = match self.kind {
            ErrorKind::Proxy => format!("proxy {proxy}: {}", self.message),
            _ => format!("{} (through proxy {proxy})", self.message),
        };
        match self.retried {
            true => Failure::new(self.kind, message),
            false => Failure::not_retried(self.kind, message),
        }
    }
}

/// `proxy` answered 407, to a request or to a tunnel's CONNECT: it wants credentials (the
/// same ones would be refused again: not retried).
pub(crate) fn wants_credentials(proxy: &str) -> Failure {
    Failure::not_retried(
        ErrorKind::Proxy,
        format!(
            "proxy {proxy}: the proxy wants credentials (407 Proxy Authentication Required; \
             give them in the proxy URL: http://user:password@host:port)"
        ),
    )
}

/// The address a SOCKS proxy is asked to connect to: the target's, looked up by octopus,
/// or its name, for the proxy to look up.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Addr(SocketAddr),
    Name(String, u16),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_are_read_as_curl_reads_them() {
        let p = Proxy::parse("http://us%40er:p%3Ass@127.0.0.1:3128").unwrap();
        assert_eq!(p.to_string(), "http://127.0.0.1:3128");
        assert_eq!(
            p.basic().unwrap().to_str().unwrap(),
            "Basic dXNAZXI6cDpzcw=="
        );
        assert!(!format!("{p:?}").contains("p:ss"));
        let bare = Proxy::parse("proxy.test").unwrap();
        assert_eq!(bare.to_string(), "http://proxy.test:1080");
        let v6 = Proxy::parse("socks5h://[::1]").unwrap();
        assert_eq!((v6.scheme, v6.host.as_str()), (Scheme::Socks5h, "::1"));
        assert_eq!(v6.endpoint.as_str(), "http://[::1]:1080/");
        assert_eq!(Proxy::parse("https://p.test").unwrap().port, 443);
        let err = Proxy::parse("ftp://p.test").unwrap_err();
        assert!(err.contains("ftp://"), "{err}");
        assert!(Proxy::parse("http://").is_err());
    }

    #[test]
    fn the_form_follows_the_target_and_the_proxy() {
        let http = Arc::new(Proxy::parse("http://127.0.0.1:3128").unwrap());
        let socks = Arc::new(Proxy::parse("socks5://127.0.0.1:1080").unwrap());
        let plain = Url::parse("http://a.test/").unwrap();
        let secure = Url::parse("https://a.test/").unwrap();
        assert_eq!(Via::new(&http, &plain, false).form, Form::Forward);
        assert_eq!(Via::new(&http, &plain, true).form, Form::Tunnel);
        assert_eq!(Via::new(&http, &secure, false).form, Form::Tunnel);
        assert_eq!(Via::new(&socks, &plain, false).form, Form::Socks);
        let via = Via::new(&http, &plain, false);
        assert_eq!(via.key("a.test:80"), "proxy http://127.0.0.1:3128");
        let tunnel = Via::new(&http, &secure, false);
        assert_eq!(
            tunnel.key("a.test:443"),
            "http://127.0.0.1:3128 > a.test:443"
        );
    }
}
