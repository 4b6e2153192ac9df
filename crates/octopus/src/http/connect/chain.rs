//! A server's certificate chain as the rest of `connect/` and `h2/` know it: its identity
//! (`digest`, under which verified chains are remembered and session tickets filed) and
//! whether its certificate is valid for a name (`covers`: another name's ticket offered,
//! another name's HTTP/2 connection shared).

use rustls::pki_types::{CertificateDer, ServerName};
use sha2::{Digest as _, Sha256};

/// A chain's identity: the SHA-256 of every certificate the server sent (`digest`).
pub(crate) type Digest = [u8; 32];

/// The digest of a chain: each certificate's length and bytes, in order.
pub(crate) fn digest(
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
) -> Digest {
    let mut hash = Sha256::new();
    for cert in std::iter::once(end_entity).chain(intermediates) {
        hash.update((cert.len() as u64).to_be_bytes());
        hash.update(cert.as_ref());
    }
    hash.finalize().into()
}

/// Whether the certificate `leaf` is valid for `name` (its names, wildcards one label deep,
/// as webpki checks them; an address only as an address it lists).
pub(crate) fn covers(leaf: &CertificateDer<'_>, name: &ServerName<'_>) -> bool {
    webpki::EndEntityCert::try_from(leaf)
        .is_ok_and(|cert| cert.verify_is_valid_for_subject_name(name).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(names: &[&str]) -> CertificateDer<'static> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let key = rcgen::KeyPair::generate().expect("a key");
        let cert = rcgen::CertificateParams::new(names)
            .and_then(|params| params.self_signed(&key))
            .expect("a certificate");
        cert.der().clone()
    }

    fn name(name: &str) -> ServerName<'static> {
        ServerName::try_from(name.to_string()).expect("a name")
    }

    #[test]
    fn a_certificate_covers_its_names_and_its_wildcards_one_label_deep() {
        let leaf = leaf(&["a.test", "*.w.test"]);
        for covered in ["a.test", "A.Test", "x.w.test"] {
            assert!(covers(&leaf, &name(covered)), "{covered}");
        }
        for other in ["b.test", "w.test", "y.x.w.test", "127.0.0.1"] {
            assert!(!covers(&leaf, &name(other)), "{other}");
        }
    }
}
