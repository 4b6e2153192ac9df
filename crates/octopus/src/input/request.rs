//! `Request`: one URL to fetch, as text, and optionally where it came from.

use std::sync::Arc;

use url::Url;

use super::lines::{Line, LineError};
use super::target::{parse_target, redact, redact_raw};
use crate::failure::{ErrorKind, Failure};

/// One URL to fetch, as the text a user gave (parsed by the rules of [`parse_target`]), and
/// optionally where it came from (an input's name and line number, shown in records).
///
/// Anything that converts into a `Request` can be enqueued: `&str`, `String`, a [`Line`]
/// read by [`super::Lines`].
///
/// ```
/// use octopus::Request;
/// let request = Request::new("example.com/a").with_origin("urls.txt", 12);
/// # let _ = request;
/// ```
#[derive(Debug, Clone)]
pub struct Request {
    text: Result<String, (LineError, String)>,
    origin: Option<Origin>,
}

/// Where a request came from: an input's name and a line number in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    pub input: Arc<str>,
    pub line: u64,
}

/// A request read: the URL to fetch (or why there is none), how to show it, where it came from.
pub(crate) struct Resolved {
    pub url: Result<Url, Failure>,
    /// The URL as normalised, password masked; the text itself when it is not a URL.
    pub shown: String,
    pub origin: Option<Origin>,
}

impl Request {
    /// A request for `url` (e.g. `https://example.com/`, or `example.com` for `http://`).
    pub fn new(url: impl Into<String>) -> Self {
        Request {
            text: Ok(url.into()),
            origin: None,
        }
    }

    /// Say where the URL came from: records show `input` and `line`.
    pub fn with_origin(mut self, input: impl Into<Arc<str>>, line: u64) -> Self {
        self.origin = Some(Origin {
            input: input.into(),
            line,
        });
        self
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
            }),
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
