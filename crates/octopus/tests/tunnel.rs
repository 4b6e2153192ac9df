//! `https` through an HTTP proxy's `CONNECT` tunnel, and every target through SOCKS
//! proxies (the test crate's `SocksProxy`, written to RFC 1928/1929, and SOCKS4/4a), on
//! octopus's own exchange: the tunnel is kept and reused as the origin's connection, the
//! proxy's handshake is timed (`proxy`), names are resolved where the scheme says, and
//! every refusal is said in words of kind `proxy` (a target the proxy cannot reach is a
//! `connect` failure) without the proxy's password.

mod common;
use common::*;

use std::net::{IpAddr, Ipv4Addr};

use octopus::ErrorKind;
use octopus_testserver::{ForwardProxy, SocksProxy};

fn tls_server() -> Server {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let key = cert.signing_key.serialize_der();
    let config = octopus_testserver::tls_config(vec![cert.cert.der().clone()], key, &[]);
    Server::start_tls(config).unwrap()
}

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[test]
fn https_goes_through_a_connect_tunnel_that_is_kept_and_timed() {
    let (origin, proxy) = (
        tls_server(),
        ForwardProxy::with_credentials("me", "s3cret").unwrap(),
    );
    proxy.tunnel_any_port();
    let otto = builder()
        .proxy(&proxy.url(Some("me:s3cret")))
        .accept_invalid_certs(true)
        .concurrency(1)
        .build()
        .unwrap();
    let urls: Vec<String> = (0..3).map(|i| origin.url(&format!("/t/{i}"))).collect();
    let got = fetch_urls(&otto, &urls);
    for response in &got {
        assert_eq!(response.status(), Some(200), "{:?}", response.error());
    }
    let asked = proxy.requests();
    let authority = origin.addr().to_string();
    assert_eq!(asked.len(), 1, "one tunnel, reused: {asked:?}");
    assert_eq!(asked[0].0, format!("CONNECT {authority} HTTP/1.1"));
    assert_eq!(asked[0].1.as_deref(), Some("Basic bWU6czNjcmV0"));
    let origin_saw = origin.last_request("/t/0").unwrap_or_default();
    assert!(
        !origin_saw
            .to_ascii_lowercase()
            .contains("proxy-authorization")
    );
    let (first, kept) = (got[0].timings(), got[1].timings());
    assert!(first.connect.is_some() && first.proxy.is_some() && first.tls.is_some());
    assert!(kept.proxy.is_none() && kept.tls.is_none(), "{kept:?}");
}

#[test]
fn squids_stock_refusal_of_a_tunnel_is_said_once_and_not_retried() {
    let (origin, squid_like) = (tls_server(), ForwardProxy::start().unwrap());
    let otto = builder()
        .proxy(&squid_like.url(None))
        .accept_invalid_certs(true)
        .retries(2)
        .build()
        .unwrap();
    let refused = &fetch_urls(&otto, &[origin.url("/x")])[0];
    let failure = refused.error().expect("refused");
    assert_eq!(failure.kind(), ErrorKind::Proxy, "{failure}");
    let expected = format!(
        "proxy http://{}: the proxy refused the tunnel (403 Forbidden)",
        squid_like.url(None).trim_start_matches("http://")
    );
    assert_eq!(failure.message(), expected);
    assert_eq!(refused.attempts(), 1);
}

#[test]
fn socks5_carries_plain_and_tls_targets_by_address() {
    let (plain, secure, socks) = (server(), tls_server(), SocksProxy::start().unwrap());
    let otto = builder()
        .proxy(&socks.url("socks5", None))
        .accept_invalid_certs(true)
        .concurrency(1)
        .resolve("origin.test", plain.addr().port(), LOOPBACK)
        .build()
        .unwrap();
    let named = format!("http://origin.test:{}/n", plain.addr().port());
    let got = fetch_urls(&otto, &[plain.url("/a"), secure.url("/b"), named]);
    for response in &got {
        assert_eq!(response.status(), Some(200), "{:?}", response.error());
    }
    let asked = socks.asked();
    assert_eq!(asked[0], format!("socks5 {}", plain.addr()));
    assert_eq!(asked[1], format!("socks5 {}", secure.addr()));
    // socks5://: octopus resolves the name and sends the address.
    assert_eq!(asked[2], format!("socks5 {}", plain.addr()));
    assert!(got[1].timings().proxy.is_some() && got[1].timings().tls.is_some());
}

