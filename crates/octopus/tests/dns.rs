//! Name resolution against a real DNS server of the test crate (`DnsServer`, on a UDP port
//! of 127.0.0.1, named with `dns_server`): each name asked once however many URLs use it,
//! absent names said so and remembered, lost queries asked again, silent servers bounded
//! by the request's deadline, `resolve` overrides asking nothing.

mod common;
use common::*;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use octopus::{ErrorKind, Octopus, Request, Response};
use octopus_testserver::DnsServer;

const LOOPBACK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

fn dns() -> DnsServer {
    DnsServer::start().expect("DNS server starts on 127.0.0.1")
}

/// `http://NAME:PORT/PATH` on `server`'s port.
fn url(server: &Server, name: &str, path: &str) -> String {
    format!("http://{name}:{}{path}", server.addr().port())
}

/// Fetch `urls` with `otto`; the responses in any order.
fn fetch(otto: &Octopus, urls: Vec<String>) -> Vec<Response> {
    let requests: Vec<Request> = urls.into_iter().map(Request::from).collect();
    otto.fetch_all(requests).unwrap().collect()
}

#[test]
fn a_name_is_asked_once_however_many_urls_use_it() {
    let (s, dns) = (server(), dns());
    dns.add("one.test", LOOPBACK);
    // Many at once: the lookups of the name join the first one's.
    let otto = builder()
        .dns_server(dns.addr())
        .concurrency(50)
        .build()
        .unwrap();
    let urls = (0..200)
        .map(|i| url(&s, "one.test", &format!("/p/{i}")))
        .collect();
    let responses = fetch(&otto, urls);
    assert!(
        responses.iter().all(Response::ok),
        "{:?}",
        responses[0].error()
    );
    // One A and one AAAA query: the first lookup's.
    assert_eq!(dns.queries("one.test"), 2);
    // Later, from the cache.
    let again = fetch(&otto, vec![url(&s, "ONE.test", "/later")]);
    assert!(again[0].ok());
    assert_eq!(dns.queries("one.test"), 2);
}

#[test]
fn a_name_that_does_not_exist_is_said_so_and_remembered() {
    let (s, dns) = (server(), dns());
    let otto = builder()
        .dns_server(dns.addr())
        .concurrency(1)
        .build()
        .unwrap();
    let urls = (0..3)
        .map(|i| url(&s, "nowhere.test", &format!("/{i}")))
        .collect();
    for response in fetch(&otto, urls) {
        let failure = response.error().expect("a failure");
        assert_eq!(failure.kind(), ErrorKind::Dns);
        assert_eq!(failure.message(), "no such host (NXDOMAIN)");
    }
    assert_eq!(dns.queries("nowhere.test"), 2, "asked once, for A and AAAA");
}

#[test]
fn queries_a_server_lost_are_asked_again() {
    let (s, dns) = (server(), dns());
    dns.add("warm.test", LOOPBACK);
    dns.add("lossy.test", LOOPBACK).drop_next("lossy.test", 2);
    // A try waits a few of the server's round trips (measured on warm.test), not
    // resolv.conf's timeout (2 s when it does not say): the lost queries are asked again
    // well within a timeout shorter than one such try.
    let otto = builder()
        .dns_server(dns.addr())
        .timeout(Duration::from_millis(1500))
        .build()
        .unwrap();
    let warm = &fetch(&otto, vec![url(&s, "warm.test", "/")])[0];
    assert!(warm.ok(), "{:?}", warm.error());
    let response = &fetch(&otto, vec![url(&s, "lossy.test", "/")])[0];
    assert!(response.ok(), "{:?}", response.error());
    assert!(dns.queries("lossy.test") >= 4, "asked again");
}

#[test]
fn a_failing_server_is_said_to_fail() {
    let (s, dns) = (server(), dns());
    dns.failing("broken.test");
    let otto = builder().dns_server(dns.addr()).build().unwrap();
    let response = &fetch(&otto, vec![url(&s, "broken.test", "/")])[0];
    let failure = response.error().expect("a failure");
    assert_eq!(failure.kind(), ErrorKind::Dns);
    assert_eq!(
        failure.message(),
        "the DNS server failed to answer (SERVFAIL)"
    );
}

/// Rounds over the servers a lookup makes: resolv.conf's `attempts`, 2 when it does not
/// say (the C library's default), at most 5.
fn attempts() -> usize {
    let conf = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    conf.split_whitespace()
        .filter_map(|word| word.strip_prefix("attempts:"))
        .filter_map(|n| n.parse::<usize>().ok())
        .next_back()
        .map_or(2, |n| n.clamp(1, 5))
}

