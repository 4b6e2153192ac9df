//! URLs the crawl met lately, each with a depth its row has at most: most links of a page
//! are repeats (a site's menu on every page), and a repeat found no closer than its row
//! changes nothing, so it asks nothing of SQLite. Without this, the upsert that moves a
//! row closer ran for every link: W18 took 12.1-12.8 s instead of 8.6-10.1 s.
//!
//! It also says which rows it holds for sure: every row made after `covers_after` (the
//! store inserts a link it does not know with `DO NOTHING` when its page was taken after
//! that, in breadth-first order: such a row is older than the page, so no deeper than the
//! page plus one).
//!
//! Invariants: bounded (two generations of at most `GENERATION` keys: the older is
//! dropped when the newer fills); a key is a 128-bit keyed hash of the URL, so two URLs
//! share one with a chance of about 2^-128 per pair; a link skipped for the depth kept
//! would not have changed its row (rows only move closer, each move is put here, and a
//! row kept at a depth below its own is one no link moves: disallowed, out of scope,
//! external for an internal link, or only too deep).

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

/// Keys in one generation, at most (about 24 bytes each).
const GENERATION: usize = 1 << 17;

/// URLs met lately and a depth their row has at most.
pub(super) struct Recent {
    keys: [std::collections::hash_map::RandomState; 2],
    now: HashMap<u128, u32, BuildHasherDefault<Spread>>,
    before: HashMap<u128, u32, BuildHasherDefault<Spread>>,
    /// The last row id when each generation began: every row made after `before_from`
    /// was put in one of them.
    now_from: i64,
    before_from: i64,
}

impl Recent {
    /// Empty, the store's rows up to `last_id` made before.
    pub fn new(last_id: i64) -> Recent {
        Recent {
            keys: Default::default(),
            now: HashMap::default(),
            before: HashMap::default(),
            now_from: last_id,
            before_from: last_id,
        }
    }

    /// Every row with a larger id was put here, and is still here: a URL not here has no
    /// row or an older one.
    pub fn covers_after(&self) -> i64 {
        self.before_from
    }

    /// `url`'s key.
    pub fn key(&self, url: &str) -> u128 {
        let [a, b] = &self.keys;
        (u128::from(a.hash_one(url)) << 64) | u128::from(b.hash_one(url))
    }

    /// A depth the row of the URL with `key` has at most, if it was met lately.
    pub fn depth(&self, key: u128) -> Option<u32> {
        self.now
            .get(&key)
            .or_else(|| self.before.get(&key))
            .copied()
    }

    /// The URL with `key` has a row at `depth` or closer (`last_id`: the largest row id
    /// so far).
    pub fn put(&mut self, key: u128, depth: u32, last_id: i64) {
        if self.now.len() >= GENERATION && !self.now.contains_key(&key) {
            self.before = std::mem::take(&mut self.now);
            self.before_from = self.now_from;
            self.now_from = last_id;
        }
        self.now.insert(key, depth);
    }
}

/// A hasher for keys that are hashes already: their low bits as they are.
#[derive(Default)]
pub(super) struct Spread(u64);

impl Hasher for Spread {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_kept_with_their_depth_within_two_generations() {
        let mut recent = Recent::new(7);
        let first = recent.key("http://a/first");
        assert_ne!(first, recent.key("http://a/other"));
        assert_eq!(recent.depth(first), None);
        recent.put(first, 3, 8);
        assert_eq!(recent.depth(first), Some(3));
        for i in 0..GENERATION {
            let key = recent.key(&format!("http://a/{i}"));
            recent.put(key, 1, 9 + i as i64);
        }
        assert_eq!(recent.depth(first), Some(3), "in the older generation");
        assert_eq!(recent.covers_after(), 7, "every row since the store opened");
        for i in 0..GENERATION {
            let key = recent.key(&format!("http://b/{i}"));
            recent.put(key, 1, 9 + (GENERATION + i) as i64);
        }
        assert_eq!(recent.depth(first), None, "dropped with it");
        let second_began = 9 + GENERATION as i64 - 1;
        assert_eq!(recent.covers_after(), second_began);
    }
}
