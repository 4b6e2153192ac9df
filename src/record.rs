//! What one fetch produced (`Outcome`) and the per-line `Record` the printers write.
//!
//! Invariant: every non-blank, non-comment input line that is taken up by a worker yields
//! exactly one `Record`, whether it was fetched, served from the cache or refused.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

/// Why a URL has no HTTP response. The `snake_case` names are part of the JSON schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The input line is not a fetchable http(s) URL (also: non-UTF-8, too long).
    InvalidUrl,
    /// The host name did not resolve.
    Dns,
    /// The TCP connection could not be made (refused, unreachable).
    Connect,
    /// The request's deadline (`--timeout`, `--connect-timeout`) passed.
    Timeout,
    /// TLS handshake or certificate verification failed.
    Tls,
    /// More redirects than `--max-redirects`.
    TooManyRedirects,
    /// A redirect whose `Location` cannot be followed (missing, malformed, non-HTTP scheme).
    Redirect,
    /// The body is larger than `--max-body`.
    BodyTooLarge,
    /// The server's answer is not valid HTTP (or its encoding cannot be decoded).
    Protocol,
    /// The proxy refused or failed the request.
    Proxy,
    /// Any other I/O failure (connection reset mid-body and the like).
    Io,
}

impl ErrorKind {
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
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure to get an HTTP response, with a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub kind: ErrorKind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
        }
    }
}

/// An HTTP response whose body was read to the end (and discarded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// The URL after redirects, password masked.
    pub final_url: String,
    pub redirects: u32,
    pub bytes: u64,
    pub content_type: Option<String>,
    /// What a `Retry-After` header asked for, if the response had one.
    pub retry_after: Option<Duration>,
}

/// What fetching one URL produced. Shared (`Arc`) between the cache and every record it serves.
pub type Outcome = Arc<Result<Response, Failure>>;

/// One output line: the input line it answers and what became of it.
#[derive(Debug, Clone)]
pub struct Record {
    /// Name of the input the line came from: a file path, `-` for stdin, `arg` for arguments.
    pub input: Arc<str>,
    /// 1-based line number within `input` (argument position for `arg`).
    pub line: u64,
    /// The URL as normalised for fetching (password masked), or the raw line if it is invalid.
    pub url: String,
    pub outcome: Outcome,
    /// Wall time this line took, from being taken up by a worker to its outcome.
    pub elapsed: Duration,
    /// True when the outcome came from the cache or from another line's in-flight fetch.
    pub cached: bool,
    /// Whether the status is inside `--ok-status` (always false for failures).
    pub ok: bool,
    /// Time spent waiting for a slot (`--per-host`, `--limit`, `--rate`, `--delay`) and
    /// between retries.
    pub waited: Duration,
    /// Requests made for this line (0 when none was: invalid line, cache).
    pub attempts: u32,
}

impl Record {
    /// A record for line `line` of `input`; `ok` is judged against `ok_status`. Timing,
    /// cache and attempt fields start at zero for the caller to fill in.
    pub fn new(
        input: Arc<str>,
        line: u64,
        url: String,
        outcome: Outcome,
        ok_status: &crate::config::StatusRanges,
    ) -> Record {
        let ok = match outcome.as_ref() {
            Ok(response) => ok_status.contains(response.status),
            Err(_) => false,
        };
        Record {
            input,
            line,
            url,
            outcome,
            elapsed: Duration::ZERO,
            cached: false,
            ok,
            waited: Duration::ZERO,
            attempts: 0,
        }
    }

    pub fn status(&self) -> Option<u16> {
        self.outcome.as_ref().as_ref().ok().map(|r| r.status)
    }

    pub fn failure(&self) -> Option<&Failure> {
        self.outcome.as_ref().as_ref().err()
    }

    pub fn response(&self) -> Option<&Response> {
        self.outcome.as_ref().as_ref().ok()
    }
}
