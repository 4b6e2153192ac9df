//! `https` on octopus's own exchange, against the test server's TLS mode (rustls) and a
//! private certificate authority made by rcgen: every route works as over plain `http`,
//! connections and TLS sessions are reused, ALPN says `http/1.1`, redirects cross between
//! `http` and `https`, each verification failure is a `tls` failure naming its cause, and
//! a server that closes or stalls during the handshake ends as `tls` or `timeout`.

mod common;
use common::*;

use std::io::Read;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use octopus::{ErrorKind, HttpVersion, Response};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

/// A TLS test server with a certificate for 127.0.0.1 from `ca`.
fn tls_server(ca: &Ca) -> Server {
    Server::start_tls(ca.server(&["127.0.0.1"], false, &[])).unwrap()
}

fn fetch(otto: &octopus::Octopus, urls: Vec<String>) -> Vec<Response> {
    let requests: Vec<octopus::Request> = urls.into_iter().map(Into::into).collect();
    otto.fetch_all(requests).unwrap().collect()
}

fn one(otto: &octopus::Octopus, url: String) -> Response {
    fetch(otto, vec![url]).remove(0)
}

#[test]
fn every_kind_of_answer_comes_over_tls_as_over_plain_http() {
    let ca = Ca::new("Octopus test CA");
    let s = tls_server(&ca);
    let otto = ca.builder().concurrency(4).build().unwrap();
    let paths = [
        "/bytes/100000",
        "/chunked/70000",
        "/gzip",
        "/status/404",
        "/redirect/2",
        "/raw/until-close",
        "/raw/early-hints",
        "/close",
        "/empty/204",
        "/headers/300",
    ];
    let found = fetch_paths(&otto, &s, &paths);
    let status = |p: &str| found[p].status();
    assert_eq!(found["/bytes/100000"].body().len(), 100_000);
    assert_eq!(found["/chunked/70000"].body().len(), 70_000);
    assert_eq!(found["/gzip"].text(), Some("hello\n"));
    assert_eq!(status("/status/404"), Some(404));
    assert_eq!(
        (status("/redirect/2"), found["/redirect/2"].redirects()),
        (Some(200), 2)
    );
    assert!(
        found["/raw/until-close"].error().is_none(),
        "{:?}",
        found["/raw/until-close"].error()
    );
    assert_eq!(status("/raw/early-hints"), Some(200));
    assert_eq!(status("/close"), Some(200));
    assert_eq!(status("/empty/204"), Some(204));
    let cookies = found["/headers/300"]
        .headers()
        .get_all("set-cookie")
        .iter()
        .count();
    assert_eq!(cookies, 300, "a head of 300 lines is read whole");
    assert!(found.values().all(|r| r.error().is_none()));
}

#[test]
fn connections_and_sessions_are_reused() {
    let ca = Ca::new("Octopus test CA");
    let s = tls_server(&ca);
    let otto = ca.builder().concurrency(1).build().unwrap();
    let urls = (0..20).map(|i| s.url(&format!("/n/{i}"))).collect();
    assert!(fetch(&otto, urls).iter().all(|r| r.status() == Some(200)));
    assert_eq!(
        s.connections(),
        1,
        "20 requests one at a time, one connection"
    );
    // Each `/close` ends its connection (the first, the one kept): the next connection
    // resumes the TLS session.
    let urls = (0..3).map(|i| s.url(&format!("/close/{i}"))).collect();
    assert!(fetch(&otto, urls).iter().all(|r| r.status() == Some(200)));
    assert_eq!(s.handshakes(), 3);
    assert_eq!(s.resumed(), 2, "the handshakes after the first resumed");
}

#[test]
fn with_http1_1_alpn_offers_http_1_1_only() {
    let ca = Ca::new("Octopus test CA");
    let s = Server::start_tls(ca.server(&["127.0.0.1"], false, &[b"h2", b"http/1.1"])).unwrap();
    let otto = ca
        .builder()
        .http_version(octopus::HttpVersion::Http1)
        .build()
        .unwrap();
    let r = one(&otto, s.url("/"));
    assert_eq!((r.status(), r.http_version()), (Some(200), Some("1.1")));
    assert_eq!(s.alpn_agreed(), [Some(b"http/1.1".to_vec())]);
}

