//! Behaviour that depends on terminals and process limits, run under `script(1)` (a pty)
//! and `ulimit`.

mod common;
use common::*;

use std::process::Command;

fn has_script() -> bool {
    Command::new("script").arg("--version").output().is_ok()
}

#[test]
fn no_input_on_a_terminal_is_a_usage_error_with_a_hint() {
    if !has_script() {
        panic!("script(1) from util-linux is needed for this test");
    }
    let bin = env!("CARGO_BIN_EXE_octopus");
    let out = Command::new("script")
        .args(["-qec", bin, "/dev/null"])
        .output()
        .unwrap();
    let shown = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(shown.contains("no URLs given"), "{shown}");
}

/// A directory named after `label` holding `urls.txt`: `n` URLs of `s` answering after
/// `delay_ms`.
fn url_list(s: &Server, label: &str, n: usize, delay_ms: u64) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("octopus-{label}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let urls: String = (0..n)
        .map(|i| format!("{}\n", s.url(&format!("/delay/{delay_ms}/{i}"))))
        .collect();
    std::fs::write(dir.join("urls.txt"), urls).unwrap();
    dir
}

/// Run a shell command on a pseudo-terminal (script(1)); its output is what the terminal got.
fn on_a_terminal(command: &str) -> std::process::Output {
    Command::new("script")
        .args(["-qec", command, "/dev/null"])
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .output()
        .unwrap()
}

