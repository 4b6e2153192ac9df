//! Plain `http` through an HTTP proxy, as the proxies people run expect it: the test crate's
//! `ForwardProxy` forwards absolute-form requests and refuses `CONNECT` to any port but 443
//! (squid's stock rule), and may demand credentials. Every request goes out in
//! absolute-form (never tunnelled), carries the proxy's credentials to the proxy only, and
//! reuses the connection to the proxy; a proxy that wants credentials, or that cannot be
//! reached, is a `proxy` failure naming it (never its password).

mod common;
use common::*;

use octopus::{ErrorKind, Request, Response};
use octopus_testserver::ForwardProxy;

fn fetch(otto: &octopus::Octopus, urls: Vec<String>) -> Vec<Response> {
    let requests: Vec<Request> = urls.into_iter().map(Request::from).collect();
    otto.fetch_all(requests).unwrap().collect()
}

#[test]
fn plain_http_goes_to_the_proxy_in_absolute_form_on_kept_connections() {
    let (origin, proxy) = (server(), ForwardProxy::start().unwrap());
    let otto = builder()
        .proxy(&proxy.url(None))
        .concurrency(1)
        .build()
        .unwrap();
    let urls: Vec<String> = (0..3).map(|i| origin.url(&format!("/p/{i}"))).collect();
    let responses = fetch(&otto, urls.clone());
    for response in &responses {
        assert_eq!(response.status(), Some(200), "{:?}", response.error());
    }
    let lines: Vec<String> = proxy.requests().into_iter().map(|(line, _)| line).collect();
    let expected: Vec<String> = urls.iter().map(|u| format!("GET {u} HTTP/1.1")).collect();
    assert_eq!(lines, expected, "absolute-form, no CONNECT");
    assert_eq!(proxy.connections(), 1, "one connection to the proxy, kept");
    assert_eq!(origin.hits("/p/0"), 1);
}

#[test]
fn the_proxys_credentials_go_to_the_proxy_only_and_never_into_messages() {
    let (origin, proxy) = (
        server(),
        ForwardProxy::with_credentials("us@er", "s3cret").unwrap(),
    );
    // Percent-encoded in the URL, decoded in the header.
    let with = builder()
        .proxy(&proxy.url(Some("us%40er:s3cret")))
        .build()
        .unwrap();
    let answered = &fetch(&with, vec![origin.url("/echo")])[0];
    assert_eq!(answered.status(), Some(200), "{:?}", answered.error());
    let (_, given) = &proxy.requests()[0];
    assert_eq!(given.as_deref(), Some("Basic dXNAZXI6czNjcmV0"));
    let seen = String::from_utf8_lossy(answered.body()).to_ascii_lowercase();
    assert!(
        !seen.contains("proxy-authorization"),
        "the origin saw: {seen}"
    );

    let wrong = builder()
        .proxy(&proxy.url(Some("us%40er:wrong")))
        .retries(2)
        .build()
        .unwrap();
    let refused = &fetch(&wrong, vec![origin.url("/echo")])[0];
    let failure = refused.error().expect("407");
    assert_eq!(failure.kind(), ErrorKind::Proxy, "{failure}");
    assert!(failure.message().contains("wants credentials"), "{failure}");
    assert!(
        !failure.message().contains("wrong"),
        "no password: {failure}"
    );
    assert_eq!(refused.attempts(), 1, "a 407 is not retried");
}

#[test]
fn a_proxy_that_cannot_be_reached_is_a_proxy_failure() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let otto = builder()
        .proxy(&format!("http://user:pw@127.0.0.1:{port}"))
        .build()
        .unwrap();
    let failed = &fetch(&otto, vec!["http://octopus.test/".to_string()])[0];
    let failure = failed.error().expect("no proxy there");
    assert_eq!(failure.kind(), ErrorKind::Proxy, "{failure}");
    assert!(
        failure.message().starts_with(&format!(
            "proxy http://127.0.0.1:{port}: cannot connect to the proxy"
        )),
        "{failure}"
    );
    assert!(
        !failure.message().contains("user"),
        "no credentials: {failure}"
    );
}

#[test]
fn with_proxy_tunnel_plain_http_is_tunnelled_and_a_refusal_says_so() {
    let (origin, squid_like) = (server(), ForwardProxy::start().unwrap());
    // A proxy that refuses CONNECT to any port but 443, as squid's stock configuration.
    let tunnelled = builder()
        .proxy(&squid_like.url(None))
        .proxy_tunnel(true)
        .retries(2)
        .build()
        .unwrap();
    let refused = &fetch(&tunnelled, vec![origin.url("/a")])[0];
    let failure = refused.error().expect("refused");
    assert_eq!(failure.kind(), ErrorKind::Proxy, "{failure}");
    assert!(
        failure
            .message()
            .ends_with("the proxy refused the tunnel (403 Forbidden)"),
        "{failure}"
    );
    assert_eq!(refused.attempts(), 1, "a refusal is not retried");
    let (line, _) = &squid_like.requests()[0];
    let authority = origin.addr().to_string();
    assert_eq!(line, &format!("CONNECT {authority} HTTP/1.1"));
    // The test server tunnels to itself: through it, the tunnel carries the request.
    let tunnelling = server();
    let through = builder()
        .proxy(&tunnelling.url(""))
        .proxy_tunnel(true)
        .build()
        .unwrap();
    let answered = &fetch(&through, vec!["http://octopus.test/b".to_string()])[0];
    assert_eq!(answered.status(), Some(200), "{:?}", answered.error());
    assert_eq!(tunnelling.hits("octopus.test:80"), 1, "a CONNECT");
}

#[test]
fn a_tunnel_that_wants_credentials_is_said_so_and_not_retried() {
    let proxy = ForwardProxy::with_credentials("user", "pw").unwrap();
    let otto = builder()
        .proxy(&proxy.url(None))
        .proxy_tunnel(true)
        .retries(2)
        .build()
        .unwrap();
    let refused = &fetch(&otto, vec!["http://127.0.0.1:9/".to_string()])[0];
    let failure = refused.error().expect("407");
    assert_eq!(failure.kind(), ErrorKind::Proxy, "{failure}");
    assert!(failure.message().contains("wants credentials"), "{failure}");
    assert_eq!(refused.attempts(), 1);
}
