//! Heads of octopus's exchange (`exchange.rs`): the request's as it goes out (request line,
//! in absolute-form to a proxy; the headers with those the exchange adds; blank line;
//! body), and the response's as it is read and parsed with `httparse`.
//!
//! Invariants: the request head is the one archived (`Host` with the port when not the default,
//! `Authorization: Basic` from the URL's credentials unless given, `Content-Length` with a
//! body); a response head over `MAX_HEAD` is refused (`HeadTooLarge`), any number of
//! header lines within it is read; 1xx responses are passed over.

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version, header};
use url::Url;

use crate::input::push_host;

use crate::http::connect::socket::{Socket, io_error};
use crate::http::error::MAX_HEAD;
use crate::http::error::{Error, Step, Timeout};
use crate::http::h1::body_reader::disconnected;
use crate::http::route::proxy::{Form, Via, basic};

/// A request as the exchange sends it.
#[derive(Clone)]
pub(crate) struct Outgoing<'a, H> {
    pub method: &'a Method,
    pub url: &'a Url,
    /// Every header to send but those the exchange adds (`Host`, `Authorization` from the
    /// URL, `Content-Length`).
    pub headers: H,
    pub body: Option<&'a [u8]>,
}

/// `Basic …` for the user name and password of `url`, percent-decoded first (as curl,
/// browsers and RFC 3986 read userinfo: `us%40er` is the user `us@er`); `None` without
/// them.
pub(crate) fn basic_credentials(url: &Url) -> Option<HeaderValue> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decoded = |part: &str| percent_encoding::percent_decode_str(part).collect::<Vec<u8>>();
    let user = decoded(url.username());
    basic(&user, &decoded(url.password().unwrap_or_default()))
}

impl<'a, H> Outgoing<'a, H>
where
    H: Iterator<Item = (&'a HeaderName, &'a HeaderValue)> + Clone,
{
    /// Whether a header named `name` is given.
    pub fn gives(&self, name: &HeaderName) -> bool {
        self.headers.clone().any(|(given, _)| given == name)
    }

    /// What every exchange adds to the headers given, HTTP/1.1's and HTTP/2's alike:
    /// `Authorization` from the URL's credentials, and the body's `Content-Length` (a body
    /// set, even an empty one, says its length: RFC 9110, 8.6; `-d ''` is a POST of no
    /// content, and servers that require the length answer 411 without it), each unless
    /// given. A body on a HEAD or CONNECT is refused.
    pub fn added(&self) -> Result<[Option<(HeaderName, HeaderValue)>; 2], Error> {
        let body = self.body.unwrap_or_default();
        if !body.is_empty() && matches!(*self.method, Method::HEAD | Method::CONNECT) {
            return Err(Error::protocol(format!(
                "a {} request cannot carry a body",
                self.method
            )));
        }
        let authorization = basic_credentials(self.url)
            .filter(|_| !self.gives(&header::AUTHORIZATION))
            .map(|basic| (header::AUTHORIZATION, basic));
        let length = self.body.is_some()
            && !self.gives(&header::CONTENT_LENGTH)
            && !self.gives(&header::TRANSFER_ENCODING);
        let length = length.then(|| (header::CONTENT_LENGTH, HeaderValue::from(body.len())));
        Ok([authorization, length])
    }
}

