//! HTTP: one fetch per call (`client.rs`, its redirect chain hop by hop in `chain.rs`): for
//! `http` and `https` sent directly, octopus's own HTTP/1.1 exchange (`exchange.rs`,
//! `head.rs`, `body_reader.rs`; its connection found or made on no thread by `dial.rs`;
//! TLS by rustls in `tls.rs`), through a proxy ureq's; what came back read, decoded and
//! archived (`receive.rs`, `body.rs`, `decode.rs`), with our own redirect following
//! (`redirect.rs`), name resolution (`resolver.rs`, `dns/`), connecting with Happy
//! Eyeballs (`connect.rs`), our own connections and pools
//! (`socket.rs` over the system calls of `wire.rs`, `buffers.rs`, `pool.rs`,
//! `connector.rs`), failures classified (`classify.rs`, rustls's in words by `tls_words.rs`), trusted roots and client
//! certificates (`trust.rs`).

mod body;
mod body_reader;
mod buffers;
mod chain;
mod classify;
mod client;
mod connect;
mod decode;
mod dial;
mod dns;
mod error;
mod exchange;
mod head;
mod pool;
mod proxy;
mod receive;
mod redirect;
mod resolver;
mod settings;
mod socket;
mod tls;
mod tls_words;
mod trust;
mod wire;

pub(crate) use chain::{Pending, Started};
pub(crate) use client::{Client, ClientSettings, pool_shards};
pub(crate) use proxy::{NoProxy, Proxy, ProxyRules};
pub(crate) use resolver::ResolveRule;
pub(crate) use trust::{client_cert, given_roots};
pub(crate) use wire::Watch;