#[test]
fn a_server_that_chooses_http_1_1_or_nothing_is_spoken_to_in_http_1_1() {
    let ca = Ca::new("Octopus test CA");
    let otto = ca.builder().build().unwrap();
    for alpn in [&[&b"http/1.1"[..]][..], &[]] {
        let s = Server::start_tls(ca.server(&["127.0.0.1"], false, alpn)).unwrap();
        let r = one(&otto, s.url("/"));
        assert_eq!((r.status(), r.http_version()), (Some(200), Some("1.1")));
    }
}

#[test]
fn redirects_cross_between_http_and_https() {
    let ca = Ca::new("Octopus test CA");
    let secure = tls_server(&ca);
    let plain = server();
    let otto = ca.builder().build().unwrap();
    let to_plain = secure.url(&format!("/redirect-to?url={}", plain.url("/landed")));
    let r = one(&otto, to_plain);
    assert_eq!(
        (r.status(), r.redirects()),
        (Some(200), 1),
        "{:?}",
        r.error()
    );
    assert_eq!(plain.hits("/landed"), 1);
    let to_secure = plain.url(&format!("/redirect-to?url={}", secure.url("/landed")));
    let r = one(&otto, to_secure);
    assert_eq!(
        (r.status(), r.redirects()),
        (Some(200), 1),
        "{:?}",
        r.error()
    );
    assert_eq!(secure.hits("/landed"), 1);
}

/// The failure of fetching `/` from a server with `config`, trusting `ca`.
fn refused(ca: &Ca, config: Arc<rustls::ServerConfig>) -> octopus::Failure {
    let s = Server::start_tls(config).unwrap();
    let otto = ca.builder().build().unwrap();
    let r = one(&otto, s.url("/"));
    r.error().cloned().expect("the handshake is refused")
}

#[test]
fn each_verification_failure_is_tls_naming_its_cause() {
    let ca = Ca::new("Octopus test CA");
    let other = Ca::new("Another test CA");
    let unknown = refused(&ca, other.server(&["127.0.0.1"], false, &[]));
    let expired = refused(&ca, ca.server(&["127.0.0.1"], true, &[]));
    let mismatch = refused(&ca, ca.server(&["elsewhere.test"], false, &[]));
    for (failure, cause) in [
        (&unknown, "unknown issuer"),
        (&expired, "expired"),
        (&mismatch, "not valid for name"),
    ] {
        assert_eq!(failure.kind(), ErrorKind::Tls, "{failure}");
        assert!(failure.message().contains(cause), "{cause}: {failure}");
    }
    // Nothing verified: every one of them is accepted.
    let s = Server::start_tls(other.server(&["elsewhere.test"], true, &[])).unwrap();
    let otto = builder().accept_invalid_certs(true).build().unwrap();
    assert_eq!(one(&otto, s.url("/")).status(), Some(200));
}

#[test]
fn a_chain_verified_for_one_name_still_checks_the_next_names() {
    // One certificate for a.test and b.test: once verified for a.test, its chain is
    // remembered; b.test is accepted, c.test (not named in it) still refused.
    let ca = Ca::new("Octopus test CA");
    let s = Server::start_tls(ca.server(&["a.test", "b.test"], false, &[])).unwrap();
    let port = s.addr().port();
    let mut otto = ca.builder().concurrency(1);
    for name in ["a.test", "b.test", "c.test"] {
        otto = otto.resolve(name, port, [127, 0, 0, 1].into());
    }
    let otto = otto.build().unwrap();
    let url = |name: &str| format!("https://{name}:{port}/");
    assert_eq!(one(&otto, url("a.test")).status(), Some(200));
    assert_eq!(one(&otto, url("b.test")).status(), Some(200));
    let refused = one(&otto, url("c.test"));
    let failure = refused.error().expect("c.test is not in the certificate");
    assert_eq!(failure.kind(), ErrorKind::Tls, "{failure}");
    assert!(
        failure.message().contains("not valid for name"),
        "{failure}"
    );
    assert_eq!(s.handshakes(), 2, "a.test and b.test; c.test's was refused");
}

/// A listener that accepts connections and hands each to `then` on its own thread.
fn listener(then: fn(std::net::TcpStream)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || then(stream));
        }
    });
    format!("https://{addr}/")
}

