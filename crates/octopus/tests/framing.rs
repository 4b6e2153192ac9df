//! How response bodies are delimited on plain HTTP (`src/http/exchange.rs`,
//! `src/http/body_reader.rs`): by length, by chunks, by the end of the connection; 1xx
//! passed over; a body cut short or framed wrongly is an error, never a short body that
//! looks whole; and a connection is reused only when its response ended cleanly.

mod common;

use common::*;

use octopus::{ErrorKind, Octopus};

/// An octopus fetching one URL at a time, bodies and headers kept.
fn one_at_a_time() -> Octopus {
    builder()
        .concurrency(1)
        .keep_bodies(true)
        .keep_headers(true)
        .build()
        .unwrap()
}

#[test]
fn whole_bodies_by_length_chunks_or_connection_end() {
    let s = server();
    let got = fetch_paths(
        &one_at_a_time(),
        &s,
        &[
            "/raw/early-hints",
            "/raw/chunked-trailer",
            "/chunked/5000",
            "/raw/until-close",
            "/bytes/300000",
        ],
    );
    let body = |p: &str| String::from_utf8_lossy(got[p].body()).to_string();
    let hints = &got["/raw/early-hints"];
    assert_eq!(
        hints.status(),
        Some(200),
        "the 103 is passed over: {hints:?}"
    );
    assert_eq!(body("/raw/early-hints"), "final\n");
    assert_eq!(
        hints.header("link"),
        None,
        "the 103's headers are not the answer's"
    );
    assert_eq!(body("/raw/chunked-trailer"), "abcde");
    assert_eq!(got["/chunked/5000"].body(), vec![b'x'; 5000]);
    assert_eq!(body("/raw/until-close"), "read until the end\n");
    assert_eq!(got["/bytes/300000"].bytes(), 300_000);
    assert!(got.values().all(|r| r.error().is_none()), "{got:?}");
}

#[test]
fn a_body_cut_short_or_framed_wrongly_is_an_error() {
    let s = server();
    let got = fetch_paths(
        &one_at_a_time(),
        &s,
        &[
            "/raw/cut-length",
            "/raw/cut-chunk",
            "/raw/bad-chunk",
            "/raw/two-lengths",
        ],
    );
    let kind = |p: &str| got[p].error().map(|f| f.kind());
    assert_eq!(kind("/raw/cut-length"), Some(ErrorKind::Io), "{got:?}");
    assert_eq!(kind("/raw/cut-chunk"), Some(ErrorKind::Io));
    assert_eq!(kind("/raw/bad-chunk"), Some(ErrorKind::Protocol));
    assert_eq!(kind("/raw/two-lengths"), Some(ErrorKind::Protocol));
    for (path, said) in [
        (
            "/raw/cut-length",
            "closed the connection with 5 of 10 bytes of the body",
        ),
        (
            "/raw/cut-chunk",
            "closed the connection inside a chunked body, after 5 bytes of it",
        ),
    ] {
        let message = got[path].error().map(|f| f.message().to_string());
        assert!(
            message.as_deref().is_some_and(|m| m.contains(said)),
            "{path}: {message:?}"
        );
    }
}

#[test]
fn connections_are_reused_only_after_a_clean_end() {
    let s = server();
    // Each of these leaves its connection unusable, so the request after it needs a new
    // one: HTTP/1.0 (no keep-alive asked), a body that runs to the connection's end, bytes
    // past the announced length.
    let got = fetch_paths(
        &one_at_a_time(),
        &s,
        &[
            "/n/1",
            "/raw/chunked-trailer",
            "/raw/early-hints",
            "/n/2",
            "/raw/http10",
            "/n/3",
            "/raw/until-close",
            "/n/4",
            "/raw/extra-bytes",
            "/n/5",
        ],
    );
    assert!(got.values().all(|r| r.status() == Some(200)), "{got:?}");
    assert_eq!(
        String::from_utf8_lossy(got["/raw/extra-bytes"].body()),
        "ok\n"
    );
    // One connection up to `/raw/http10`, then one after each of the three.
    assert_eq!(s.connections(), 4);
}

#[test]
fn each_response_says_its_http_version_and_the_engine_counts_connections() {
    let s = server();
    let otto = builder().concurrency(1).build().unwrap();
    let urls = vec![s.url("/a"), s.url("/b"), s.url("/raw/http10")];
    let requests: Vec<octopus::Request> = urls.into_iter().map(octopus::Request::from).collect();
    let got: Vec<octopus::Response> = otto.fetch_all(requests).unwrap().collect();
    let versions: Vec<Option<&str>> = got.iter().map(|r| r.http_version()).collect();
    assert_eq!(versions, [Some("1.1"), Some("1.1"), Some("1.0")]);
    let stats = otto.stats();
    // /a and /b on one kept connection; the HTTP/1.0 answer on it too (it was kept).
    assert_eq!(stats.exchanges, 3, "{stats:?}");
    assert_eq!(stats.connections, 1, "{stats:?}");
}
