//! `octopus bench`: a small, fast run of the offline benchmark (the numbers themselves are
//! measured in BENCHMARKS.md, never asserted here).

mod common;
use common::*;

#[test]
fn bench_reports_three_runs_over_the_embedded_server() {
    let out = octopus()
        .args([
            "bench",
            "40",
            "8",
            "--latency",
            "5ms",
            "--distinct",
            "5",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let runs = report["runs"].as_array().unwrap();
    let names: Vec<&str> = runs.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["sequential", "octopus", "octopus+cache"]);
    for run in runs {
        assert_eq!(run["urls"], 40, "{run}");
        assert_eq!(run["ok"], 40, "{run}");
        assert_eq!(run["failed"], 0, "{run}");
    }
    assert_eq!(runs[0]["concurrency"], 1);
    assert_eq!(runs[0]["server_requests"], 40);
    assert_eq!(runs[1]["server_requests"], 40);
    let cached = runs[2]["server_requests"].as_u64().unwrap();
    assert!(
        (1..=5).contains(&cached),
        "at most one request per distinct URL: {cached}"
    );
    assert_eq!(report["ideal_seconds"].as_f64().unwrap(), 5.0 * 0.005);
}

#[test]
fn bench_prints_a_results_block_like_the_original() {
    let out = octopus()
        .args(["bench", "10", "5", "--latency", "1ms"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "RESULTS",
        "[sequential] Retrieving 10 urls took",
        "[octopus] Retrieving 10 urls took",
        "[octopus+cache] Retrieving 10 urls took",
        "Ideal time at concurrency 5",
        "Overall, octopus was",
        "times faster than sequential requests.",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn without_latency_there_is_no_ideal_time_to_reach() {
    let out = octopus()
        .args(["bench", "10", "5", "--latency", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains("% of it"), "{text}");
    assert!(text.contains("No latency was simulated"), "{text}");
    let out = octopus()
        .args(["bench", "10", "5", "--latency", "0", "--json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["efficiency"], serde_json::Value::Null);
}
