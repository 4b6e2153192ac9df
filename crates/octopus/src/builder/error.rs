//! `Error`: why an `Octopus` could not be built or started. Failures of single requests are
//! not errors: they are `Failure`s inside responses.
//!
//! Invariant: no error of the API is a bare `String`: each says which setting it is about
//! (`Setting`, declared with the builder's table) or what the system refused.

use std::fmt;
use std::io;

use super::table::Setting;

/// Why [`crate::Builder::build`] (or starting a pull with [`crate::Octopus::fetch_all`])
/// failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A setting's value cannot be used.
    Setting {
        /// Which setting.
        setting: Setting,
        /// The value as given (shown in the message).
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The hard limit on open files is below what the concurrency needs.
    OpenFiles {
        /// The concurrency asked for.
        concurrency: usize,
        /// Open files it needs at least.
        needed: u64,
        /// The hard limit (`ulimit -Hn`).
        hard_limit: u64,
    },
    /// The open-file limit could not be read or raised.
    OpenFileLimit(io::Error),
    /// A thread could not be started.
    Thread(io::Error),
    /// A crawl's include or exclude pattern is not a regular expression.
    Pattern {
        /// The pattern as given.
        pattern: String,
        /// Why it is refused.
        reason: String,
    },
    /// A crawl shared through Redis ([`crate::Crawl::queue`]) cannot go on: its URL is
    /// not one, or Redis could not be reached (at the start, or past the lease).
    Queue(crate::queue::QueueError),
    /// A crawl's state file could not be opened, read or written.
    CrawlState {
        /// The file.
        path: std::path::PathBuf,
        /// What the system or SQLite said.
        reason: String,
    },
}

impl Error {
    pub(crate) fn setting(
        setting: Setting,
        value: impl fmt::Display,
        reason: impl Into<String>,
    ) -> Error {
        Error::Setting {
            setting,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Setting {
                setting,
                value,
                reason,
            } => write!(f, "{setting} '{value}': {reason}"),
            Error::OpenFiles {
                concurrency,
                needed,
                hard_limit,
            } => write!(
                f,
                "concurrency {concurrency} needs at least {needed} open files, but the hard \
                 limit is {hard_limit}; lower the concurrency or raise the limit (ulimit -Hn, \
                 as root)"
            ),
            Error::OpenFileLimit(e) => write!(f, "cannot read or raise the open-file limit: {e}"),
            Error::Thread(e) => write!(f, "cannot start a thread: {e}"),
            Error::Pattern { pattern, reason } => write!(f, "pattern '{pattern}': {reason}"),
            Error::CrawlState { path, reason } => {
                write!(f, "crawl state {}: {reason}", path.display())
            }
            Error::Queue(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::OpenFileLimit(e) | Error::Thread(e) => Some(e),
            Error::Queue(e) => Some(e),
            _ => None,
        }
    }
}
