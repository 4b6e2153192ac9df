//! Why a request has no HTTP response: `ErrorKind` (the stable names of the JSON schema) and
//! `Failure` (a kind and a one-line message).
//!
//! Invariant: one kind per failure, named as the JSON schema names it; the message never
//! repeats the kind.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// Why a URL has no HTTP response. The `snake_case` names ([`ErrorKind::as_str`]) are part
/// of the JSON Lines schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is not a fetchable http(s) URL (also: a line that is not UTF-8, too long).
    InvalidUrl,
    /// The host name did not resolve.
    Dns,
    /// The TCP connection could not be made (refused, unreachable).
    Connect,
    /// The request's deadline (timeout, connect timeout) passed.
    Timeout,
    /// TLS handshake or certificate verification failed.
    Tls,
    /// More redirects than allowed.
    TooManyRedirects,
    /// A redirect whose `Location` cannot be followed (missing, malformed, non-HTTP scheme).
    Redirect,
    /// The body is larger than the body limit.
    BodyTooLarge,
    /// The server's answer is not valid HTTP (or its encoding cannot be decoded).
    Protocol,
    /// The proxy refused or failed the request.
    Proxy,
    /// Any other I/O failure (connection reset mid-body and the like).
    Io,
    /// The request never started: the run was stopped first ([`crate::Octopus::stop`]).
    Cancelled,
    /// The response came, but its body could not be saved (disk full, permission, a name the
    /// file system refuses). The status is kept.
    Save,
}

impl ErrorKind {
    /// The kind's name in records: `invalid_url`, `dns`, `connect`, …
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidUrl => "invalid_url",
            ErrorKind::Dns => "dns",
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Tls => "tls",
            ErrorKind::TooManyRedirects => "too_many_redirects",
            ErrorKind::Redirect => "redirect",
            ErrorKind::BodyTooLarge => "body_too_large",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Proxy => "proxy",
            ErrorKind::Io => "io",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Save => "save",
        }
    }

    /// Whether another attempt may succeed (a bad URL, a body over the limit, a redirect
    /// that cannot be followed or a cancelled request will not).
    pub(crate) fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorKind::Dns
                | ErrorKind::Connect
                | ErrorKind::Timeout
                | ErrorKind::Tls
                | ErrorKind::Protocol
                | ErrorKind::Proxy
                | ErrorKind::Io
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure to get an HTTP response: its kind and a human-readable, one-line message (any
/// password in a URL it quotes is masked). Displays as `kind: message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    kind: ErrorKind,
    message: String,
    /// Another attempt would fail the same way, whatever the kind says (a proxy that wants
    /// credentials).
    #[serde(skip)]
    last: bool,
    /// The proxy the request went through, when it went through one (as shown: no
    /// credentials).
    #[serde(skip)]
    proxy: Option<Arc<str>>,
}

impl Failure {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
            last: false,
            proxy: None,
        }
    }

    /// A failure another attempt would meet again: not retried.
    pub(crate) fn not_retried(kind: ErrorKind, message: impl Into<String>) -> Self {
        Failure {
            last: true,
            ..Failure::new(kind, message)
        }
    }

    /// Whether another attempt may succeed (see [`ErrorKind::is_transient`]).
    pub(crate) fn is_transient(&self) -> bool {
        !self.last && self.kind.is_transient()
    }

    /// The same failure, of a request that went through `proxy`.
    pub(crate) fn through(self, proxy: Option<Arc<str>>) -> Self {
        Failure { proxy, ..self }
    }

    /// The proxy the request went through, if any.
    pub(crate) fn proxy(&self) -> Option<&str> {
        self.proxy.as_deref()
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, e.g. `deadline passed (timeout)`.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Failure {}
