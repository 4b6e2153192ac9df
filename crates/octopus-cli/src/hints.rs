//! Usage errors clap cannot word well: the flags of the tools octopus replaces (curl, wget,
//! httpx), which clap would match to an unrelated flag of ours (`--threads` to `--header`,
//! `--recursive` to `--retries`) or advise to pass as a value, and negative numbers and
//! durations, for which it advises `-- -1` (which would make `-1` an input file). Each gets
//! a hint that names what octopus uses instead.

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
        &["--parallel", "-Z", "--parallel-max", "--parallel-immediate"],
        "requests are always made in parallel: -c/--concurrency N sets how many at once",
    ),
    (
        &[
            "-r",
            "--recursive",
            "--mirror",
            "--level",
            "--spider",
            "-spider",
        ],
        "following links is `octopus crawl URL` (--depth N; a link checker's report: \
         `octopus crawl --report broken URL`)",
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

/// Flags whose value is a number that is at least 1 (the others are at least 0).
const POSITIVE: &[&str] = &[
    "-c",
    "--concurrency",
    "--per-host",
    "--dns-concurrency",
    "--lookahead",
    "--max-pages",
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
    // `--delay -1s`, `-c -5`: a value that starts with `-` after a flag that takes one.
    for pair in args.windows(2) {
        let negative = pair[1].len() > 1
            && pair[1].starts_with('-')
            && pair[1][1..].starts_with(|c: char| c.is_ascii_digit() || c == '.');
        if !negative || !pair[0].starts_with('-') {
            continue;
        }
        let (flag, value) = (pair[0].as_str(), &pair[1]);
        if DURATIONS.contains(&flag) {
            return Some(format!(
                "{flag} '{value}': a duration cannot be negative (write it as 10s, 250ms, 1m30s)"
            ));
        }
        if POSITIVE.contains(&flag) {
            return Some(format!(
                "{flag} '{value}': the number must be positive (1 or more)"
            ));
        }
        if takes_value(flag) {
            return Some(format!(
                "{flag} '{value}': the number cannot be negative (0 or more)"
            ));
        }
    }
    args.iter().find_map(|arg| {
        let flag = arg.split('=').next().unwrap_or(arg);
        let (_, instead) = PEERS.iter().find(|(flags, _)| flags.contains(&flag))?;
        Some(format!("unknown option {flag}: in octopus, {instead}"))
    })
}

/// Whether `flag` (`--name` or `-c`) is one of octopus's that takes a value.
fn takes_value(flag: &str) -> bool {
    use clap::CommandFactory;
    let cli = crate::args::Cli::command();
    let mut commands = std::iter::once(&cli).chain(cli.get_subcommands());
    commands.any(|command| {
        command.get_arguments().any(|a| {
            let named = match flag.strip_prefix("--") {
                Some(long) => a.get_long() == Some(long),
                None => flag.len() == 2 && a.get_short() == flag.chars().nth(1),
            };
            named && a.get_action().takes_values()
        })
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
            ("octopus --parallel u.txt", "-c/--concurrency N"),
            ("octopus -Z u.txt", "-c/--concurrency N"),
            ("octopus -r http://a.example/", "octopus crawl"),
            ("octopus --recursive http://a.example/", "octopus crawl"),
            ("octopus --spider http://a.example/", "--report broken"),
            (
                "octopus crawl --recursive http://a.example/",
                "octopus crawl",
            ),
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
    fn negative_numbers_are_said_to_be_negative() {
        for (line, expected) in [
            (
                "octopus -c -5 u.txt",
                "-c '-5': the number must be positive",
            ),
            (
                "octopus --retries -2 u.txt",
                "--retries '-2': the number cannot be negative",
            ),
            (
                "octopus crawl --depth -1 u.txt",
                "--depth '-1': the number cannot be negative",
            ),
        ] {
            let hint = hint(line).unwrap_or_else(|| panic!("no hint for {line}"));
            assert!(
                hint.contains(expected) && !hint.contains("-- -"),
                "{line}: {hint}"
            );
        }
    }

    #[test]
    fn other_errors_keep_claps_words() {
        assert_eq!(hint("octopus --no-such-flag u.txt"), None);
    }
}
