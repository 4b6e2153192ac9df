//! `Request`: one URL to fetch, as text, optionally where it came from, and optionally how
//! to ask for it when not as the `Octopus`'s settings say (its `Shape`).

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use url::Url;

use super::lines::{Line, LineError};
use super::target::{parse_target, redact, redact_raw};
use crate::builder::{Error, Setting, checked_header};
use crate::defaults::MAX_DURATION;
use crate::failure::{ErrorKind, Failure};

/// One URL to fetch, as the text a user gave (parsed by the rules of [`parse_target`]), and
/// optionally where it came from (an input's name and line number, shown in records).
///
/// Anything that converts into a `Request` can be enqueued: `&str`, `String`, a [`Line`]
/// read by [`super::Lines`].
///
/// A request is sent as the `Octopus`'s settings say, unless it says otherwise: its own
/// method, headers (replacing the settings' of the same name), body, timeout or redirect
/// limit. A request that says any of these is fetched on its own: never answered from the
/// cache nor merged with a repeat of its URL in flight.
///
/// ```
/// use std::time::Duration;
/// use octopus::Request;
/// let request = Request::new("example.com/a").with_origin("urls.txt", 12);
/// let post = Request::new("example.com/api")
///     .with_method("POST")?
///     .with_header("Content-Type", "application/json")?
///     .with_body(r#"{"q": 1}"#)
///     .with_timeout(Duration::from_secs(2))
///     .with_max_redirects(0);
/// # let _ = (request, post);
/// # Ok::<(), octopus::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Request {
    text: Result<String, (LineError, String)>,
    origin: Option<Origin>,
    shape: Option<Box<Shape>>,
}

/// How a request asks, where it differs from the settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Shape {
    pub method: Option<Method>,
    /// Sent instead of the settings' headers of the same names.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Arc<[u8]>>,
    pub timeout: Option<Duration>,
    pub max_redirects: Option<u32>,
}

/// Where a request came from: an input's name and a line number in it, and for a request
/// taken from a shared job (`queue/`), where it sits in the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    pub input: Arc<str>,
    pub line: u64,
    pub queued: Option<Queued>,
}

/// Where a request taken from a shared job sits in it: its batch (the stream entry's id), its
/// index in the batch and the batch's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Queued {
    pub batch: Arc<str>,
    pub index: u32,
    pub size: u32,
}

/// A request read: the URL to fetch (or why there is none), how to show it, where it came from.
pub(crate) struct Resolved {
    pub url: Result<Url, Failure>,
    /// The URL as normalised, password masked; the text itself when it is not a URL.
    pub shown: String,
    pub origin: Option<Origin>,
    pub shape: Option<Box<Shape>>,
}

impl Request {
    /// A request for `url` (e.g. `https://example.com/`, or `example.com` for `http://`).
    pub fn new(url: impl Into<String>) -> Self {
        Request {
            text: Ok(url.into()),
            origin: None,
            shape: None,
        }
    }

    fn shape(&mut self) -> &mut Shape {
        self.shape.get_or_insert_with(Box::default)
    }

    /// Send this request with `method` (e.g. `POST`, any case) instead of the settings'.
    /// A redirect changes it as it would the settings' (301/302 turn POST into GET, 303
    /// anything but HEAD).
    pub fn with_method(mut self, method: &str) -> Result<Self, Error> {
        let checked = Method::from_bytes(method.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| Error::setting(Setting::Method, method, "not an HTTP method"))?;
        self.shape().method = Some(checked);
        Ok(self)
    }

    /// Send this header with the request, instead of any of the settings' of the same name
    /// (given more than once, every value is sent).
    pub fn with_header(mut self, name: &str, value: &str) -> Result<Self, Error> {
        let header = checked_header(name, value)?;
        self.shape().headers.push(header);
        Ok(self)
    }

