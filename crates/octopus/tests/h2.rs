//! HTTP/2 against the test crate's server (the `h2` crate on tokio, over TLS with ALPN, or
//! in clear with prior knowledge): the server's choice decides the protocol, requests to
//! one origin share its connections up to the server's stream limit, a GOAWAY or a refused
//! stream loses nothing and is no retry, a reset stream and a killed connection end as the
//! usual failures, large bodies flow, the trickle deadline holds, and what works on
//! HTTP/1.1 (redirects, decoding, the body limit, captures) works on a stream.

mod common;
use common::*;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use octopus::{ErrorKind, Hash, HttpVersion, Response};
use octopus_testserver::{H2Options, H2Server};

/// An HTTP/2 server over TLS with a certificate for 127.0.0.1 from `ca`.
fn h2_server(ca: &Ca, options: H2Options) -> H2Server {
    H2Server::start_tls(ca.server(&["127.0.0.1"], false, &[b"h2"]), options).unwrap()
}

fn paths(server: &H2Server, path: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| server.url(&format!("{path}?{i}"))).collect()
}

fn statuses(responses: &[Response]) -> Vec<Option<u16>> {
    responses.iter().map(Response::status).collect()
}

#[test]
fn the_server_choosing_h2_is_spoken_to_in_h2() {
    let ca = Ca::new("Octopus test CA");
    let s = h2_server(&ca, H2Options::default());
    let otto = ca.builder().build().unwrap();
    let r = fetch_urls(&otto, &[s.url("/bytes/1000")]).remove(0);
    assert_eq!(r.error(), None);
    assert_eq!((r.status(), r.http_version()), (Some(200), Some("2")));
    assert_eq!(r.bytes(), 1000);
    let timings = r.timings();
    assert!(timings.connect.is_some() && timings.tls.is_some() && timings.ttfb.is_some());
}

#[test]
fn prior_knowledge_speaks_h2_in_clear() {
    let s = H2Server::start_h2c(H2Options::default()).unwrap();
    let otto = builder()
        .http_version(HttpVersion::Http2PriorKnowledge)
        .build()
        .unwrap();
    let r = fetch_urls(&otto, &[s.url("/status/404")]).remove(0);
    assert_eq!((r.status(), r.http_version()), (Some(404), Some("2")));
}

#[test]
fn many_requests_to_one_origin_share_a_connection_and_reuse_it() {
    let ca = Ca::new("Octopus test CA");
    let s = h2_server(&ca, H2Options::default());
    let otto = ca.builder().concurrency(100).build().unwrap();
    let responses = fetch_urls(&otto, &paths(&s, "/delay/50", 1000));
    assert!(statuses(&responses).iter().all(|s| *s == Some(200)));
    assert!(responses.iter().all(|r| r.http_version() == Some("2")));
    // 100 at once fit on one connection (the server's limit is 100): the first burst
    // waited for the first connection instead of making its own.
    assert_eq!(s.connections(), 1, "one connection for 1,000 requests");
    assert_eq!(s.requests(), 1000);
    assert!(s.most_streams() > 1, "streams were open at once");
    let stats = otto.stats();
    assert_eq!((stats.connections, stats.exchanges), (1, 1000));
}

#[test]
fn the_servers_stream_limit_is_honoured_and_more_connections_made() {
    let ca = Ca::new("Octopus test CA");
    let options = H2Options {
        max_streams: 10,
        ..H2Options::default()
    };
    let s = h2_server(&ca, options);
    let otto = ca.builder().concurrency(50).build().unwrap();
    let responses = fetch_urls(&otto, &paths(&s, "/delay/100", 300));
    assert!(statuses(&responses).iter().all(|s| *s == Some(200)));
    assert!(responses.iter().all(|r| r.attempts() == 1), "no retries");
    assert!(
        s.most_streams() <= 10,
        "{} streams at once",
        s.most_streams()
    );
    assert!(s.connections() >= 5, "50 at once need 5 connections of 10");
}

