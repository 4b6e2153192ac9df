//! rustls's errors in words a user reads: rustls writes several of its errors with Rust's
//! debug text (`Other(OtherError(CaUsedAsEndEntity))`, `received fatal alert:
//! HandshakeFailure`, `received corrupt message of type InvalidContentType`); each is said
//! here as what happened. Used by `classify.rs` for every `tls` failure, whichever exchange
//! ran.
//!
//! Invariant: no message holds Rust's debug text (a variant's name is split into words,
//! and nothing a variant carries is shown).

use rustls::{CertificateError, Error, InvalidMessage};

/// What `error` means, in words.
pub(crate) fn tls_message(error: &Error) -> String {
    match error {
        Error::InvalidCertificate(certificate) => certificate_message(certificate),
        Error::InvalidMessage(InvalidMessage::InvalidContentType) => {
            "not a TLS server (what it sent is not a TLS record)".to_string()
        }
        Error::InvalidMessage(message) => {
            format!("malformed TLS message from the server ({})", words(message))
        }
        Error::AlertReceived(alert) => format!("the server sent the TLS alert '{}'", words(alert)),
        Error::PeerIncompatible(why) => {
            format!(
                "the server's TLS is incompatible with ours ({})",
                words(why)
            )
        }
        Error::PeerMisbehaved(why) => format!("the server broke the TLS protocol ({})", words(why)),
        Error::InappropriateMessage { .. } | Error::InappropriateHandshakeMessage { .. } => {
            "the server sent a TLS message out of turn".to_string()
        }
        Error::General(why) => why.clone(),
        other => {
            let text = other.to_string();
            match looks_like_debug(&text) {
                true => "TLS failed".to_string(),
                false => text,
            }
        }
    }
}

/// Why the server's certificate was refused.
fn certificate_message(error: &CertificateError) -> String {
    let why = match error {
        CertificateError::UnknownIssuer => {
            "unknown issuer (signed by no trusted authority; cacert)".to_string()
        }
        CertificateError::Other(other) => match other.to_string().as_str() {
            "CaUsedAsEndEntity" => {
                return "self-signed certificate (a CA certificate used as the server's)"
                    .to_string();
            }
            inner => name_words(inner),
        },
        CertificateError::BadEncoding => "malformed".to_string(),
        other => {
            let text = other.to_string();
            match looks_like_debug(&text) {
                true => words(other),
                false => text,
            }
        }
    };
    format!("invalid peer certificate: {why}")
}

/// The name of `value`'s variant in words: `HandshakeFailure` as `handshake failure`
/// (what it carries left out).
fn words(value: &dyn std::fmt::Debug) -> String {
    name_words(&format!("{value:?}"))
}

/// The name that begins `text` (`CaUsedAsEndEntity`, `MessageTooLarge(…)`) in words.
fn name_words(text: &str) -> String {
    let name: String = text
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let mut out = String::with_capacity(name.len() + 8);
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
        let prev_lower = i > 0 && chars[i - 1].is_ascii_lowercase();
        if c.is_ascii_uppercase() && i > 0 && (prev_lower || next_lower) {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Whether `text` shows Rust's debug text.
fn looks_like_debug(text: &str) -> bool {
    text.contains("Other(") || text.contains('{') || text.contains("::")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::{AlertDescription, OtherError};

    use super::*;

    /// An error of a crypto provider or of webpki, as rustls carries it.
    #[derive(Debug)]
    struct Inner(&'static str);

    impl std::fmt::Display for Inner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Inner {}

    fn other(name: &'static str) -> Error {
        Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(Inner(name)))))
    }

    #[test]
    fn variants_are_said_in_words() {
        assert_eq!(
            words(&AlertDescription::HandshakeFailure),
            "handshake failure"
        );
        assert_eq!(name_words("MessageTooLarge(3)"), "message too large");
        let alert = tls_message(&Error::AlertReceived(AlertDescription::UnknownCA));
        assert_eq!(alert, "the server sent the TLS alert 'unknown ca'");
        assert_eq!(
            tls_message(&other("CaUsedAsEndEntity")),
            "self-signed certificate (a CA certificate used as the server's)"
        );
        assert_eq!(
            tls_message(&other("SomethingOdd")),
            "invalid peer certificate: something odd"
        );
    }

    #[test]
    fn no_message_shows_debug_text() {
        let errors = [
            other("UnsupportedCertVersion"),
            Error::InvalidCertificate(CertificateError::UnknownIssuer),
            Error::InvalidCertificate(CertificateError::Expired),
            Error::InvalidCertificate(CertificateError::BadEncoding),
            Error::InvalidMessage(InvalidMessage::InvalidContentType),
            Error::InvalidMessage(InvalidMessage::MessageTooLarge),
            Error::AlertReceived(AlertDescription::ProtocolVersion),
            Error::NoCertificatesPresented,
            Error::General("the server closed the connection during the handshake".into()),
        ];
        for error in errors {
            let message = tls_message(&error);
            assert!(!looks_like_debug(&message), "{message}");
            assert!(!message.is_empty(), "{error:?}");
        }
    }
}
