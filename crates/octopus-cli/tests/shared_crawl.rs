//! One crawl shared by several processes through a real `redis-server` (`crawl --queue`):
//! the test server's 1,000-page site spread over three servers (three hosts, so three
//! partitions); the page set of a shared crawl is exactly one process's; a process killed
//! with SIGKILL, or stalled past its lease, loses nothing, and a stalled one writes nothing
//! for the pages it no longer holds; Redis lost past the lease is exit 75.

mod common;
use common::*;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Three servers and the seed of the site spread over them (page M on the (M mod 3)th).
/// Their hosts fall in three partitions (two in one are one for the sharing: a third
/// process would be given none; random ports collide about one time in twenty).
fn site() -> ([Server; 3], String) {
    let mut found: Vec<Server> = Vec::new();
    let mut partitions = BTreeSet::new();
    while found.len() < 3 {
        let s = server();
        if partitions.insert(octopus::crawl::partition(&s.url("/")).unwrap()) {
            found.push(s);
        }
    }
    let Ok(servers) = <[Server; 3]>::try_from(found) else {
        unreachable!("three servers")
    };
    let ports: Vec<String> = servers
        .iter()
        .map(|s| s.url("").rsplit(':').next().unwrap().to_string())
        .collect();
    let seed = servers[0].url(&format!("/web/0?ports={}", ports.join(",")));
    (servers, seed)
}

