//! HTTP/2 connection coalescing against the test crate's HTTP/2 server (the `h2` crate,
//! over TLS): names that resolve to a connection's address and that its verified
//! certificate covers share that connection, each request with its own authority; a `421`
//! sends the request again on a connection of its own name; a name whose addresses do not
//! include the connection's, and every name under `--insecure`, makes its own.

mod common;
use common::*;

use std::net::{IpAddr, Ipv4Addr};

use octopus::Response;
use octopus_testserver::{H2Options, H2Server};

const NAMES: [&str; 3] = ["a.test", "b.test", "c.test"];
const HERE: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// An HTTP/2 server over TLS whose one certificate, from `ca`, covers `NAMES`.
fn shared_server(ca: &Ca, options: H2Options) -> H2Server {
    H2Server::start_tls(ca.server(&NAMES, false, &[b"h2"]), options).unwrap()
}

/// `builder` with every name of `NAMES` resolving to the server's address but `elsewhere`.
fn resolving(
    mut builder: octopus::Builder,
    s: &H2Server,
    elsewhere: Option<(&str, IpAddr)>,
) -> octopus::Builder {
    for name in NAMES {
        let addr = match elsewhere {
            Some((other, addr)) if other == name => addr,
            _ => HERE,
        };
        builder = builder.resolve(name, s.addr().port(), addr);
    }
    builder
}

fn url(s: &H2Server, name: &str, path: &str) -> String {
    format!("https://{name}:{}{path}", s.addr().port())
}

/// The one response to `url`, fetched with `otto`, which must be a 200 over HTTP/2.
fn fetched(otto: &octopus::Octopus, url: String) -> Response {
    let r = fetch_urls(otto, &[url]).remove(0);
    assert_eq!(r.error(), None, "{}", r.url());
    assert_eq!((r.status(), r.http_version()), (Some(200), Some("2")));
    r
}

#[test]
fn names_a_certificate_covers_on_one_address_share_its_connection() {
    let ca = Ca::new("Octopus test CA");
    let s = shared_server(&ca, H2Options::default());
    let otto = resolving(ca.builder(), &s, None).build().unwrap();
    let first = fetched(&otto, url(&s, "a.test", "/h2/names"));
    assert_eq!(first.text(), Some("authority a.test sni a.test"));
    let urls: Vec<String> = (0..20)
        .map(|i| url(&s, NAMES[1 + i % 2], &format!("/h2/names?{i}")))
        .collect();
    let responses = fetch_urls(&otto, &urls);
    assert_eq!(responses.len(), 20);
    for r in &responses {
        assert_eq!((r.status(), r.http_version()), (Some(200), Some("2")));
        // Each request carries its own name; the connection is a.test's.
        let name = if r.url().contains("b.test") {
            "b.test"
        } else {
            "c.test"
        };
        assert_eq!(
            r.text(),
            Some(format!("authority {name} sni a.test").as_str())
        );
        // A borrowed connection was not made for the request: no connect, no handshake.
        let timings = r.timings();
        assert_eq!((timings.connect, timings.tls), (None, None));
    }
    assert_eq!(s.connections(), 1, "three names, one connection");
    assert_eq!(s.requests(), 21);
    assert_eq!(otto.stats().connections, 1);
}

/// A server that answers `421` to other names than its connection's, and an `Octopus` at
/// `concurrency` that has a.test's connection to it open.
fn misdirecting(concurrency: usize) -> (H2Server, octopus::Octopus) {
    let ca = Ca::new("Octopus test CA");
    let options = H2Options {
        only_its_own_name: true,
        ..H2Options::default()
    };
    let s = shared_server(&ca, options);
    let otto = resolving(ca.builder().concurrency(concurrency), &s, None)
        .build()
        .unwrap();
    fetched(&otto, url(&s, "a.test", "/h2/names"));
    (s, otto)
}

#[test]
fn a_421_sends_the_request_again_on_a_connection_of_its_own_name() {
    let (s, otto) = misdirecting(1);
    let r = fetched(&otto, url(&s, "b.test", "/h2/names"));
    assert_eq!(r.text(), Some("authority b.test sni b.test"));
    assert_eq!(r.attempts(), 1, "a 421 is no retry");
    assert_eq!(s.connections(), 2);
    assert_eq!(
        s.requests(),
        3,
        "a.test's, b.test's on it (421), b.test's on its own"
    );
    // The name does not borrow again once told.
    let again = fetched(&otto, url(&s, "b.test", "/h2/names?again"));
    assert_eq!(again.text(), Some("authority b.test sni b.test"));
    assert_eq!((s.connections(), s.requests()), (2, 4));
}

#[test]
fn a_burst_to_a_name_that_borrows_is_sent_again_whole_after_a_421() {
    let (s, otto) = misdirecting(20);
    // The first of the burst borrows a.test's connection; those that waited for it take
    // it from the name's origin: every 421 among them is sent again on b.test's own.
    let urls: Vec<String> = (0..20)
        .map(|i| url(&s, "b.test", &format!("/h2/names?{i}")))
        .collect();
    for r in fetch_urls(&otto, &urls) {
        assert_eq!((r.status(), r.attempts()), (Some(200), 1), "{}", r.url());
        assert_eq!(r.text(), Some("authority b.test sni b.test"));
    }
}

#[test]
fn a_name_whose_addresses_do_not_include_the_connections_makes_its_own() {
    let ca = Ca::new("Octopus test CA");
    let s = shared_server(&ca, H2Options::default());
    // b.test is elsewhere, where nothing listens: it must try to connect there.
    let elsewhere = Some(("b.test", IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))));
    let otto = resolving(ca.builder(), &s, elsewhere).build().unwrap();
    fetched(&otto, url(&s, "a.test", "/h2/names"));
    let r = fetch_urls(&otto, &[url(&s, "b.test", "/h2/names")]).remove(0);
    assert_eq!(r.status(), None, "not sent on a.test's connection");
    assert_eq!(
        r.error().map(|e| e.kind()),
        Some(octopus::ErrorKind::Connect)
    );
    assert_eq!(s.connections(), 1);
}

/// With the builder `made` for the server's CA, every name of `NAMES` gets its own
/// connection (nothing is shared).
fn each_name_its_own_connection(made: impl FnOnce(&Ca) -> octopus::Builder) {
    let ca = Ca::new("Octopus test CA");
    let s = shared_server(&ca, H2Options::default());
    let otto = resolving(made(&ca), &s, None).build().unwrap();
    for name in NAMES {
        let r = fetched(&otto, url(&s, name, "/h2/names"));
        assert_eq!(
            r.text(),
            Some(format!("authority {name} sni {name}").as_str())
        );
    }
    assert_eq!(s.connections(), 3);
}

#[test]
fn coalesce_hosts_false_gives_every_name_its_own_connection() {
    each_name_its_own_connection(|ca| ca.builder().coalesce_hosts(false));
}

#[test]
fn nothing_is_shared_across_names_when_certificates_are_not_verified() {
    each_name_its_own_connection(|_| builder().accept_invalid_certs(true));
}