#[test]
fn socks5h_and_socks4a_send_the_name_for_the_proxy_to_resolve() {
    let (origin, socks) = (server(), SocksProxy::start().unwrap());
    socks.name("far.test", LOOPBACK);
    let url = format!("http://far.test:{}/far", origin.addr().port());
    for scheme in ["socks5h", "socks4a"] {
        // No resolver knows far.test: only the proxy can find it.
        let otto = builder()
            .proxy(&socks.url(scheme, Some("me")))
            .dns_server("127.0.0.1:9".parse().unwrap())
            .build()
            .unwrap();
        let got = &fetch_urls(&otto, std::slice::from_ref(&url))[0];
        assert_eq!(got.status(), Some(200), "{scheme}: {:?}", got.error());
    }
    let port = origin.addr().port();
    assert_eq!(
        socks.asked(),
        [
            format!("socks5 far.test:{port}"),
            format!("socks4a far.test:{port} user=me"),
        ]
    );
}

#[test]
fn socks4_sends_the_address_and_the_user() {
    let (origin, socks) = (server(), SocksProxy::start().unwrap());
    let otto = builder()
        .proxy(&socks.url("socks4", Some("alice")))
        .build()
        .unwrap();
    let got = &fetch_urls(&otto, &[origin.url("/four")])[0];
    assert_eq!(got.status(), Some(200), "{:?}", got.error());
    assert_eq!(
        socks.asked(),
        [format!("socks4 {} user=alice", origin.addr())]
    );
}

#[test]
fn socks5_credentials_are_given_checked_and_never_shown() {
    let (origin, socks) = (server(), SocksProxy::with_credentials("u", "good").unwrap());
    let with = |userinfo: Option<&str>| {
        builder()
            .proxy(&socks.url("socks5", userinfo))
            .retries(2)
            .build()
            .unwrap()
    };
    let ok = &fetch_urls(&with(Some("u:good")), &[origin.url("/ok")])[0];
    assert_eq!(ok.status(), Some(200), "{:?}", ok.error());
    let wrong = &fetch_urls(&with(Some("u:bad")), &[origin.url("/no")])[0];
    let failure = wrong.error().expect("refused");
    assert_eq!(failure.kind(), ErrorKind::Proxy, "{failure}");
    assert!(
        failure
            .message()
            .contains("refused the user name and password"),
        "{failure}"
    );
    assert!(!failure.message().contains("bad") && !failure.message().contains("u:"));
    assert_eq!(wrong.attempts(), 1, "a refusal is not retried");
    let none = &fetch_urls(&with(None), &[origin.url("/none")])[0];
    let failure = none.error().expect("wants them");
    assert!(
        failure
            .message()
            .contains("may want a user name and password"),
        "{failure}"
    );
}

#[test]
fn a_target_the_socks_proxy_cannot_reach_is_a_connect_failure() {
    let socks = SocksProxy::start().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let otto = builder().proxy(&socks.url("socks5", None)).build().unwrap();
    let got = &fetch_urls(&otto, &[format!("http://127.0.0.1:{port}/")])[0];
    let failure = got.error().expect("refused");
    assert_eq!(failure.kind(), ErrorKind::Connect, "{failure}");
    assert!(
        failure.message().contains("connection refused (reply 5)"),
        "{failure}"
    );
    assert!(
        failure.message().contains("through proxy socks5://"),
        "{failure}"
    );
}

#[test]
fn no_proxy_hosts_go_directly_and_an_empty_proxy_means_none() {
    let (origin, proxy) = (server(), ForwardProxy::start().unwrap());
    let bypassing = builder()
        .proxy(&proxy.url(None))
        .no_proxy("example.test, 127.0.0.0/8")
        .build()
        .unwrap();
    assert_eq!(
        fetch_urls(&bypassing, &[origin.url("/d")])[0].status(),
        Some(200)
    );
    let none = builder().proxy("").build().unwrap();
    assert_eq!(
        fetch_urls(&none, &[origin.url("/e")])[0].status(),
        Some(200)
    );
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
    assert_eq!(origin.hits("/d") + origin.hits("/e"), 2);
}

fn tls_proxy() -> (ForwardProxy, String) {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let key = cert.signing_key.serialize_der();
    let pem = cert.cert.pem();
    let config = octopus_testserver::tls_config(vec![cert.cert.der().clone()], key, &[]);
    let proxy = ForwardProxy::start_tls(config).unwrap();
    proxy.tunnel_any_port();
    (proxy, pem)
}

