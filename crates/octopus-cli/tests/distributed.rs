//! Beyond one process: `--shard K/N` splits a list between processes, disjoint and whole,
//! every URL of a host in one shard by default; `--redis` shares limits between processes
//! through a real `redis-server` each test starts on a free loopback port (and stops).

mod common;
use common::*;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// A list of URLs on `hosts` names (all resolved to the test server) plus invalid lines.
fn mixed_list(s: &Server, dir: &Dir, hosts: usize, per_host: usize) -> (String, Vec<String>) {
    let port = s.addr().port();
    let mut lines = Vec::new();
    for i in 0..per_host {
        for h in 0..hosts {
            lines.push(format!("http://h{h}.test:{port}/p/{i}"));
        }
    }
    lines.extend((0..5).map(|i| format!("not a url {i}")));
    let path = dir.0.join("urls.txt");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let resolve: Vec<String> = (0..hosts)
        .map(|h| format!("--resolve=h{h}.test:{port}:127.0.0.1"))
        .collect();
    (path.display().to_string(), resolve)
}

fn host_of(record: &Value) -> String {
    let url = record["url"].as_str().unwrap();
    url.split('/').nth(2).unwrap_or(url).to_string()
}

#[test]
fn shards_are_disjoint_whole_and_keep_hosts_together() {
    let s = server();
    let dir = Dir::new("shards");
    let (list, resolve) = mixed_list(&s, &dir, 12, 4);
    let lines = 12 * 4 + 5;
    for by in ["host", "url"] {
        let n = 3;
        let mut seen: BTreeMap<u64, u64> = BTreeMap::new();
        let mut hosts: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
        for k in 1..=n {
            let out = octopus()
                .args(["--json", "--shard", &format!("{k}/{n}"), "--shard-by", by])
                .args(&resolve)
                .arg(&list)
                .output()
                .unwrap();
            let summary = json_summary(&out);
            assert_eq!(summary["shard"], format!("{k}/{n}"));
            let recs = records(&out);
            assert_eq!(
                recs.len() as u64 + summary["other_shard"].as_u64().unwrap(),
                lines,
                "every line is this shard's or another's"
            );
            assert_eq!(summary["not_fetched"], 0);
            for r in &recs {
                let line = r["line"].as_u64().unwrap();
                assert!(seen.insert(line, k).is_none(), "line {line} in two shards");
                if r["error"]["kind"] != "invalid_url" {
                    hosts.entry(host_of(r)).or_default().insert(k);
                }
            }
        }
        assert_eq!(
            seen.len() as u64,
            lines,
            "the shards' union is the input ({by})"
        );
        assert_eq!(hosts.len(), 12);
        let split = hosts.values().filter(|shards| shards.len() > 1).count();
        match by {
            "host" => assert_eq!(split, 0, "no host is split: {hosts:?}"),
            _ => assert!(split > 0, "by URL, hosts spread: {hosts:?}"),
        }
    }
}

#[test]
fn the_library_takes_only_its_shard() {
    let s = server();
    let urls: Vec<String> = (0..40).map(|i| format!("{}?{i}", s.url("/x"))).collect();
    let mut fetched = 0;
    let mut others = 0;
    for k in 1..=4 {
        let octopus = octopus::Octopus::builder()
            .shard(k, 4)
            .shard_by(octopus::input::ShardBy::Url)
            .build()
            .unwrap();
        fetched += octopus.fetch_all(urls.clone()).unwrap().count();
        others += octopus.stats().other_shard;
    }
    assert_eq!((fetched, others), (40, 120));
    let err = octopus::Octopus::builder().shard(5, 4).build().unwrap_err();
    assert!(err.to_string().contains("shard"), "{err}");
}

