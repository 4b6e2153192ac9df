//! The checks a setting names in the table (`table.rs`): each sees the value as given and
//! says why it is refused, never changes it. Checks that turn a value into what the engine
//! runs with (a method, headers, statuses, a proxy) are `validate.rs`'s.
//!
//! A leaf: the table and the builder's errors both depend on it.

use std::ops::RangeInclusive;
use std::time::Duration;

use crate::defaults::{MAX_CONCURRENCY, MAX_DURATION};

/// A value refused: as shown in the message, and why.
#[derive(Debug)]
pub(crate) struct Refused {
    pub value: String,
    pub reason: String,
}

impl Refused {
    pub(super) fn new(value: impl ToString, reason: impl Into<String>) -> Refused {
        Refused {
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// At most `MAX_DURATION` (so that no deadline can overflow).
pub(super) fn bounded(d: &Duration) -> Result<(), Refused> {
    match *d > MAX_DURATION {
        true => Err(Refused::new(
            format!("{d:?}"),
            "is too long (at most 365 days)",
        )),
        false => Ok(()),
    }
}

/// More than zero and at most `MAX_DURATION`.
pub(super) fn positive(d: &Duration) -> Result<(), Refused> {
    match d.is_zero() {
        true => Err(Refused::new("0s", "must be more than zero")),
        false => bounded(d),
    }
}

/// At least a second, at most `MAX_DURATION` (a lease renewed every third of it).
pub(super) fn a_second_or_more(d: &Duration) -> Result<(), Refused> {
    match *d < Duration::from_secs(1) {
        true => Err(Refused::new(format!("{d:?}"), "must be at least 1s")),
        false => bounded(d),
    }
}

/// A count of at least one.
pub(super) fn at_least_one(n: &usize) -> Result<(), Refused> {
    match *n {
        0 => Err(Refused::new(n, "must be at least 1")),
        _ => Ok(()),
    }
}

/// From 1 to `MAX_CONCURRENCY`.
pub(super) fn concurrency(n: &usize) -> Result<(), Refused> {
    match (1..=MAX_CONCURRENCY).contains(n) {
        true => Ok(()),
        false => Err(Refused::new(
            n,
            format!("must be from 1 to {MAX_CONCURRENCY}"),
        )),
    }
}

/// Not empty.
pub(super) fn not_empty(text: &str) -> Result<(), Refused> {
    match text.is_empty() {
        true => Err(Refused::new("", "is empty")),
        false => Ok(()),
    }
}

/// Starts per second: above zero, and at least one a year.
pub(super) fn rate(per_second: &f64) -> Result<(), Refused> {
    let refused = |reason| Err(Refused::new(format!("{per_second}/s"), reason));
    if !per_second.is_finite() || *per_second <= 0.0 {
        return refused("must be a number above zero");
    }
    match Duration::try_from_secs_f64(1.0 / per_second) {
        Ok(gap) if gap <= MAX_DURATION => Ok(()),
        _ => refused("is too slow (at least one request a year)"),
    }
}

/// Statuses: at least one range, each from 100 to 999, low to high.
pub(super) fn statuses(ranges: &[RangeInclusive<u16>]) -> Result<(), Refused> {
    if ranges.is_empty() {
        return Err(Refused::new("", "no status given"));
    }
    let wrong = |r: &&RangeInclusive<u16>| {
        let (lo, hi) = (*r.start(), *r.end());
        !(100..=999).contains(&lo) || !(100..=999).contains(&hi) || lo > hi
    };
    match ranges.iter().find(wrong) {
        Some(r) => Err(Refused::new(
            format!("{}-{}", r.start(), r.end()),
            "statuses are from 100 to 999, low to high",
        )),
        None => Ok(()),
    }
}

/// Prefix limits: a prefix that is not empty, a limit of at least one.
pub(super) fn prefix_limits(limits: &[(String, usize)]) -> Result<(), Refused> {
    for (prefix, max) in limits {
        if prefix.is_empty() {
            return Err(Refused::new(prefix, "the prefix is empty"));
        }
        at_least_one(max)?;
    }
    Ok(())
}
