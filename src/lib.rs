//! octopus: a bulk HTTP fetcher. The binary is a thin shell over this library; see
//! ARCHITECTURE.md for the codemap.

pub mod app;
pub mod bench;
pub mod cache;
pub mod cli;
pub mod client;
pub mod config;
pub mod engine;
pub mod exit_codes;
pub mod fdlimit;
pub mod feed;
pub mod input;
pub mod output;
pub mod policy;
pub mod progress;
pub mod record;
pub mod redirect;
pub mod resolver;
pub mod scheduler;
pub mod server;
pub mod stop;
pub mod summary;
pub mod target;