/// A `crawl --queue` process (a lease of 1 s unless `extra` says), its records in `out`.
fn worker(job: &str, dir: &Dir, out: &str, seed: &str, extra: &[&str]) -> Child {
    let lease = match extra.contains(&"--queue-lease") {
        true => &[][..],
        false => &["--queue-lease", "1s"][..],
    };
    octopus_std()
        .args([
            "crawl", "--json", "--depth", "100", "--scope", "any", "-c", "8",
        ])
        .args(["--queue", job])
        .args(lease)
        .arg("-o")
        .arg(dir.0.join(out))
        .args(extra)
        .arg(seed)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The URLs recorded in the files `outs` of `dir`, each with how many times.
fn pages(dir: &Dir, outs: &[&str]) -> BTreeMap<String, usize> {
    counted_in_files(dir, outs, |record| {
        record["url"].as_str().unwrap().to_string()
    })
}

/// Wait until `out` of `dir` holds `n` records (a bound on the wait, not on speed: 30 s).
fn records_reach(dir: &Dir, out: &str, n: usize) -> bool {
    let start = Instant::now();
    while pages(dir, &[out]).values().sum::<usize>() < n {
        if start.elapsed() > Duration::from_secs(30) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

fn finished(child: Child) -> Output {
    child.wait_with_output().unwrap()
}

/// The summary's `crawl.shared` object of a finished worker.
fn shared_counts(out: &Output) -> Value {
    let last = stderr(out).lines().last().unwrap_or("").to_string();
    let summary: Value = serde_json::from_str(&last).unwrap_or(Value::Null);
    summary["crawl"]["shared"].clone()
}

/// The pages one process alone finds from `seed`.
fn alone(seed: &str) -> BTreeSet<String> {
    let out = octopus()
        .args([
            "crawl", "--json", "--depth", "100", "--scope", "any", "-c", "8",
        ])
        .arg(seed)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let urls: BTreeSet<String> = records(&out)
        .iter()
        .map(|r| r["url"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(urls.len(), 1000);
    urls
}

#[test]
#[cfg_attr(
    not(has_redis),
    ignore = "redis-server not found: apt-get install redis-server"
)]
fn three_processes_crawl_exactly_the_pages_of_one_each_once() {
    let ((_servers, seed), dir) = (site(), Dir::new("shared-three"));
    let redis = Redis::start().expect("redis-server answers");
    let job = redis.job("three");
    let outs = ["a.jsonl", "b.jsonl", "c.jsonl"];
    let children: Vec<Child> = outs
        .iter()
        .map(|out| worker(&job, &dir, out, &seed, &["--delay", "5ms"]))
        .collect();
    for child in children {
        let out = finished(child);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(shared_counts(&out)["lost"], 0, "{}", stderr(&out));
    }
    let seen = pages(&dir, &outs);
    assert!(
        seen.values().all(|&n| n == 1),
        "no page twice while all live"
    );
    let shared: BTreeSet<String> = seen.into_keys().collect();
    assert_eq!(shared, alone(&seed), "the page set of one process");
    let parts: Vec<usize> = outs.iter().map(|out| pages(&dir, &[out]).len()).collect();
    assert!(parts.iter().all(|&n| n > 0), "each took a part: {parts:?}");
    // Where the crawl stands, from anywhere.
    let out = octopus()
        .args(["queue", "status", "--json", &job])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        status,
        serde_json::json!({"job": "three", "crawl": true, "admitted": 1000, "waiting": 0,
                           "in_flight": 0, "pages": 1000, "over": true})
    );
    // The seen-set is in Redis, a hash per bucket of keys, not a key per URL.
    let buckets = redis.command(&["KEYS", "octopus:crawl:three:seen:*"]).len();
    assert!(
        (1..1000).contains(&buckets),
        "{buckets} keys for 1,000 URLs"
    );
}

#[test]
#[cfg_attr(
    not(has_redis),
    ignore = "redis-server not found: apt-get install redis-server"
)]
fn a_process_that_joins_late_is_given_hosts() {
    let ((_servers, seed), dir) = (site(), Dir::new("shared-late"));
    let redis = Redis::start().expect("redis-server answers");
    let job = redis.job("late");
    let slow = ["--delay", "10ms"];
    // Alone at first, the first process holds all three hosts.
    let first = worker(&job, &dir, "first.jsonl", &seed, &slow);
    assert!(records_reach(&dir, "first.jsonl", 30), "the first records");
    let late = worker(&job, &dir, "late.jsonl", &seed, &slow);
    for child in [first, late] {
        let out = finished(child);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let seen = pages(&dir, &["first.jsonl", "late.jsonl"]);
    assert_eq!(seen.len(), 1000, "every page recorded");
    assert!(seen.values().all(|&n| n == 1), "none twice");
    let given = pages(&dir, &["late.jsonl"]).len();
    assert!(given > 0, "the late process was given no host");
}

#[test]
#[cfg_attr(
    not(has_redis),
    ignore = "redis-server not found: apt-get install redis-server"
)]
fn a_process_killed_mid_crawl_loses_nothing() {
    let ((_servers, seed), dir) = (site(), Dir::new("shared-kill"));
    let redis = Redis::start().expect("redis-server answers");
    let job = redis.job("kill");
    let slow = ["--delay", "10ms"];
    let mut victim = worker(&job, &dir, "victim.jsonl", &seed, &slow);
    let others = [
        worker(&job, &dir, "b.jsonl", &seed, &slow),
        worker(&job, &dir, "c.jsonl", &seed, &slow),
    ];
    assert!(
        records_reach(&dir, "victim.jsonl", 30),
        "the victim records"
    );
    victim.kill().unwrap();
    let _ = victim.wait();
    // Started again with the same command: it takes a part again.
    let again = worker(&job, &dir, "victim.jsonl", &seed, &slow);
    let mut taken_over = 0;
    for child in others.into_iter().chain([again]) {
        let out = finished(child);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        taken_over += shared_counts(&out)["taken_over"].as_u64().unwrap_or(0);
    }
    let seen = pages(&dir, &["victim.jsonl", "b.jsonl", "c.jsonl"]);
    assert_eq!(seen.len(), 1000, "every page recorded by some process");
    // Twice only what the victim had recorded and not yet marked done (marks follow the
    // records' flush within a tenth of a second: a few pages at 10 ms a page).
    let twice = seen.values().filter(|&&n| n > 1).count();
    assert!(twice <= 30, "{twice} pages recorded twice");
    assert!(
        taken_over > 0,
        "the victim's URLs in flight were taken over"
    );
}

#[test]
#[cfg_attr(
    not(has_redis),
    ignore = "redis-server not found: apt-get install redis-server"
)]
fn a_stalled_owner_writes_nothing_once_its_lease_has_passed() {
    // One server: one host, one partition, held by one process at a time.
    let (s, dir) = (server(), Dir::new("shared-stale"));
    let seed = s.url("/web/0");
    let redis = Redis::start().expect("redis-server answers");
    let job = redis.job("stale");
    let slow = ["--delay", "5ms"];
    let first = worker(&job, &dir, "first.jsonl", &seed, &slow);
    assert!(
        records_reach(&dir, "first.jsonl", 30),
        "the first holds the host"
    );
    let second = worker(&job, &dir, "second.jsonl", &seed, &slow);
    // Stalled past its lease (1 s): the second takes the partition over.
    let pid = first.id().to_string();
    let signal = |name: &str| {
        let sent = std::process::Command::new("kill")
            .args([name, &pid])
            .status()
            .unwrap();
        assert!(sent.success());
    };
    signal("-STOP");
    assert!(
        records_reach(&dir, "second.jsonl", 30),
        "the second took over"
    );
    let stalled_at = pages(&dir, &["first.jsonl"]).values().sum::<usize>();
    signal("-CONT");
    let (first, second) = (finished(first), finished(second));
    for out in [&first, &second] {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    }
    // Woken, the stale owner handed on none of the pages it had taken: the second did.
    let lost = shared_counts(&first)["lost"].as_u64().unwrap_or(0);
    assert!(lost > 0, "{}", stderr(&first));
    let after = pages(&dir, &["first.jsonl"]).values().sum::<usize>();
    assert!(
        after <= stalled_at + 8,
        "{} records written after the stall",
        after - stalled_at
    );
    let seen = pages(&dir, &["first.jsonl", "second.jsonl"]);
    assert_eq!(seen.len(), 1000, "every page recorded");
}

