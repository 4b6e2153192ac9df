//! The exit statuses scripts rely on (documented in `--help` and the README).

/// Every URL was fetched and its status is in `--ok-status`.
pub const SUCCESS: i32 = 0;
/// At least one URL failed: transport error, invalid URL line, or status outside `--ok-status`.
pub const SOME_FAILED: i32 = 1;
/// Usage error or unreadable input.
pub const USAGE: i32 = 2;
/// The shared limiter's Redis stayed unreachable past `--redis-outage` (sysexits'
/// EX_TEMPFAIL: try again later, e.g. with `--resume`).
pub const LIMITER_LOST: i32 = 75;
/// The reader of the output went away (`| head`), as for a process killed by SIGPIPE.
pub const OUTPUT_CLOSED: i32 = 141;
