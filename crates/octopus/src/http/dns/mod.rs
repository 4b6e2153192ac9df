//! Name resolution of octopus's own, shared by every connection of a client: `/etc/hosts`,
//! then a cache, then the name servers of `/etc/resolv.conf` (or the `dns_server`
//! settings) asked over UDP (`ask.rs`, hickory-proto's messages; `conf.rs` reads the
//! files). The system's resolver (`getaddrinfo`) asked again for every new connection,
//! had no bound on lookups at once (a burst of thousands lost some to a server that drops
//! what it cannot take), did not retry, and took its own timeouts, not the request's.
//!
//! Invariants:
//! - a name is asked at most once at a time: other lookups of it wait for that answer
//!   (single-flight), and then take it from the cache;
//! - answers are kept for their TTL (at most an hour), a name that does not exist for the
//!   SOA minimum (at most five minutes); a server that did not answer is not remembered;
//! - at most `concurrency` names are asked at once: the others wait their turn;
//! - a lookup never outlives the request's deadline (it is then `DnsError::Deadline`).
//!
//! The lookup holds its worker (in `blocking::during`, so another may start in its place):
//! moving it into the waiting set is the next step (issue 21).

mod ask;
mod conf;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::BuildHasher;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ask::{Said, ask};
use conf::Conf;

/// The longest an answer is kept, whatever its TTL.
const MAX_TTL: Duration = Duration::from_secs(3600);

/// The longest a name that does not exist is remembered.
const MAX_NEGATIVE_TTL: Duration = Duration::from_secs(300);

/// The most names kept; past it the oldest go first.
const CAPACITY: usize = 100_000;

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
    /// No server could be sent a query (no route, no network).
    Unreachable(String),
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
            DnsError::Unreachable(why) => write!(f, "the DNS server cannot be reached ({why})"),
            DnsError::BadName(name) => write!(f, "'{name}' is not a name DNS can look up"),
            DnsError::Deadline => f.write_str("deadline passed during the name lookup (timeout)"),
        }
    }
}

impl std::error::Error for DnsError {}

/// The resolver: its configuration, and what it knows and is asking.
#[derive(Debug)]
pub(crate) struct Dns {
    conf: Conf,
    /// Names asked at once, at most.
    concurrency: usize,
    state: Mutex<State>,
    /// Told when a place among the names asked frees (one waiter per place).
    room: Condvar,
    /// Seeds the query ids.
    ids: std::collections::hash_map::RandomState,
}

#[derive(Debug, Default)]
struct State {
    known: HashMap<String, Known>,
    /// `known`'s names, oldest first (for the capacity).
    order: VecDeque<String>,
    /// Names being asked (or waiting for a place to be): other lookups of a name wait on
    /// its condvar, told only when its answer came.
    flights: HashMap<String, Arc<Condvar>>,
    /// Names being asked of the servers now.
    asking: usize,
}

#[derive(Debug, Clone)]
struct Known {
    answer: Result<Vec<IpAddr>, DnsError>,
    until: Instant,
}