/// The request as it goes out: request line, headers (with those ureq would add), blank
/// line, body. Through a proxy (`via`), the request line's target is in absolute-form
/// (scheme and authority too, no userinfo or fragment) and `Proxy-Authorization` is added.
pub(crate) fn request_bytes<'a, H>(
    request: &Outgoing<'a, H>,
    via: Option<&Via>,
) -> Result<Vec<u8>, Error>
where
    H: Iterator<Item = (&'a HeaderName, &'a HeaderValue)> + Clone,
{
    let (method, url) = (request.method, request.url);
    let via = via.filter(|via| via.form == Form::Forward);
    let body = request.body.unwrap_or_default();
    let added = request.added()?;
    let given = |name: &HeaderName| request.gives(name);
    let mut out = Vec::with_capacity(256 + body.len());
    let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    if via.is_some() {
        out.extend_from_slice(url.scheme().as_bytes());
        out.extend_from_slice(b"://");
        push_host(&mut out, url);
    }
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let proxy_authorization = HeaderName::from_static("proxy-authorization");
    if let Some(basic) = via
        .and_then(Via::forward_authorization)
        .filter(|_| !given(&proxy_authorization))
    {
        out.extend_from_slice(b"proxy-authorization: ");
        out.extend_from_slice(basic.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !given(&header::HOST) {
        out.extend_from_slice(b"host: ");
        push_host(&mut out, url);
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in added.iter().flatten() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in request.headers.clone() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Ok(out)
}

/// Read the final response head (1xx passed over) and consume it from the input.
pub(crate) fn read_head(
    socket: &mut Socket,
    deadline: Option<Instant>,
) -> Result<(Version, StatusCode, HeaderMap), Error> {
    loop {
        let input = socket.buffers().input();
        // Nothing to parse before the first read.
        let parsed = match input.is_empty() {
            true => None,
            false => parse_head(input)?,
        };
        match parsed {
            Some((used, head)) => {
                socket.buffers().input_consume(used);
                if !head.1.is_informational() {
                    return Ok(head);
                }
                continue;
            }
            None if input.len() >= MAX_HEAD => {
                return Err(Error::HeadTooLarge);
            }
            None => {}
        }
        let reason = socket.timeout_reason(Timeout::Global(Step::Head));
        let read = socket.fill(deadline).map_err(|e| io_error(e, reason))?;
        if read == 0 {
            return Err(disconnected(match socket.buffers().input().is_empty() {
                true => "empty reply: the server closed the connection without answering",
                false => "the server closed the connection inside the response head",
            }));
        }
    }
}

pub(crate) type Head = (Version, StatusCode, HeaderMap);

/// The header lines most responses fit in (parsed with room on the stack; more are
/// parsed again with room for all).
pub(crate) const USUAL_HEADER_LINES: usize = 128;

/// A complete response head at the start of `input`, with its length; `None` if it is not
/// all there yet.
/// Up to `USUAL_HEADER_LINES` lines are parsed into room on the stack; a head with more
/// (long cookie lists) is parsed again with room for every line it can hold, so that any
/// head within `MAX_HEAD` is read, as curl reads it.
fn parse_head(input: &[u8]) -> Result<Option<(usize, Head)>, Error> {
    let mut lines = [httparse::EMPTY_HEADER; USUAL_HEADER_LINES];
    match parse_head_into(input, &mut lines) {
        Err(Unparsed::TooManyLines) => {
            let head = input.get(..MAX_HEAD).unwrap_or(input);
            let most = head.iter().filter(|&&b| b == b'\n').count();
            parse_head_into(input, &mut vec![httparse::EMPTY_HEADER; most])
                .map_err(Unparsed::into_error)
        }
        parsed => parsed.map_err(Unparsed::into_error),
    }
}

/// Why a head did not parse: more lines than there was room for, or not HTTP.
enum Unparsed {
    TooManyLines,
    Bad(Error),
}

impl Unparsed {
    fn into_error(self) -> Error {
        match self {
            Unparsed::TooManyLines => Error::protocol("the response head has too many lines"),
            Unparsed::Bad(e) => e,
        }
    }
}

/// `parse_head` with room for `lines.len()` header lines.
fn parse_head_into<'h>(
    input: &'h [u8],
    lines: &mut [httparse::Header<'h>],
) -> Result<Option<(usize, Head)>, Unparsed> {
    let mut response = httparse::Response::new(lines);
    let used = match response.parse(input) {
        Ok(httparse::Status::Complete(used)) => used,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Unparsed::TooManyLines),
        Err(e) => {
            let what = format!("the response head is not HTTP ({e})");
            return Err(Unparsed::Bad(Error::Protocol(what)));
        }
    };
    let bad = |what: String| Unparsed::Bad(Error::Protocol(what));
    let version = match response.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let code = response.code.unwrap_or(0);
    let status =
        StatusCode::from_u16(code).map_err(|_| bad(format!("invalid status code: {code:03}")))?;
    // One copy of the head; each value is a slice of it (one allocation, not one per value).
    let head = Bytes::copy_from_slice(input.get(..used).unwrap_or(input));
    let base = input.as_ptr() as usize;
    let mut headers = HeaderMap::with_capacity(response.headers.len());
    for line in response.headers.iter() {
        let name = HeaderName::from_bytes(line.name.as_bytes()).map_err(|e| bad(e.to_string()))?;
        let start = (line.value.as_ptr() as usize).saturating_sub(base);
        let range = start..start + line.value.len();
        let value = match range.end <= head.len() {
            true => HeaderValue::from_maybe_shared(head.slice(range)),
            false => HeaderValue::from_bytes(line.value),
        }
        .map_err(|e| bad(e.to_string()))?;
        headers.append(name, value);
    }
    Ok(Some((used, (version, status, headers))))
}

/// Whether the server said it closes the connection after this response.
pub(crate) fn asks_to_close(headers: &HeaderMap) -> bool {
    headers.get_all(header::CONNECTION).iter().any(says_close)
}

/// Whether a `Connection` header's value has the `close` token.
pub(crate) fn says_close(value: &HeaderValue) -> bool {
    value
        .as_bytes()
        .split(|&b| b == b',')
        .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"close"))
}

#[cfg(test)]
#[path = "head_tests.rs"]
mod tests;
