//! Certificate chains verified once, then remembered for a minute: where thousands of
//! hosts serve the same chain (a wildcard or many-name certificate: a CDN, a hosting
//! provider, W16's 10,000 names), a new connection to another of them checks the name the
//! certificate must cover and the server's handshake signature, and skips building and
//! verifying the chain again (a signature check of each link, and its parsing).
//!
//! What it cannot cover: a chain accepted is accepted for the minute after it was
//! verified, so a certificate that expires (or becomes not yet valid, if the clock jumps)
//! within that minute is still accepted until it ends; octopus checks no revocation (no
//! OCSP, no CRL), so nothing else changes within it. Each connection's own proof (the
//! server's signature over the handshake) and the name are checked every time.
//!
//! Invariants: a chain is remembered only after the full verification (webpki, the trusted
//! roots) accepted it, keyed by the SHA-256 of every certificate the server sent, in order;
//! at most `REMEMBERED` chains are kept (the oldest half forgotten when full).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::http::connect::chain::digest;
use crate::http::connect::tickets::{self, Chains};

/// How long a verified chain is trusted without verifying it again.
const FOR: Duration = Duration::from_secs(60);

/// Chains remembered at most.
const REMEMBERED: usize = 4096;

/// The trusted roots' verifier, and the chains it accepted lately.
#[derive(Debug)]
pub(crate) struct Remembering {
    inner: Arc<WebPkiServerVerifier>,
    /// The chains accepted, by their digest, and when.
    accepted: Mutex<HashMap<[u8; 32], Instant>>,
    /// Told which chain each name presented (for its session tickets: `tickets.rs`).
    chains: Arc<Chains>,
}

impl Remembering {
    /// `inner`'s verification, remembered; `chains` told what each name presented.
    pub fn new(inner: Arc<WebPkiServerVerifier>, chains: Arc<Chains>) -> Remembering {
        Remembering {
            inner,
            accepted: Mutex::new(HashMap::new()),
            chains,
        }
    }

    /// Whether the chain of `digest` was accepted within the last minute.
    fn recalls(&self, digest: &[u8; 32]) -> bool {
        let accepted = self.accepted.lock().unwrap_or_else(|p| p.into_inner());
        accepted.get(digest).is_some_and(|at| at.elapsed() < FOR)
    }

    /// Remember the chain of `digest` as accepted now.
    fn remember(&self, digest: [u8; 32]) {
        let mut accepted = self.accepted.lock().unwrap_or_else(|p| p.into_inner());
        if accepted.len() >= REMEMBERED {
            let mut ages: Vec<Instant> = accepted.values().copied().collect();
            ages.sort_unstable();
            let median = ages.get(ages.len() / 2).copied();
            accepted.retain(|_, at| Some(*at) > median && at.elapsed() < FOR);
        }
        accepted.insert(digest, Instant::now());
    }
}

impl ServerCertVerifier for Remembering {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let digest = digest(end_entity, intermediates);
        if self.recalls(&digest) {
            verify_server_name(&ParsedCertificate::try_from(end_entity)?, server_name)?;
        } else {
            self.inner.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            )?;
            self.remember(digest);
        }
        self.chains.presented(server_name, digest, end_entity);
        tickets::verified(digest);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use rustls::RootCertStore;

    /// A CA, and a certificate it signed for `names`.
    fn chain(names: &[&str]) -> (CertificateDer<'static>, CertificateDer<'static>) {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let leaf = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        (ca.der().clone(), leaf.der().clone())
    }

    fn verifier(root: &CertificateDer<'static>) -> Remembering {
        let mut roots = RootCertStore::empty();
        roots.add(root.clone()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .unwrap();
        Remembering::new(inner, Arc::default())
    }

    fn verify(v: &Remembering, leaf: &CertificateDer<'_>, name: &str) -> bool {
        let name = ServerName::try_from(name.to_string()).unwrap();
        v.verify_server_cert(leaf, &[], &name, &[], UnixTime::now())
            .is_ok()
    }

    #[test]
    fn a_chain_is_remembered_once_accepted_and_names_are_checked_each_time() {
        let (root, leaf) = chain(&["a.test", "b.test"]);
        let v = verifier(&root);
        let key = digest(&leaf, &[]);
        assert!(!v.recalls(&key));
        assert!(
            !verify(&v, &leaf, "c.test"),
            "not named: refused, not remembered"
        );
        assert!(!v.recalls(&key));
        assert!(verify(&v, &leaf, "a.test"));
        assert!(v.recalls(&key), "accepted: remembered");
        assert!(verify(&v, &leaf, "b.test"));
        assert!(
            !verify(&v, &leaf, "c.test"),
            "remembered, and still not named"
        );
    }

    #[test]
    fn a_chain_from_an_untrusted_authority_is_never_remembered() {
        let (root, _) = chain(&["a.test"]);
        let (_, stranger) = chain(&["a.test"]);
        let v = verifier(&root);
        assert!(!verify(&v, &stranger, "a.test"));
        assert!(!v.recalls(&digest(&stranger, &[])));
    }
}
