//! Stopping early: Ctrl-C, SIGTERM, and stdout closed by the reader (`| head -1`).

mod common;
use common::*;

use std::io::Read;

/// Start octopus on 40 slow URLs at concurrency 2, wait for its first record, send `signal`.
fn interrupted_run(signal: i32) -> (std::process::Output, Vec<String>) {
    let s = server();
    let (child, mut stdout, first) = spawn_fed(&["--json", "-c", "2"], &slow_input(&s, 40));
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    let lines = std::iter::once(first.trim_end().to_string())
        .chain(rest.lines().map(str::to_string))
        .collect();
    (out, lines)
}

fn check_interrupted(signal: i32, code: i32, reason: &str) {
    let (out, lines) = interrupted_run(signal);
    assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
    // The first signal is answered at once, and once: what is still finishing, how to quit.
    let err = stderr(&out);
    assert_eq!(err.matches("octopus: stopping:").count(), 1, "{err}");
    assert!(
        err.contains("in flight") && err.contains("quits now"),
        "{err}"
    );
    for line in &lines {
        let r: serde_json::Value = serde_json::from_str(line).expect("every record is whole");
        assert_eq!(r["status"], 200, "in-flight requests finish: {r}");
    }
    let summary = json_summary(&out);
    assert_eq!(summary["stopped"], reason);
    let fetched = summary["urls"].as_u64().unwrap();
    assert_eq!(fetched, lines.len() as u64);
    assert!(fetched < 40);
    assert_eq!(
        fetched + summary["not_fetched"].as_u64().unwrap(),
        40,
        "{summary}"
    );
}

#[test]
fn ctrl_c_flushes_records_reports_unfetched_and_exits_130() {
    check_interrupted(libc::SIGINT, 130, "interrupted");
}

#[test]
fn sigterm_is_handled_the_same_way_and_exits_143() {
    check_interrupted(libc::SIGTERM, 143, "terminated");
}

#[test]
fn closed_stdout_ends_the_run_quietly() {
    let s = server();
    let (child, stdout, _first) = spawn_fed(&["-c", "4"], &slow_input(&s, 100));
    drop(stdout); // like `| head -1`
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("stopped (output closed)"), "{err}");
    // Not 0: URLs were left unfetched. 141 is what `cat` or `grep` give in a pipe whose
    // reader went away (killed by SIGPIPE), so `set -o pipefail` treats octopus alike.
    assert_eq!(out.status.code(), Some(141), "{err}");
    assert!(
        s.requests() < 100,
        "no new requests after the output closed"
    );
}

#[test]
fn closed_stdout_does_not_wait_for_requests_in_flight() {
    let s = server();
    // The first line comes at once; those after it a little later, when the reader is
    // gone (writing them finds the pipe closed); one never answers within the timeout.
    let mut input = format!("{}\n", s.url("/a"));
    for i in 0..3 {
        input.push_str(&format!("{}\n", s.url(&format!("/delay/500/{i}"))));
    }
    input.push_str(&format!("{}\n", s.url("/stall")));
    let (mut child, stdout, first) = spawn_fed(&["-c", "10", "--timeout", "10m"], &input);
    assert!(first.contains("/a"), "{first}");
    drop(stdout); // like `| head -1`
    // A liveness bound, not a timing: waiting for /stall would take ten minutes.
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > give_up {
            let _ = child.kill();
            panic!("octopus waited for the request in flight after its output closed");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(141));
}
