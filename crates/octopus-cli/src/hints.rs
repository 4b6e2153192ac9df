//! Usage errors clap cannot word well: the flags of the tools octopus replaces (curl, wget,
//! httpx), which clap would match to an unrelated flag of ours (`--threads` to `--header`),
//! and negative durations, for which it advises `-- -1`. Each gets a hint that names what
//! octopus uses instead.

use clap::error::{Error, ErrorKind};

/// Flags of other tools, and what octopus uses instead.
const PEERS: &[(&[&str], &str)] = &[
    (
        &["--threads", "-threads", "-thread"],
        "requests in flight are -c/--concurrency N",
    ),
    (
        &["-t"],
        "requests in flight are -c/--concurrency N (httpx's -t), retries are --retries N \
         (wget's -t)",
    ),
    (
        &["--tries", "--retry", "-retries"],
        "retries are --retries N",
    ),
    (
        &["--max-time", "-m", "-timeout"],
        "the deadline of each whole request is --timeout DUR",
    ),
    (
        &["--verbose", "-v", "-vv", "-debug"],
        "there is no verbose mode: --json records carry every detail (add \
         --include-headers for the headers)",
    ),
    (
        &["--input-file", "-i", "-l", "-list"],
        "files of URLs are given as arguments: octopus FILE (or - for stdin)",
    ),
    (
        &["-L", "--location", "-follow-redirects", "-fr"],
        "redirects are followed by default (--max-redirects N; 0 does not follow)",
    ),
    (
        &["-s", "--silent", "-silent", "-nv", "--no-verbose"],
        "-q/--quiet hides the summary and the progress bar",
    ),
    (
        &["-O", "--remote-name", "-P", "--directory-prefix"],
        "bodies are saved with --output-dir DIR",
    ),
    (
        &["-w", "--write-out"],
        "--json writes a record per URL for jq; --format csv for spreadsheets",
    ),
    (
        &["--rate-limit", "-rate-limit", "-rl"],
        "the start rate is --rate N/s",
    ),
    (
        &["-mc"],
        "print only some statuses with --match-status LIST",
    ),
    (&["-fc"], "leave statuses out with --filter-status LIST"),
];

/// Flags whose value is a duration.
const DURATIONS: &[&str] = &[
    "--timeout",
    "--connect-timeout",
    "--cache-ttl",
    "--delay",
    "--retry-delay",
    "--max-retry-wait",
    "--redis-lease",
    "--redis-outage",
    "--max-age",
    "--latency",
];

/// A better message than clap's for `error` on the command line `args`, if there is one.
pub fn better(error: &Error, args: &[String]) -> Option<String> {
    if !matches!(error.kind(), ErrorKind::UnknownArgument) {
        return None;
    }
    let args = args.get(1..).unwrap_or_default();
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let args = &args[..end];
    // `--delay -1s`: a value that starts with `-` after a duration's flag.
    for pair in args.windows(2) {
        let negative = pair[1].len() > 1
            && pair[1].starts_with('-')
            && pair[1][1..].starts_with(|c: char| c.is_ascii_digit() || c == '.');
        if DURATIONS.contains(&pair[0].as_str()) && negative {
            return Some(format!(
                "{} '{}': a duration cannot be negative (write it as 10s, 250ms, 1m30s)",
                pair[0], pair[1]
            ));
        }
    }
    args.iter().find_map(|arg| {
        let flag = arg.split('=').next().unwrap_or(arg);
        let (_, instead) = PEERS.iter().find(|(flags, _)| flags.contains(&flag))?;
        Some(format!("unknown option {flag}: in octopus, {instead}"))
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::args::Cli;

    fn hint(line: &str) -> Option<String> {
        let args: Vec<String> = line.split(' ').map(str::to_string).collect();
        let error = Cli::try_parse_from(&args).expect_err(line);
        better(&error, &args)
    }

    #[test]
    fn other_tools_flags_get_what_octopus_uses() {
        for (line, expected) in [
            ("octopus --threads 50 u.txt", "--concurrency"),
            ("octopus -threads 50 u.txt", "--concurrency"),
            ("octopus --max-time 5 u.txt", "--timeout"),
            ("octopus --verbose u.txt", "--json"),
            ("octopus --input-file u.txt", "octopus FILE"),
            ("octopus -L http://a.example/", "followed by default"),
            ("octopus -s http://a.example/", "--quiet"),
            ("octopus -t 3 u.txt", "--retries"),
        ] {
            let hint = hint(line).unwrap_or_else(|| panic!("no hint for {line}"));
            assert!(hint.contains(expected), "{line}: {hint}");
        }
    }

    #[test]
    fn negative_durations_are_said_to_be_negative() {
        let hint = hint("octopus --delay -1s u.txt").unwrap();
        assert!(
            hint.contains("cannot be negative") && !hint.contains("-- -1"),
            "{hint}"
        );
    }

    #[test]
    fn other_errors_keep_claps_words() {
        assert_eq!(hint("octopus --no-such-flag u.txt"), None);
    }
}
