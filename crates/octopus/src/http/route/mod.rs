//! How a request reaches its server: directly or through a proxy. Which proxy, if any
//! (`rules.rs`: the settings, the environment as curl reads it, `NO_PROXY`; a pool's turn
//! and the proxies it sets aside, `proxies.rs`), the proxy
//! itself and the way through it (`proxy.rs`: absolute-form, a `CONNECT` tunnel, SOCKS),
//! and the connection a request goes out on, made step by step on no thread (`dial.rs`:
//! lookups, connect, the proxy's handshake of `greeting.rs` with `tunnel.rs` or
//! `socks.rs`, TLS begun; what that took and how many were made, `made.rs`).
//!
//! Invariants: this layer knows the proxies' protocols, not HTTP exchanges (`h1/` is above
//! it); the proxy's credentials go only to the proxy.

pub(crate) mod dial;
pub(crate) mod greeting;
pub(crate) mod made;
pub(crate) mod proxies;
pub(crate) mod proxy;
pub(crate) mod rules;
pub(crate) mod socks;
pub(crate) mod tunnel;
