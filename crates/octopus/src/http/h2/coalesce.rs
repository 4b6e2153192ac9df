//! Connection coalescing (RFC 9113 §9.1.1, as browsers do it): a request to a name that has
//! no HTTP/2 connection of its own goes, once its name is looked up, on an HTTP/2
//! connection already made to one of the addresses the name resolved to, if that
//! connection's certificate, verified when it was made, is also valid for the name. The
//! thousands of names a CDN or a shared host serves from one address under one certificate
//! then share a few connections instead of one (and a handshake, and its buffers) each.
//!
//! A server that does not serve a name on a connection made for another says so with
//! `421 Misdirected Request` (RFC 9110 §15.5.20): the request is then sent again on a
//! connection of its own name (`pool.rs`'s `misdirected`), which is not coalesced again.
//!
//! Invariants: only connections whose chain was verified are offered (never under
//! `--insecure`, nor through a proxy); a connection is found only by the address it is
//! connected to, which must be among the name's own addresses, and the port is part of
//! the address; entries hold no connection open (`Weak`), and dead ones go when their
//! address is next offered or looked at, or when the map is full.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};

use crate::http::connect::chain::covers;
use crate::http::h2::conn::{Shared, Slot};

/// Addresses remembered before those whose connections are all gone are forgotten.
const ADDRESSES: usize = 16_384;

/// The HTTP/2 connections that other names may share, by the address they are connected to.
#[derive(Debug, Default)]
pub(crate) struct Peers {
    by_peer: Mutex<HashMap<SocketAddr, Vec<Offered>>>,
}

/// A connection offered, and its server's own certificate.
#[derive(Debug)]
struct Offered {
    conn: Weak<Shared>,
    leaf: CertificateDer<'static>,
}

impl Peers {
    fn lock(&self) -> MutexGuard<'_, HashMap<SocketAddr, Vec<Offered>>> {
        self.by_peer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Offer `conn` (connected to its `peer`, its chain verified, `leaf` its server's own
    /// certificate) to the other names its certificate is valid for.
    pub fn offer(&self, conn: &Arc<Shared>, leaf: CertificateDer<'static>) {
        let Some(peer) = conn.peer else { return };
        let mut by_peer = self.lock();
        if by_peer.len() >= ADDRESSES && !by_peer.contains_key(&peer) {
            by_peer.retain(|_, offered| {
                offered.retain(|o| o.conn.strong_count() > 0);
                !offered.is_empty()
            });
        }
        let offered = by_peer.entry(peer).or_default();
        offered.retain(|o| o.conn.strong_count() > 0);
        offered.push(Offered {
            conn: Arc::downgrade(conn),
            leaf,
        });
    }

    /// A stream on a connection to one of `addrs` whose certificate is valid for `name`,
    /// and which is usable (not ended, not idle past `idle_age`) and has room; with the
    /// connection, to be remembered under the name's origin.
    pub fn find(
        &self,
        name: &ServerName<'_>,
        addrs: &[SocketAddr],
        idle_age: Duration,
    ) -> std::io::Result<Option<(Arc<Shared>, Slot)>> {
        let ServerName::DnsName(_) = name else {
            return Ok(None);
        };
        let mut by_peer = self.lock();
        for addr in addrs {
            let Some(offered) = by_peer.get_mut(addr) else {
                continue;
            };
            offered.retain(|o| o.conn.strong_count() > 0);
            for o in offered.iter() {
                let Some(conn) = o.conn.upgrade() else {
                    continue;
                };
                if !conn.usable(idle_age) || !covers(&o.leaf, name) {
                    continue;
                }
                if let Some(slot) = conn.reserve()? {
                    return Ok(Some((conn, slot)));
                }
            }
        }
        Ok(None)
    }
}
