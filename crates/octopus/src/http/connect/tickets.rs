//! TLS 1.3 session tickets kept by the certificate they were issued under, not only by the
//! name that asked: where thousands of hosts serve one wildcard or many-name certificate
//! (a hosting provider's `*.example.net`, a CDN, W16's 10,000 names), a connection to a
//! name never met resumes a session of another name the same certificate covers, and both
//! sides skip the certificate, its signature and its verification (a resumed handshake is
//! a key exchange and a MAC).
//!
//! RFC 8446 §4.6.1 allows it: a client "MUST only resume if the new SNI value is valid for
//! the server certificate presented in the original session". A server that will not
//! resume under another name (rustls's, RFC 6066's rule for TLS 1.2) makes a full
//! handshake instead; the ticket offered is lost, nothing else. TLS 1.2 sessions, and
//! every ticket with `--insecure` (nothing verified, so nothing known to be covered), stay
//! with the name that got them, as rustls keeps them (`by_name`).
//!
//! Invariants: a ticket is filed under the chain of the session that left it, as its own
//! connection knows it (`during`: the chain verified in its handshake, or, resumed, the
//! chain its session carries, which rustls reports as the peer's certificates); a ticket
//! whose connection's chain is not known (`--insecure`, a chain never verified here) is
//! kept by name. A ticket is offered to another name only after webpki says the chain's
//! certificate covers that name; each ticket is taken once. Bounded: `CHAINS` chains,
//! `PER_CHAIN` tickets a chain and `TICKETS` in all; the names remembered (where to look
//! first, refusals) are forgotten past `NAMES`.

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use rustls::NamedGroup;
use rustls::client::{
    ClientSessionMemoryCache, ClientSessionStore, Tls12ClientSessionValue, Tls13ClientSessionValue,
};
use rustls::pki_types::{CertificateDer, ServerName};

use crate::http::connect::chain::{Digest, covers};

/// Names remembered at most (all forgotten when full: they only say where to look first).
const NAMES: usize = 100_000;
/// Chains known at most (all forgotten when full).
const CHAINS: usize = 4096;
/// Names a chain's certificate is indexed under at most.
const NAMES_A_CHAIN: usize = 256;
/// Tickets kept for one chain at most (the oldest dropped first).
const PER_CHAIN: usize = 256;
/// Tickets kept by chain at most.
const TICKETS: usize = 8192;
/// Refusals of another name's ticket, none accepted, after which a chain's server is taken
/// not to resume across names.
const REFUSALS: u32 = 4;

thread_local! {
    /// The chain of the session whose records this thread is processing (`during`).
    static SESSION: Cell<Option<Digest>> = const { Cell::new(None) };
}

/// Run `process`, rustls's processing of one connection's records (where its tickets reach
/// the store), with `chain` as its session's chain; a chain verified during it (`verified`)
/// is left in `chain`.
pub(crate) fn during<R>(chain: &mut Option<Digest>, process: impl FnOnce() -> R) -> R {
    let outer = SESSION.replace(*chain);
    let processed = process();
    *chain = SESSION.replace(outer);
    processed
}

/// The connection being processed (`during`) presented the chain of `digest`, verified.
pub(crate) fn verified(digest: Digest) {
    SESSION.set(Some(digest));
}

/// Which chains names presented, and the tickets each chain's sessions left.
#[derive(Debug)]
pub(crate) struct Chains<T = Tls13ClientSessionValue> {
    known: Mutex<Known<T>>,
}

/// One chain's certificate and what its sessions left.
#[derive(Debug)]
struct Pool<T> {
    leaf: CertificateDer<'static>,
    /// Tickets, oldest first, with the name whose session left each.
    tickets: VecDeque<(String, T)>,
    kx: Option<NamedGroup>,
    /// Tickets offered to another name: refused (a full handshake followed), or accepted
    /// (the session resumed).
    refused: u32,
    accepted: u32,
}

impl<T> Pool<T> {
    /// Whether the server takes tickets across names, as far as it has answered: after
    /// `REFUSALS` refusals and no acceptance, tickets stay with their own name (a server
    /// keeping RFC 6066's rule would otherwise get every name's tickets offered to others).
    fn crosses(&self) -> bool {
        self.accepted > 0 || self.refused < REFUSALS
    }