impl Dns {
    /// The system's configuration, with `servers` instead of its name servers when given,
    /// at most `concurrency` names asked at once.
    pub fn new(servers: &[SocketAddr], concurrency: usize) -> Dns {
        Dns {
            conf: Conf::system(servers),
            concurrency: concurrency.max(1),
            state: Mutex::default(),
            room: Condvar::new(),
            ids: std::collections::hash_map::RandomState::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The addresses of `host` (a name, not an address literal), by `deadline`.
    pub fn lookup(&self, host: &str, deadline: Instant) -> Result<Vec<IpAddr>, DnsError> {
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        if let Some(addrs) = self.conf.hosts.get(&name) {
            return Ok(addrs.clone());
        }
        let mut state = self.lock();
        // Known, or being asked by another lookup: wait for its answer.
        loop {
            if let Some(known) = state.known.get(&name).filter(|k| k.until > Instant::now()) {
                return known.answer.clone();
            }
            let Some(flight) = state.flights.get(&name).cloned() else {
                break;
            };
            state = wait(&flight, state, deadline)?;
        }
        let flight = Arc::new(Condvar::new());
        state.flights.insert(name.clone(), Arc::clone(&flight));
        // A place among the names asked at once.
        while state.asking >= self.concurrency {
            state = match wait(&self.room, state, deadline) {
                Ok(state) => state,
                Err(e) => {
                    let mut state = self.lock();
                    state.flights.remove(&name);
                    flight.notify_all();
                    // It may have been told of a place it does not take: pass it on.
                    self.room.notify_one();
                    return Err(e);
                }
            };
        }
        state.asking += 1;
        drop(state);
        let asked = self.ask_candidates(host, deadline);
        let mut state = self.lock();
        state.asking -= 1;
        self.room.notify_one();
        state.flights.remove(&name);
        let answer = match asked {
            Ok(said) => remember(&mut state, &name, said),
            // Not remembered: the next lookup asks again.
            Err(e) => Err(e),
        };
        flight.notify_all();
        answer
    }

    /// Ask for `host` as resolv.conf's search rules say: the first name that exists.
    fn ask_candidates(&self, host: &str, deadline: Instant) -> Result<Said, DnsError> {
        let candidates = self.conf.candidates(&host.to_ascii_lowercase());
        let mut counter = 0u64;
        let mut ids = || {
            counter += 1;
            self.ids.hash_one(counter) as u16
        };
        let mut said = Err(DnsError::NoSuchHost);
        for candidate in &candidates {
            let conf = &self.conf;
            said = ask(
                candidate,
                &conf.servers,
                conf.timeout,
                conf.attempts,
                deadline,
                &mut ids,
            );
            if !matches!(said, Ok(Said::NoSuchName(_))) {
                break;
            }
        }
        said
    }
}

/// Wait on `condvar` (with the state's lock), at most until `deadline`.
fn wait<'a>(
    condvar: &Condvar,
    state: MutexGuard<'a, State>,
    deadline: Instant,
) -> Result<MutexGuard<'a, State>, DnsError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(DnsError::Deadline);
    }
    Ok(match condvar.wait_timeout(state, left) {
        Ok((state, _)) => state,
        Err(poisoned) => poisoned.into_inner().0,
    })
}

/// Keep what a server said of `name`; its answer.
fn remember(state: &mut State, name: &str, said: Said) -> Result<Vec<IpAddr>, DnsError> {
    let (answer, ttl) = match said {
        Said::Addresses(addrs, ttl) => (Ok(addrs), ttl.min(MAX_TTL)),
        Said::NoSuchName(ttl) => (Err(DnsError::NoSuchHost), ttl.min(MAX_NEGATIVE_TTL)),
        Said::NoAddress(ttl) => (Err(DnsError::NoAddress), ttl.min(MAX_NEGATIVE_TTL)),
    };
    let known = Known {
        answer: answer.clone(),
        until: Instant::now() + ttl,
    };
    if state.known.insert(name.to_string(), known).is_none() {
        state.order.push_back(name.to_string());
        while state.order.len() > CAPACITY {
            if let Some(oldest) = state.order.pop_front() {
                state.known.remove(&oldest);
            }
        }
    }
    answer
}

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
    }

    #[test]
    fn the_oldest_names_go_past_the_capacity() {
        let mut state = State::default();
        for i in 0..CAPACITY + 2 {
            let said = Said::Addresses(vec!["10.0.0.1".parse().unwrap()], MAX_TTL);
            remember(&mut state, &format!("n{i}.example"), said).unwrap();
        }
        assert_eq!(state.known.len(), CAPACITY);
        assert!(!state.known.contains_key("n0.example"));
        assert!(
            state
                .known
                .contains_key(&format!("n{}.example", CAPACITY + 1))
        );
    }
}
