//! One URL list shared by several processes through a real `redis-server` (`fetch --queue`,
//! `enqueue`, `queue status`): every URL recorded by some process, once while they live;
//! a process killed with SIGKILL loses nothing (its batches come back after the lease,
//! without what it had done); a batch delivered too often goes to the dead letters; Redis
//! killed and started again, or lost past the lease (exit 75, a second run finishes).

mod common;
use common::*;

use std::collections::BTreeMap;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// `n` URLs of the server, each `delay_ms` slow, in `urls.txt` of `dir`.
fn list(s: &Server, dir: &Dir, n: usize, delay_ms: u64) -> String {
    let urls: Vec<String> = (0..n)
        .map(|i| s.url(&format!("/delay/{delay_ms}/u{i}")))
        .collect();
    let path = dir.0.join("urls.txt");
    std::fs::write(&path, urls.join("\n")).unwrap();
    path.display().to_string()
}

/// An `octopus fetch --queue` worker, its records in `out` of `dir`.
fn worker(job: &str, dir: &Dir, out: &str, extra: &[&str]) -> Child {
    octopus_std()
        .args(["--json", "-c", "4", "--lookahead", "4", "--queue", job])
        .args(["--queue-lease", "1s", "-o"])
        .arg(dir.0.join(out))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Every record of the files `outs` of `dir`, counted by line.
fn lines_recorded(dir: &Dir, outs: &[&str]) -> BTreeMap<u64, usize> {
    counted_in_files(dir, outs, |record| record["line"].as_u64().unwrap())
}

/// Wait until `out` of `dir` holds `n` records (a bound on the wait, not on speed: 30 s);
/// whether it does.
fn records_reach(dir: &Dir, out: &str, n: usize) -> bool {
    let start = Instant::now();
    while lines_recorded(dir, &[out]).len() < n {
        if start.elapsed() > Duration::from_secs(30) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn status(job: &str) -> Value {
    let out = octopus()
        .args(["queue", "status", "--json", job])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn finished(child: Child) -> Output {
    child.wait_with_output().unwrap()
}

#[test]
#[cfg_attr(
    not(has_redis),
    ignore = "redis-server not found: apt-get install redis-server"
)]
fn three_processes_share_one_list_each_url_once() {
    let (s, dir) = (server(), Dir::new("queue-three"));
    let redis = Redis::start().expect("redis-server answers");
    let job = redis.job("three");
    let urls = list(&s, &dir, 300, 5);
    // One process is given the list; the others only the job.
    let children = [
        worker(&job, &dir, "a.jsonl", &[&urls]),
        worker(&job, &dir, "b.jsonl", &[]),
        worker(&job, &dir, "c.jsonl", &[]),
    ];
    for child in children {
        let out = finished(child);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let seen = lines_recorded(&dir, &["a.jsonl", "b.jsonl", "c.jsonl"]);
    assert_eq!(seen.len(), 300, "every line recorded");
    assert!(seen.values().all(|&n| n == 1), "none twice while all live");
    for out in ["b.jsonl", "c.jsonl"] {
        let text = std::fs::read_to_string(dir.0.join(out)).unwrap();
        assert!(text.contains("\"input\""), "records keep their input");
    }
    let status = status(&job);
    assert_eq!(
        (
            &status["added"],
            &status["done"],
            &status["pending"],
            &status["over"]
        ),
        (
            &Value::from(300),
            &Value::from(300),
            &Value::from(0),
            &Value::from(true)
        ),
        "{status}"
    );
}

#[test]
#[cfg_attr(
    not(has_redis),
    ignore = "redis-server not found: apt-get install redis-server"
)]
fn a_worker_killed_mid_batch_loses_nothing_and_its_file_is_kept_when_started_again() {
    let (s, dir) = (server(), Dir::new("queue-kill"));
    let redis = Redis::start().expect("redis-server answers");
    let job = redis.job("kill");
    let urls = list(&s, &dir, 200, 40);
    let mut victim = worker(&job, &dir, "victim.jsonl", &[&urls]);
    let survivor = worker(&job, &dir, "survivor.jsonl", &[]);
    // Killed once it has recorded something, in the middle of its batches.
    assert!(
        records_reach(&dir, "victim.jsonl", 20),
        "the victim records"
    );
    victim.kill().unwrap();
    let _ = victim.wait();
    // Started again with the same command: its file keeps what the first run wrote.
    let again = worker(&job, &dir, "victim.jsonl", &[&urls]);
    for child in [survivor, again] {
        let out = finished(child);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let seen = lines_recorded(&dir, &["victim.jsonl", "survivor.jsonl"]);
    assert_eq!(seen.len(), 200, "every line recorded by one or the other");
    // What the victim had taken and not marked: at most its batch (50) and what was in its
    // hands (4 in flight, 4 ahead) beyond it.
    let twice = seen.values().filter(|&&n| n > 1).count();
    assert!(twice <= 58, "{twice} lines recorded twice");
    assert_eq!(status(&job)["over"], true);
}

#[test]
#[cfg_attr(
    not(has_redis),
    ignore = "redis-server not found: apt-get install redis-server"
)]
fn a_batch_delivered_too_often_goes_to_the_dead_letters() {
    let (s, dir) = (server(), Dir::new("queue-poison"));
    let redis = Redis::start().expect("redis-server answers");
    let job = redis.job("poison");
    let urls = list(&s, &dir, 3, 0);
    let out = octopus().args(["enqueue", &job, &urls]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("3 URLs added"), "{}", stderr(&out));
    // A consumer takes the batch and keeps dying on it: delivered 7 times.
    let stream = "octopus:job:poison:stream";
    let taken = redis.command(&[
        "XREADGROUP",
        "GROUP",
        "workers",
        "doomed",
        "STREAMS",
        stream,
        ">",
    ]);
    let id = taken[1].clone();
    for _ in 0..6 {
        redis.command(&["XCLAIM", stream, "workers", "doomed", "0", &id]);
    }
    std::thread::sleep(Duration::from_millis(1100));
    let out = finished(worker(&job, &dir, "w.jsonl", &[]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        lines_recorded(&dir, &["w.jsonl"]).is_empty(),
        "nothing fetched"
    );
    let dead = redis.command(&["XRANGE", "octopus:job:poison:dead", "-", "+"]);
    assert!(
        dead.iter().any(|w| w.contains("delivered 8 times")),
        "{dead:?}"
    );
    let status = status(&job);
    assert_eq!(
        (&status["dead"], &status["over"]),
        (&Value::from(3), &Value::from(true))
    );
}

#[test]
#[cfg_attr(
    not(has_redis),
    ignore = "redis-server not found: apt-get install redis-server"
)]
fn redis_killed_and_started_again_within_the_lease_loses_nothing() {
    let (s, dir) = (server(), Dir::new("queue-restart"));
    let mut redis = Redis::durable(dir.0.clone()).expect("redis-server answers");
    let job = redis.job("restart");
    let urls = list(&s, &dir, 120, 30);
    let child = octopus_std()
        .args(["--json", "-c", "4", "--lookahead", "4", "--queue", &job])
        .args(["--queue-lease", "20s", "-o"])
        .arg(dir.0.join("w.jsonl"))
        .arg(&urls)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(records_reach(&dir, "w.jsonl", 10), "the worker records");
    redis.kill();
    std::thread::sleep(Duration::from_millis(500));
    redis.restart();
    let out = finished(child);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seen = lines_recorded(&dir, &["w.jsonl"]);
    assert_eq!(seen.len(), 120, "every line recorded");
    assert_eq!(status(&job)["over"], true);
}

