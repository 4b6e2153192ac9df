//! An `Octopus`'s worker threads end once its last handle is dropped and nothing is left to
//! do (none stays to poll for requests waiting on no thread).
//! Alone in its test binary, so that no other engine's threads are counted.

mod common;
use common::*;

use std::time::{Duration, Instant};

use octopus::Response;

/// Threads of this process named `octopus-worker`.
fn workers_running() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(Result::ok)
                .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                .filter(|name| name.trim() == "octopus-worker")
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn the_workers_end_with_the_last_handle() {
    let s = server();
    let otto = builder()
        .concurrency(16)
        .retries(1)
        .retry_delay(Duration::from_millis(200))
        .build()
        .unwrap();
    for i in 0..40 {
        otto.enqueue(s.url(&format!("/delay/20/{i}")), |_: &Response| {});
    }
    // Still waiting for a retry when the handles go: the run finishes first.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&done);
    otto.enqueue(s.url("/flaky/1/x"), move |r: &Response| {
        flag.store(r.status() == Some(200), std::sync::atomic::Ordering::SeqCst);
    });
    let clone = otto.clone();
    drop(otto);
    // Still busy (a thread just started may not carry its name yet, so its count is not
    // asked here).
    assert!(clone.stats().pending > 0, "the run is still going");
    drop(clone);
    // A liveness bound, not a speed claim: the retry must run and then the threads go,
    // however slowly. (The threads are counted by name only once the run is over: a
    // thread just started may not carry its name yet, and an early count of none would
    // end the wait too soon.)
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        done.load(std::sync::atomic::Ordering::SeqCst),
        "the retry still ran"
    );
    while workers_running() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(workers_running(), 0);
    assert_eq!(s.hits("/flaky/1/x"), 2);
}
