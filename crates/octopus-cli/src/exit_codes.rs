//! The exit statuses scripts rely on (documented in `--help` and the README).

/// Every URL was fetched and its status is in `--ok-status`.
pub const SUCCESS: i32 = 0;
/// At least one URL failed: transport error, invalid URL line, or status outside `--ok-status`.
pub const SOME_FAILED: i32 = 1;
/// Usage error or unreadable input.
pub const USAGE: i32 = 2;
/// The shared limiter's Redis stayed unreachable past `--redis-outage`, or the shared job's
/// past `--queue-lease` (sysexits' EX_TEMPFAIL: try again later, e.g. with `--resume`, or
/// the same `--queue`).
pub const LIMITER_LOST: i32 = 75;
/// The reader of the output went away (`| head`), as for a process killed by SIGPIPE.
pub const OUTPUT_CLOSED: i32 = 141;
/// Interrupted by Ctrl-C (SIGINT), as a shell reports it.
pub const INTERRUPTED: i32 = 130;
/// Stopped by SIGTERM, as a shell reports it.
pub const TERMINATED: i32 = 143;

/// Every exit status with what it means, in order: `--help` and the man page list them.
pub const MEANINGS: [(i32, &str); 7] = [
    (
        SUCCESS,
        "every URL was fetched and its status is in --ok-status",
    ),
    (
        SOME_FAILED,
        "at least one URL failed (transport error, invalid URL line, or status outside --ok-status)",
    ),
    (
        USAGE,
        "usage error or unreadable input (nothing was fetched)",
    ),
    (
        LIMITER_LOST,
        "--redis stayed unreachable past --redis-outage, or --queue past --queue-lease: what had not started was not fetched",
    ),
    (INTERRUPTED, "interrupted by Ctrl-C (SIGINT)"),
    (
        OUTPUT_CLOSED,
        "the reader of the output went away (| head), as for a process killed by SIGPIPE",
    ),
    (TERMINATED, "stopped by SIGTERM"),
];

/// The exit statuses as `--help` ends with them.
pub fn help() -> String {
    let mut text = String::from("Exit status:");
    for (code, meaning) in MEANINGS {
        text.push_str(&format!("\n  {code:<4} {meaning}"));
    }
    text
}

/// A usage error (or an input that cannot be read): `message` said on stderr; the status.
pub fn fail(message: &str) -> i32 {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "octopus: {message}");
    USAGE
}