#[test]
#[cfg_attr(
    not(has_redis),
    ignore = "redis-server not found: apt-get install redis-server"
)]
fn redis_lost_past_the_lease_exits_75_and_a_second_run_finishes() {
    let (s, dir) = (server(), Dir::new("queue-lost"));
    let mut redis = Redis::durable(dir.0.clone()).expect("redis-server answers");
    let job = redis.job("lost");
    let urls = list(&s, &dir, 120, 30);
    let child = worker(&job, &dir, "first.jsonl", &[&urls]);
    assert!(
        records_reach(&dir, "first.jsonl", 10),
        "the first run records"
    );
    redis.kill();
    let out = finished(child);
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(
        json_summary(&out)["stopped"] == "queue_unreachable",
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("Redis could not be reached"),
        "{}",
        stderr(&out)
    );
    redis.restart();
    // The same command again: what the first run left (its batches, after their lease)
    // is fetched now.
    let out = finished(worker(&job, &dir, "second.jsonl", &[&urls]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seen = lines_recorded(&dir, &["first.jsonl", "second.jsonl"]);
    assert_eq!(
        seen.len(),
        120,
        "every line recorded by one run or the other"
    );
}

#[test]
fn queue_usage_errors_say_what_is_wrong() {
    for (args, says) in [
        (
            vec!["--queue", "redis://127.0.0.1:1/j", "--shard", "1/2"],
            "--shard",
        ),
        (vec!["--queue", "redis://127.0.0.1:1/"], "job's name"),
        (vec!["--queue", "http://127.0.0.1:1/j"], "redis://"),
        (
            vec!["--queue", "redis://127.0.0.1:1/j"],
            "cannot reach Redis",
        ),
        (
            vec![
                "crawl",
                "--queue",
                "redis://127.0.0.1:1/j",
                "http://127.0.0.1:1/",
            ],
            "cannot reach Redis",
        ),
    ] {
        let out = octopus().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
}

#[test]
#[cfg_attr(
    not(has_redis),
    ignore = "redis-server not found: apt-get install redis-server"
)]
fn a_worker_waiting_for_work_stops_on_ctrl_c() {
    let dir = Dir::new("queue-interrupt");
    let redis = Redis::start().expect("redis-server answers");
    // A job with no input yet: the worker waits for some.
    let child = worker(&redis.job("idle"), &dir, "w.jsonl", &[]);
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = finished(child);
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert_eq!(json_summary(&out)["stopped"], "interrupted");
}

#[test]
#[cfg_attr(
    not(has_redis),
    ignore = "redis-server not found: apt-get install redis-server"
)]
fn a_lapsed_batch_behind_many_held_ones_is_taken() {
    let (s, dir) = (server(), Dir::new("queue-behind"));
    let redis = Redis::start().expect("redis-server answers");
    let job = redis.job("behind");
    let urls = list(&s, &dir, 13 * 50, 0);
    let out = octopus().args(["enqueue", &job, &urls]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stream = "octopus:job:behind:stream";
    let ids = |words: Vec<String>| -> Vec<String> {
        let id = |w: &String| {
            w.split_once('-')
                .is_some_and(|(a, b)| a.parse::<u64>().is_ok() && b.parse::<u64>().is_ok())
        };
        words.into_iter().filter(|w| id(w)).collect()
    };
    // Twelve batches held by a process that lives (their leases kept fresh), the last one
    // by a process that died: ahead of it, more pending entries than one look covers.
    let held = ids(redis.command(&[
        "XREADGROUP",
        "GROUP",
        "workers",
        "alive",
        "COUNT",
        "12",
        "STREAMS",
        stream,
        ">",
    ]));
    assert_eq!(held.len(), 12, "{held:?}");
    let died = ids(redis.command(&[
        "XREADGROUP",
        "GROUP",
        "workers",
        "died",
        "COUNT",
        "1",
        "STREAMS",
        stream,
        ">",
    ]));
    assert_eq!(died.len(), 1);
    let keep = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let keeper = {
        let (keep, port, held) = (keep.clone(), redis.port, held.clone());
        std::thread::spawn(move || {
            let redis = Redis::attach(port);
            while keep.load(std::sync::atomic::Ordering::SeqCst) {
                let mut words = vec!["XCLAIM", stream, "workers", "alive", "0"];
                words.extend(held.iter().map(String::as_str));
                words.push("JUSTID");
                redis.command(&words);
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(1200));
    let mut taker = worker(&job, &dir, "w.jsonl", &[]);
    // Its 50 URLs, or the assertion below says what came instead.
    let _ = records_reach(&dir, "w.jsonl", 50);
    let _ = taker.kill();
    let _ = taker.wait();
    keep.store(false, std::sync::atomic::Ordering::SeqCst);
    keeper.join().unwrap();
    let seen = lines_recorded(&dir, &["w.jsonl"]);
    assert_eq!(seen.len(), 50, "the dead process's batch, and only it");
    assert!(seen.keys().all(|&line| line > 12 * 50), "{seen:?}");
}
