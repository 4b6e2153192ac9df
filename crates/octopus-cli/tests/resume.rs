//! `-o FILE` and `--resume`: the output file is the run's state. Killed with SIGKILL at
//! random moments and resumed, a run ends with exactly one whole record per input line; a
//! torn last line is dropped and refetched (and cut before `--append` adds records); a
//! changed input is refused; `--retry-failed` and `--max-age` refetch what they name, and
//! only that.

mod common;
use common::*;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

/// Every record of a JSON Lines file; each line must be whole JSON.
fn journal(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "the file ends with a whole line"
    );
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("torn line {l:?}: {e}")))
        .collect()
}

/// Records by line number; panics on a line recorded twice.
fn by_line(records: &[Value]) -> BTreeMap<u64, &Value> {
    let mut lines = BTreeMap::new();
    for r in records {
        let line = r["line"].as_u64().unwrap();
        assert!(
            lines.insert(line, r).is_none(),
            "line {line} recorded twice"
        );
    }
    lines
}

fn list(dir: &Dir, lines: &[String]) -> String {
    let path = dir.0.join("urls.txt");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path.display().to_string()
}

#[test]
fn records_go_to_the_file_replaced_or_appended_and_csv_gets_one_header() {
    let s = server();
    let dir = Dir::new("output-file");
    let out_file = dir.0.join("out.csv");
    let run = |path: &str, more: &[&str]| {
        let out = octopus()
            .args(["--format", "csv", "-o"])
            .arg(&out_file)
            .args(more)
            .arg(s.url(path))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(out.stdout.is_empty(), "nothing on stdout");
    };
    let lines = || -> Vec<String> {
        let text = std::fs::read_to_string(&out_file).unwrap();
        text.lines().map(str::to_string).collect()
    };
    // Without --append the file is replaced, as curl -o and wget -O do.
    run("/old", &[]);
    run("/a", &[]);
    assert_eq!(lines().len(), 2, "{:?}", lines());
    run("/b", &["--append"]);
    let lines = lines();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("url,"));
    assert!(lines[1].starts_with(&s.url("/a")) && lines[2].starts_with(&s.url("/b")));
}

