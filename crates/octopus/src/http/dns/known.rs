//! What the resolver knows: each name's answer (its addresses, or that it does not exist or
//! has none) until it expires, the oldest names let go past a capacity.
//!
//! Invariants: answers are kept for their TTL (at most an hour), a name that does not
//! exist or has no address for the SOA minimum (at most five minutes); an expired answer is
//! never given; at most `CAPACITY` names are kept.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::DnsError;
use super::answer::Said;

/// The longest an answer is kept, whatever its TTL.
const MAX_TTL: Duration = Duration::from_secs(3600);

/// The longest a name that does not exist is remembered.
const MAX_NEGATIVE_TTL: Duration = Duration::from_secs(300);

/// The most names kept; past it the oldest go first.
const CAPACITY: usize = 100_000;

/// The answers kept.
#[derive(Debug, Default)]
pub(super) struct Known {
    answers: HashMap<String, Answer>,
    /// `answers`' names, oldest first (for the capacity).
    order: VecDeque<String>,
}

#[derive(Debug, Clone)]
struct Answer {
    answer: Result<Vec<IpAddr>, DnsError>,
    until: Instant,
}

impl Known {
    /// `name`'s answer, unless it expired or was never given.
    pub fn get(&self, name: &str) -> Option<Result<Vec<IpAddr>, DnsError>> {
        let known = self.answers.get(name)?;
        (known.until > Instant::now()).then(|| known.answer.clone())
    }

    /// Keep what a server said of `name`; its answer.
    pub fn remember(&mut self, name: &str, said: Said) -> Result<Vec<IpAddr>, DnsError> {
        let (answer, ttl) = match said {
            Said::Addresses(addrs, ttl) => (Ok(addrs), ttl.min(MAX_TTL)),
            Said::NoSuchName(ttl) => (Err(DnsError::NoSuchHost), ttl.min(MAX_NEGATIVE_TTL)),
            Said::NoAddress(ttl) => (Err(DnsError::NoAddress), ttl.min(MAX_NEGATIVE_TTL)),
        };
        let known = Answer {
            answer: answer.clone(),
            until: Instant::now() + ttl,
        };
        if self.answers.insert(name.to_string(), known).is_none() {
            self.order.push_back(name.to_string());
            while self.order.len() > CAPACITY {
                if let Some(oldest) = self.order.pop_front() {
                    self.answers.remove(&oldest);
                }
            }
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_names_go_past_the_capacity() {
        let mut known = Known::default();
        for i in 0..CAPACITY + 2 {
            let said = Said::Addresses(vec!["10.0.0.1".parse().unwrap()], MAX_TTL);
            known.remember(&format!("n{i}.example"), said).unwrap();
        }
        assert_eq!(known.answers.len(), CAPACITY);
        assert!(known.get("n0.example").is_none());
        assert!(known.get(&format!("n{}.example", CAPACITY + 1)).is_some());
    }

    #[test]
    fn absent_names_are_kept_for_at_most_five_minutes() {
        let mut known = Known::default();
        let said = Said::NoSuchName(Duration::from_secs(86_400));
        assert_eq!(
            known.remember("gone.example", said),
            Err(DnsError::NoSuchHost)
        );
        let until = known.answers["gone.example"].until;
        assert!(until <= Instant::now() + MAX_NEGATIVE_TTL);
        assert_eq!(known.get("gone.example"), Some(Err(DnsError::NoSuchHost)));
    }
}
