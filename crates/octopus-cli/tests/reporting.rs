//! What a run reports and how: CSV read back by Python's csv module, and matchers and
//! filters deciding what is printed while the summary and exit status count everything.

mod common;
use common::*;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

/// `text` read by Python's csv module (`csv.DictReader`): one object per row.
fn python_csv(text: &str) -> Vec<Value> {
    let mut python = Command::new("python3")
        .args([
            "-c",
            "import csv, json, sys; print(json.dumps(list(csv.DictReader(sys.stdin))))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    python
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = python.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
}

#[test]
fn csv_rows_read_back_with_pythons_csv_reader() {
    let s = server();
    let dir = Dir::new("csv");
    let list = dir.0.join("urls.txt");
    let lines = [
        s.url("/html"),
        s.url("/status/404"),
        "bad, \"quoted\" line".to_string(),
        "http://127.0.0.1:1/refused".to_string(),
    ];
    std::fs::write(&list, lines.join("\n")).unwrap();
    let out = octopus()
        .args(["-c", "1", "--format", "csv", "--title", "--hash=sha256"])
        .arg(&list)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.starts_with("url,final_url,input,line,status,ok,error_kind,error_message,"));
    let rows = python_csv(&text);
    assert_eq!(rows.len(), 4, "{text}");
    let row = |line: u64| {
        rows.iter()
            .find(|r| r["line"].as_str().and_then(|l| l.parse().ok()) == Some(line))
            .unwrap_or_else(|| panic!("no row for line {line}: {rows:?}"))
    };
    assert_eq!(row(1)["status"], "200");
    assert_eq!(row(1)["ok"], "true");
    assert_eq!(row(1)["title"], "Octopus test page");
    assert_eq!(row(1)["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(row(1)["input"], list.display().to_string());
    assert_eq!(row(2)["status"], "404");
    assert_eq!(row(2)["ok"], "false");
    assert_eq!(
        row(3)["url"],
        "bad, \"quoted\" line",
        "commas and quotes survive"
    );
    assert_eq!(row(3)["error_kind"], "invalid_url");
    assert_eq!(row(3)["status"], "");
    assert_eq!(row(4)["error_kind"], "connect");
    assert!(!row(4)["error_message"].as_str().unwrap().is_empty());
}

/// Run with `args` over `urls` (JSON records, one worker, in order): the printed records'
/// paths, the summary, the exit status.
fn selected(s: &Server, paths: &[&str], args: &[&str]) -> (Vec<String>, Value, Option<i32>) {
    let urls: Vec<String> = paths.iter().map(|p| s.url(p)).collect();
    let out = octopus()
        .args(["--json", "-c", "1"])
        .args(args)
        .args(&urls)
        .output()
        .unwrap();
    let printed = records(&out)
        .iter()
        .map(|r| {
            let url = r["url"].as_str().unwrap();
            url.strip_prefix(&s.url("")).unwrap_or(url).to_string()
        })
        .collect();
    (printed, json_summary(&out), out.status.code())
}

#[test]
fn matchers_and_filters_decide_what_is_printed_not_what_is_counted() {
    let s = server();
    let paths = [
        "/status/200",
        "/status/404",
        "/status/500",
        "/bytes/5000",
        "/html",
    ];
    let check = |args: &[&str], expected: &[&str]| {
        let (printed, summary, code) = selected(&s, &paths, args);
        assert_eq!(printed, expected, "{args:?}");
        assert_eq!(summary["urls"], 5, "every record counted: {args:?}");
        assert_eq!(summary["failed"], 2, "{args:?}");
        assert_eq!(summary["printed"], expected.len(), "{args:?}");
        assert_eq!(
            code,
            Some(1),
            "the exit status follows --ok-status: {args:?}"
        );
    };
    check(&[], &paths);
    check(
        &["--match-status", "200-299"],
        &["/status/200", "/bytes/5000", "/html"],
    );
    check(
        &["--filter-status", "404,500"],
        &["/status/200", "/bytes/5000", "/html"],
    );
    check(&["--match-size", "1k-"], &["/bytes/5000"]);
    check(&["--filter-size", "-10"], &["/bytes/5000", "/html"]);
    check(&["--match-regex", "Hello from"], &["/html"]);
    check(&["--filter-regex", "^status"], &["/bytes/5000", "/html"]);
    check(&["--match-type", "TEXT/HTML"], &["/html"]);
    check(&["--filter-type", "text/plain"], &["/bytes/5000", "/html"]);
    check(&["--failed"], &["/status/404", "/status/500"]);
    check(
        &["--match-status", "200", "--match-regex", "status"],
        &["/status/200"],
    );
}

#[test]
fn failed_transports_are_printed_unless_a_matcher_leaves_them_out() {
    let s = server();
    let refused = "http://127.0.0.1:1/refused";
    let run = |args: &[&str]| {
        let out = octopus()
            .args(["--json"])
            .args(args)
            .args([refused.to_string(), s.url("/status/200")])
            .output()
            .unwrap();
        records(&out)
            .iter()
            .map(|r| r["url"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert!(run(&["--filter-status", "404"]).contains(&refused.to_string()));
    assert!(!run(&["--match-status", "200-599"]).contains(&refused.to_string()));
    assert_eq!(run(&["--failed"]), [refused]);
}

#[test]
fn bodies_kept_to_match_are_printed_only_when_asked() {
    let s = server();
    let run = |extra: &[&str]| {
        let out = octopus()
            .args(["--json", "--match-regex", "Hello"])
            .args(extra)
            .arg(s.url("/html"))
            .output()
            .unwrap();
        records(&out).remove(0)
    };
    assert!(run(&[]).get("body").is_none());
    let with_body = run(&["--include-body"]);
    assert!(with_body["body"].as_str().unwrap().contains("Hello"));
}

#[test]
fn bad_matchers_are_usage_errors_naming_the_flag() {
    for (flag, value) in [
        ("--match-regex", "("),
        ("--match-status", "2yy"),
        ("--filter-size", "10-1"),
    ] {
        let out = octopus()
            .args([flag, value, "http://127.0.0.1:1/"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert!(stderr(&out).contains(flag), "{flag}: {}", stderr(&out));
    }
}

/// The line numbers of the records, in the order they were printed.
fn line_numbers(out: &std::process::Output) -> Vec<u64> {
    records(out)
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect()
}

#[test]
fn keep_order_prints_in_input_order_under_shuffled_delays() {
    let s = server();
    let dir = Dir::new("keep-order");
    // Delays shuffled by a fixed permutation: later lines often finish first.
    let urls: Vec<String> = (0..40u64)
        .map(|i| s.url(&format!("/delay/{}/{i}", (i * 37) % 41 * 5)))
        .collect();
    let list = dir.0.join("urls.txt");
    std::fs::write(&list, urls.join("\n")).unwrap();
    let out = octopus()
        .args(["--json", "-c", "8", "--keep-order"])
        .arg(&list)
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines = line_numbers(&out);
    assert_eq!(lines, (1..=40).collect::<Vec<_>>());
    let unordered = octopus()
        .args(["--json", "-c", "8"])
        .arg(&list)
        .output()
        .unwrap();
    let lines = line_numbers(&unordered);
    assert_ne!(
        lines,
        (1..=40).collect::<Vec<_>>(),
        "without it, completion order"
    );
}

#[test]
fn keep_order_holds_back_at_most_its_window_then_fetching_waits() {
    let s = server();
    // Window: look-ahead 1 + concurrency 2 = 3 lines handed over and not yet printed.
    let mut urls = vec![s.url("/delay/300/slow")];
    urls.extend((0..12).map(|i| s.url(&format!("/fast/{i}"))));
    let out = octopus()
        .args(["--json", "-c", "2", "--lookahead", "1", "--keep-order"])
        .args(&urls)
        .output()
        .unwrap();
    let recs = records(&out);
    assert_eq!(recs.len(), 13);
    let finished: Vec<std::time::SystemTime> = recs
        .iter()
        .map(|r| humantime::parse_rfc3339(r["finished_at"].as_str().unwrap()).unwrap())
        .collect();
    // Line k is handed over only once line k - 3 was printed, so it finishes after it.
    for k in 3..finished.len() {
        assert!(
            finished[k] >= finished[k - 3],
            "line {} before line {}",
            k + 1,
            k - 2
        );
    }
}

#[test]
fn keep_order_with_a_file_named_twice_prints_every_record() {
    let s = server();
    let dir = Dir::new("keep-order-twice");
    let list = dir.0.join("urls.txt");
    std::fs::write(
        &list,
        format!("{}\n{}\n", s.url("/delay/50/a"), s.url("/b")),
    )
    .unwrap();
    let out = octopus()
        .args(["--json", "--no-cache", "--keep-order"])
        .arg(&list)
        .arg(&list)
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines = line_numbers(&out);
    assert_eq!(lines, [1, 2, 1, 2]);
}

#[test]
fn statistics_in_the_json_summary_agree_with_the_records() {
    let s = server();
    let mut urls: Vec<String> = (0..12)
        .map(|i| s.url(&format!("/delay/{}/{i}", i * 10)))
        .collect();
    urls.extend([
        s.url("/status/404"),
        s.url("/status/404"),
        s.url("/delay/0/0"),
    ]);
    urls.push("http://127.0.0.1:1/refused".into());
    // Never sent anywhere: its "host" is not a failing host.
    urls.push("ftp://never.example/x".into());
    let out = octopus()
        .args(["--json", "-c", "4"])
        .args(&urls)
        .output()
        .unwrap();
    let recs = records(&out);
    let summary = json_summary(&out);
    // Statuses, as the records have them.
    let mut statuses = std::collections::BTreeMap::new();
    for r in &recs {
        if let Some(status) = r["status"].as_u64() {
            *statuses.entry(status.to_string()).or_insert(0u64) += 1;
        }
    }
    assert_eq!(summary["statuses"], serde_json::json!(statuses));
    // Latency: of the responses fetched (not the failure, nor the repeat of /delay/0/0,
    // which came from the cache), each its fetch time.
    let made: Vec<f64> = recs
        .iter()
        .filter(|r| r["cached"] == false)
        .filter_map(|r| r["fetch_ms"].as_f64())
        .collect();
    assert_eq!(made.len(), 13);
    let latency = &summary["latency_ms"];
    assert_eq!(latency["fetched"], made.len(), "{summary}");
    let slowest = made.iter().cloned().fold(0.0, f64::max);
    let max = latency["max"].as_f64().unwrap();
    assert!(
        (max - slowest).abs() <= slowest * 0.002 + 0.01,
        "{max} vs {slowest}"
    );
    let p = |q: &str| latency[q].as_f64().unwrap();
    assert!(p("p50") <= p("p90") && p("p90") <= p("p99") && p("p99") <= max);
    // Each step over the records that had it: connections made (at most the concurrency,
    // to one host), no name looked up (an address host), no TLS, a first byte for each.
    let steps = &summary["steps_ms"];
    let had = |field: &str| recs.iter().filter(|r| r[field].is_number()).count();
    assert_eq!(steps["connect"]["fetched"], had("connect_ms"), "{steps}");
    assert!((1..=4).contains(&had("connect_ms")), "{steps}");
    assert_eq!(steps["ttfb"]["fetched"], made.len(), "{steps}");
    assert_eq!(
        (steps["dns"].clone(), steps["tls"].clone()),
        (serde_json::Value::Null, serde_json::Value::Null)
    );
    let top = &summary["top_failing_hosts"];
    assert_eq!(top[0]["failed"], 2, "{top}");
    assert_eq!(
        top[0]["host"],
        s.url("")
            .trim_start_matches("http://")
            .trim_end_matches('/')
    );
    assert_eq!(
        top[1],
        serde_json::json!({"host": "127.0.0.1:1", "failed": 1})
    );
    assert_eq!(top.as_array().map(Vec::len), Some(2), "{top}");
}

#[test]
fn stats_asked_for_are_printed_even_with_quiet() {
    let s = server();
    let out = octopus()
        .args(["-q", "--stats", &s.url("/a")])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(err.contains("statuses: 200: 1"), "{err}");
    assert!(err.contains("[octopus] steps (ms): connect p50 "), "{err}");
    assert!(err.contains("; ttfb p50 "), "{err}");
}