#[test]
fn a_goaway_mid_run_loses_nothing_and_is_no_retry() {
    let ca = Ca::new("Octopus test CA");
    // As nginx's keepalive_requests: every connection is told to go away after 50.
    let options = H2Options {
        requests_per_connection: Some(50),
        ..H2Options::default()
    };
    let s = h2_server(&ca, options);
    let otto = ca.builder().concurrency(100).build().unwrap();
    let responses = fetch_urls(&otto, &paths(&s, "/delay/20", 600));
    assert_eq!(responses.len(), 600);
    for r in &responses {
        assert_eq!(
            (r.status(), r.attempts()),
            (Some(200), 1),
            "{:?}",
            r.error()
        );
    }
    // Each connection takes 50 and the streams in flight when told to go away.
    assert!(s.goaways() >= 3, "{} GOAWAYs", s.goaways());
}

#[test]
fn a_refused_stream_is_sent_again_without_counting_as_a_retry() {
    let ca = Ca::new("Octopus test CA");
    let s = h2_server(&ca, H2Options::default());
    let otto = ca.builder().build().unwrap();
    let r = fetch_urls(&otto, &[s.url("/h2/refuse-once/a")]).remove(0);
    assert_eq!((r.status(), r.attempts()), (Some(200), 1));
    assert_eq!(
        s.hits("/h2/refuse-once/a"),
        1,
        "answered once, after the refusal"
    );
}

#[test]
fn a_reset_stream_is_a_protocol_failure_naming_the_error_code() {
    let ca = Ca::new("Octopus test CA");
    let s = h2_server(&ca, H2Options::default());
    let otto = ca.builder().build().unwrap();
    let r = fetch_urls(&otto, &[s.url("/h2/reset")]).remove(0);
    let error = r.error().expect("a failure");
    assert_eq!(error.kind(), ErrorKind::Protocol);
    assert!(
        error.message().contains("INTERNAL_ERROR"),
        "{}",
        error.message()
    );
    assert!(
        !error.message().contains("Error {"),
        "no debug text: {}",
        error.message()
    );
}

#[test]
fn a_connection_killed_with_100_streams_in_flight_fails_only_them_and_they_are_retried() {
    let ca = Ca::new("Octopus test CA");
    let s = h2_server(&ca, H2Options::default());
    let otto = ca.builder().concurrency(101).retries(2).build().unwrap();
    let mut urls = paths(&s, "/delay/300", 100);
    urls.push(s.url("/h2/kill-once"));
    let responses = fetch_urls(&otto, &urls);
    assert_eq!(responses.len(), 101);
    for r in &responses {
        assert_eq!(r.status(), Some(200), "{}: {:?}", r.url(), r.error());
    }
    assert!(s.connections() >= 2, "a new connection after the kill");
    assert!(
        responses.iter().any(|r| r.attempts() == 2),
        "the lost ones retried"
    );
}

#[test]
fn ten_mib_bodies_flow_on_streams_of_one_connection() {
    let ca = Ca::new("Octopus test CA");
    let s = h2_server(&ca, H2Options::default());
    let otto = ca
        .builder()
        .concurrency(4)
        .max_body(64 << 20)
        .build()
        .unwrap();
    let responses = fetch_urls(&otto, &paths(&s, "/bytes/10485760", 4));
    for r in &responses {
        assert_eq!(
            (r.status(), r.bytes()),
            (Some(200), 10 << 20),
            "{:?}",
            r.error()
        );
    }
}

#[test]
fn the_deadline_holds_on_a_trickling_stream() {
    let ca = Ca::new("Octopus test CA");
    let s = h2_server(&ca, H2Options::default());
    let otto = ca
        .builder()
        .timeout(std::time::Duration::from_millis(800))
        .build()
        .unwrap();
    let r = fetch_urls(&otto, &[s.url("/trickle/100")]).remove(0);
    assert_eq!(r.error().map(|e| e.kind()), Some(ErrorKind::Timeout));
    assert_eq!(
        r.error().map(|e| e.message()),
        Some("deadline passed (timeout) reading the body")
    );
}

