//! Beyond one process: `--shard K/N` splits a list between processes, disjoint and whole,
//! every URL of a host in one shard by default.

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