    /// Whether a ticket would be offered to `key`: one its own session left, or, where
    /// the server takes them, any.
    fn offers(&self, key: &str) -> bool {
        match self.crosses() {
            true => !self.tickets.is_empty(),
            false => self.tickets.iter().any(|(from, _)| from == key),
        }
    }
}

#[derive(Debug)]
struct Known<T> {
    /// The chain each name's session had last (presented, or resumed from a ticket taken
    /// for it): where its own tickets and its key exchange are looked for first.
    names: HashMap<String, Digest>,
    /// Names given another name's ticket, whose handshake has not said yet whether the
    /// server took it: the chain it came from (for `Pool::refused` and `accepted`).
    offered: HashMap<String, Digest>,
    /// A name or wildcard a chain's certificate lists → the chains that list it.
    listed: HashMap<String, Vec<Digest>>,
    pools: HashMap<Digest, Pool<T>>,
    /// Tickets in all the pools.
    held: usize,
}

impl<T> Default for Chains<T> {
    fn default() -> Chains<T> {
        Chains {
            known: Mutex::new(Known {
                names: HashMap::new(),
                offered: HashMap::new(),
                listed: HashMap::new(),
                pools: HashMap::new(),
                held: 0,
            }),
        }
    }
}

impl<T> Chains<T> {
    fn known(&self) -> std::sync::MutexGuard<'_, Known<T>> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `name`'s verification accepted the chain of `digest`, whose certificate is `leaf`
    /// (a full handshake: a ticket of another name offered to it was refused).
    pub fn presented(&self, name: &ServerName<'_>, digest: Digest, leaf: &CertificateDer<'_>) {
        let mut known = self.known();
        let known = &mut *known;
        if !known.pools.contains_key(&digest) {
            if known.pools.len() >= CHAINS {
                known.pools.clear();
                known.listed.clear();
                known.held = 0;
            }
            let leaf = leaf.clone().into_owned();
            if let Ok(parsed) = webpki::EndEntityCert::try_from(&leaf) {
                for listed in parsed.valid_dns_names().take(NAMES_A_CHAIN) {
                    let chains = known.listed.entry(listed.to_ascii_lowercase()).or_default();
                    chains.push(digest);
                }
            }
            let pool = Pool {
                leaf,
                tickets: VecDeque::new(),
                kx: None,
                refused: 0,
                accepted: 0,
            };
            known.pools.insert(digest, pool);
        }
        let key = key(name);
        if let Some(from) = known.offered.remove(&key)
            && let Some(pool) = known.pools.get_mut(&from)
        {
            pool.refused += 1;
        }
        known.remember(key, digest);
    }

    /// File `ticket`, which a session with `name` left, under that session's chain, if
    /// known (`chain`); `Err(ticket)` otherwise.
    fn file(&self, name: &ServerName<'_>, ticket: T, chain: Option<Digest>) -> Result<(), T> {
        let mut known = self.known();
        let known = &mut *known;
        let key = key(name);
        // A session resumed with another name's ticket: its server takes them.
        if let Some(from) = known.offered.remove(&key)
            && let Some(pool) = known.pools.get_mut(&from)
        {
            pool.accepted += 1;
        }
        let Some(pool) = chain.and_then(|digest| known.pools.get_mut(&digest)) else {
            return Err(ticket);
        };
        if pool.tickets.len() >= PER_CHAIN || known.held >= TICKETS {
            match pool.tickets.pop_front() {
                Some(_) => known.held -= 1,
                None => return Err(ticket),
            }
        }
        pool.tickets.push_back((key, ticket));
        known.held += 1;
        Ok(())
    }

    /// A ticket for `name`, taken: the newest its own sessions left, else the newest of a
    /// chain that covers it and whose server takes tickets across names.
    fn take(&self, name: &ServerName<'_>) -> Option<T> {
        let mut known = self.known();
        let known = &mut *known;
        let key = key(name);
        let digest = known.covering(name, &key, |pool| pool.offers(&key))?;
        let pool = known.pools.get_mut(&digest)?;
        let own = pool.tickets.iter().rposition(|(from, _)| *from == key);
        let (_, ticket) = match own {
            Some(at) => pool.tickets.remove(at)?,
            None => pool.tickets.pop_back()?,
        };
        known.held -= 1;
        if own.is_none() {
            if known.offered.len() >= NAMES {
                known.offered.clear();
            }
            known.offered.insert(key.clone(), digest);
            // The key exchange hint that follows looks here first, not through the listing.
            known.remember(key, digest);
        }
        Some(ticket)
    }

