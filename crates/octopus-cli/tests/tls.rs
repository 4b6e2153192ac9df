//! TLS: certificates are verified by default; `--insecure` accepts a self-signed one;
//! `--cacert` and `SSL_CERT_FILE` trust a private certificate authority; `--cert` and
//! `--key` present a client certificate. The server is the test server over TLS
//! (`Server::start_tls`) with certificates made by rcgen.

mod common;
use common::*;

use std::sync::Arc;

/// The test server over TLS with a fresh self-signed certificate for `secure.test`.
fn self_signed_server() -> Server {
    serve(self_signed_config())
}

/// A server configuration with a fresh self-signed certificate for `secure.test`.
fn self_signed_config() -> Arc<rustls::ServerConfig> {
    let cert = rcgen::generate_simple_self_signed(vec!["secure.test".to_string()]).unwrap();
    let key = cert.signing_key.serialize_der();
    octopus_testserver::tls_config(vec![cert.cert.der().clone()], key, &[])
}

/// The test server over TLS with `config` (`/` answers `200 ok`).
fn serve(config: Arc<rustls::ServerConfig>) -> Server {
    Server::start_tls(config).expect("TLS test server starts on 127.0.0.1")
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
    let s = self_signed_server();
    let port = s.addr().port();
    let out = fetch(port, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = &records(&out)[0];
    assert_eq!(r["error"]["kind"], "tls", "{r}");
}

#[test]
fn insecure_accepts_a_self_signed_certificate() {
    let s = self_signed_server();
    let port = s.addr().port();
    let out = fetch(port, &["--insecure"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = &records(&out)[0];
    assert_eq!(
        (r["status"].as_u64(), r["bytes"].as_u64()),
        (Some(200), Some(3)),
        "{r}"
    );
}

#[test]
fn https_connections_are_kept_and_reused() {
    let s = serve(self_signed_config());
    let port = s.addr().port();
    let urls: Vec<String> = (0..30)
        .map(|i| format!("https://secure.test:{port}/{i}"))
        .collect();
    let out = octopus()
        .args(["--json", "--insecure", "-c", "2", "--resolve"])
        .arg(format!("secure.test:{port}:127.0.0.1"))
        .args(&urls)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let recs = records(&out);
    assert_eq!(recs.len(), 30);
    assert!(recs.iter().all(|r| r["status"] == 200), "{recs:?}");
    let made = s.connections();
    assert!(
        (1..=2).contains(&made),
        "30 requests 2 at a time over TLS made {made} connections"
    );
}

/// `fetch` with `SSL_CERT_FILE` set to `file`; SSL_CERT_DIR as it is when `keep_dir`, else
/// unset.
fn fetch_trusting(port: u16, file: &str, keep_dir: bool) -> std::process::Output {
    let mut cmd = octopus();
    cmd.env("SSL_CERT_FILE", file);
    if !keep_dir {
        cmd.env_remove("SSL_CERT_DIR");
    }
    cmd.args([
        "--json",
        "--resolve",
        &format!("secure.test:{port}:127.0.0.1"),
    ])
    .arg(format!("https://secure.test:{port}/"))
    .output()
    .unwrap()
}

/// A private certificate authority with a server certificate for `secure.test` and a
/// client certificate, all in PEM files under a temporary directory.
struct Pki {
    dir: std::path::PathBuf,
    server_chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    server_key: Vec<u8>,
    ca_der: rustls::pki_types::CertificateDer<'static>,
}

impl Pki {
    fn new() -> Pki {
        Pki::for_names(&["secure.test"])
    }

    /// As `new`, with a server certificate for `names`.
    fn for_names(names: &[&str]) -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let leaf = |names: &[&str]| {
            let key = KeyPair::generate().unwrap();
            let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            let params = CertificateParams::new(names).unwrap();
            (params.signed_by(&key, &ca).unwrap(), key)
        };
        let (server, server_key) = leaf(names);
        let (client, client_key) = leaf(&["client.test"]);
        let dir = std::env::temp_dir().join(format!(
            "octopus-pki-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.join("client.pem"), client.pem()).unwrap();
        std::fs::write(dir.join("client-key.pem"), client_key.serialize_pem()).unwrap();
        Pki {
            dir,
            server_chain: vec![server.der().clone(), ca.der().clone()],
            server_key: server_key.serialize_der(),
            ca_der: ca.der().clone(),
        }
    }

    fn file(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// A server with the CA-signed certificate; with `clients`, it asks for a client
    /// certificate signed by the CA and refuses the handshake without one.
    fn server(&self, clients: bool) -> Server {
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(self.server_key.clone().into());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if clients {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.ca_der.clone()).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let config = builder
            .with_single_cert(self.server_chain.clone(), key)
            .unwrap();
        serve(Arc::new(config))
    }
}

impl Pki {
    /// An HTTP/2 server (ALPN `h2`) with the CA-signed certificate.
    fn h2_server(&self) -> octopus_testserver::H2Server {
        let key = self.server_key.clone();
        let config = octopus_testserver::tls_config(self.server_chain.clone(), key, &[b"h2"]);
        octopus_testserver::H2Server::start_tls(config, Default::default()).unwrap()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_private_ca_is_trusted_with_cacert_or_ssl_cert_file_only() {
    let pki = Pki::new();
    let s = pki.server(false);
    let port = s.addr().port();
    let out = fetch(port, &[]);
    assert_eq!(
        records(&out)[0]["error"]["kind"],
        "tls",
        "not trusted by default"
    );

    let out = fetch(port, &["--cacert", &pki.file("ca.pem")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let out = fetch_trusting(port, &pki.file("ca.pem"), true);
    assert_eq!(
        out.status.code(),
        Some(0),
        "SSL_CERT_FILE is honoured: {}",
        stderr(&out)
    );
}

#[test]
fn a_client_certificate_is_presented_when_given() {
    let pki = Pki::new();
    let s = pki.server(true);
    let port = s.addr().port();
    let ca = pki.file("ca.pem");
    let out = fetch(port, &["--cacert", &ca]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "refused without one: {}",
        stdout(&out)
    );
    let refused = &records(&out)[0];
    assert_eq!(refused["status"], serde_json::Value::Null, "{refused}");

    let (cert, key) = (pki.file("client.pem"), pki.file("client-key.pem"));
    let out = fetch(port, &["--cacert", &ca, "--cert", &cert, "--key", &key]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(records(&out)[0]["status"], 200);
}

#[test]
fn unusable_certificate_files_are_usage_errors() {
    let pki = Pki::new();
    for (flag, file) in [
        ("--cacert", pki.file("client-key.pem")),
        ("--cacert", pki.file("missing.pem")),
        ("--cert", pki.file("ca.pem")),
    ] {
        let out = octopus()
            .args([flag, &file, "https://secure.test/"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{flag} {file}: {}",
            stderr(&out)
        );
        assert!(stderr(&out).contains(flag), "{}", stderr(&out));
    }
}

#[test]
fn an_ssl_cert_file_without_certificates_is_never_ignored() {
    let pki = Pki::new();
    let s = pki.server(false);
    let port = s.addr().port();
    // (This machine may set SSL_CERT_DIR as well: then the certificates there count.)
    let out = fetch_trusting(port, &pki.file("missing.pem"), false);
    let r = &records(&out)[0];
    assert_eq!(r["error"]["kind"], "tls", "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SSL_CERT_FILE"),
        "{r}"
    );
}

#[test]
fn names_a_certificate_covers_share_an_http2_connection_unless_no_coalesce() {
    let pki = Pki::for_names(&["a.test", "b.test"]);
    let s = pki.h2_server();
    let port = s.addr().port();
    let run = |extra: &[&str]| {
        octopus()
            .args(["--json", "-c", "1", "--cacert", &pki.file("ca.pem")])
            .args(["--resolve", &format!("a.test:{port}:127.0.0.1")])
            .args(["--resolve", &format!("b.test:{port}:127.0.0.1")])
            .args(extra)
            .arg(format!("https://a.test:{port}/h2/names"))
            .arg(format!("https://b.test:{port}/h2/names"))
            .output()
            .unwrap()
    };
    let shared = run(&[]);
    assert_eq!(shared.status.code(), Some(0), "{}", stderr(&shared));
    assert!(records(&shared).iter().all(|r| r["http_version"] == "2"));
    assert_eq!(json_summary(&shared)["connections"], 1);
    let own = run(&["--no-coalesce"]);
    assert_eq!(own.status.code(), Some(0), "{}", stderr(&own));
    assert_eq!(json_summary(&own)["connections"], 2);
    assert_eq!(s.connections(), 3);
}
