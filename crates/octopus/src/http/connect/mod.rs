//! Connecting, under everything that sends a request: one TCP connection and its input
//! buffer (`socket.rs`, `buffers.rs`, over the system calls of `http/wire.rs`), a host's
//! addresses connected to as Happy Eyeballs does (`eyeballs.rs`), TLS driven on a
//! non-blocking socket (`tls.rs`, its errors in words by `tls_words.rs`, trusted roots and
//! client certificates by `trust.rs`, chains verified once remembered for a minute by
//! `verified.rs`, a chain's identity and the names its certificate covers by `chain.rs`, session tickets kept by the chain they were issued under by `tickets.rs`,
//! told by each connection which chain its session has), and the idle connections kept for
//! reuse (`pool.rs`).
//!
//! Invariants: nothing here knows HTTP or proxies (it imports only `http/error.rs` and
//! `http/wire.rs` from outside); every wait ends by its deadline; nothing blocks but `poll`.

pub(crate) mod buffers;
pub(crate) mod chain;
pub(crate) mod eyeballs;
pub(crate) mod pool;
pub(crate) mod socket;
pub(crate) mod tickets;
pub(crate) mod tls;
pub(crate) mod tls_words;
pub(crate) mod trust;
pub(crate) mod verified;
