//! `Shard`: which lines of a list one of N processes takes (`--shard K/N`), by a hash that
//! is the same on every machine and in every version: 64-bit FNV-1a of the URL's origin
//! (`scheme://host:port`, the port always written) or, with [`ShardBy::Url`], of the whole
//! normalised URL; a line that is not a URL by its text. The shard is `hash % N + 1`.
//!
//! Invariant: for a given N, every line belongs to exactly one shard, and (by default) all
//! URLs of a host to the same one, so per-host limits need no coordination.

use url::Url;

/// What decides a line's shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShardBy {
    /// The URL's origin: every URL of a host goes to one shard (the default).
    #[default]
    Host,
    /// The whole URL: one huge host is spread over every shard (its per-host limits then
    /// need a shared limiter, [`crate::Builder::redis`]).
    Url,
}

impl ShardBy {
    /// The name the command line takes: `host` or `url`.
    pub fn name(self) -> &'static str {
        match self {
            ShardBy::Host => "host",
            ShardBy::Url => "url",
        }
    }
}

/// Shard `index` of `count` (1-based, like masscan's `--shards`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: u64,
    count: u64,
    by: ShardBy,
}

impl Shard {
    /// Shard `index` of `count`; `None` unless `1 <= index <= count`.
    pub fn new(index: u64, count: u64, by: ShardBy) -> Option<Shard> {
        (index >= 1 && index <= count).then_some(Shard { index, count, by })
    }

    /// Which shard (1-based) of `count` a URL falls in.
    ///
    /// ```
    /// use octopus::input::{Shard, ShardBy};
    /// let url = url::Url::parse("https://example.com/a").unwrap();
    /// // The same on every machine: FNV-1a of "https://example.com:443", modulo 4, plus 1.
    /// assert_eq!(Shard::of_url(&url, 4, ShardBy::Host), 1);
    /// ```
    pub fn of_url(url: &Url, count: u64, by: ShardBy) -> u64 {
        let hash = match by {
            ShardBy::Host => {
                let port = url.port_or_known_default().unwrap_or(0);
                let host = url.host_str().unwrap_or_default();
                fnv1a(format!("{}://{host}:{port}", url.scheme()).as_bytes())
            }
            ShardBy::Url => fnv1a(url.as_str().as_bytes()),
        };
        hash % count.max(1) + 1
    }

    /// Which shard of `count` a line that is not a URL falls in (by its text).
    pub fn of_text(text: &str, count: u64) -> u64 {
        fnv1a(text.as_bytes()) % count.max(1) + 1
    }

    /// Whether this shard takes `url` (or, for a line that is not a URL, `text`).
    pub fn takes(&self, url: Option<&Url>, text: &str) -> bool {
        let shard = match url {
            Some(url) => Shard::of_url(url, self.count, self.by),
            None => Shard::of_text(text, self.count),
        };
        shard == self.index
    }

    /// `K/N`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.index, self.count)
    }
}

/// 64-bit FNV-1a: stable, documented, no seed.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_fnv1a_and_stable() {
        // Reference values of 64-bit FNV-1a.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn every_url_of_a_host_shares_a_shard_by_default() {
        let url = |u: &str| Url::parse(u).unwrap();
        for n in 1..=7 {
            let a = Shard::of_url(&url("http://A.example/x"), n, ShardBy::Host);
            assert_eq!(
                a,
                Shard::of_url(&url("http://a.example:80/y?z"), n, ShardBy::Host)
            );
            assert!((1..=n).contains(&a));
        }
        let shards: std::collections::HashSet<u64> = (0..100)
            .map(|i| Shard::of_url(&url(&format!("http://a/{i}")), 4, ShardBy::Url))
            .collect();
        assert_eq!(shards.len(), 4, "by URL, one host spreads over every shard");
        assert!(Shard::new(0, 3, ShardBy::Host).is_none());
        assert!(Shard::new(4, 3, ShardBy::Host).is_none());
        assert_eq!(Shard::new(2, 3, ShardBy::Host).unwrap().name(), "2/3");
    }
}
