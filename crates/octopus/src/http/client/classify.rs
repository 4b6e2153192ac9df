//! From an error to a `Failure`: one kind per error, and a one-line message that does
//! not repeat the kind, names the proxy when the proxy is what failed (`ProxyError`s say
//! which part), and masks every
//! password in a URL it quotes.

use std::io;

use crate::failure::{ErrorKind, Failure};
use crate::http::connect::tls_words::tls_message;
use crate::http::error::{Error as E, Timeout, closed_under, out_of_descriptors};
use crate::http::route::proxy::ProxyError;
use crate::input::mask_userinfo;

/// The failure for `error`. `proxy` is the proxy the request went through, if any (as
/// shown: password masked): a failure to reach it is the proxy's.
pub(crate) fn classify(error: &E, proxy: Option<&str>) -> Failure {
    if let (E::Io(io), Some(proxy)) = (error, proxy)
        && let Some(said) = io.get_ref().and_then(|e| e.downcast_ref::<ProxyError>())
    {
        return said.failure(proxy);
    }
    let kind = kind(error);
    let message = mask_userinfo(&message(error));
    match proxy {
        Some(proxy) if reaching(kind, error) => Failure::new(
            ErrorKind::Proxy,
            format!("proxy {proxy}: cannot connect to the proxy: {message}"),
        ),
        _ => Failure::new(kind, message),
    }
}

/// Whether `error`, of a request through a proxy, says the proxy could not be reached at
/// all (not a failure of its own handshake, nor the target's).
pub(crate) fn cannot_reach(error: &E) -> bool {
    let theirs = matches!(error, E::Io(io) if io.get_ref().is_some_and(|e| e.is::<ProxyError>()));
    !theirs && reaching(kind(error), error)
}

/// Whether the error happened while reaching the first hop (with a proxy: the proxy).
fn reaching(kind: ErrorKind, error: &E) -> bool {
    matches!(kind, ErrorKind::Connect | ErrorKind::Dns)
        || matches!(error, E::Timeout(Timeout::Connect(_)))
}

fn kind(error: &E) -> ErrorKind {
    match error {
        E::Timeout(_) => ErrorKind::Timeout,
        E::BadUri(_) => ErrorKind::InvalidUrl,
        E::HeadTooLarge | E::Protocol(_) | E::Refused(_) => ErrorKind::Protocol,
        E::Io(io) if is_tls(io) => ErrorKind::Tls,
        E::Io(io) if is_dns(io) => ErrorKind::Dns,
        E::Io(io) => match io.kind() {
            io::ErrorKind::ConnectionRefused
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::AddrNotAvailable => ErrorKind::Connect,
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ErrorKind::Timeout,
            io::ErrorKind::InvalidData => ErrorKind::Protocol,
            _ => ErrorKind::Io,
        },
    }
}

/// The resolver's failures travel inside I/O errors (ureq's connectors return those).
fn is_dns(io: &io::Error) -> bool {
    io.get_ref()
        .is_some_and(|inner| inner.downcast_ref::<crate::http::dns::DnsError>().is_some())
}

/// rustls reports certificate failures inside I/O errors.
fn is_tls(io: &io::Error) -> bool {
    rustls_error(io).is_some()
}

/// The rustls error `io` carries, if it carries one.
fn rustls_error(io: &io::Error) -> Option<&rustls::Error> {
    io.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

/// The message: the error's own words, rustls's said in words (`tls_words.rs`).
fn message(error: &E) -> String {
    match error {
        E::Io(e) => match rustls_error(e) {
            Some(tls) => tls_message(tls),
            None => e.to_string(),
        },
        other => other.to_string(),
    }
}

/// Whether `error` says no descriptor was left to open (a socket, a lookup's, an
/// eventfd): the request may go again once idle connections are closed.
pub(crate) fn short_of_descriptors(error: &E) -> bool {
    let E::Io(io) = error else {
        return false;
    };
    out_of_descriptors(io)
        || io.get_ref().is_some_and(|inner| {
            matches!(
                inner.downcast_ref::<crate::http::dns::DnsError>(),
                Some(crate::http::dns::DnsError::NoDescriptors(_))
            )
        })
}

/// Whether a request failed as one on a connection the server had already closed does:
/// reset, broken pipe, or the end of the stream before a response.
pub(crate) fn is_stale(error: &E) -> bool {
    matches!(error, E::Io(io) if closed_under(io))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_descriptor_left_is_told_apart_wherever_it_came_from() {
        let socket = E::Io(io::Error::from_raw_os_error(libc::EMFILE));
        assert!(short_of_descriptors(&socket));
        let system = E::Io(io::Error::from_raw_os_error(libc::ENFILE));
        assert!(short_of_descriptors(&system));
        let server = "127.0.0.1:53".parse().unwrap();
        let asked = io::Error::from_raw_os_error(libc::EMFILE);
        let lookup = crate::http::dns::DnsError::unreachable(server, &asked);
        assert!(matches!(
            lookup,
            crate::http::dns::DnsError::NoDescriptors(_)
        ));
        assert!(short_of_descriptors(&E::Io(io::Error::other(lookup))));
        let refused = E::Io(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert!(!short_of_descriptors(&refused));
        assert!(!short_of_descriptors(&E::Timeout(Timeout::Global(
            crate::http::error::Step::Head
        ))));
    }

    #[test]
    fn messages_do_not_repeat_the_kind_and_name_the_proxy() {
        let refused = E::Io(io::Error::from(io::ErrorKind::ConnectionRefused));
        let direct = classify(&refused, None);
        assert_eq!(direct.kind(), ErrorKind::Connect);
        assert!(!direct.message().starts_with("io:"), "{direct}");
        let proxied = classify(&refused, Some("http://127.0.0.1:1"));
        assert_eq!(proxied.kind(), ErrorKind::Proxy);
        assert!(proxied.message().starts_with("proxy http://127.0.0.1:1: "));
        let reset = E::Io(io::Error::from(io::ErrorKind::ConnectionReset));
        assert_eq!(
            classify(&reset, Some("p")).kind(),
            ErrorKind::Io,
            "not reaching it"
        );
        assert!(is_stale(&reset) && !is_stale(&refused));
        let big = classify(&E::HeadTooLarge, None);
        assert_eq!(big.kind(), ErrorKind::Protocol);
        assert!(big.message().contains("response head larger than 64 KiB"));
    }
}
