//! HTTP: one fetch per call, by layer, each importing only from those below it:
//!
//! - `client/`: the request chain (the client, redirects hop by hop, bodies read, decoded
//!   and archived, failures classified);
//! - `h1/`: the HTTP/1.1 exchange (heads, body framing);
//! - `route/`: how a request reaches its server, directly or through a proxy (proxy rules,
//!   `CONNECT` tunnels, SOCKS), and the connection made for it step by step;
//! - `connect/`: sockets, Happy Eyeballs, TLS, trusted roots, the pools of idle connections;
//! - `dns/`: name resolution (overrides, /etc/hosts, octopus's own DNS client);
//! - `error.rs`: the error every layer returns, until `client/classify.rs` makes it a
//!   `Failure`; `wire.rs`: the system calls under every socket (non-blocking reads and
//!   writes, `poll`), the DNS client's included.
//!
//! Every request, direct or through any proxy, goes through the same exchange, and every
//! wait (a lookup, a connect, a proxy's handshake, TLS, the answer) happens on no thread,
//! in the engine's waiting set.

mod bell;
mod client;
mod connect;
mod dns;
mod error;
mod h1;
mod h2;
mod route;
mod wire;

pub(crate) use client::pending::{Pending, Started};
pub use client::settings::HttpVersion;
pub(crate) use client::{Client, ClientSettings, pool_shards};
pub(crate) use connect::trust::{client_cert, given_roots};
pub(crate) use dns::resolver::ResolveRule;
pub use route::proxies::{ProxyPick, ProxyUse};
pub(crate) use route::proxy::{NoProxy, Proxy, ProxyPool, ProxyRules};
pub(crate) use wire::Watch;
