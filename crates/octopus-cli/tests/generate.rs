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

#[test]
fn the_man_page_renders() {
    // `-k`: the page is UTF-8 (help texts hold `…`), as `man` reads it (through preconv);
    // `-P-cbou`: plain text, no bold or underline.
    let page = octopus().arg("man").output().unwrap();
    assert!(page.status.success());
    let Ok(mut groff) = Command::new("groff")
        .args(["-k", "-man", "-Tutf8", "-ww", "-P-cbou"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!("skipped: groff not found (Debian: groff-base)");
        return;
    };
    groff.stdin.take().unwrap().write_all(&page.stdout).unwrap();
    let out = groff.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "no warnings: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "NAME",
        "SYNOPSIS",
        "--concurrency",
        "--warc",
        "Exit status",
        "141",
    ] {
        assert!(text.contains(expected), "{expected} in:\n{text}");
    }
}
