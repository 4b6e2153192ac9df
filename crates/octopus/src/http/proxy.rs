//! A proxy on octopus's own exchange: a plain `http` request through an `http://` proxy goes
//! to the proxy in absolute-form (`GET http://host/path HTTP/1.1`, the target's `Host`),
//! with `Proxy-Authorization: Basic` from the proxy URL's credentials, as curl, wget,
//! requests and Go's client send it; its connections are the proxy's, kept and reused like
//! any other and waited for in the same waiting set. ureq's proxy support tunnelled every
//! request with `CONNECT host:80`, which the proxies people run refuse by default (squid's
//! stock configuration allows CONNECT to port 443 only).
//!
//! The rest still goes through ureq: `https` targets (CONNECT, then TLS to the origin),
//! `https://` and SOCKS proxies.
//!
//! Invariants: the request line carries no userinfo or fragment; the proxy's credentials
//! go only to the proxy (never archived: the WARC request record is the origin's).

use base64::Engine as _;
use ureq::Proxy;
use ureq::http::HeaderValue;
use url::Url;

/// How a request goes through a proxy on octopus's own exchange.
#[derive(Debug, Clone)]
pub(crate) struct Via {
    /// The proxy (`http://host:port/`), looked up and connected to in the target's place.
    pub endpoint: Url,
    /// `Proxy-Authorization`, from the proxy URL's credentials.
    pub authorization: Option<HeaderValue>,
}

impl Via {
    /// How a request to `target` goes through `proxy` on octopus's own exchange: an `http`
    /// target through an `http://` proxy; `None` for what ureq still carries.
    pub fn of(proxy: &Proxy, target: &Url) -> Option<Via> {
        if !matches!(proxy.protocol(), ureq::ProxyProtocol::Http) || target.scheme() != "http" {
            return None;
        }
        let host = proxy.host();
        let host = match host.contains(':') && !host.starts_with('[') {
            true => format!("[{host}]"),
            false => host.to_string(),
        };
        let endpoint = Url::parse(&format!("http://{host}:{}/", proxy.port())).ok()?;
        let authorization = proxy.username().and_then(|user| {
            let pair = format!("{user}:{}", proxy.password().unwrap_or_default());
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            HeaderValue::from_str(&format!("Basic {encoded}")).ok()
        });
        Some(Via {
            endpoint,
            authorization,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_through_an_http_proxy_goes_our_way() {
        let target = Url::parse("http://a.test/x").unwrap();
        let proxy = Proxy::new("http://us%40er:p%3Ass@127.0.0.1:3128").unwrap();
        let via = Via::of(&proxy, &target).expect("our way");
        assert_eq!(via.endpoint.as_str(), "http://127.0.0.1:3128/");
        // "us@er:p:ss", percent-decoded, in Base64.
        assert_eq!(
            via.authorization.unwrap().to_str().unwrap(),
            "Basic dXNAZXI6cDpzcw=="
        );
        let secure = Url::parse("https://a.test/x").unwrap();
        assert!(Via::of(&proxy, &secure).is_none(), "CONNECT: ureq's still");
        let socks = Proxy::new("socks5://127.0.0.1:1080").unwrap();
        assert!(Via::of(&socks, &target).is_none());
        let bare = Proxy::new("http://[::1]:8080").unwrap();
        let via = Via::of(&bare, &target).expect("our way");
        assert_eq!(via.endpoint.as_str(), "http://[::1]:8080/");
        assert!(via.authorization.is_none());
    }
}
