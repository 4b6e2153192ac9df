//! Politeness: limits in flight per host and per prefix, no head-of-line blocking, rate,
//! delay and retries, measured at a real loopback server (two names via `--resolve`).

mod common;
use common::*;

use std::time::Duration;

/// `http://NAME:PORT` for a name resolved to the test server, with the matching flags.
struct Hosts {
    s: Server,
}

impl Hosts {
    fn new() -> Self {
        let s = server();
        s.keep_arrivals();
        Hosts { s }
    }

    fn url(&self, name: &str, path: &str) -> String {
        format!("http://{name}:{}{path}", self.s.addr().port())
    }

    fn host(&self, name: &str) -> String {
        format!("{name}:{}", self.s.addr().port())
    }

    fn resolve_args(&self) -> Vec<String> {
        let port = self.s.addr().port();
        ["a.test", "b.test"]
            .iter()
            .flat_map(|n| ["--resolve".to_string(), format!("{n}:{port}:127.0.0.1")])
            .collect()
    }

    fn run(&self, args: &[&str], urls: &[String]) -> std::process::Output {
        octopus()
            .args(self.resolve_args())
            .args(["--json"])
            .args(args)
            .write_stdin(urls.join("\n"))
            .output()
            .unwrap()
    }
}

fn gaps(times: &[std::time::Instant]) -> Vec<Duration> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

#[test]
fn per_host_limit_is_never_exceeded() {
    let h = Hosts::new();
    let mut urls: Vec<String> = (0..30)
        .map(|i| h.url("a.test", &format!("/delay/30/{i}")))
        .collect();
    urls.extend((0..30).map(|i| h.url("b.test", &format!("/delay/30/{i}"))));
    let out = h.run(&["--per-host", "3", "-c", "20", "--no-cache"], &urls);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(records(&out).len(), 60);
    // The limit is an upper bound; how close the server sees it reached depends on
    // scheduling, so only the bound is asserted.
    for name in ["a.test", "b.test"] {
        let max = h.s.max_in_flight(&h.host(name));
        assert!((1..=3).contains(&max), "{name}: {max} in flight at once");
    }
}

#[test]
fn the_first_matching_prefix_limit_applies() {
    let h = Hosts::new();
    let urls: Vec<String> = (0..20)
        .map(|i| h.url("a.test", &format!("/x/delay/200/{i}")))
        .collect();
    let first = format!("{}=2", h.url("a.test", "/"));
    let second = format!("{}=10", h.url("a.test", "/x/"));
    let out = h.run(&["--limit", &first, "--limit", &second, "-c", "20"], &urls);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(h.s.max_in_flight(&h.host("a.test")) <= 2);
}

#[test]
fn a_throttled_host_does_not_block_other_hosts() {
    // 20 slow URLs for a.test limited to 2 at a time come first in the input; the 200 fast
    // b.test URLs behind them must not wait for them.
    let h = Hosts::new();
    let mut urls: Vec<String> = (0..20)
        .map(|i| h.url("a.test", &format!("/delay/100/{i}")))
        .collect();
    urls.extend((0..200).map(|i| h.url("b.test", &format!("/delay/5/{i}"))));
    let limit = format!("{}=2", h.url("a.test", "/"));
    let out = h.run(&["--limit", &limit, "-c", "50"], &urls);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let recs = records(&out);
    assert_eq!(recs.len(), 220);
    let position = |name: &str| {
        recs.iter()
            .rposition(|r| r["url"].as_str().unwrap().contains(name))
            .unwrap()
    };
    assert!(
        position("b.test") < position("a.test"),
        "every b.test record is written before the last a.test one"
    );
    assert!(h.s.max_in_flight(&h.host("a.test")) <= 2);
    let waited = recs
        .iter()
        .filter(|r| r["waited_ms"].as_f64().unwrap() > 0.0)
        .count();
    assert!(
        waited >= 18,
        "a.test URLs that waited for a slot say so: {waited}"
    );
    let summary = json_summary(&out);
    assert_eq!(summary["waited"].as_u64().unwrap(), waited as u64);
    assert!(summary["waited_ms"].as_u64().unwrap() > 0);
}

#[test]
fn rate_spaces_request_starts() {
    let h = Hosts::new();
    let urls: Vec<String> = (0..6)
        .map(|i| h.url("a.test", &format!("/r/{i}")))
        .collect();
    let out = h.run(&["--rate", "10/s", "-c", "6"], &urls);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let times = h.s.arrivals(&h.host("a.test"));
    assert_eq!(times.len(), 6);
    // Starts are 100 ms apart at the client; arrivals may lag by a thread wake-up, so the
    // span is checked with room for that (it would be near 0 without the rate).
    let span = *times.last().unwrap() - times[0];
    assert!(span >= Duration::from_millis(400), "{span:?}");
}

