//! Following redirects, so that what crosses to another origin is under our control.
//!
//! Invariants: only http and https targets are followed (`file:`, `ftp:` and the like are
//! refused, never fetched); `Authorization`, `Cookie` and `Proxy-Authorization` are dropped
//! for good once a redirect leaves the origin (scheme, host, port) they were given for;
//! 301/302 turn POST into GET and 303 turns anything but HEAD into GET, without a body;
//! 307/308 keep the method and body.

use http::{HeaderName, HeaderValue, Method, header};
use url::Url;

use crate::failure::{ErrorKind, Failure};
use crate::input::{mask_userinfo, redact};

/// Where a redirect leads and how to ask there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hop {
    pub url: Url,
    pub method: Method,
    pub keep_body: bool,
}

pub(crate) fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// The next hop after `status` with `location` from `from`, asked with `method`.
pub(crate) fn next_hop(
    from: &Url,
    method: &Method,
    status: u16,
    location: &str,
) -> Result<Hop, Failure> {
    let url = from.join(location.trim()).map_err(|e| {
        let msg = format!("cannot follow redirect to '{location}': {e}");
        Failure::new(ErrorKind::Redirect, mask_userinfo(&msg))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        let msg = format!("refused to follow redirect to {}", redact(&url));
        return Err(Failure::new(ErrorKind::Redirect, msg));
    }
    let becomes_get = match status {
        301 | 302 => *method == Method::POST,
        303 => *method != Method::HEAD,
        _ => false,
    };
    Ok(Hop {
        url,
        method: if becomes_get {
            Method::GET
        } else {
            method.clone()
        },
        keep_body: !becomes_get,
    })
}

/// A `Location` value as text: bytes outside printable ASCII (raw UTF-8 or Latin-1, which
/// some servers send) percent-encoded, as browsers and curl do; surrounding space trimmed.
pub(crate) fn location_text(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    for &b in bytes.trim_ascii() {
        if b.is_ascii_graphic() {
            text.push(char::from(b));
        } else {
            text.push_str(&format!("%{b:02X}"));
        }
    }
    text
}

/// Whether `a` and `b` share scheme, host and port.
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Drop the headers that describe a request's body, when a redirect drops the body (a POST
/// turned into a GET), as the Fetch standard and curl do.
pub(crate) fn strip_body_headers(headers: &mut Vec<(HeaderName, HeaderValue)>) {
    headers.retain(|(name, _)| {
        !(name == header::CONTENT_TYPE
            || name == header::CONTENT_LENGTH
            || name == header::CONTENT_ENCODING
            || name == header::CONTENT_LANGUAGE
            || name == header::CONTENT_LOCATION)
    });
}

/// Drop the headers that carry credentials.
pub(crate) fn strip_credentials(headers: &mut Vec<(HeaderName, HeaderValue)>) {
    headers.retain(|(name, _)| {
        !(name == header::AUTHORIZATION
            || name == header::COOKIE
            || name == header::PROXY_AUTHORIZATION)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn relative_and_absolute_locations() {
        let from = url("http://a.example/x/y");
        let hop = next_hop(&from, &Method::GET, 302, "../z?q=1").unwrap();
        assert_eq!(hop.url.as_str(), "http://a.example/z?q=1");
        let hop = next_hop(&from, &Method::GET, 301, "https://b.example/").unwrap();
        assert_eq!(hop.url.as_str(), "https://b.example/");
    }

    #[test]
    fn non_http_targets_are_refused() {
        let from = url("http://a.example/");
        for location in [
            "file:///etc/passwd",
            "ftp://files.example/x",
            "javascript:alert(1)",
        ] {
            let e = next_hop(&from, &Method::GET, 302, location).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Redirect, "{location}");
        }
    }

    #[test]
    fn methods_change_as_browsers_and_curl_do() {
        let from = url("http://a.example/");
        let post = |status| next_hop(&from, &Method::POST, status, "/n").unwrap();
        assert_eq!(
            (post(302).method, post(302).keep_body),
            (Method::GET, false)
        );
        assert_eq!(
            (post(303).method, post(303).keep_body),
            (Method::GET, false)
        );
        assert_eq!(
            (post(307).method, post(307).keep_body),
            (Method::POST, true)
        );
        assert_eq!(post(308).method, Method::POST);
        let head = next_hop(&from, &Method::HEAD, 303, "/n").unwrap();
        assert_eq!(head.method, Method::HEAD);
    }

    #[test]
    fn raw_location_bytes_are_percent_encoded() {
        assert_eq!(location_text(b" /a?b=1 "), "/a?b=1");
        assert_eq!(location_text("/target-\u{fc}".as_bytes()), "/target-%C3%BC");
        assert_eq!(location_text(b"/target-\xfc"), "/target-%FC");
        assert_eq!(location_text(b"/a b"), "/a%20b");
        assert_eq!(location_text(b""), "");
    }

    #[test]
    fn origins_and_credentials() {
        assert!(same_origin(
            &url("http://a.example/x"),
            &url("http://a.example:80/y")
        ));
        assert!(!same_origin(
            &url("http://a.example/"),
            &url("https://a.example/")
        ));
        assert!(!same_origin(
            &url("http://a.example/"),
            &url("http://a.example:8080/")
        ));
        let mut headers = vec![
            (header::AUTHORIZATION, HeaderValue::from_static("x")),
            (header::COOKIE, HeaderValue::from_static("x")),
            (header::PROXY_AUTHORIZATION, HeaderValue::from_static("x")),
            (header::ACCEPT, HeaderValue::from_static("x")),
        ];
        strip_credentials(&mut headers);
        assert_eq!(headers.len(), 1);
    }
}
