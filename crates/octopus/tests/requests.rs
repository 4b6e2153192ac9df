//! Requests shaped their own way (`Request::with_method`, `with_header`, `with_body`,
//! `with_timeout`, `with_max_redirects`) against a real loopback server: what goes on the
//! wire, how it mixes with the settings', and that such requests bypass the cache.

mod common;
use common::*;

use std::time::Duration;

use octopus::{Error, ErrorKind, Request, Response, Setting};

/// Every response of `requests`, fetched by `otto`, in the order given.
fn fetch(otto: &octopus::Octopus, requests: Vec<Request>) -> Vec<Response> {
    let order: Vec<String> = requests.iter().map(Request::shown_url).collect();
    let mut got: Vec<Response> = otto.fetch_all(requests).unwrap().collect();
    got.sort_by_key(|r| order.iter().position(|u| u == r.url()));
    got
}

fn text(r: &Response) -> String {
    String::from_utf8_lossy(r.body()).into_owned()
}

#[test]
fn a_request_sends_its_own_method_headers_and_body() {
    let s = server();
    let otto = builder().header("X-Team", "settings").build().unwrap();
    let post = Request::new(s.url("/echo"))
        .with_method("post")
        .unwrap()
        .with_header("X-Team", "own")
        .unwrap()
        .with_header("X-Extra", "1")
        .unwrap()
        .with_body("a=1&b=2");
    let got = fetch(&otto, vec![post, Request::new(s.url("/echo?plain"))]);
    let (shaped, plain) = (text(&got[0]), text(&got[1]));
    assert!(shaped.starts_with("POST /echo "), "{shaped}");
    assert!(
        shaped.to_ascii_lowercase().contains("x-team: own\r\n"),
        "{shaped}"
    );
    assert!(
        !shaped.contains("settings"),
        "the request's header replaced the settings'"
    );
    assert!(
        shaped.to_ascii_lowercase().contains("x-extra: 1\r\n"),
        "{shaped}"
    );
    assert!(
        shaped
            .to_ascii_lowercase()
            .contains("content-length: 7\r\n"),
        "{shaped}"
    );
    assert!(shaped.ends_with("\r\n\r\na=1&b=2"), "{shaped}");
    assert!(plain.starts_with("GET /echo?plain "), "{plain}");
    assert!(
        plain.to_ascii_lowercase().contains("x-team: settings\r\n"),
        "{plain}"
    );
}

#[test]
fn a_redirect_turns_a_requests_post_into_a_get_without_its_body() {
    let s = server();
    let otto = builder().build().unwrap();
    let post = Request::new(s.url("/redirect-to?url=/echo"))
        .with_method("POST")
        .unwrap()
        .with_header("Content-Type", "text/plain")
        .unwrap()
        .with_body("gone");
    let got = fetch(&otto, vec![post]);
    let landed = text(&got[0]);
    assert_eq!(got[0].redirects(), 1);
    assert!(landed.starts_with("GET /echo "), "{landed}");
    assert!(!landed.contains("gone"), "{landed}");
    assert!(
        !landed.to_ascii_lowercase().contains("content-type"),
        "{landed}"
    );
}

#[test]
fn a_request_may_have_its_own_timeout_and_redirect_limit() {
    let s = server();
    let otto = builder().timeout(Duration::from_secs(10)).build().unwrap();
    let hurried = Request::new(s.url("/delay/3000")).with_timeout(Duration::from_millis(200));
    let unfollowed = Request::new(s.url("/redirect/2")).with_max_redirects(0);
    let limited = Request::new(s.url("/redirect/3?again")).with_max_redirects(1);
    let got = fetch(
        &otto,
        vec![
            hurried,
            unfollowed,
            limited,
            Request::new(s.url("/redirect/2?all")),
        ],
    );
    assert_eq!(got[0].error().map(|f| f.kind()), Some(ErrorKind::Timeout));
    assert_eq!(got[1].status(), Some(302), "0: the 3xx is the answer");
    assert_eq!(got[1].redirects(), 0);
    assert_eq!(
        got[2].error().map(|f| f.kind()),
        Some(ErrorKind::TooManyRedirects)
    );
    assert_eq!(
        got[3].status(),
        Some(200),
        "the settings' limit still holds"
    );
    assert_eq!(got[3].redirects(), 2);
}

#[test]
fn shaped_requests_are_never_answered_from_the_cache() {
    let s = server();
    let otto = builder()
        .concurrency(1)
        .cache_ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    let plain = || Request::new(s.url("/c"));
    let shaped = || {
        Request::new(s.url("/c"))
            .with_header("Accept", "text/plain")
            .unwrap()
    };
    let got = fetch(&otto, vec![plain()]);
    assert!(!got[0].cached());
    for r in fetch(&otto, vec![shaped(), shaped()]) {
        assert!(!r.cached(), "a shaped request goes to the server");
    }
    assert!(fetch(&otto, vec![plain()])[0].cached());
    assert_eq!(s.hits("/c"), 3);
}

#[test]
fn a_bad_method_or_header_is_a_typed_error() {
    let bad_method = Request::new("http://127.0.0.1/").with_method("GE T");
    assert!(matches!(
        bad_method,
        Err(Error::Setting {
            setting: Setting::Method,
            ..
        })
    ));
    let bad_header = Request::new("http://127.0.0.1/").with_header("X-A", "1\r\nX-B: 2");
    match bad_header {
        Err(
            error @ Error::Setting {
                setting: Setting::Header,
                ..
            },
        ) => assert!(error.to_string().contains("X-A"), "{error}"),
        other => panic!("expected a header error, got {other:?}"),
    }
}
