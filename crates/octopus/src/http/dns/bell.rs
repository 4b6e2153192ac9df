//! A bell: how a lookup that waits for another (the one asking for its name, or one
//! freeing a place among the names asked at once) is told, on no thread. It is a bell of
//! `http/bell.rs` (an eventfd) the waiting lookup watches (in the waiting set, or in
//! `poll`), and what it is told.
//!
//! Invariants: a bell is told at most once (the first telling stands); once told, its
//! descriptor stays readable (nothing reads it), so a wait begun after the telling ends at
//! once and no telling is missed.

use std::net::IpAddr;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};

use super::DnsError;
use crate::http::bell::Bell as Ring;

/// What a waiting lookup is told.
#[derive(Debug, Clone)]
pub(super) enum Told {
    /// A place among the names asked at once is now this lookup's: it may ask.
    Place,
    /// The lookup it waited for ended so.
    Answer(Result<Vec<IpAddr>, DnsError>),
}

/// One waiting lookup's bell.
#[derive(Debug)]
pub(super) struct Bell {
    ring: Arc<Ring>,
    told: Mutex<Option<Told>>,
}

impl Bell {
    /// A new bell, not told; an error when no eventfd can be made.
    pub fn new() -> std::io::Result<Bell> {
        Ok(Bell {
            ring: Ring::new()?,
            told: Mutex::new(None),
        })
    }

    /// The descriptor to wait on: readable once told.
    pub fn fd(&self) -> RawFd {
        self.ring.fd()
    }

    /// Tell the bell's lookup `what` (unless it was told already), and wake it.
    pub fn tell(&self, what: Told) {
        let mut told = self.told.lock().unwrap_or_else(|p| p.into_inner());
        if told.is_some() {
            return;
        }
        *told = Some(what);
        drop(told);
        // Never quieted: it stays readable.
        self.ring.ring();
    }

    /// What the bell was told, if it was.
    pub fn told(&self) -> Option<Told> {
        self.told.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
