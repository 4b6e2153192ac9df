//! What the system's resolver reads, read the same way: `/etc/resolv.conf` (name servers,
//! search domains, `ndots`, `timeout`, `attempts`) and `/etc/hosts`. Read once per client;
//! `dns_server` settings replace the servers.
//!
//! Invariant: a missing or unreadable file gives the C library's defaults (the local
//! server on port 53, no search domain, `ndots:1`), never an error: a name that cannot be
//! resolved is a record's failure, not a refusal to start.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// How long one try waits for an answer when resolv.conf does not say (c-ares' default;
/// the C library's 5 s is long beside a request's own deadline).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Rounds over the servers when resolv.conf does not say (the C library's default).
const DEFAULT_ATTEMPTS: u32 = 2;

#[derive(Debug, Clone)]
pub(crate) struct Conf {
    /// The servers asked, in order.
    pub servers: Vec<SocketAddr>,
    /// Domains tried after (or before, see `candidates`) a name.
    pub search: Vec<String>,
    pub ndots: usize,
    /// How long one try waits for an answer.
    pub timeout: Duration,
    /// Rounds over the servers.
    pub attempts: u32,
    /// `/etc/hosts`: names (lower case, no final dot) and their addresses.
    pub hosts: HashMap<String, Vec<IpAddr>>,
}

impl Conf {
    /// The system's configuration; `servers`, when not empty, replace its name servers.
    pub fn system(servers: &[SocketAddr]) -> Conf {
        let resolv = std::fs::read("/etc/resolv.conf").unwrap_or_default();
        let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        Conf::from_files(&resolv, &hosts, servers)
    }

    fn from_files(resolv: &[u8], hosts: &str, servers: &[SocketAddr]) -> Conf {
        let (config, _errors) = resolv_conf::Config::parse_with_errors(resolv);
        let mut found: Vec<SocketAddr> = config
            .nameservers
            .iter()
            .map(|ip| SocketAddr::new(IpAddr::from(ip), 53))
            .collect();
        if found.is_empty() {
            found.push(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53));
        }
        let search = match config.get_search() {
            Some(search) => search.clone(),
            None => config.get_domain().cloned().into_iter().collect(),
        };
        // resolv-conf fills in the C library's defaults; ours differ where a file says
        // nothing (see DEFAULT_TIMEOUT).
        let timeout = match mentions(resolv, "timeout:") {
            true => Duration::from_secs(u64::from(config.timeout.clamp(1, 30))),
            false => DEFAULT_TIMEOUT,
        };
        let attempts = match mentions(resolv, "attempts:") {
            true => config.attempts.clamp(1, 5),
            false => DEFAULT_ATTEMPTS,
        };
        Conf {
            servers: if servers.is_empty() {
                found
            } else {
                servers.to_vec()
            },
            search: search
                .iter()
                .map(|d| d.trim_end_matches('.').to_string())
                .collect(),
            ndots: config.ndots as usize,
            timeout,
            attempts,
            hosts: parse_hosts(hosts),
        }
    }

    /// The names to ask for `host` (lower case), in order: with at least `ndots` dots the
    /// name first, then with each search domain; with fewer, the search domains first; a
    /// final dot means the name alone.
    pub fn candidates(&self, host: &str) -> Vec<String> {
        if let Some(absolute) = host.strip_suffix('.') {
            return vec![absolute.to_string()];
        }
        let searched = self.search.iter().map(|domain| format!("{host}.{domain}"));
        let dots = host.matches('.').count();
        match dots >= self.ndots {
            true => std::iter::once(host.to_string()).chain(searched).collect(),
            false => searched.chain(std::iter::once(host.to_string())).collect(),
        }
    }
}

/// Whether resolv.conf's text holds `word` (to tell a default from a setting).
fn mentions(resolv: &[u8], word: &str) -> bool {
    String::from_utf8_lossy(resolv).contains(word)
}

/// `/etc/hosts`: an address, then its names; `#` starts a comment.
fn parse_hosts(text: &str) -> HashMap<String, Vec<IpAddr>> {
    let mut hosts: HashMap<String, Vec<IpAddr>> = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut words = line.split_whitespace();
        let Some(addr) = words.next().and_then(|a| a.parse::<IpAddr>().ok()) else {
            continue;
        };
        for name in words {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            let addrs = hosts.entry(name).or_default();
            if !addrs.contains(&addr) {
                addrs.push(addr);
            }
        }
    }
    hosts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_and_hosts_are_read_as_the_c_library_reads_them() {
        let resolv = b"nameserver 10.0.0.2\nnameserver ::1\nsearch corp.example lab.example\n\
                       options ndots:2 timeout:3 attempts:4\n";
        let hosts = "127.0.0.1 localhost\n::1 localhost ip6-localhost # comment\n\
                     10.1.2.3 Box.Lab.\n# 10.9.9.9 ignored\n";
        let conf = Conf::from_files(resolv, hosts, &[]);
        let servers: Vec<String> = conf.servers.iter().map(ToString::to_string).collect();
        assert_eq!(servers, ["10.0.0.2:53", "[::1]:53"]);
        assert_eq!(conf.search, ["corp.example", "lab.example"]);
        assert_eq!((conf.ndots, conf.attempts), (2, 4));
        assert_eq!(conf.timeout, Duration::from_secs(3));
        assert_eq!(conf.hosts["localhost"].len(), 2);
        assert_eq!(
            conf.hosts["box.lab"],
            ["10.1.2.3".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(
            conf.candidates("www"),
            ["www.corp.example", "www.lab.example", "www"]
        );
        assert_eq!(
            conf.candidates("a.b.example"),
            [
                "a.b.example",
                "a.b.example.corp.example",
                "a.b.example.lab.example"
            ]
        );
        assert_eq!(conf.candidates("only.this."), ["only.this"]);
    }

    #[test]
    fn without_files_the_defaults_apply_and_given_servers_win() {
        let conf = Conf::from_files(b"", "", &[]);
        assert_eq!(conf.servers, ["127.0.0.1:53".parse().unwrap()]);
        assert_eq!((conf.ndots, conf.attempts), (1, DEFAULT_ATTEMPTS));
        assert_eq!(conf.timeout, DEFAULT_TIMEOUT);
        let given: SocketAddr = "127.0.0.1:5353".parse().unwrap();
        let conf = Conf::from_files(b"nameserver 10.0.0.2\n", "", &[given]);
        assert_eq!(conf.servers, [given]);
    }
}