    /// Remember that the server of the session's chain (`chain`, else the one `name`
    /// presented last) chose `group` for its key exchange.
    fn chose(&self, name: &ServerName<'_>, chain: Option<Digest>, group: NamedGroup) {
        let mut known = self.known();
        let known = &mut *known;
        if let Some(digest) = chain.or_else(|| known.names.get(&key(name)).copied())
            && let Some(pool) = known.pools.get_mut(&digest)
        {
            pool.kx = Some(group);
        }
    }

    /// The key exchange the server of a chain covering `name` chose last.
    fn kx(&self, name: &ServerName<'_>) -> Option<NamedGroup> {
        let known = self.known();
        let digest = known.covering(name, &key(name), |pool| pool.kx.is_some())?;
        known.pools.get(&digest)?.kx
    }
}

impl<T> Known<T> {
    /// `key`'s session has the chain of `digest` (presented, or resumed from): where its
    /// own tickets and its key exchange are looked for first.
    fn remember(&mut self, key: String, digest: Digest) {
        if self.names.len() >= NAMES {
            self.names.clear();
        }
        self.names.insert(key, digest);
    }

    /// A known chain whose certificate covers `name` and whose pool is `wanted`: the one
    /// the name presented itself, else one that lists it or its wildcard, as webpki
    /// confirms.
    fn covering(
        &self,
        name: &ServerName<'_>,
        key: &str,
        wanted: impl Fn(&Pool<T>) -> bool,
    ) -> Option<Digest> {
        let wanted = |digest: &Digest| self.pools.get(digest).is_some_and(&wanted);
        if let Some(digest) = self.names.get(key)
            && wanted(digest)
        {
            return Some(*digest);
        }
        let ServerName::DnsName(_) = name else {
            return None;
        };
        let wildcard = key.split_once('.').map(|(_, parent)| format!("*.{parent}"));
        [Some(key.to_string()), wildcard]
            .into_iter()
            .flatten()
            .filter_map(|listed| self.listed.get(&listed))
            .flatten()
            .find(|digest| {
                wanted(digest)
                    && (self.pools.get(*digest)).is_some_and(|pool| covers(&pool.leaf, name))
            })
            .copied()
    }
}

/// The map key of a server's name.
fn key(name: &ServerName<'_>) -> String {
    name.to_str().to_ascii_lowercase()
}

/// rustls's session store for octopus's client: TLS 1.3 tickets by chain (`Chains`), the
/// rest by name as rustls keeps them.
#[derive(Debug)]
pub(crate) struct Tickets {
    chains: std::sync::Arc<Chains>,
    by_name: ClientSessionMemoryCache,
}

impl Tickets {
    /// A store filing tickets under the chains `chains` learns of, `names` names kept by
    /// name.
    pub fn new(chains: std::sync::Arc<Chains>, names: usize) -> Tickets {
        Tickets {
            chains,
            by_name: ClientSessionMemoryCache::new(names),
        }
    }
}

impl ClientSessionStore for Tickets {
    fn set_kx_hint(&self, name: ServerName<'static>, group: NamedGroup) {
        self.chains.chose(&name, SESSION.get(), group);
        self.by_name.set_kx_hint(name, group);
    }

    fn kx_hint(&self, name: &ServerName<'_>) -> Option<NamedGroup> {
        self.by_name.kx_hint(name).or_else(|| self.chains.kx(name))
    }

    fn set_tls12_session(&self, name: ServerName<'static>, value: Tls12ClientSessionValue) {
        self.by_name.set_tls12_session(name, value);
    }

    fn tls12_session(&self, name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.by_name.tls12_session(name)
    }

    fn remove_tls12_session(&self, name: &ServerName<'static>) {
        self.by_name.remove_tls12_session(name);
    }

    fn insert_tls13_ticket(&self, name: ServerName<'static>, value: Tls13ClientSessionValue) {
        if let Err(value) = self.chains.file(&name, value, SESSION.get()) {
            self.by_name.insert_tls13_ticket(name, value);
        }
    }

    fn take_tls13_ticket(&self, name: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
        self.chains
            .take(name)
            .or_else(|| self.by_name.take_tls13_ticket(name))
    }
}

#[cfg(test)]
#[path = "tickets_tests.rs"]
mod tests;
