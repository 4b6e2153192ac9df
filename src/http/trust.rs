//! Which certificate authorities are trusted, and the client certificate for mutual TLS.
//!
//! Invariants: certificates given (`--cacert`, the builder's `root_certs_pem`) replace every
//! other root, as curl's `--cacert` does; otherwise the operating system's store is used
//! (`SSL_CERT_FILE` and `SSL_CERT_DIR` override it, as with OpenSSL), and only where it has
//! no certificate at all, the roots bundled with octopus (Mozilla's, from webpki-roots).
//! Everything is read once, when an `Octopus` is built.

use std::sync::Arc;

use ureq::tls::{Certificate, ClientCert, PemItem, RootCerts, parse_pem};

use crate::error::{Error, Setting};

/// The roots to trust: the certificates in `pem` when given, else the system's.
pub(crate) fn roots(pem: Option<&[u8]>) -> Result<RootCerts, Error> {
    if let Some(pem) = pem {
        let certs =
            certificates(pem).map_err(|reason| Error::setting(Setting::CaCert, "(PEM)", reason))?;
        return Ok(RootCerts::Specific(Arc::new(certs)));
    }
    let found = rustls_native_certs::load_native_certs();
    if found.certs.is_empty() {
        // Variables that name certificates must give some: never fall back silently then.
        for var in ["SSL_CERT_FILE", "SSL_CERT_DIR"] {
            if let Some(value) = std::env::var_os(var) {
                let reason = format!("{var} names no readable certificate");
                return Err(Error::setting(
                    Setting::CaCert,
                    value.to_string_lossy(),
                    reason,
                ));
            }
        }
        return Ok(RootCerts::WebPki);
    }
    let certs = found
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    Ok(RootCerts::Specific(Arc::new(certs)))
}

/// A client certificate: the chain in `certs`, its key in `key` (PEM; one file may hold both).
pub(crate) fn client_cert(certs: &[u8], key: &[u8]) -> Result<ClientCert, Error> {
    let refused = |reason: String| Error::setting(Setting::ClientCert, "(PEM)", reason);
    let chain = certificates(certs).map_err(refused)?;
    let key = parse_pem(key)
        .filter_map(Result::ok)
        .find_map(|item| match item {
            PemItem::PrivateKey(key) => Some(key),
            _ => None,
        })
        .ok_or_else(|| refused("no private key found (PEM)".to_string()))?;
    Ok(ClientCert::new_with_certs(&chain, key))
}

/// Every certificate in `pem`; at least one, and no malformed section.
fn certificates(pem: &[u8]) -> Result<Vec<Certificate<'static>>, String> {
    let mut certs = Vec::new();
    for item in parse_pem(pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert),
            Ok(_) => {}
            Err(e) => return Err(format!("not valid PEM: {e}")),
        }
    }
    if certs.is_empty() {
        return Err("no certificate found (PEM)".to_string());
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_pem_must_hold_certificates() {
        let cert = rcgen::generate_simple_self_signed(vec!["a.test".to_string()]).unwrap();
        let pem = cert.cert.pem();
        assert!(matches!(roots(Some(pem.as_bytes())), Ok(RootCerts::Specific(c)) if c.len() == 1));
        assert!(matches!(
            roots(Some(b"not a certificate")),
            Err(Error::Setting {
                setting: Setting::CaCert,
                ..
            })
        ));
        let key = cert.signing_key.serialize_pem();
        let both = format!("{pem}{key}");
        assert!(client_cert(both.as_bytes(), both.as_bytes()).is_ok());
        assert!(
            client_cert(pem.as_bytes(), pem.as_bytes()).is_err(),
            "no key"
        );
    }
}