#[test]
fn delay_spaces_starts_to_the_same_host_only() {
    let h = Hosts::new();
    let mut urls: Vec<String> = (0..5)
        .map(|i| h.url("a.test", &format!("/d/{i}")))
        .collect();
    urls.extend((0..5).map(|i| h.url("b.test", &format!("/d/{i}"))));
    let out = h.run(&["--delay", "200ms", "-c", "10"], &urls);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for name in ["a.test", "b.test"] {
        let times = h.s.arrivals(&h.host(name));
        assert_eq!(times.len(), 5);
        assert!(
            gaps(&times).iter().all(|g| *g >= Duration::from_millis(80)),
            "{name}: {times:?}"
        );
    }
}

#[test]
fn delay_counts_from_when_a_request_went_out() {
    // The name takes longer to look up than the delay: the second request starts only once
    // the first went out (else it joins the lookup and both arrive together), the third a
    // delay after the second.
    let s = server();
    s.keep_arrivals();
    let dns = octopus_testserver::DnsServer::start().unwrap();
    dns.add("slow.test", "127.0.0.1".parse().unwrap())
        .delay(Duration::from_millis(400));
    let port = s.addr().port();
    let out = octopus()
        .args(["--json", "--dns-server", &dns.addr().to_string()])
        .args(["--delay", "150ms", "-c", "3"])
        .args((0..3).map(|i| format!("http://slow.test:{port}/d/{i}")))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let times = s.arrivals(&format!("slow.test:{port}"));
    assert_eq!(times.len(), 3);
    // Arrivals are stamped by the server's threads: room for a wake-up.
    assert!(
        gaps(&times)
            .iter()
            .all(|g| *g >= Duration::from_millis(100)),
        "{times:?}"
    );
}

#[test]
fn failures_are_retried_and_attempts_counted() {
    let h = Hosts::new();
    let flaky = h.url("a.test", "/flaky/2/x");
    let out = h.run(&["--retries", "3", "--retry-delay", "10ms"], &[flaky]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = &records(&out)[0];
    assert_eq!(
        (r["status"].as_u64(), r["attempts"].as_u64()),
        (Some(200), Some(3)),
        "{r}"
    );
    assert_eq!(h.s.hits("/flaky/2/x"), 3);
    assert_eq!(json_summary(&out)["retried"], 1);

    let once = h.url("a.test", "/flaky/2/y");
    let out = h.run(&[], &[once]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(records(&out)[0]["attempts"], 1);

    let stall = h.url("a.test", "/stall");
    let out = h.run(
        &[
            "--retries",
            "1",
            "--retry-delay",
            "10ms",
            "--timeout",
            "200ms",
        ],
        &[stall],
    );
    let r = &records(&out)[0];
    assert_eq!(
        (r["error"]["kind"].as_str(), r["attempts"].as_u64()),
        (Some("timeout"), Some(2))
    );
}

#[test]
fn retry_after_is_honoured_up_to_max_retry_wait() {
    for (path, status) in [("/retry-after/1", 429), ("/unavailable/1", 503)] {
        let h = Hosts::new();
        let url = h.url("a.test", path);
        let out = h.run(&["--retries", "1", "--retry-delay", "10ms"], &[url]);
        let r = &records(&out)[0];
        let got = (r["status"].as_u64(), r["attempts"].as_u64());
        assert_eq!(got, (Some(status), Some(2)), "{r}");
        let times = h.s.arrivals(&h.host("a.test"));
        assert!(
            times[1] - times[0] >= Duration::from_millis(950),
            "{times:?}"
        );
        assert!(r["waited_ms"].as_f64().unwrap() >= 1000.0, "{r}");
    }

    let h = Hosts::new();
    let out = h.run(
        &[
            "--retries",
            "1",
            "--retry-delay",
            "10ms",
            "--max-retry-wait",
            "100ms",
        ],
        &[h.url("a.test", "/retry-after/30")],
    );
    let waited = records(&out)[0]["waited_ms"].as_f64().unwrap();
    assert!(
        (100.0..30_000.0).contains(&waited),
        "capped at --max-retry-wait: {waited}"
    );
}

#[test]
fn repeats_of_a_retried_url_share_its_final_outcome() {
    let h = Hosts::new();
    let url = h.url("a.test", "/flaky/1/z");
    let urls = vec![url.clone(); 5];
    let out = h.run(
        &["--retries", "2", "--retry-delay", "50ms", "-c", "5"],
        &urls,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let recs = records(&out);
    assert_eq!(recs.len(), 5);
    assert!(recs.iter().all(|r| r["status"] == 200), "{recs:?}");
    assert_eq!(recs.iter().filter(|r| r["cached"] == false).count(), 1);
    assert_eq!(
        h.s.hits("/flaky/1/z"),
        2,
        "one failure, one success, no duplicates"
    );
}
