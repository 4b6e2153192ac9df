//! The TTL cache and single-flight, counted at the server.

mod common;
use common::*;

fn lines_from(s: &Server, distinct: usize, total: usize) -> String {
    (0..total)
        .map(|i| format!("{}\n", s.url(&format!("/delay/50/{}", i % distinct))))
        .collect()
}

#[test]
fn concurrent_repeats_coalesce_into_one_request_per_url() {
    let s = server();
    let out = octopus()
        .args(["--json", "-c", "200"])
        .write_stdin(lines_from(&s, 13, 2000))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(s.requests(), 13, "exactly one request per distinct URL");
    let recs = records(&out);
    assert_eq!(recs.len(), 2000);
    let fetched = recs.iter().filter(|r| r["cached"] == false).count();
    assert_eq!(fetched, 13, "only the fetching record is not marked cached");
    assert!(recs.iter().all(|r| r["status"] == 200));
    assert_eq!(json_summary(&out)["cached"], 1987);
}

#[test]
fn no_cache_fetches_every_line() {
    let s = server();
    octopus()
        .args(["--no-cache", "-c", "20"])
        .write_stdin(lines_from(&s, 3, 30))
        .assert()
        .success();
    assert_eq!(s.requests(), 30);
}

#[test]
fn transport_errors_are_not_kept_for_later_repeats() {
    let s = server();
    let url = s.url("/stall");
    let out = octopus()
        .args(["--json", "-c", "1", "--timeout", "200ms"])
        .write_stdin(format!("{url}\n{url}\n"))
        .output()
        .unwrap();
    let recs = records(&out);
    assert!(
        recs.iter().all(|r| r["error"]["kind"] == "timeout"),
        "{recs:?}"
    );
    assert_eq!(s.hits("/stall"), 2, "the second line tries again");
}

#[test]
fn entries_expire_after_the_ttl() {
    let s = server();
    let url = s.url("/ttl");
    let out = octopus()
        .args(["--json", "-c", "1", "--cache-ttl", "500ms"])
        .write_stdin(format!("{url}\n{url}\n{}\n{url}\n", s.url("/delay/800")))
        .output()
        .unwrap();
    let recs = records(&out);
    assert_eq!(record_for_line(&recs, 2)["cached"], true);
    assert_eq!(record_for_line(&recs, 4)["cached"], false);
    assert_eq!(s.hits("/ttl"), 2);
}

#[test]
fn other_methods_than_get_and_head_are_not_cached() {
    let s = server();
    let url = s.url("/post");
    octopus()
        .args(["-X", "POST", "-c", "1"])
        .write_stdin(format!("{url}\n{url}\n"))
        .assert()
        .success();
    assert_eq!(s.hits("/post"), 2);
}