#[test]
fn records_of_another_format_are_not_appended() {
    let s = server();
    let dir = Dir::new("output-format");
    let out_file = dir.0.join("r.jsonl");
    octopus()
        .args(["-q", "--json", "-o"])
        .arg(&out_file)
        .arg(s.url("/a"))
        .assert()
        .success();
    let before = std::fs::read(&out_file).unwrap();
    for more in [&["--append"][..], &["--resume"][..]] {
        let out = octopus()
            .args(["-q", "-o"])
            .arg(&out_file)
            .args(more)
            .arg(s.url("/b"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{more:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("JSON"), "{}", stderr(&out));
        assert_eq!(
            std::fs::read(&out_file).unwrap(),
            before,
            "{more:?}: unchanged"
        );
    }
}

#[test]
fn a_torn_last_line_is_cut_before_records_are_appended() {
    // A run killed mid-write (a worker of a shared job, or any run, then `--append`):
    // the next record must not run on from the torn line.
    let s = server();
    let dir = Dir::new("append-torn");
    let out_file = dir.0.join("r.jsonl");
    let run = |path: &str| {
        octopus()
            .args(["-q", "--json", "--append", "-o"])
            .arg(&out_file)
            .arg(s.url(path))
            .assert()
            .success();
    };
    run("/a");
    let mut torn = std::fs::read(&out_file).unwrap();
    torn.extend_from_slice(br#"{"url":"http://torn.test/","final_url":"#);
    std::fs::write(&out_file, &torn).unwrap();
    run("/b");
    let urls: Vec<Value> = journal(&out_file)
        .iter()
        .map(|r| r["url"].clone())
        .collect();
    assert_eq!(urls, [json!(s.url("/a")), json!(s.url("/b"))]);
}

#[test]
fn an_input_is_recognised_however_it_is_named() {
    let s = server();
    let dir = Dir::new("resume-names");
    let urls: Vec<String> = (0..6).map(|i| s.url(&format!("/named/{i}"))).collect();
    std::fs::write(dir.0.join("many.txt"), urls.join("\n") + "\n").unwrap();
    let out_file = dir.0.join("r.jsonl");
    let run = |name: &str| {
        octopus()
            .current_dir(&dir.0)
            .args(["-q", "--json", "-o", "r.jsonl", "--resume", name])
            .output()
            .unwrap()
    };
    assert_eq!(run("many.txt").status.code(), Some(0));
    let out = run("./many.txt");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&out_file).unwrap();
    assert_eq!(text.lines().count(), 6, "nothing fetched again: {text}");
    for i in 0..6 {
        assert_eq!(s.hits(&format!("/named/{i}")), 1);
    }
}

#[test]
fn a_resume_that_recognises_no_input_fetches_nothing() {
    let s = server();
    let dir = Dir::new("resume-other");
    std::fs::write(dir.0.join("a.txt"), s.url("/first") + "\n").unwrap();
    std::fs::write(dir.0.join("b.txt"), s.url("/second") + "\n").unwrap();
    let run = |name: &str, more: &str| {
        octopus()
            .current_dir(&dir.0)
            .args(["-q", "--json", "-o", "r.jsonl", more, name])
            .output()
            .unwrap()
    };
    assert_eq!(run("a.txt", "--resume").status.code(), Some(0));
    let out = run("b.txt", "--resume");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("a.txt") && err.contains("--append"), "{err}");
    assert_eq!(s.hits("/second"), 0, "nothing fetched");
    // Said so, the records can be added.
    assert_eq!(run("b.txt", "--append").status.code(), Some(0));
    assert_eq!(s.hits("/second"), 1);
}

#[test]
fn killed_at_random_moments_and_resumed_every_line_ends_with_one_record() {
    let s = server();
    let dir = Dir::new("resume-kill");
    let n = 60;
    let urls: Vec<String> = (0..n).map(|i| s.url(&format!("/delay/40/{i}"))).collect();
    let input = list(&dir, &urls);
    let out_file = dir.0.join("out.jsonl");
    let out_arg = out_file.display().to_string();
    let args = [
        "--json", "-q", "-c", "4", "--resume", "-o", &out_arg, &input,
    ];
    let Kills { seed, count: kills } = kill_at_random_moments(&args, 20, 180, || {
        // Whatever the moment, what the file holds is whole records, each line once, or a
        // torn last line that the next resume cuts off.
        let text = std::fs::read(&out_file).unwrap_or_default();
        let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let records: Vec<Value> = String::from_utf8_lossy(&text[..whole])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        by_line(&records);
    });
    let out = octopus()
        .args(["--json", "--resume", "-o", &out_arg, &input])
        .output()
        .unwrap();
    assert!(out.status.success(), "seed {seed}: {}", stderr(&out));
    let records = journal(&out_file);
    let lines = by_line(&records);
    assert_eq!(
        lines.len(),
        n,
        "seed {seed}, {kills} kills: one record per line"
    );
    assert_eq!(
        lines.keys().copied().collect::<Vec<_>>(),
        (1..=n as u64).collect::<Vec<_>>()
    );
    assert!(records.iter().all(|r| r["status"] == 200), "seed {seed}");
    let summary = json_summary(&out);
    assert_eq!(
        summary["urls"], n,
        "the summary covers the earlier runs too"
    );
    assert_eq!(summary["ok"], n);
    assert!(
        kills > 0,
        "the runs were interrupted at least once (seed {seed})"
    );
}

#[test]
fn a_torn_last_line_is_dropped_and_its_line_fetched_again() {
    let s = server();
    let dir = Dir::new("resume-torn");
    let urls: Vec<String> = (0..5).map(|i| s.url(&format!("/t/{i}"))).collect();
    let input = list(&dir, &urls);
    let out_file = dir.0.join("out.jsonl");
    octopus()
        .args(["--json", "-c", "1", "-o"])
        .arg(&out_file)
        .arg(&input)
        .assert()
        .success();
    let text = std::fs::read(&out_file).unwrap();
    std::fs::write(&out_file, &text[..text.len() - 30]).unwrap();
    let last = journal_lines_without_last(&text);
    let out = octopus()
        .args(["--json", "-c", "1", "--resume", "-o"])
        .arg(&out_file)
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let records = journal(&out_file);
    assert_eq!(by_line(&records).len(), 5);
    assert_eq!(
        s.hits(&format!("/t/{last}")),
        2,
        "the torn line's URL was fetched again"
    );
    assert_eq!(json_summary(&out)["resumed"], 4);
}

/// The path index of the last record in `text` (the one a cut makes torn).
fn journal_lines_without_last(text: &[u8]) -> u64 {
    let last = String::from_utf8_lossy(text)
        .lines()
        .last()
        .unwrap()
        .to_string();
    let record: Value = serde_json::from_str(&last).unwrap();
    let url = record["url"].as_str().unwrap();
    url.rsplit('/').next().unwrap().parse().unwrap()
}

#[test]
fn a_changed_input_is_refused_not_mixed() {
    let s = server();
    let dir = Dir::new("resume-changed");
    let mut urls: Vec<String> = (0..4).map(|i| s.url(&format!("/c/{i}"))).collect();
    let input = list(&dir, &urls);
    let out_file = dir.0.join("out.jsonl");
    octopus()
        .args(["--json", "-o"])
        .arg(&out_file)
        .arg(&input)
        .assert()
        .success();
    urls[2] = s.url("/other");
    list(&dir, &urls);
    let before = std::fs::read(&out_file).unwrap();
    let out = octopus()
        .args(["--json", "--resume", "-o"])
        .arg(&out_file)
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(
        message.contains("line 3") && message.contains("changed"),
        "{message}"
    );
    assert_eq!(
        std::fs::read(&out_file).unwrap(),
        before,
        "nothing was mixed in"
    );
    assert_eq!(s.hits("/other"), 0);
}

#[test]
fn retry_failed_and_max_age_refetch_only_what_they_name() {
    let s = server();
    let dir = Dir::new("resume-refetch");
    let input = list(&dir, &[s.url("/status/200"), s.url("/status/500")]);
    let out_file = dir.0.join("out.jsonl");
    let run = |extra: &[&str]| {
        let out = octopus()
            .args(["--json", "--resume", "-o"])
            .arg(&out_file)
            .args(extra)
            .arg(&input)
            .output()
            .unwrap();
        assert_eq!(by_line(&journal(&out_file)).len(), 2, "{extra:?}");
        json_summary(&out)
    };
    run(&[]);
    assert_eq!((s.hits("/status/200"), s.hits("/status/500")), (1, 1));
    run(&[]);
    assert_eq!(
        (s.hits("/status/200"), s.hits("/status/500")),
        (1, 1),
        "all done"
    );
    let summary = run(&["--retry-failed"]);
    assert_eq!((s.hits("/status/200"), s.hits("/status/500")), (1, 2));
    assert_eq!(summary["resumed"], 1);
    run(&["--max-age", "1h"]);
    assert_eq!(
        (s.hits("/status/200"), s.hits("/status/500")),
        (1, 2),
        "nothing stale"
    );
    run(&["--max-age", "0s"]);
    assert_eq!(
        (s.hits("/status/200"), s.hits("/status/500")),
        (2, 3),
        "everything stale"
    );
}

#[test]
fn resume_needs_json_lines() {
    let out = octopus()
        .args(["--resume", "-o", "/tmp/x.txt", "http://127.0.0.1:1/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--json"), "{}", stderr(&out));
}

#[test]
fn a_resumed_summary_covers_the_whole_file_and_says_this_runs_part_apart() {
    let s = server();
    let dir = Dir::new("resume-scope");
    let first = vec![s.url("/status/404"), s.url("/a")];
    let out_file = dir.0.join("out.jsonl");
    octopus()
        .args(["--json", "-q", "-o"])
        .arg(&out_file)
        .arg(list(&dir, &first))
        .assert()
        .code(1);
    // The same list, one more line: only that one is fetched.
    let mut all = first.clone();
    all.push(s.url("/status/500"));
    let out = octopus()
        .args(["--json", "--retries", "0", "--resume", "-o"])
        .arg(&out_file)
        .arg(list(&dir, &all))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary = json_summary(&out);
    assert_eq!(
        (&summary["urls"], &summary["resumed"]),
        (&json!(3), &json!(2))
    );
    assert_eq!((&summary["ok"], &summary["failed"]), (&json!(1), &json!(2)));
    assert_eq!(
        summary["statuses"],
        json!({"200": 1, "404": 1, "500": 1}),
        "the statuses of the whole file, as its counts"
    );
    let host = s.addr().to_string();
    assert_eq!(
        summary["top_failing_hosts"],
        json!([{"host": host, "failed": 2}])
    );
    assert_eq!(summary["latency_ms"]["fetched"], 3);
    assert_eq!(
        summary["this_run"],
        json!({"urls": 1, "ok": 0, "failed": 1})
    );
}