#[test]
#[cfg_attr(
    not(has_redis),
    ignore = "redis-server not found: apt-get install redis-server"
)]
fn redis_lost_past_the_lease_is_exit_75_and_the_same_command_finishes() {
    let ((_servers, seed), dir) = (site(), Dir::new("shared-lost"));
    let mut redis = Redis::durable(dir.0.clone()).expect("redis-server answers");
    let port = redis.port;
    let job = redis.job("lost");
    let child = worker(&job, &dir, "w.jsonl", &seed, &["--delay", "10ms"]);
    assert!(records_reach(&dir, "w.jsonl", 20), "it records");
    redis.kill();
    let out = finished(child);
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the same command goes on with it"),
        "{}",
        stderr(&out)
    );
    let _redis = Redis::on(port, Some(dir.0.clone())).expect("redis-server answers again");
    let out = finished(worker(&job, &dir, "w.jsonl", &seed, &[]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(pages(&dir, &["w.jsonl"]).len(), 1000, "every page recorded");
}

#[test]
#[cfg_attr(
    not(has_redis),
    ignore = "redis-server not found: apt-get install redis-server"
)]
fn a_worker_stopped_by_ctrl_c_lets_its_hosts_go_at_once() {
    let ((_servers, seed), dir) = (site(), Dir::new("shared-interrupt"));
    let redis = Redis::start().expect("redis-server answers");
    let job = redis.job("interrupt");
    // A lease far longer than the test: only a release can hand the hosts on.
    let slow = ["--delay", "10ms", "--queue-lease", "1h"];
    let first = worker(&job, &dir, "first.jsonl", &seed, &slow);
    assert!(records_reach(&dir, "first.jsonl", 30), "it records");
    let sent = std::process::Command::new("kill")
        .args(["-INT", &first.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = finished(first);
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let held = redis.command(&["KEYS", "octopus:crawl:interrupt:owner:*"]);
    assert!(held.iter().all(String::is_empty), "still held: {held:?}");
    assert_eq!(
        redis.command(&["ZCARD", "octopus:crawl:interrupt:members"]),
        ["0"]
    );
    // Another process finishes the crawl, without waiting for the first one's leases.
    let out = finished(worker(&job, &dir, "second.jsonl", &seed, &slow));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seen = pages(&dir, &["first.jsonl", "second.jsonl"]);
    assert_eq!(seen.len(), 1000, "every page recorded");
    assert!(
        seen.values().all(|&n| n == 1),
        "none twice: the first marked what it recorded"
    );
}

#[test]
#[cfg_attr(
    not(has_redis),
    ignore = "redis-server not found: apt-get install redis-server"
)]
fn a_sitemap_given_to_every_process_seeds_the_crawl_once() {
    let (s, dir) = (server(), Dir::new("shared-sitemap"));
    let redis = Redis::start().expect("redis-server answers");
    let job = redis.job("sitemap");
    let children: Vec<Child> = ["a.jsonl", "b.jsonl"]
        .iter()
        .map(|out| {
            octopus_std()
                .args(["crawl", "--json", "--depth", "0", "--ignore-robots"])
                .args(["--queue", &job, "--sitemap", &s.url("/sitemap.xml"), "-o"])
                .arg(dir.0.join(out))
                .arg(s.url("/site/0"))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = finished(child);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let seen = pages(&dir, &["a.jsonl", "b.jsonl"]);
    let expected = ["/calendar/1000", "/calendar/2000?a=1&b=2", "/site/0"].map(|p| s.url(p));
    assert_eq!(seen.keys().cloned().collect::<Vec<_>>(), expected);
    assert!(seen.values().all(|&n| n == 1), "{seen:?}");
}

#[test]
#[cfg_attr(
    not(has_redis),
    ignore = "redis-server not found: apt-get install redis-server"
)]
fn the_broken_link_report_of_a_shared_crawl_is_one_process_s() {
    // Two hosts (the site, and away.test's checked links) in two partitions, so that each
    // process has one.
    let part = |host: &str, s: &Server| {
        let url = format!("http://{host}:{}/", s.addr().port());
        octopus::crawl::partition(&url).unwrap()
    };
    let s = std::iter::repeat_with(server)
        .find(|s| part("127.0.0.1", s) != part("away.test", s))
        .unwrap();
    let dir = Dir::new("shared-report");
    s.set_robots(200, "User-agent: *\nDisallow: /private/\n");
    let redis = Redis::start().expect("redis-server answers");
    let job = redis.job("report");
    let resolve = format!("away.test:{}:127.0.0.1", s.addr().port());
    let run = |queue: Option<&str>, out: &str| {
        let mut command = octopus_std();
        command
            .args([
                "crawl",
                "--json",
                "--report",
                "broken",
                "--check-external",
                "-c",
                "8",
            ])
            .args(["--resolve", &resolve, "-o"])
            .arg(dir.0.join(out));
        if let Some(job) = queue {
            command.args(["--queue", job, "--queue-lease", "1s"]);
        }
        command
            .arg(s.url("/site/0"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Each page with its broken links, over the reports of `outputs`.
    let reported = |outputs: &[Output]| -> BTreeMap<String, BTreeSet<String>> {
        let mut pages = BTreeMap::new();
        for out in outputs {
            assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
            for report in records(out) {
                let page = report["page"].as_str().unwrap().to_string();
                let broken = report["broken"].as_array().unwrap().iter();
                let links: BTreeSet<String> = broken.map(|b| b.to_string()).collect();
                assert!(pages.insert(page, links).is_none(), "a page reported twice");
            }
        }
        pages
    };
    let alone = reported(&[finished(run(None, "alone.jsonl"))]);
    assert_eq!(alone.len(), 15, "every page links to /status/404");
    let shared = [run(Some(&job), "a.jsonl"), run(Some(&job), "b.jsonl")].map(finished);
    assert_eq!(reported(&shared), alone);
}

#[test]
fn what_a_shared_crawl_does_not_take_is_said_at_once() {
    let shared_crawl = |job: &str, extra: &[&str]| {
        octopus()
            .args(["crawl", "--queue", job])
            .args(extra)
            .arg("http://127.0.0.1:1/")
            .output()
            .unwrap()
    };
    // The job in Redis is the state: no --resume (run the same command again).
    let out = shared_crawl("redis://127.0.0.1:1/job", &["--resume", "-o", "out.jsonl"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot be used with '--resume'"),
        "{}",
        stderr(&out)
    );
    for (job, said) in [
        ("redis://127.0.0.1:1/a b", "--queue redis://127.0.0.1:1/a b"),
        ("redis://127.0.0.1:1/job", "cannot reach Redis"),
    ] {
        let out = shared_crawl(job, &[]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(said), "{}", stderr(&out));
    }
}

#[test]
#[cfg_attr(
    not(has_redis),
    ignore = "redis-server not found: apt-get install redis-server"
)]
fn a_program_going_away_leaves_the_pages_it_did_not_keep() {
    use octopus::{Crawl, CrawlKept, Scope};
    use std::sync::{Arc, Mutex};
    let ((_servers, seed), dir) = (site(), Dir::new("shared-closed"));
    let redis = Redis::start().expect("redis-server answers");
    let job = redis.job("closed");
    // A program of the library's that takes its first page and goes away without
    // handling it (as the Python package's crawl does when its iteration is dropped).
    let marks = CrawlKept::new();
    let handed = Arc::new(Mutex::new(Vec::new()));
    let (m, h) = (marks.clone(), Arc::clone(&handed));
    let summary = Crawl::new(octopus::Octopus::builder().concurrency(2))
        .scope(Scope::Any)
        .depth(100)
        .queue(&job, Duration::from_secs(1))
        .kept_with(marks)
        .run([seed.as_str()], move |response, _visit| {
            h.lock().unwrap().push(response.url().to_string());
            m.close();
        })
        .expect("it returns (it waited for ever for the page to be kept)");
    assert!(summary.stopped);
    assert_eq!(*handed.lock().unwrap(), std::slice::from_ref(&seed));
    // The seed was not done: the next process crawls the whole site, the seed included.
    let out = finished(worker(&job, &dir, "b.jsonl", &seed, &[]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seen = pages(&dir, &["b.jsonl"]);
    assert!(seen.contains_key(&seed), "the seed fetched again");
    assert_eq!(seen.len(), 1000);
}
