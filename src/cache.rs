//! The in-process TTL cache with single-flight: a repeat of a request inside the TTL never
//! reaches the network, and concurrent repeats share one fetch.
//!
//! Invariants: keyed on method + URL + a fingerprint of everything else that shapes the
//! request (headers, body); bounded to `capacity` entries; only HTTP responses are kept, so a
//! transport error is handed to the repeats that were waiting on it but a later repeat fetches
//! again; only GET and HEAD are cached (other methods are not safe to repeat-skip).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use ureq::http::Method;

use crate::client::ClientConfig;
use crate::record::{Failure, Outcome, Response};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    method: Method,
    url: String,
    variant: u64,
}

pub struct Cache {
    inner: moka::sync::Cache<Key, Outcome>,
    variant: u64,
}

impl Cache {
    /// A cache for requests shaped by `client` (its headers and body go into every key).
    pub fn new(ttl: Duration, capacity: u64, client: &ClientConfig) -> Self {
        let mut h = DefaultHasher::new();
        client.headers.hash(&mut h);
        client.body.hash(&mut h);
        client.user_agent.hash(&mut h);
        Cache {
            inner: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            variant: h.finish(),
        }
    }

    /// Whether requests with this method go through the cache at all.
    pub fn applies_to(method: &Method) -> bool {
        method == Method::GET || method == Method::HEAD
    }

    /// The outcome for `method url`: from the cache, from a fetch already in flight for the
    /// same key, or from calling `fetch` now. The flag is true when `fetch` was not called.
    pub fn get_or_fetch(
        &self,
        method: &Method,
        url: &str,
        fetch: impl FnOnce() -> Result<Response, Failure>,
    ) -> (Outcome, bool) {
        let key = Key {
            method: method.clone(),
            url: url.to_string(),
            variant: self.variant,
        };
        let mut fetched_here = false;
        let result = self.inner.entry(key).or_try_insert_with(|| {
            fetched_here = true;
            match fetch() {
                Ok(response) => Ok(Arc::new(Ok(response))),
                Err(failure) => Err(failure),
            }
        });
        let outcome = match result {
            Ok(entry) => entry.into_value(),
            Err(shared_failure) => Arc::new(Err(Failure::clone(&shared_failure))),
        };
        (outcome, !fetched_here)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ErrorKind;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn client() -> ClientConfig {
        crate::config::tests::client_config()
    }

    fn response() -> Response {
        Response {
            status: 200,
            final_url: "http://a/".into(),
            redirects: 0,
            bytes: 3,
            content_type: None,
        }
    }

    #[test]
    fn repeats_are_served_from_the_cache() {
        let cache = Cache::new(Duration::from_secs(30), 10, &client());
        let calls = AtomicUsize::new(0);
        let fetch = || {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(response())
        };
        let (a, cached_a) = cache.get_or_fetch(&Method::GET, "http://a/", fetch);
        let (b, cached_b) = cache.get_or_fetch(&Method::GET, "http://a/", fetch);
        assert_eq!((cached_a, cached_b), (false, true));
        assert_eq!(a, b);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let (_, cached_head) = cache.get_or_fetch(&Method::HEAD, "http://a/", fetch);
        assert!(!cached_head, "the method is part of the key");
    }

    #[test]
    fn transport_errors_are_not_kept() {
        let cache = Cache::new(Duration::from_secs(30), 10, &client());
        let fail = || Err(Failure::new(ErrorKind::Connect, "refused"));
        let (first, c1) = cache.get_or_fetch(&Method::GET, "http://a/", fail);
        assert!(first.is_err() && !c1);
        let (second, c2) = cache.get_or_fetch(&Method::GET, "http://a/", || Ok(response()));
        assert!(second.is_ok() && !c2, "a later repeat fetches again");
    }

    #[test]
    fn concurrent_repeats_share_one_fetch() {
        let cache = Cache::new(Duration::from_secs(30), 10, &client());
        let calls = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    cache.get_or_fetch(&Method::GET, "http://a/", || {
                        calls.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(50));
                        Ok(response())
                    })
                });
            }
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
