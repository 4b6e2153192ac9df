//! Where a response's time went (`Response::timings`): each step measured where it
//! happened and absent where it did not (an address host asks no name, a kept connection
//! makes none, plain `http` has no handshake, the cache and proxies measure nothing), each
//! step at least as long as what the servers were told to take, and none longer than the
//! whole exchange.

mod common;
use common::*;

use std::net::IpAddr;
use std::time::Duration;

use octopus::{Octopus, Request, Response, Timings};
use octopus_testserver::DnsServer;

/// Fetch `urls` in order, one at a time.
fn fetch(otto: &Octopus, urls: &[String]) -> Vec<Response> {
    urls.iter()
        .map(|u| {
            let mut got = otto.fetch_all(vec![Request::from(u.as_str())]).unwrap();
            got.next().unwrap()
        })
        .collect()
}

/// Which steps were measured: dns, connect, tls, ttfb.
fn measured(t: &Timings) -> [bool; 4] {
    [t.dns, t.connect, t.tls, t.ttfb].map(|step| step.is_some())
}

/// No step is longer than the whole exchange.
fn within_the_exchange(r: &Response) {
    let t = r.timings();
    let steps: Duration = [t.dns, t.connect, t.tls, t.ttfb]
        .into_iter()
        .flatten()
        .sum();
    let whole = r.fetch_time().unwrap();
    assert!(steps <= whole, "{t:?} in {whole:?}");
}

#[test]
fn a_new_connection_is_measured_and_a_kept_one_only_waits() {
    let s = server();
    let otto = builder().concurrency(1).build().unwrap();
    let got = fetch(&otto, &[s.url("/delay/150"), s.url("/delay/150/again")]);
    let (first, kept) = (got[0].timings(), got[1].timings());
    // An address host: no lookup; plain http: no handshake.
    assert_eq!(measured(&first), [false, true, false, true], "{first:?}");
    assert_eq!(measured(&kept), [false, false, false, true], "{kept:?}");
    for (r, t) in got.iter().zip([first, kept]) {
        // The server answers after 150 ms: the first byte cannot come sooner.
        assert!(t.ttfb.unwrap() >= Duration::from_millis(150), "{t:?}");
        within_the_exchange(r);
    }
    assert_eq!(s.connections(), 1);
}

#[test]
fn a_name_lookup_is_measured() {
    let (s, dns) = (server(), DnsServer::start().unwrap());
    dns.add("timed.test", IpAddr::from([127, 0, 0, 1]))
        .delay(Duration::from_millis(100));
    let otto = builder().dns_server(dns.addr()).build().unwrap();
    let url = format!("http://timed.test:{}/", s.addr().port());
    let r = &fetch(&otto, &[url])[0];
    let t = r.timings();
    assert_eq!(measured(&t), [true, true, false, true], "{t:?}");
    assert!(t.dns.unwrap() >= Duration::from_millis(100), "{t:?}");
    within_the_exchange(r);
}

#[test]
fn a_tls_handshake_is_measured_on_a_new_connection_only() {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let key = cert.signing_key.serialize_der();
    let config = octopus_testserver::tls_config(vec![cert.cert.der().clone()], key, &[]);
    let s = Server::start_tls(config).unwrap();
    let otto = builder()
        .accept_invalid_certs(true)
        .concurrency(1)
        .build()
        .unwrap();
    let got = fetch(&otto, &[s.url("/a"), s.url("/b")]);
    let (first, kept) = (got[0].timings(), got[1].timings());
    assert_eq!(measured(&first), [false, true, true, true], "{first:?}");
    assert_eq!(measured(&kept), [false, false, false, true], "{kept:?}");
    got.iter().for_each(within_the_exchange);
}

#[test]
fn the_cache_measures_nothing_proxies_their_steps_and_failures_nothing() {
    let s = server();
    let otto = builder()
        .cache_ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    let got = fetch(&otto, &[s.url("/same"), s.url("/same")]);
    assert!(got[1].cached());
    assert_eq!(got[1].timings(), Timings::default());
    assert!(
        got[0].timings().ttfb.is_some(),
        "the fetch itself was measured"
    );

    let proxy = server();
    let proxied = builder().proxy(&proxy.url("")).build().unwrap();
    let r = &fetch(&proxied, &["http://octopus.test/via".to_string()])[0];
    assert_eq!(r.status(), Some(200));
    // Plain `http` through an `http://` proxy: the connection measured is the proxy's (no
    // lookup: it is an address; the target's name is the proxy's to resolve), no
    // handshake with the proxy, then the first byte.
    let t = r.timings();
    assert!(t.dns.is_none() && t.connect.is_some() && t.tls.is_none() && t.ttfb.is_some());
    assert!(t.proxy.is_none(), "{t:?}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = &fetch(&otto, &[format!("http://127.0.0.1:{port}/")])[0];
    assert!(refused.error().is_some());
    assert_eq!(refused.timings(), Timings::default());
}