#[test]
fn a_server_that_closes_during_the_handshake_is_a_tls_failure() {
    // Closed after reading the whole ClientHello (an end of stream), or part of it (a
    // reset: unread bytes were left).
    let closed = listener(|mut stream| {
        let mut hello = [0u8; 16 * 1024];
        stream
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        while stream.read(&mut hello).is_ok_and(|n| n > 0) {}
    });
    let reset = listener(|mut stream| {
        let mut hello = [0u8; 16];
        let _ = stream.read_exact(&mut hello);
    });
    let otto = builder().accept_invalid_certs(true).build().unwrap();
    for (url, how) in [(closed, "closed"), (reset, "reset")] {
        let r = one(&otto, url);
        let failure = r.error().expect("no answer");
        assert_eq!(failure.kind(), ErrorKind::Tls, "{failure}");
        let said = format!("{how} the connection during the handshake");
        assert!(failure.message().contains(&said), "{failure}");
    }
}

#[test]
fn a_handshake_that_stalls_ends_at_the_connect_timeout_or_the_timeout() {
    let url = listener(|mut stream| {
        // Read the ClientHello, never answer, hold the connection a while.
        let mut hello = [0u8; 512];
        let _ = stream.read(&mut hello);
        std::thread::sleep(Duration::from_secs(20));
    });
    let stalled = |connect_timeout: u64, timeout: u64, version: HttpVersion| {
        let otto = builder()
            .http_version(version)
            .accept_invalid_certs(true)
            .connect_timeout(Duration::from_millis(connect_timeout))
            .timeout(Duration::from_millis(timeout))
            .build()
            .unwrap();
        one(&otto, url.clone()).error().cloned().expect("no answer")
    };
    // The handshake is part of connecting, as with curl's --connect-timeout; the message
    // names it, whether it is finished before the request (HTTP/2 offered) or by its send.
    for version in [HttpVersion::Auto, HttpVersion::Http1] {
        let connect = stalled(300, 20_000, version);
        assert_eq!(connect.kind(), ErrorKind::Timeout, "{connect}");
        assert_eq!(
            connect.message(),
            "no connection in time (connect-timeout) during the TLS handshake"
        );
        let whole = stalled(20_000, 300, version);
        assert_eq!(whole.kind(), ErrorKind::Timeout, "{whole}");
        assert_eq!(
            whole.message(),
            "deadline passed (timeout) during the TLS handshake"
        );
    }
}

#[test]
fn a_ca_certificate_as_the_servers_is_said_to_be_self_signed() {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    let config = octopus_testserver::tls_config(vec![cert.der().clone()], key.serialize_der(), &[]);
    let s = Server::start_tls(config).unwrap();
    let trusting = builder()
        .root_certs_pem(cert.pem().into_bytes())
        .build()
        .unwrap();
    let failure = one(&trusting, s.url("/"))
        .error()
        .cloned()
        .expect("refused");
    assert_eq!(failure.kind(), ErrorKind::Tls);
    assert_eq!(
        failure.message(),
        "self-signed certificate (a CA certificate used as the server's)"
    );
}

#[test]
fn a_plain_server_is_said_not_to_speak_tls() {
    let url = listener(|mut stream| {
        use std::io::Write;
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        std::thread::sleep(Duration::from_millis(500));
    });
    let otto = builder().accept_invalid_certs(true).build().unwrap();
    let failure = one(&otto, url).error().cloned().expect("no TLS");
    assert_eq!(failure.kind(), ErrorKind::Tls, "{failure}");
    assert!(
        failure.message().starts_with("not a TLS server"),
        "{failure}"
    );
}

#[test]
fn a_body_cut_short_or_an_empty_reply_says_so() {
    let ca = Ca::new("Octopus test CA");
    let (secure, plain) = (tls_server(&ca), server());
    let otto = ca.builder().retries(0).build().unwrap();
    for s in [&secure, &plain] {
        let cut = one(&otto, s.url("/raw/cut-length"));
        let failure = cut.error().expect("cut short");
        assert!(
            failure
                .message()
                .contains("closed the connection with 5 of 10 bytes of the body"),
            "{failure}"
        );
        let empty = one(&otto, s.url("/raw/empty"));
        let failure = empty.error().expect("nothing answered");
        assert!(failure.message().starts_with("empty reply"), "{failure}");
    }
}

