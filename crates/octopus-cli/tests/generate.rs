//! `octopus completions SHELL` and `octopus man`: generated from the clap definitions, they
//! load in a real bash and render with a real roff formatter.

mod common;
use common::*;

use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn bash_completion_loads_and_completes_flags() {
    let script = stdout(&octopus().args(["completions", "bash"]).output().unwrap());
    assert!(script.contains("--warc"), "every flag is there");
    let dir = Dir::new("completions");
    let file = dir.0.join("octopus.bash");
    std::fs::write(&file, &script).unwrap();
    // Load it, then ask for the completions of `octopus --wa`.
    let probe = format!(
        "source {}; complete -p octopus; COMP_WORDS=(octopus --wa); COMP_CWORD=1; \
         _octopus octopus --wa octopus; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display()
    );
    let out = Command::new("bash").args(["-c", &probe]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("complete "), "{text}");
    assert!(
        text.contains("--warc\n") && text.contains("--warc-max-size"),
        "{text}"
    );
}

#[test]
fn every_shell_gets_a_script() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = octopus().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        assert!(stdout(&out).contains("octopus"), "{shell}");
    }
    let out = octopus().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `roff` as groff renders it, in plain text (no `-k`: the pages are ASCII, with roff
/// escapes for other characters, so groff reads them whatever the locale; `-P-cbou`: no
/// bold or underline); groff must say nothing on stderr.
fn groff(roff: &[u8]) -> String {
    let Ok(mut groff) = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-P-cbou"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        panic!("groff not found, though the build found it: rebuild");
    };
    groff.stdin.take().unwrap().write_all(roff).unwrap();
    let out = groff.wait_with_output().unwrap();
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && warnings.is_empty(), "{warnings}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[cfg_attr(
    not(has_groff),
    ignore = "groff not found: apt-get install groff-base (.ci/run does), then rebuild"
)]
fn the_man_page_renders() {
    // No `-k`: the page is ASCII, with roff escapes for other characters, so groff reads
    // it whatever the locale; `-P-cbou`: plain text, no bold or underline.
    let page = octopus().arg("man").output().unwrap();
    assert!(page.status.success());
    let roff = String::from_utf8_lossy(&page.stdout);
    assert!(roff.is_ascii(), "the page is ASCII");
    assert!(
        !roff.contains('`'),
        "`code` is set in bold, not shown as backticks"
    );
    // Its own COMMANDS section (naming the commands' own pages, which `octopus man
    // COMMAND` prints), and the exit statuses under their own heading, in order.
    assert!(!roff.contains(".SH EXTRA"), "{roff}");
    let text = groff(&page.stdout);
    for expected in [
        "NAME",
        "SYNOPSIS",
        "--concurrency",
        "--warc",
        "COMMANDS",
        "EXIT STATUS",
        "141",
        "ab/abcdef\u{2026}.body",
    ] {
        assert!(text.contains(expected), "{expected} in:\n{text}");
    }
    let at = |needle: &str| text.find(needle).unwrap_or(usize::MAX);
    assert!(
        at("\n       75") < at("\n       130"),
        "exit statuses in order:\n{text}"
    );
}

#[test]
#[cfg_attr(
    not(has_groff),
    ignore = "groff not found: apt-get install groff-base (.ci/run does), then rebuild"
)]
fn each_command_has_its_page_with_its_options() {
    let main = octopus().arg("man").output().unwrap();
    let roff = String::from_utf8_lossy(&main.stdout);
    assert!(roff.contains("octopus\\-crawl\\fR(1)"), "named: {roff}");
    for (command, options) in [
        (
            "crawl",
            &[
                "--depth",
                "--scope",
                "--report",
                "--sitemap",
                "--follow-sitemaps",
            ][..],
        ),
        ("fetch", &["--concurrency", "--warc"][..]),
        ("bench", &["--latency"][..]),
    ] {
        let page = octopus().args(["man", command]).output().unwrap();
        assert!(page.status.success(), "{command}");
        let text = groff(&page.stdout);
        assert!(text.starts_with(&format!("octopus-{command}(1)")), "{text}");
        for option in options {
            assert!(text.contains(option), "{command}: {option} in:\n{text}");
        }
        assert!(text.contains("EXIT STATUS"), "{text}");
    }
    let unknown = octopus().args(["man", "nothing"]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn crawl_help_says_what_its_state_file_is() {
    let help = octopus().args(["crawl", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("FILE.crawl") && text.contains("25 MB") && text.contains("--resume"),
        "{text}"
    );
}

#[test]
fn every_help_is_the_long_one_with_exit_statuses_in_order() {
    let help = |args: &[&str]| stdout(&octopus().args(args).output().unwrap());
    let top = help(&["--help"]);
    let fetch = help(&["fetch", "--help"]);
    let short = help(&["fetch", "-h"]);
    // Long help puts each default on a line of its own.
    for long in [&top, &fetch] {
        assert!(long.contains("\n          [default: 50]"), "{long}");
    }
    assert!(fetch.lines().count() > short.lines().count());
    let statuses: Vec<u32> = top
        .lines()
        .skip_while(|l| !l.starts_with("Exit status"))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(statuses, [0, 1, 2, 75, 130, 141, 143]);
}
