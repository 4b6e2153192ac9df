//! Which certificate authorities are trusted (none with `--insecure`: `Unverified`), the
//! client certificate for mutual TLS, and the rustls client configuration made of them
//! (ALPN, session resumption).
//!
//! Invariants: certificates given (`--cacert`, the builder's `root_certs_pem`) replace every
//! other root, as curl's `--cacert` does; otherwise the operating system's store is used
//! (`SSL_CERT_FILE` and `SSL_CERT_DIR` override it, as with OpenSSL), and only where it has
//! no certificate at all, the roots bundled with octopus (Mozilla's, from webpki-roots).
//! Given certificates are read when an `Octopus` is built; the system's, once per process,
//! at the first `https` request (a plain-HTTP run reads no certificate store).

use std::sync::{Arc, OnceLock};

use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::{ClientConfig, RootCertStore};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::http::connect::tickets::{Chains, Tickets};
use crate::http::connect::verified::Remembering;

/// Names whose TLS sessions are kept by name (rustls's default is 256; most TLS 1.3
/// tickets are kept by certificate: `tickets.rs`).
const SESSIONS: usize = 4096;

/// rustls's default cryptography (aws-lc), AES-128-GCM with SHA-256 first among TLS 1.3's
/// suites (then AES-256-GCM with SHA-384, as rustls orders them, and ChaCha20): what
/// browsers and Go's client prefer, and its handshake hashes with SHA-256, which this
/// machine's processors do in hardware (SHA-384 was 6% of octopus's CPU on W16).
fn provider() -> CryptoProvider {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    let first = rustls::crypto::aws_lc_rs::cipher_suite::TLS13_AES_128_GCM_SHA256;
    provider.cipher_suites.retain(|suite| *suite != first);
    provider.cipher_suites.insert(0, first);
    provider
}

/// The client configuration: `roots` trusted (nothing verified when `insecure`), `cert`
/// presented when a server asks, HTTP/2 offered before HTTP/1.1 when `h2`; `Err`: why not.
pub(crate) fn client_config(
    roots: &RootCerts,
    insecure: bool,
    cert: Option<&ClientCert>,
    h2: bool,
) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(provider());
    let chains = Arc::new(Chains::default());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match insecure {
        true => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unverified(provider))),
        false => {
            let roots = Arc::new(root_store(roots));
            let verifier =
                WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
                    .build()
                    .map_err(|e| e.to_string())?;
            // Chains verified once are remembered for a minute (`verified.rs`), and told to
            // the session store (`tickets.rs`).
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Remembering::new(
                    verifier,
                    Arc::clone(&chains),
                )))
        }
    };
    let mut config = match cert {
        None => builder.with_no_client_auth(),
        Some(cert) => builder
            .with_client_auth_cert(cert.chain.clone(), cert.key.clone_key())
            .map_err(|e| format!("client certificate: {e}"))?,
    };
    config.alpn_protocols = match h2 {
        true => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        false => vec![b"http/1.1".to_vec()],
    };
    config.resumption = Resumption::store(Arc::new(Tickets::new(chains, SESSIONS)));
    Ok(Arc::new(config))
}

fn root_store(roots: &RootCerts) -> RootCertStore {
    match roots {
        RootCerts::Specific(certs) => {
            let mut store = RootCertStore::empty();
            store.add_parsable_certificates(certs.iter().cloned());
            store
        }
        RootCerts::Bundled => RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
    }
}

/// The certificate authorities trusted.
#[derive(Debug, Clone)]
pub(crate) enum RootCerts {
    /// Mozilla's, bundled with octopus (webpki-roots).
    Bundled,
    /// These.
    Specific(Arc<Vec<CertificateDer<'static>>>),
}

/// A client certificate chain and its private key (mutual TLS).
#[derive(Debug, Clone)]
pub(crate) struct ClientCert {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: Arc<PrivateKeyDer<'static>>,
}

/// The roots in `pem` (the builder's `root_certs_pem`, `--cacert`); `Err`: why not.
pub(crate) fn given_roots(pem: &[u8]) -> Result<RootCerts, String> {
    Ok(RootCerts::Specific(Arc::new(certificates(pem)?)))
}

/// The operating system's roots (or `SSL_CERT_FILE`'s and `SSL_CERT_DIR`'s), read once per
/// process; Mozilla's bundled roots where the system has none. A variable that names no
/// readable certificate is an error, never a silent fallback.
pub(crate) fn system_roots() -> Result<RootCerts, String> {
    static SYSTEM: OnceLock<Result<RootCerts, String>> = OnceLock::new();
    SYSTEM.get_or_init(load_system_roots).clone()
}

fn load_system_roots() -> Result<RootCerts, String> {
    let found = rustls_native_certs::load_native_certs();
    if found.certs.is_empty() {
        for var in ["SSL_CERT_FILE", "SSL_CERT_DIR"] {
            if let Some(value) = std::env::var_os(var) {
                let value = value.to_string_lossy();
                return Err(format!("{var} ({value}) names no readable certificate"));
            }
        }
        return Ok(RootCerts::Bundled);
    }
    Ok(RootCerts::Specific(Arc::new(found.certs)))
}

/// A client certificate: the chain in `certs`, its key in `key` (PEM; one file may hold
/// both); `Err`: why not.
pub(crate) fn client_cert(certs: &[u8], key: &[u8]) -> Result<ClientCert, String> {
    let chain = certificates(certs)?;
    let key =
        PrivateKeyDer::from_pem_slice(key).map_err(|_| "no private key found (PEM)".to_string())?;
    Ok(ClientCert {
        chain,
        key: Arc::new(key),
    })
}

/// Every certificate in `pem`; at least one, and no malformed section.
fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut certs = Vec::new();
    for item in CertificateDer::pem_slice_iter(pem) {
        match item {
            Ok(cert) => certs.push(cert),
            Err(e) => return Err(format!("not valid PEM: {e}")),
        }
    }
    if certs.is_empty() {
        return Err("no certificate found (PEM)".to_string());
    }
    Ok(certs)
}

/// Accepts every certificate and handshake signature (`--insecure`), offering the
/// signature schemes the provider supports.
#[derive(Debug)]
pub(crate) struct Unverified(pub Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verify_tls12_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_offers_h2_then_http_1_1_or_http_1_1_alone() {
        let config = client_config(&RootCerts::Bundled, false, None, true).unwrap();
        assert_eq!(
            config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        let config = client_config(&RootCerts::Bundled, true, None, false).unwrap();
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
    }

    #[test]
    fn given_pem_must_hold_certificates() {
        let cert = rcgen::generate_simple_self_signed(vec!["a.test".to_string()]).unwrap();
        let pem = cert.cert.pem();
        assert!(matches!(given_roots(pem.as_bytes()), Ok(RootCerts::Specific(c)) if c.len() == 1));
        let refused = given_roots(b"not a certificate").err();
        assert_eq!(refused.as_deref(), Some("no certificate found (PEM)"));
        let key = cert.signing_key.serialize_pem();
        let both = format!("{pem}{key}");
        assert!(client_cert(both.as_bytes(), both.as_bytes()).is_ok());
        assert!(
            client_cert(pem.as_bytes(), pem.as_bytes()).is_err(),
            "no key"
        );
    }
}
