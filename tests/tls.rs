//! TLS: certificates are verified by default; `--insecure` accepts a self-signed one.
//! The server is a minimal rustls one on 127.0.0.1 with a certificate made by rcgen.

mod common;
use common::*;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;

/// Serve `200 ok` over TLS with a fresh self-signed certificate for `secure.test`;
/// returns the port. The accept thread lives as long as the test process.
fn self_signed_server() -> u16 {
    let cert = rcgen::generate_simple_self_signed(vec!["secure.test".to_string()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut reader = BufReader::new(&mut tls);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let _ = tls.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n",
                );
                let _ = tls.flush();
            });
        }
    });
    port
}

fn fetch(port: u16, extra: &[&str]) -> std::process::Output {
    octopus()
        .args([
            "--json",
            "--resolve",
            &format!("secure.test:{port}:127.0.0.1"),
        ])
        .args(extra)
        .arg(format!("https://secure.test:{port}/"))
        .output()
        .unwrap()
}

#[test]
fn a_self_signed_certificate_is_refused_by_default() {
    let port = self_signed_server();
    let out = fetch(port, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = &records(&out)[0];
    assert_eq!(r["error"]["kind"], "tls", "{r}");
}

#[test]
fn insecure_accepts_a_self_signed_certificate() {
    let port = self_signed_server();
    let out = fetch(port, &["--insecure"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = &records(&out)[0];
    assert_eq!(
        (r["status"].as_u64(), r["bytes"].as_u64()),
        (Some(200), Some(3)),
        "{r}"
    );
}
