//! octopus: a bulk HTTP fetcher. Enqueue URLs with a handler each; worker threads fetch them
//! concurrently, politely (limits per host and per URL prefix, a rate, a delay, retries) and
//! hand each handler the URL's [`Response`]: status, headers, body, final URL, error, time.
//! Repeats inside a TTL come from an in-memory cache, and repeats of a URL in flight wait
//! for its fetch. The `octopus` command line runs on this same API.
//!
//! ```
//! use std::time::Duration;
//! use octopus::{Octopus, Response};
//!
//! fn main() -> Result<(), octopus::Error> {
//!     let site = "http://127.0.0.1:8080";
//! #   // The example runs against a server of its own on a free port.
//! #   let server = octopus_testserver::Server::start().expect("a loopback server");
//! #   let site = server.url("");
//! #   let site = site.as_str();
//!     // 4 requests in flight; repeats inside 10 s come from the cache;
//!     // at most 2 requests in flight to URLs under the prefix (the original's limiter).
//!     let otto = Octopus::builder()
//!         .concurrency(4)
//!         .cache_ttl(Duration::from_secs(10))
//!         .timeout(Duration::from_secs(5))
//!         .limit(&format!("{site}/"), 2)
//!         .build()?;
//!
//!     let handle = |response: &Response| match response.error() {
//!         None => println!("{} {} {} bytes", response.url(),
//!                          response.status().unwrap_or(0), response.body().len()),
//!         Some(failure) => println!("{} failed: {failure}", response.url()),
//!     };
//!     otto.enqueue(format!("{site}/a"), handle);
//!     otto.enqueue(format!("{site}/a"), handle); // served from the cache
//!     otto.enqueue(format!("{site}/b"), handle);
//!     otto.wait(); // returns when every handler has run
//! #   assert_eq!(server.hits("/a"), 1);
//! #   assert_eq!(server.hits("/b"), 1);
//!     Ok(())
//! }
//! ```
//!
//! For many URLs, [`Octopus::fetch_all`] takes them lazily from an iterator and returns the
//! responses as an iterator, with memory bounded whatever the count. [`Record`] serializes a
//! response as the command line's JSON Lines record. [`input`] reads URL lists the way the
//! command line does. Bodies can be kept, hashed, titled and saved ([`Builder::save_to`]),
//! and every exchange archived to a WARC file ([`Builder::warc`]).
//!
//! The library has no process-wide side effects (no signal handlers, no printing, no
//! terminal detection) except one it is asked for: [`Builder::build`] raises the open-file
//! limit to fit the concurrency.

#![warn(missing_docs)]

// The engine waits for answers in an epoll set woken through an eventfd (`run/waiting.rs`),
// and its sockets use Linux's send and receive flags (`http/socket.rs`). Elsewhere it does
// not build, and says so here rather than in a list of missing names.
#[cfg(not(target_os = "linux"))]
compile_error!(
    "octopus runs on Linux only: its engine waits on epoll and eventfd (see the README, \
     \"Platforms\")"
);

mod blocking;
mod builder;
mod capture;
pub mod crawl;
pub mod defaults;
mod failure;
mod fetched;
mod http;
pub mod input;
mod policy;
pub mod queue;
mod record;
mod response;
mod run;
mod settings;
mod shared;
mod status;
mod timings;
mod warc;

pub use builder::{Builder, Error, Setting, SettingValue};
pub use capture::{Hash, Layout, Link, LinkKind, Saved, normalise};
pub use crawl::{
    BrokenLink, Crawl, CrawlKept, CrawlProgress, CrawlStop, CrawlSummary, Scope, Visit,
};
pub use defaults::{MAX_CONCURRENCY, MAX_DURATION};
pub use failure::{ErrorKind, Failure};
pub use http::{HttpVersion, ProxyPick, ProxyUse};
pub use input::Request;
pub use record::Record;
pub use response::Response;
pub use run::{Octopus, Responses, Stats};
pub use timings::Timings;
pub use warc::WarcLocation;