#[test]
fn bad_shards_are_usage_errors() {
    for bad in ["0/3", "4/3", "x"] {
        let out = octopus()
            .args(["--shard", bad, "http://127.0.0.1:1/"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(stderr(&out).contains("--shard"), "{}", stderr(&out));
    }
}

// ---- Limits shared through a real Redis ----

/// `n` distinct slow URLs of the server, tagged `tag`, in a file.
fn slow_list(s: &Server, dir: &Dir, tag: &str, n: usize, delay_ms: u64) -> String {
    let urls: Vec<String> = (0..n)
        .map(|i| s.url(&format!("/delay/{delay_ms}/{tag}-{i}")))
        .collect();
    let path = dir.0.join(format!("{tag}.txt"));
    std::fs::write(&path, urls.join("\n")).unwrap();
    path.display().to_string()
}

/// Run three octopus processes at once with `args` over their own lists; their outputs.
fn three_at_once(s: &Server, dir: &Dir, args: &[String]) -> Vec<std::process::Output> {
    let children: Vec<std::process::Child> = (0..3)
        .map(|p| {
            octopus_std()
                .args(["--json", "-c", "8", "--per-host", "4"])
                .args(args)
                .arg(slow_list(s, dir, &format!("p{p}"), 24, 60))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

#[test]
#[cfg_attr(
    not(has_redis),
    ignore = "redis-server not found: apt-get install redis-server (.ci/run does), then rebuild"
)]
fn per_host_limits_hold_across_processes_sharing_a_redis() {
    let redis = Redis::start().expect("redis-server answers on its port");
    let host = |s: &Server| format!("127.0.0.1:{}", s.addr().port());
    // Without Redis, each process keeps only its own limit: together they pass it.
    let alone = server();
    let dir = Dir::new("redis-alone");
    for out in three_at_once(&alone, &dir, &[]) {
        assert!(out.status.success());
    }
    assert!(alone.max_in_flight(&host(&alone)) > 4, "the test can fail");
    // With it, never more than 4 at once, and every URL is fetched.
    let shared = server();
    let dir = Dir::new("redis-shared");
    let args = vec![
        "--redis".to_string(),
        redis.url(),
        "--redis-prefix".into(),
        "t1".into(),
    ];
    let outs = three_at_once(&shared, &dir, &args);
    let mut waits = 0;
    for out in &outs {
        assert!(out.status.success(), "{}", stderr(out));
        let recs = records(out);
        assert_eq!(recs.len(), 24);
        assert!(recs.iter().all(|r| r["status"] == 200));
        waits += json_summary(out)["limiter_waits"].as_u64().unwrap();
    }
    let peak = shared.max_in_flight(&host(&shared));
    assert!(peak <= 4, "peak {peak} requests in flight to one host");
    assert!(waits > 0, "the processes waited for each other");
}

#[test]
#[cfg_attr(
    not(has_redis),
    ignore = "redis-server not found: apt-get install redis-server (.ci/run does), then rebuild"
)]
fn a_killed_processs_slots_come_back_after_the_lease() {
    let redis = Redis::start().expect("redis-server answers on its port");
    let s = server();
    let dir = Dir::new("redis-kill");
    let shared = [
        "--redis",
        &redis.url(),
        "--redis-lease",
        "2s",
        "--per-host",
        "2",
    ];
    // The first process takes both slots with slow requests, and is killed outright.
    let mut first = octopus_std()
        .args(shared)
        .arg(slow_list(&s, &dir, "slow", 2, 20_000))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let host = format!("127.0.0.1:{}", s.addr().port());
    while s.max_in_flight(&host) < 2 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    // The second finds them taken, waits for the leases to expire, and finishes.
    let out = octopus()
        .args(["--json"])
        .args(shared)
        .arg(slow_list(&s, &dir, "quick", 6, 0))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(records(&out).len(), 6);
    assert!(json_summary(&out)["limiter_waits"].as_u64().unwrap() > 0);
}

#[test]
#[cfg_attr(
    not(has_redis),
    ignore = "redis-server not found: apt-get install redis-server (.ci/run does), then rebuild"
)]
fn redis_lost_mid_run_stops_the_run_and_resume_finishes_it() {
    let mut redis = Redis::start().expect("redis-server answers on its port");
    let s = server();
    let dir = Dir::new("redis-lost");
    let list = slow_list(&s, &dir, "lost", 30, 100);
    let journal = dir.0.join("out.jsonl");
    let url = redis.url();
    let args = [
        "--json",
        "-c",
        "2",
        "--per-host",
        "2",
        "--redis",
        &url,
        "--redis-outage",
        "1s",
        "--resume",
        "-o",
    ];
    let child = octopus_std()
        .args(args)
        .arg(&journal)
        .arg(&list)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while s.requests() < 3 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    redis.kill();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    let summary = json_summary(&out);
    assert_eq!(summary["stopped"], "limiter_unreachable");
    assert!(summary["not_fetched"].as_u64().unwrap() > 0);
    let done = std::fs::read_to_string(&journal).unwrap().lines().count();
    assert!((1..30).contains(&done), "{done} records before the stop");
    assert!(
        stderr(&out).contains("Redis is unreachable"),
        "{}",
        stderr(&out)
    );
    // Nothing was fetched without its limit meanwhile, and a resumed run finishes the list.
    let requests_before = s.requests();
    let _redis = Redis::on(redis.port, None).unwrap();
    let out = octopus()
        .args(args)
        .arg(&journal)
        .arg(&list)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: std::collections::BTreeSet<u64> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["line"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(lines.len(), 30, "every line once");
    assert_eq!(s.requests() - requests_before, 30 - done as u64);
}

#[test]
fn redis_down_at_start_is_a_usage_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = octopus()
        .args([
            "--per-host",
            "2",
            "--redis",
            &format!("redis://127.0.0.1:{port}/0"),
        ])
        .arg("http://127.0.0.1:1/")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(
        message.contains("--redis") && message.contains("cannot reach Redis"),
        "{message}"
    );
}