#[test]
fn a_failing_server_is_asked_once_a_round_not_again_and_again() {
    let (s, dns) = (server(), dns());
    dns.failing("broken.test");
    // A deadline far away: before, the failing server was asked again at once, over and
    // over, until resolv.conf's whole wait had passed. Now once a round, as the C
    // library's resolver asks it.
    let otto = builder()
        .dns_server(dns.addr())
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let response = &fetch(&otto, vec![url(&s, "broken.test", "/")])[0];
    assert_eq!(response.error().map(|f| f.kind()), Some(ErrorKind::Dns));
    assert_eq!(
        dns.queries("broken.test"),
        2 * attempts(),
        "one A and one AAAA query a round"
    );
}

#[test]
fn a_resolver_that_refuses_while_busy_is_asked_again() {
    if attempts() < 2 {
        eprintln!("skipped: resolv.conf says attempts:1 (one round, nothing asked again)");
        return;
    }
    let (s, dns) = (server(), dns());
    dns.add("busy.test", "127.0.0.1".parse().unwrap());
    dns.refuse_next("busy.test", 2);
    let otto = builder().dns_server(dns.addr()).build().unwrap();
    let response = &fetch(&otto, vec![url(&s, "busy.test", "/")])[0];
    assert!(response.ok(), "{:?}", response.error().map(|f| f.message()));
    assert_eq!(
        dns.queries("busy.test"),
        4,
        "both queries refused, then asked again"
    );
}

#[test]
fn a_server_that_refuses_is_said_to_refuse_at_once() {
    // A UDP port nothing listens on: the kernel answers each query with "port
    // unreachable".
    let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let s = server();
    let otto = builder()
        .dns_server(addr)
        .timeout(Duration::from_secs(120))
        .concurrency(4)
        .dns_concurrency(1)
        .build()
        .unwrap();
    let urls = ["a", "b", "c", "d"]
        .iter()
        .map(|name| url(&s, &format!("{name}.test"), "/"))
        .collect();
    for response in fetch(&otto, urls) {
        let failure = response.error().expect("a failure");
        assert_eq!(failure.kind(), ErrorKind::Dns, "{}", failure.message());
        assert_eq!(
            failure.message(),
            format!("name server {addr} refused the query")
        );
    }
}

#[test]
fn a_silent_server_ends_at_the_requests_deadline() {
    let (s, dns) = (server(), dns());
    dns.silent("quiet.test");
    let timeout = Duration::from_millis(600);
    let otto = builder()
        .dns_server(dns.addr())
        .timeout(timeout)
        .build()
        .unwrap();
    let started = Instant::now();
    let response = &fetch(&otto, vec![url(&s, "quiet.test", "/")])[0];
    let failure = response.error().expect("a failure");
    assert_eq!(failure.kind(), ErrorKind::Timeout, "{}", failure.message());
    assert_eq!(
        failure.message(),
        "deadline passed (timeout) during the name lookup"
    );
    // A liveness bound, not a timing: the resolver's own tries would take seconds more.
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn resolve_overrides_ask_nothing() {
    let (s, dns) = (server(), dns());
    let otto = builder()
        .dns_server(dns.addr())
        .resolve("pinned.test", s.addr().port(), LOOPBACK)
        .build()
        .unwrap();
    let response = &fetch(&otto, vec![url(&s, "pinned.test", "/")])[0];
    assert!(response.ok(), "{:?}", response.error());
    assert_eq!(dns.queries("pinned.test"), 0);
}

#[test]
fn a_black_holed_first_address_costs_little_not_the_connect_timeout() {
    // The same port on 127.0.0.2 (black-holed, answered first: what a host whose IPv6 path
    // is black-holed looks like, kept inside 127.0.0.0/8) and 127.0.0.1 (the server): a few
    // tries to find a port free on both.
    let (s, _hole) = (0..10)
        .find_map(|_| {
            let s = server();
            black_hole(s.addr().port()).ok().map(|hole| (s, hole))
        })
        .expect("a port free on both 127.0.0.1 and 127.0.0.2");
    let dns = dns();
    dns.add("dual.test", "127.0.0.2".parse().unwrap())
        .add("dual.test", LOOPBACK);
    let otto = builder()
        .dns_server(dns.addr())
        .connect_timeout(Duration::from_secs(60))
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let started = Instant::now();
    let response = &fetch(&otto, vec![url(&s, "dual.test", "/")])[0];
    assert!(response.ok(), "{:?}", response.error());
    // A liveness bound, not a timing: trying the addresses in turn would give the first
    // half of the 60 s connect timeout.
    assert!(started.elapsed() < Duration::from_secs(30));
}
