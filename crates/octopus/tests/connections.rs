//! Connections kept for reuse (`src/http/pool.rs`, `src/http/socket.rs`): reused per host,
//! never after a response that leaves the connection unusable, and buffers that grow for a
//! large head but still refuse one over the limit.

mod common;

use common::*;

use std::net::{IpAddr, Ipv4Addr};

use octopus::{ErrorKind, Octopus, Request, Response};

fn fetch(otto: &Octopus, urls: Vec<String>) -> Vec<Response> {
    let responses: Vec<Response> = otto
        .fetch_all(urls.into_iter().map(Request::from))
        .unwrap()
        .collect();
    responses
}

#[test]
fn connections_are_reused_up_to_the_concurrency() {
    let s = server();
    let otto = builder().concurrency(4).build().unwrap();
    let urls = (0..200).map(|i| s.url(&format!("/n/{i}"))).collect();
    let responses = fetch(&otto, urls);
    assert_eq!(responses.len(), 200);
    assert!(responses.iter().all(|r| r.status() == Some(200)));
    let made = s.connections();
    assert!(
        (1..=4).contains(&made),
        "200 requests at 4 at a time made {made} connections"
    );
}

#[test]
fn each_host_reuses_its_own_connections() {
    let s = server();
    let port = s.addr().port();
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let otto = builder()
        .concurrency(1)
        .resolve("a.test", port, loopback)
        .resolve("b.test", port, loopback)
        .build()
        .unwrap();
    let urls = (0..100)
        .map(|i| {
            let host = if i % 2 == 0 { "a.test" } else { "b.test" };
            format!("http://{host}:{port}/n/{i}")
        })
        .collect();
    let responses = fetch(&otto, urls);
    assert!(responses.iter().all(|r| r.status() == Some(200)));
    // One connection per host: a request never goes out on the other host's connection
    // (the server saw each Host header on exactly one request at a time), and alternating
    // hosts does not close them.
    assert_eq!(s.connections(), 2);
    assert_eq!(s.max_in_flight(&format!("a.test:{port}")), 1);
    assert_eq!(s.max_in_flight(&format!("b.test:{port}")), 1);
}

#[test]
fn a_connection_is_not_reused_after_close_or_an_unread_body() {
    let s = server();
    let otto = builder().concurrency(1).max_body(1000).build().unwrap();
    // `/close` ends its connection; `/bytes/…` is cut after 1000 bytes with the rest still
    // on the way: reusing either connection would read garbage or nothing.
    let got = fetch_paths(
        &otto,
        &s,
        &[
            "/close",
            "/after-close",
            "/bytes/1000000",
            "/after-cut",
            "/after-cut-2",
        ],
    );
    let by = |path: &str| got[path].clone();
    assert_eq!(by("/close").status(), Some(200));
    assert_eq!(
        by("/after-close").status(),
        Some(200),
        "{:?}",
        by("/after-close")
    );
    let cut = by("/bytes/1000000");
    assert_eq!(
        cut.error().map(|f| f.kind()),
        Some(ErrorKind::BodyTooLarge),
        "{cut:?}"
    );
    assert_eq!(
        by("/after-cut").status(),
        Some(200),
        "{:?}",
        by("/after-cut")
    );
    assert_eq!(by("/after-cut-2").status(), Some(200));
    // One connection for `/close`, one from `/after-close` until the cut, one after it.
    assert_eq!(s.connections(), 3);
    assert_eq!(s.hits("/after-close"), 1);
    assert_eq!(s.hits("/after-cut"), 1);
}

#[test]
fn a_large_head_is_read_and_one_over_the_limit_refused_on_a_reused_connection() {
    let s = server();
    let otto = builder().concurrency(1).build().unwrap();
    let got = fetch_paths(
        &otto,
        &s,
        &["/n/1", "/big-head/50000", "/n/2", "/big-head/70000", "/n/3"],
    );
    let by = |path: &str| got[path].clone();
    // 50,000 bytes of head: past the buffer a connection starts with, within the limit.
    assert_eq!(by("/big-head/50000").status(), Some(200));
    let refused = by("/big-head/70000");
    assert_eq!(
        refused.error().map(|f| f.kind()),
        Some(ErrorKind::Protocol),
        "{refused:?}"
    );
    for path in ["/n/1", "/n/2", "/n/3"] {
        assert_eq!(by(path).status(), Some(200), "{path}");
    }
    // The connection with the refused head is not used again; the others were.
    assert_eq!(s.connections(), 2);
}

#[test]
fn a_request_that_says_connection_close_leaves_its_connection_unkept() {
    let s = server();
    let otto = builder()
        .concurrency(1)
        .header("Connection", "close")
        .build()
        .unwrap();
    let urls = (0..20).map(|i| s.url(&format!("/c/{i}"))).collect();
    let responses = fetch(&otto, urls);
    assert!(responses.iter().all(|r| r.status() == Some(200)));
    assert_eq!(s.connections(), 20, "one connection per request");
}

#[test]
fn a_connect_that_stalls_is_named_with_whose_timeout_ran_out() {
    // 127.0.0.2:port accepts nothing and its queue is full: the connect's SYN goes
    // unanswered.
    let (port, _hole) = unanswered_port();
    let stalled = |connect_timeout: u64, timeout: u64| {
        let otto = builder()
            .connect_timeout(std::time::Duration::from_millis(connect_timeout))
            .timeout(std::time::Duration::from_millis(timeout))
            .build()
            .unwrap();
        let responses = fetch(&otto, vec![format!("http://127.0.0.2:{port}/")]);
        let failure = responses[0].error().cloned().expect("no answer");
        assert_eq!(failure.kind(), ErrorKind::Timeout, "{failure}");
        failure.message().to_string()
    };
    assert_eq!(
        stalled(300, 20_000),
        "no connection in time (connect-timeout) during the TCP connect"
    );
    assert_eq!(
        stalled(20_000, 300),
        "deadline passed (timeout) during the TCP connect"
    );
}