#[test]
fn an_https_proxy_is_spoken_to_over_tls_for_plain_and_tls_targets() {
    let (plain, secure) = (server(), tls_server());
    let (proxy, proxy_pem) = tls_proxy();
    // The proxy's certificate is trusted through --proxy-cacert only; the origin's is
    // not checked (--insecure): each side by its own setting.
    let otto = builder()
        .proxy(&proxy.url(None))
        .proxy_root_certs_pem(proxy_pem.into_bytes())
        .accept_invalid_certs(true)
        .concurrency(1)
        .build()
        .unwrap();
    let got = fetch_urls(
        &otto,
        &[plain.url("/f"), secure.url("/s"), secure.url("/s2")],
    );
    for response in &got {
        assert_eq!(response.status(), Some(200), "{:?}", response.error());
    }
    let lines: Vec<String> = proxy.requests().into_iter().map(|(line, _)| line).collect();
    assert_eq!(
        lines,
        [
            format!("GET {} HTTP/1.1", plain.url("/f")),
            format!("CONNECT {} HTTP/1.1", secure.addr()),
        ],
        "TLS inside TLS through one kept tunnel"
    );
    assert!(got[1].timings().proxy.is_some() && got[1].timings().tls.is_some());
}

#[test]
fn an_https_proxy_whose_certificate_is_not_trusted_is_a_proxy_failure() {
    let origin = server();
    let (proxy, _) = tls_proxy();
    let otto = builder()
        .proxy(&proxy.url(None))
        .root_certs_pem(tls_pem())
        .build()
        .unwrap();
    let got = &fetch_urls(&otto, &[origin.url("/x")])[0];
    let failure = got.error().expect("not trusted");
    assert_eq!(failure.kind(), ErrorKind::Proxy, "{failure}");
    assert!(
        failure.message().contains("TLS with the proxy"),
        "{failure}"
    );
    let trusting = builder()
        .proxy(&proxy.url(None))
        .proxy_accept_invalid_certs(true)
        .build()
        .unwrap();
    assert_eq!(
        fetch_urls(&trusting, &[origin.url("/y")])[0].status(),
        Some(200)
    );
}

/// A certificate authority that signed nothing here.
fn tls_pem() -> Vec<u8> {
    let other = rcgen::generate_simple_self_signed(vec!["elsewhere.test".to_string()]).unwrap();
    other.cert.pem().into_bytes()
}

#[test]
fn a_proxy_for_one_scheme_takes_the_place_of_the_one_for_every_url() {
    let (plain, secure, proxy) = (server(), tls_server(), ForwardProxy::start().unwrap());
    let otto = builder()
        .proxy(&proxy.url(None))
        .https_proxy("")
        .accept_invalid_certs(true)
        .build()
        .unwrap();
    let got = fetch_urls(&otto, &[plain.url("/via"), secure.url("/direct")]);
    assert!(got.iter().all(|r| r.status() == Some(200)), "{got:?}");
    let lines: Vec<String> = proxy.requests().into_iter().map(|(line, _)| line).collect();
    assert_eq!(lines, [format!("GET {} HTTP/1.1", plain.url("/via"))]);
}

#[test]
fn the_archive_holds_the_origins_request_not_the_proxys_credentials_or_address() {
    let (origin, proxy) = (
        server(),
        ForwardProxy::with_credentials("me", "s3cret").unwrap(),
    );
    let dir = std::env::temp_dir().join(format!("octopus-proxy-warc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("through.warc");
    let otto = builder()
        .proxy(&proxy.url(Some("me:s3cret")))
        .warc(&path)
        .build()
        .unwrap();
    let got = &fetch_urls(&otto, &[origin.url("/archived")])[0];
    assert_eq!(got.status(), Some(200), "{:?}", got.error());
    drop(otto);
    let archive = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(archive.contains(&format!("WARC-Target-URI: {}", origin.url("/archived"))));
    assert!(
        archive.contains("GET /archived HTTP/1.1"),
        "origin-form, as the origin sees it"
    );
    let lower = archive.to_ascii_lowercase();
    for secret in [
        "s3cret",
        "bwu6cznjcmv0",
        "proxy-authorization",
        "warc-ip-address",
    ] {
        assert!(!lower.contains(secret), "{secret} in the archive");
    }
}
