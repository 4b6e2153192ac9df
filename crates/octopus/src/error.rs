//! `Error`: why an `Octopus` could not be built or started. Failures of single requests are
//! not errors: they are `Failure`s inside responses.

use std::fmt;
use std::io;

/// A builder setting, as named in [`Error::Setting`]. The names are the builder's (and the
/// command line's) in kebab case: `timeout`, `connect-timeout`, `header`, …
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Setting {
    /// [`crate::Builder::concurrency`]
    Concurrency,
    /// [`crate::Builder::timeout`]
    Timeout,
    /// [`crate::Builder::connect_timeout`]
    ConnectTimeout,
    /// [`crate::Builder::method`]
    Method,
    /// [`crate::Builder::header`]
    Header,
    /// [`crate::Builder::user_agent`]
    UserAgent,
    /// [`crate::Builder::proxy`]
    Proxy,
    /// [`crate::Builder::resolve`]
    Resolve,
    /// [`crate::Builder::root_certs_pem`] (or `SSL_CERT_FILE`, `SSL_CERT_DIR`)
    CaCert,
    /// [`crate::Builder::client_cert_pem`]
    ClientCert,
    /// [`crate::Builder::save_to`]
    OutputDir,
    /// [`crate::Builder::skip_existing`]
    SkipExisting,
    /// [`crate::Builder::warc`]
    Warc,
    /// [`crate::Builder::warc_max_size`]
    WarcMaxSize,
    /// [`crate::Builder::shard`]
    Shard,
    /// [`crate::Builder::redis`] (or its Redis not answering)
    Redis,
    /// [`crate::Builder::redis_lease`]
    RedisLease,
    /// [`crate::Builder::redis_outage`]
    RedisOutage,
    /// [`crate::Builder::ok_status`]
    OkStatus,
    /// [`crate::Builder::cache_ttl`]
    CacheTtl,
    /// [`crate::Builder::per_host`]
    PerHost,
    /// [`crate::Builder::limit`]
    Limit,
    /// [`crate::Builder::rate`]
    Rate,
    /// [`crate::Builder::delay`]
    Delay,
    /// [`crate::Builder::lookahead`]
    Lookahead,
    /// [`crate::Builder::retry_on`]
    RetryOn,
    /// [`crate::Builder::retry_delay`]
    RetryDelay,
    /// [`crate::Builder::max_retry_wait`]
    MaxRetryWait,
}

impl Setting {
    /// The setting's name in kebab case, e.g. `connect-timeout`.
    pub fn name(self) -> &'static str {
        match self {
            Setting::Concurrency => "concurrency",
            Setting::Timeout => "timeout",
            Setting::ConnectTimeout => "connect-timeout",
            Setting::Method => "method",
            Setting::Header => "header",
            Setting::UserAgent => "user-agent",
            Setting::Proxy => "proxy",
            Setting::Resolve => "resolve",
            Setting::CaCert => "cacert",
            Setting::ClientCert => "cert",
            Setting::OutputDir => "output-dir",
            Setting::SkipExisting => "skip-existing",
            Setting::Warc => "warc",
            Setting::WarcMaxSize => "warc-max-size",
            Setting::Shard => "shard",
            Setting::Redis => "redis",
            Setting::RedisLease => "redis-lease",
            Setting::RedisOutage => "redis-outage",
            Setting::OkStatus => "ok-status",
            Setting::CacheTtl => "cache-ttl",
            Setting::PerHost => "per-host",
            Setting::Limit => "limit",
            Setting::Rate => "rate",
            Setting::Delay => "delay",
            Setting::Lookahead => "lookahead",
            Setting::RetryOn => "retry-on",
            Setting::RetryDelay => "retry-delay",
            Setting::MaxRetryWait => "max-retry-wait",
        }
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

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
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::OpenFileLimit(e) | Error::Thread(e) => Some(e),
            _ => None,
        }
    }
}