    /// Send `body` with the request, instead of the settings' (the method stays as set:
    /// give `POST` with [`Request::with_method`] where the settings' is `GET`).
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.shape().body = Some(Arc::from(body.into()));
        self
    }

    /// Bound this request's whole fetch (redirects and body included) by `timeout`
    /// instead of the settings' (at most [`MAX_DURATION`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.shape().timeout = Some(timeout.min(MAX_DURATION));
        self
    }

    /// Follow at most `n` redirects for this request (0: none, its 3xx is the answer).
    pub fn with_max_redirects(mut self, n: u32) -> Self {
        self.shape().max_redirects = Some(n);
        self
    }

    /// Say where the URL came from: records show `input` and `line`.
    pub fn with_origin(mut self, input: impl Into<Arc<str>>, line: u64) -> Self {
        self.origin = Some(Origin {
            input: input.into(),
            line,
            queued: None,
        });
        self
    }

    /// A request taken from a shared job: `text` from `input`'s line `line`, at `queued`.
    pub(crate) fn queued(text: String, input: Arc<str>, line: u64, queued: Queued) -> Self {
        Request {
            text: Ok(text),
            origin: Some(Origin {
                input,
                line,
                queued: Some(queued),
            }),
            shape: None,
        }
    }

    /// The text as given (a line that could not be read: what a record shows of it).
    pub(crate) fn text(&self) -> &str {
        match &self.text {
            Ok(text) => text,
            Err((_, raw)) => raw,
        }
    }

    /// Whether it asks otherwise than the settings say (its method, headers, body...).
    pub(crate) fn has_shape(&self) -> bool {
        self.shape.is_some()
    }

    /// Its input's name and line number, if given.
    pub(crate) fn origin_parts(&self) -> Option<(&Arc<str>, u64)> {
        self.origin.as_ref().map(|o| (&o.input, o.line))
    }

    /// The input this request came from, if it was given ([`Request::with_origin`]).
    pub fn input(&self) -> Option<&str> {
        self.origin.as_ref().map(|o| &*o.input)
    }

    /// Its line number in that input, if given.
    pub fn line(&self) -> Option<u64> {
        self.origin.as_ref().map(|o| o.line)
    }

    /// The URL as its record will show it ([`crate::Response::url`]): normalised with the
    /// password masked, or the text itself (masked) when it is not a URL.
    ///
    /// ```
    /// let request = octopus::Request::new("Example.com/a");
    /// assert_eq!(request.shown_url(), "http://example.com/a");
    /// ```
    pub fn shown_url(&self) -> String {
        self.clone().resolve().shown
    }

    /// Parse the text into the URL to fetch.
    pub(crate) fn resolve(self) -> Resolved {
        let (url, shown) = match self.text {
            Ok(text) => match parse_target(&text) {
                Ok(url) => {
                    let shown = redact(&url);
                    (Ok(url), shown)
                }
                Err(failure) => (Err(failure), redact_raw(&text)),
            },
            Err((error, raw)) => (
                Err(Failure::new(ErrorKind::InvalidUrl, error.to_string())),
                redact_raw(&raw),
            ),
        };
        Resolved {
            url,
            shown,
            origin: self.origin,
            shape: self.shape,
        }
    }
}

impl From<&str> for Request {
    fn from(url: &str) -> Self {
        Request::new(url)
    }
}

impl From<String> for Request {
    fn from(url: String) -> Self {
        Request::new(url)
    }
}

impl From<&String> for Request {
    fn from(url: &String) -> Self {
        Request::new(url.as_str())
    }
}

impl From<Url> for Request {
    fn from(url: Url) -> Self {
        Request::new(String::from(url))
    }
}

impl From<Line> for Request {
    /// A line of an input: its text (or why it is unreadable) with its input and number.
    fn from(line: Line) -> Self {
        Request {
            text: line.text.map_err(|error| (error, line.raw)),
            origin: Some(Origin {
                input: line.input,
                line: line.number,
                queued: None,
            }),
            shape: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_lines_resolve_with_masked_passwords() {
        let r = Request::new("u:pw@h/x").with_origin("f", 3).resolve();
        assert!(r.url.is_err(), "scheme 'u' is refused");
        assert_eq!(r.shown, "u:***@h/x");
        assert_eq!(r.origin.map(|o| o.line), Some(3));

        let ok = Request::from("http://user:secret@h/p").resolve();
        assert_eq!(ok.shown, "http://user:***@h/p");
        assert_eq!(ok.url.unwrap().password(), Some("secret"));

        let line = Line {
            input: Arc::from("-"),
            number: 7,
            text: Err(LineError::NotUtf8),
            raw: "http://bad\u{fffd}/".into(),
        };
        let r = Request::from(line).resolve();
        let failure = r.url.unwrap_err();
        assert_eq!(failure.kind(), ErrorKind::InvalidUrl);
        assert!(failure.message().contains("UTF-8"));
        assert_eq!(
            r.origin.map(|o| (o.input, o.line)),
            Some((Arc::from("-"), 7))
        );
    }
}
