//! A pool of proxies (`Builder::proxies`): requests spread over them, a dead proxy set
//! aside and its requests moved to another without being lost or counted as the target's
//! failure, each record naming the proxy that carried it, each proxy's use counted.

mod common;
use common::*;

use std::collections::HashSet;

use octopus::{ErrorKind, ProxyPick};
use octopus_testserver::ForwardProxy;

fn dead_proxy() -> String {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    format!("http://127.0.0.1:{port}")
}

#[test]
fn a_dead_proxy_is_set_aside_and_no_request_is_lost() {
    let origin = server();
    let (one, two) = (
        ForwardProxy::start().unwrap(),
        ForwardProxy::start().unwrap(),
    );
    let dead = dead_proxy();
    let otto = builder()
        .proxies([one.url(Some("u:p")), dead.clone(), two.url(None)])
        .concurrency(4)
        .build()
        .unwrap();
    let urls: Vec<String> = (0..30).map(|i| origin.url(&format!("/pool/{i}"))).collect();
    let got = fetch_urls(&otto, &urls);
    assert_eq!(got.len(), 30);
    let live: HashSet<String> = [one.url(None), two.url(None)].into();
    for response in &got {
        assert_eq!(response.status(), Some(200), "{:?}", response.error());
        assert_eq!(
            response.attempts(),
            1,
            "a move to another proxy is not an attempt"
        );
        let proxy = response.proxy().expect("names its proxy");
        assert!(
            live.contains(proxy),
            "{proxy}: never credentials, never the dead one"
        );
    }
    assert!(
        !one.requests().is_empty() && !two.requests().is_empty(),
        "spread"
    );
    let uses = otto.proxy_uses();
    assert_eq!(uses.len(), 3);
    assert_eq!(uses[1].proxy, dead);
    assert!(uses[1].failures >= 1 && uses[1].set_aside >= 1, "{uses:?}");
    assert_eq!(uses[0].failures + uses[2].failures, 0, "{uses:?}");
    let carried = uses[0].requests + uses[2].requests;
    assert_eq!(
        carried, 30,
        "every request went through a live proxy once: {uses:?}"
    );
}

#[test]
fn when_every_proxy_fails_each_request_ends_as_a_proxy_failure() {
    let origin = server();
    let otto = builder()
        .proxies([dead_proxy(), dead_proxy()])
        .proxy_pick(ProxyPick::Random)
        .timeout(std::time::Duration::from_secs(3))
        .build()
        .unwrap();
    let urls: Vec<String> = (0..6).map(|i| origin.url(&format!("/none/{i}"))).collect();
    let got = fetch_urls(&otto, &urls);
    assert_eq!(got.len(), 6);
    for response in &got {
        let failure = response.error().expect("no proxy carried it");
        // The last proxy tried failed, or every one was set aside to the end, or the
        // request waited for one to be back until its deadline.
        let set_aside = failure.message().contains("set aside");
        match failure.kind() {
            ErrorKind::Proxy => assert!(response.proxy().is_some() || set_aside, "{failure}"),
            ErrorKind::Timeout => {}
            other => panic!("{other}: {failure}"),
        }
    }
    assert_eq!(origin.requests(), 0);
}

#[test]
fn a_pool_with_a_single_proxy_too_is_refused() {
    let err = builder()
        .proxy("http://127.0.0.1:1")
        .proxies(["http://127.0.0.1:2"])
        .build()
        .expect_err("one or the other");
    assert!(err.to_string().contains("not both"), "{err}");
}
