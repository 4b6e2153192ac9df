//! A `CONNECT` tunnel through an HTTP proxy (RFC 9110, 9.3.6): the request that asks for
//! it, and what the proxy's answer means. Only a 2xx opens the tunnel; the proxy's answer
//! otherwise is said in words with its status (`403 Forbidden`), and a 407 says the proxy
//! wants credentials.

use std::io;

use http::StatusCode;

use crate::http::route::proxy::ProxyError;

/// Header lines of a proxy's answer to CONNECT read at most.
const MOST_LINES: usize = 64;

/// `CONNECT host:port HTTP/1.1` for `authority` (`host:port`, an IPv6 host in brackets),
/// with `Host` and, when given, `Proxy-Authorization`, as curl sends it.
pub(crate) fn connect_request(authority: &str, authorization: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(b"CONNECT ");
    out.extend_from_slice(authority.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(authority.as_bytes());
    out.extend_from_slice(b"\r\n");
    if let Some(basic) = authorization {
        out.extend_from_slice(b"Proxy-Authorization: ");
        out.extend_from_slice(basic);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Proxy-Connection: Keep-Alive\r\n\r\n");
    out
}

/// The proxy's answer to `CONNECT`, at the start of `input`: `None` until its head is all
/// there; `Some(length)` once a 2xx opened the tunnel (what follows is the target's).
pub(crate) fn connect_reply(input: &[u8]) -> io::Result<Option<usize>> {
    let mut lines = [httparse::EMPTY_HEADER; MOST_LINES];
    let mut answer = httparse::Response::new(&mut lines);
    let used = match answer.parse(input) {
        Ok(httparse::Status::Complete(used)) => used,
        Ok(httparse::Status::Partial) if input.len() <= 64 * 1024 => return Ok(None),
        Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => {
            return Err(ProxyError::failed(
                "the proxy's answer to CONNECT is too large",
            ));
        }
        Err(_) => {
            return Err(ProxyError::failed(
                "the proxy's answer to CONNECT is not HTTP",
            ));
        }
    };
    let status = answer.code.and_then(|code| StatusCode::from_u16(code).ok());
    let Some(status) = status else {
        return Err(ProxyError::failed(
            "the proxy's answer to CONNECT has no valid status",
        ));
    };
    if status.is_success() {
        return Ok(Some(used));
    }
    Err(refusal(status))
}

/// What a proxy that did not open the tunnel said.
fn refusal(status: StatusCode) -> io::Error {
    let said = match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    };
    match status.as_u16() {
        407 => ProxyError::refused(
            "the proxy wants credentials (407 Proxy Authentication Required; give them in \
             the proxy URL: http://user:password@host:port)",
        ),
        code if code >= 500 => {
            ProxyError::failed(format!("the proxy could not open the tunnel ({said})"))
        }
        _ => ProxyError::refused(format!("the proxy refused the tunnel ({said})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::route::proxy::ProxyError;

    fn said(e: &io::Error) -> &ProxyError {
        e.get_ref().and_then(|e| e.downcast_ref()).unwrap()
    }

    #[test]
    fn connect_asks_for_the_authority_and_reads_the_answer() {
        let request = connect_request("[::1]:443", Some(b"Basic eDp5"));
        assert_eq!(
            String::from_utf8(request).unwrap(),
            "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\nProxy-Authorization: Basic eDp5\r\n\
             Proxy-Connection: Keep-Alive\r\n\r\n"
        );
        let ok = b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03";
        assert_eq!(connect_reply(ok).unwrap(), Some(ok.len() - 2));
        assert_eq!(connect_reply(b"HTTP/1.1 200 OK\r\n").unwrap(), None);
        let refused = connect_reply(b"HTTP/1.1 403 Forbidden\r\n\r\n").unwrap_err();
        assert_eq!(
            said(&refused).message,
            "the proxy refused the tunnel (403 Forbidden)"
        );
        assert!(!said(&refused).retried);
        let auth = connect_reply(b"HTTP/1.1 407 Nope\r\n\r\n").unwrap_err();
        assert!(said(&auth).message.contains("wants credentials"));
        let down = connect_reply(b"HTTP/1.0 503 Service Unavailable\r\n\r\n").unwrap_err();
        assert!(said(&down).retried);
        assert!(connect_reply(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
    }
}
