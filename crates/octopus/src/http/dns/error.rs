//! Why a lookup found no address, as the records say it.

use std::fmt;

use crate::http::error::out_of_descriptors;

/// Why a lookup found no address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DnsError {
    /// The name does not exist (NXDOMAIN).
    NoSuchHost,
    /// The name exists with no IPv4 or IPv6 address.
    NoAddress,
    /// No server answered in time, after this many tries.
    NoAnswer { tries: u32 },
    /// A server failed to answer (SERVFAIL, REFUSED, …).
    ServerFailed(String),
    /// No server could be sent a query (no route, no network), or no place to wait for
    /// one could be made.
    Unreachable(String),
    /// The server refused the query's datagrams (an ICMP "port unreachable": nothing
    /// listens there).
    Refused(std::net::SocketAddr),
    /// No descriptor could be opened for the lookup (the open-file limit was reached):
    /// the lookup may be tried again once some are closed.
    NoDescriptors(String),
    /// Not a name that can be asked.
    BadName(String),
    /// The request's deadline passed first.
    Deadline,
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::NoSuchHost => f.write_str("no such host (NXDOMAIN)"),
            DnsError::NoAddress => f.write_str("the host has no IPv4 or IPv6 address"),
            DnsError::NoAnswer { tries } => write!(
                f,
                "the DNS server did not answer in time ({tries} {})",
                if *tries == 1 { "try" } else { "tries" }
            ),
            DnsError::ServerFailed(code) => write!(f, "the DNS server failed to answer ({code})"),
            DnsError::Unreachable(why) | DnsError::NoDescriptors(why) => write!(f, "{why}"),
            DnsError::Refused(server) => write!(f, "name server {server} refused the query"),
            DnsError::BadName(name) => write!(f, "'{name}' is not a name DNS can look up"),
            DnsError::Deadline => f.write_str("deadline passed during the name lookup (timeout)"),
        }
    }
}

impl DnsError {
    /// Why `server` could not be asked: it refused the datagrams, or the `error` the
    /// network gave.
    pub fn unreachable(server: std::net::SocketAddr, error: &std::io::Error) -> DnsError {
        match error.kind() {
            _ if out_of_descriptors(error) => {
                DnsError::NoDescriptors(format!("name server {server} cannot be asked ({error})"))
            }
            std::io::ErrorKind::ConnectionRefused => DnsError::Refused(server),
            _ => DnsError::Unreachable(format!("name server {server} cannot be reached ({error})")),
        }
    }
}

impl std::error::Error for DnsError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_happened() {
        assert_eq!(DnsError::NoSuchHost.to_string(), "no such host (NXDOMAIN)");
        let silent = DnsError::NoAnswer { tries: 4 }.to_string();
        assert!(
            silent.contains("did not answer in time (4 tries)"),
            "{silent}"
        );
        assert!(DnsError::Deadline.to_string().contains("(timeout)"));
        let server = "127.0.0.1:9".parse().unwrap();
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(
            DnsError::unreachable(server, &refused).to_string(),
            "name server 127.0.0.1:9 refused the query"
        );
        let no_route = std::io::Error::from(std::io::ErrorKind::NetworkUnreachable);
        let message = DnsError::unreachable(server, &no_route).to_string();
        assert!(
            message.starts_with("name server 127.0.0.1:9 cannot be reached ("),
            "{message}"
        );
    }
}