#[test]
fn the_progress_bar_on_a_terminal_never_reaches_stdout() {
    let s = server();
    let dir = url_list(&s, "tty", 30, 20);
    let records_file = dir.join("records.jsonl");
    let command = format!(
        "{} --json -c 2 {} > {}",
        env!("CARGO_BIN_EXE_octopus"),
        dir.join("urls.txt").display(),
        records_file.display()
    );
    let out = on_a_terminal(&command);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let written = std::fs::read_to_string(&records_file).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(written.lines().count(), 30);
    for line in written.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("only whole JSON records on stdout");
    }
    // The terminal (stderr) got the summary.
    assert!(
        stdout(&out).contains("\"type\":\"summary\""),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_concurrency_above_the_open_file_limit_is_refused_up_front() {
    let s = server();
    let out = Command::new("sh")
        .args([
            "-c",
            "ulimit -n 300 && exec \"$0\" -c 1000 \"$1\"",
            env!("CARGO_BIN_EXE_octopus"),
            &s.url("/never"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("open files"), "{}", stderr(&out));
    assert_eq!(s.requests(), 0);
}

#[test]
fn the_open_file_limit_is_raised_for_a_large_concurrency() {
    // A soft limit of 256 with a higher hard limit: 600 workers need it raised.
    let s = server();
    let urls: String = (0..600)
        .map(|i| format!("{}\n", s.url(&format!("/delay/50/{i}"))))
        .collect();
    let mut cmd = assert_cmd::Command::new("sh");
    cmd.args([
        "-c",
        "ulimit -Sn 256 && exec \"$0\" -q -c 600 --json",
        env!("CARGO_BIN_EXE_octopus"),
    ]);
    let out = cmd.write_stdin(urls).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(records(&out).len(), 600);
}

#[test]
fn ctrl_c_on_a_terminal_is_answered_above_the_progress_bar() {
    let s = server();
    let dir = url_list(&s, "tty-int", 200, 50);
    // The run takes about 5 s; it is interrupted once it has surely started.
    let command = format!(
        "{} -c 2 {} > /dev/null & p=$!; sleep 1; kill -INT $p; wait $p; echo \"exit=$?\"",
        env!("CARGO_BIN_EXE_octopus"),
        dir.join("urls.txt").display(),
    );
    let out = on_a_terminal(&command);
    let _ = std::fs::remove_dir_all(&dir);
    let shown = stdout(&out);
    assert_eq!(shown.matches("octopus: stopping:").count(), 1, "{shown}");
    assert!(shown.contains("stopped (interrupted)"), "{shown}");
    assert!(shown.contains("exit=130"), "{shown}");
}

#[test]
fn bench_shows_each_phase_on_a_terminal() {
    let command = format!("{} bench 20 5 --latency 1ms", env!("CARGO_BIN_EXE_octopus"));
    let out = on_a_terminal(&command);
    let shown = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    for phase in ["sequential", "octopus+cache"] {
        let bar = shown
            .lines()
            .any(|l| l.contains(phase) && l.contains("/20 URLs"));
        assert!(bar, "no progress for {phase}: {shown}");
    }
}

#[test]
fn stats_on_a_terminal_draw_a_latency_histogram_and_the_bar_counts_outcomes() {
    let s = server();
    let dir = url_list(&s, "stats-tty", 30, 20);
    let command = format!(
        "{} --stats -c 2 {} http://127.0.0.1:1/refused > /dev/null",
        env!("CARGO_BIN_EXE_octopus"),
        dir.join("urls.txt").display(),
    );
    let out = on_a_terminal(&command);
    let shown = stdout(&out);
    assert!(shown.contains("latency of 30 responses: p50"), "{shown}");
    assert!(
        shown.contains("latency histogram (ms):") && shown.contains('█'),
        "{shown}"
    );
    assert!(shown.contains("statuses: 200: 30"), "{shown}");
    assert!(shown.contains("most failures: 127.0.0.1:1: 1"), "{shown}");
    assert!(
        shown.contains("ok ") && shown.contains("  failed "),
        "the bar counts: {shown}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn no_eta_before_a_record_and_a_second_ctrl_c_clears_the_bar() {
    let s = server();
    let dir = url_list(&s, "tty-twice", 10, 3000);
    // Both signals come while the first requests are still in flight.
    let command = format!(
        "{} -c 2 {} > /dev/null & p=$!; sleep 1; kill -INT $p; sleep 0.5; kill -INT $p; \
         wait $p; echo \"exit=$?\"",
        env!("CARGO_BIN_EXE_octopus"),
        dir.join("urls.txt").display(),
    );
    let out = on_a_terminal(&command);
    let _ = std::fs::remove_dir_all(&dir);
    let shown = stdout(&out);
    assert!(shown.contains("exit=130"), "{shown}");
    assert!(shown.contains("0/10"), "the bar was drawn: {shown}");
    assert!(!shown.contains("ETA 0s"), "no ETA before a record: {shown}");
    // Whatever comes after the bar's last frame begins by erasing it.
    let last_frame = shown.rfind("0/10").unwrap();
    let after = &shown[last_frame..];
    assert!(after.contains("\u{1b}[2K"), "the bar is cleared: {after:?}");
}

#[test]
fn a_resumed_run_counts_its_own_lines_on_the_bar() {
    let s = server();
    let dir = url_list(&s, "tty-resume", 10, 300);
    let list = std::fs::read_to_string(dir.join("urls.txt")).unwrap();
    let first_half: String = list.lines().take(5).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("half.txt"), first_half).unwrap();
    let journal = dir.join("r.jsonl");
    // The first five lines are done, recorded as lines of urls.txt.
    std::fs::rename(dir.join("urls.txt"), dir.join("full.txt")).unwrap();
    std::fs::rename(dir.join("half.txt"), dir.join("urls.txt")).unwrap();
    octopus()
        .current_dir(&dir)
        .args(["-q", "--json", "-o", "r.jsonl", "--resume", "urls.txt"])
        .assert()
        .success();
    std::fs::rename(dir.join("full.txt"), dir.join("urls.txt")).unwrap();
    let command = format!(
        "cd {} && {} -c 1 --json -o r.jsonl --resume urls.txt",
        dir.display(),
        env!("CARGO_BIN_EXE_octopus"),
    );
    let out = on_a_terminal(&command);
    let shown = stdout(&out);
    let lines = std::fs::read_to_string(&journal).unwrap().lines().count();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(lines, 10);
    assert!(
        shown.contains("/5 ") && shown.contains("resumed 5"),
        "{shown}"
    );
    assert!(
        !shown.contains("/10 "),
        "the bar counts this run's lines: {shown}"
    );
}

#[test]
fn a_crawl_on_a_terminal_shows_pages_and_the_frontier_and_never_on_stdout() {
    let s = server();
    let dir = std::env::temp_dir().join(format!("octopus-crawl-tty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let records_file = dir.join("records.jsonl");
    // 1,000 pages, two at a time: long enough for the bar to be drawn.
    let command = format!(
        "{} crawl --json -c 2 --depth 3 {} > {}",
        env!("CARGO_BIN_EXE_octopus"),
        s.url("/web/0"),
        records_file.display()
    );
    let out = on_a_terminal(&command);
    let shown = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    let written = std::fs::read_to_string(&records_file).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    for line in written.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("only whole JSON records on stdout");
    }
    assert!(
        shown.contains(" pages  ok ") && shown.contains("frontier "),
        "the bar: {shown}"
    );
    assert!(shown.contains("\"type\":\"summary\""), "{shown}");
}
