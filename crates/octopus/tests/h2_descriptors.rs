//! An idle HTTP/2 connection holds one descriptor, its socket: its epoll descriptor, kick
//! and bells are made when a stream opens and closed when the last one ends (a run over
//! thousands of origins keeps thousands of idle connections). Alone in its test binary: it
//! counts the process's descriptors.

mod common;
use common::*;

use octopus::HttpVersion;
use octopus_testserver::{H2Options, H2Server};

/// The descriptors this process holds.
fn descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count())
}

#[test]
fn an_idle_http2_connection_holds_its_socket_alone() {
    let s = H2Server::start_h2c(H2Options::default()).unwrap();
    let otto = builder()
        .http_version(HttpVersion::Http2PriorKnowledge)
        .build()
        .unwrap();
    // A first request to another server makes what the engine makes once (its epoll set
    // and the like); a second server's connection is what is counted.
    let other = H2Server::start_h2c(H2Options::default()).unwrap();
    let first = fetch_urls(&otto, &[other.url("/status/200")]).remove(0);
    assert_eq!(first.status(), Some(200));
    let before = descriptors();
    let r = fetch_urls(&otto, &[s.url("/status/200")]).remove(0);
    assert_eq!((r.status(), r.http_version()), (Some(200), Some("2")));
    let idle = descriptors();
    // The client's socket, and the server's end of it.
    assert_eq!(
        idle - before,
        2,
        "descriptors held by one idle connection and its peer"
    );
    // Used again: the same connection, nothing left behind.
    let again = fetch_urls(&otto, &[s.url("/status/200")]).remove(0);
    assert_eq!(again.status(), Some(200));
    assert_eq!(s.connections(), 1);
    assert_eq!(descriptors(), idle);
}