#[test]
fn redirects_decoding_limits_and_captures_work_on_streams() {
    let ca = Ca::new("Octopus test CA");
    let s = h2_server(&ca, H2Options::default());
    let otto = ca
        .builder()
        .hashes([Hash::Sha256])
        .titles(true)
        .build()
        .unwrap();
    let responses = fetch_urls(&otto, &[s.url("/redirect/3")]);
    assert_eq!(
        (responses[0].status(), responses[0].redirects()),
        (Some(200), 3)
    );
    let gzip = fetch_urls(&otto, &[s.url("/gzip")]).remove(0);
    assert_eq!(gzip.text(), Some("hello\n"));
    let html = fetch_urls(&otto, &[s.url("/html")]).remove(0);
    assert!(html.title().is_some(), "a title");
    assert!(html.hash(Hash::Sha256).is_some(), "a hash");
    let echo = fetch_urls(&otto, &[s.url("/echo")]).remove(0);
    let head = echo.text().unwrap_or_default();
    assert!(head.starts_with("GET /echo HTTP/2"), "{head}");
    assert!(
        !head.contains("connection:"),
        "no connection headers on h2: {head}"
    );
    let small = ca.builder().max_body(100).build().unwrap();
    let big = fetch_urls(&small, &[s.url("/bytes/5000")]).remove(0);
    assert_eq!(big.error().map(|e| e.kind()), Some(ErrorKind::BodyTooLarge));
}

#[test]
fn per_host_counts_streams() {
    let ca = Ca::new("Octopus test CA");
    let s = h2_server(&ca, H2Options::default());
    let otto = ca.builder().concurrency(50).per_host(5).build().unwrap();
    let responses = fetch_urls(&otto, &paths(&s, "/delay/50", 100));
    assert!(statuses(&responses).iter().all(|s| *s == Some(200)));
    assert_eq!(
        s.most_streams(),
        5,
        "at most 5 requests at once on the host's connection"
    );
}

/// A server that accepts and never answers, counting the most connections it held at once
/// (a connection ends when the client closes it).
fn silent_server() -> (u16, Arc<AtomicUsize>) {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let open = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let held = Arc::clone(&most);
    std::thread::spawn(move || {
        for mut stream in silent.incoming().flatten() {
            held.fetch_max(open.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
            let open = Arc::clone(&open);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while matches!(std::io::Read::read(&mut stream, &mut buf), Ok(n) if n > 0) {}
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (port, most)
}

#[test]
fn a_burst_whose_first_connection_fails_makes_its_own_connections_at_once() {
    // Every TLS handshake runs out of the connect timeout. The burst waits for the first
    // connection (its protocol unknown); when that fails, the others make their own at
    // once, each ending at its own connect timeout. They used to wait in turn, one
    // connection at a time (the server never held two), each for the next one's timeout.
    let (port, most) = silent_server();
    let ca = Ca::new("Octopus test CA");
    let otto = ca
        .builder()
        .concurrency(8)
        .connect_timeout(std::time::Duration::from_secs(1))
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap();
    let urls: Vec<String> = (0..8)
        .map(|i| format!("https://127.0.0.1:{port}/{i}"))
        .collect();
    for r in fetch_urls(&otto, &urls) {
        let error = r.error().expect("no answer");
        assert_eq!(error.kind(), ErrorKind::Timeout);
        assert!(
            error.message().contains("connect-timeout"),
            "{}: {}",
            r.url(),
            error.message()
        );
    }
    // Seven (eight if the first one's close is seen late); one at a time, it was two.
    let most = most.load(Ordering::SeqCst);
    assert!(most >= 7, "the seven that waited connected at once: {most}");
}