/// Two processes sharing their limits (`limit`) through a Redis of their own, six URLs
/// each to one server: each must end, and well (within 60 s: a bound on a process that
/// stalls, not on speed); the server's arrivals, all twelve.
fn two_sharing(tag: &str, limit: &[&str]) -> Vec<std::time::Instant> {
    let redis = Redis::start().expect("redis-server answers on its port");
    let s = server();
    s.keep_arrivals();
    let dir = Dir::new(tag);
    let mut children: Vec<std::process::Child> = (0..2)
        .map(|p| {
            octopus_std()
                .args(["-q", "--redis", &redis.url()])
                .args(limit)
                .arg(slow_list(&s, &dir, &format!("{tag}{p}"), 6, 0))
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let started = std::time::Instant::now();
    for child in &mut children {
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if started.elapsed() > std::time::Duration::from_secs(60) {
                let _ = child.kill();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert!(status.is_some_and(|s| s.success()), "{status:?}");
    }
    let arrivals = s.arrivals(&format!("127.0.0.1:{}", s.addr().port()));
    assert_eq!(arrivals.len(), 12);
    arrivals
}

#[test]
#[cfg_attr(
    not(has_redis),
    ignore = "redis-server not found: apt-get install redis-server (.ci/run does), then rebuild"
)]
fn the_rate_is_shared_too() {
    let arrivals = two_sharing("redis-rate", &["--rate", "20/s"]);
    // 12 starts at 20/s between the two processes take 11 intervals of 50 ms: a lower bound
    // (a slow machine only makes it longer); alone, each process would allow twice as many.
    let span = arrivals[11].duration_since(arrivals[0]);
    assert!(span >= std::time::Duration::from_millis(450), "{span:?}");
}

#[test]
#[cfg_attr(
    not(has_redis),
    ignore = "redis-server not found: apt-get install redis-server (.ci/run does), then rebuild"
)]
fn the_delay_is_shared_too() {
    // A start Redis holds back goes back to wait (its host not kept for a departure that
    // never comes): both end.
    let arrivals = two_sharing("redis-delay", &["-c", "4", "--delay", "50ms"]);
    // 12 requests 50 ms apart between the two processes: 11 gaps (alone, each process's
    // 6 would take 5).
    let span = arrivals[11].duration_since(arrivals[0]);
    assert!(span >= std::time::Duration::from_millis(450), "{span:?}");
}
