//! Shared helpers for the library's tests: the loopback test server, a builder that keeps
//! traffic on loopback, and fetching a few paths in order.
#![allow(dead_code)]

pub use octopus_testserver::Server;

pub fn server() -> Server {
    Server::start().expect("test server starts on 127.0.0.1")
}

/// A library builder with no proxy from the environment (traffic stays on loopback).
pub fn builder() -> octopus::Builder {
    octopus::Octopus::builder().proxy_from_env(false)
}

/// Fetch these paths of `s` with `otto` (one at a time, in this order, at concurrency 1);
/// the responses by path.
pub fn fetch_paths(
    otto: &octopus::Octopus,
    s: &Server,
    paths: &[&str],
) -> std::collections::HashMap<String, octopus::Response> {
    let requests: Vec<octopus::Request> = paths
        .iter()
        .map(|p| octopus::Request::from(s.url(p)))
        .collect();
    let mut by_url: std::collections::HashMap<String, octopus::Response> = otto
        .fetch_all(requests)
        .unwrap()
        .map(|r| (r.url().to_string(), r))
        .collect();
    paths
        .iter()
        .map(|p| (p.to_string(), by_url.remove(&s.url(p)).unwrap()))
        .collect()
}