#[test]
fn no_tls_message_shows_rust_debug_text() {
    let ca = Ca::new("Octopus test CA");
    let other = Ca::new("Another test CA");
    let mut failures = vec![
        refused(&ca, other.server(&["127.0.0.1"], false, &[])),
        refused(&ca, ca.server(&["127.0.0.1"], true, &[])),
        refused(&ca, ca.server(&["elsewhere.test"], false, &[])),
    ];
    let plain = server();
    let otto = ca.builder().build().unwrap();
    let r = one(&otto, plain.url("/a").replace("http://", "https://"));
    failures.extend(r.error().cloned());
    assert_eq!(failures.len(), 4);
    for failure in failures {
        assert_eq!(failure.kind(), ErrorKind::Tls, "{failure}");
        for debug in ["Other(", "{", "::"] {
            assert!(!failure.message().contains(debug), "{failure}");
        }
    }
}

/// `openssl s_server` (OpenSSL's own server, nginx's TLS library) on a free loopback port
/// with `cert` and `key` (PEM), answering every `GET /` with a page that says whether the
/// session was resumed; `None` when no `openssl` program is installed.
struct OpensslServer {
    child: std::process::Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl OpensslServer {
    fn start(cert: &str, key: &str) -> Option<OpensslServer> {
        let installed = std::process::Command::new("openssl")
            .arg("version")
            .output()
            .is_ok_and(|out| out.status.success());
        if !installed {
            return None;
        }
        let dir = std::env::temp_dir().join(format!("octopus-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cert.pem"), cert).unwrap();
        std::fs::write(dir.join("key.pem"), key).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-tls1_3"])
            .args(["-accept", &format!("127.0.0.1:{port}")])
            .arg("-cert")
            .arg(dir.join("cert.pem"))
            .arg("-key")
            .arg(dir.join("key.pem"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let server = OpensslServer { child, port, dir };
        // A liveness bound on the server's start, not a timing.
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "s_server starts"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_session_resumes_under_another_name_its_certificate_covers() {
    let ca = Ca::new("Octopus test CA");
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["*.a.test".to_string()]).unwrap();
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    let Some(s) = OpensslServer::start(&cert.pem(), &key.serialize_pem()) else {
        eprintln!("skipped: no `openssl` program to serve TLS sessions across names");
        return;
    };
    let names = ["u1.a.test", "u2.a.test", "u3.a.test"];
    let mut otto = ca.builder().concurrency(1);
    for name in names {
        otto = otto.resolve(name, s.port, [127, 0, 0, 1].into());
    }
    let otto = otto.build().unwrap();
    let handshakes: Vec<String> = names
        .iter()
        .map(|name| {
            let page = one(&otto, format!("https://{name}:{}/", s.port));
            assert_eq!(page.status(), Some(200), "{:?}", page.error());
            let text = page.text().unwrap_or_default();
            let line = text.lines().find(|line| line.contains(", TLSv1.3, Cipher"));
            line.unwrap_or("no handshake line").to_string()
        })
        .collect();
    assert!(handshakes[0].starts_with("New,"), "{handshakes:?}");
    assert!(
        handshakes[1..].iter().all(|h| h.starts_with("Reused,")),
        "u2 and u3 resume u1's session: {handshakes:?}"
    );
}

#[test]
fn a_server_that_resumes_only_its_own_names_sessions_still_resumes_them() {
    // rustls's server resumes a session only under the name it began with (RFC 6066's
    // rule): u2.a.test is offered u1's ticket and refused; u1 is offered its own again.
    let ca = Ca::new("Octopus test CA");
    let s = Server::start_tls(ca.server(&["*.a.test"], false, &[])).unwrap();
    let port = s.addr().port();
    let mut otto = ca.builder().concurrency(1);
    for name in ["u1.a.test", "u2.a.test"] {
        otto = otto.resolve(name, port, [127, 0, 0, 1].into());
    }
    let otto = otto.build().unwrap();
    for name in ["u1.a.test", "u2.a.test", "u1.a.test"] {
        let page = one(&otto, format!("https://{name}:{port}/close/{name}"));
        assert_eq!(page.status(), Some(200), "{:?}", page.error());
    }
    assert_eq!(s.handshakes(), 3);
    assert_eq!(
        s.resumed(),
        1,
        "u1's second connection, with its own ticket"
    );
}
