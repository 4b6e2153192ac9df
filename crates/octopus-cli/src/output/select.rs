//! Which records are printed: `--match-status`, `--match-size`, `--match-regex`,
//! `--match-type` (print only those) and their `--filter-*` twins (leave those out), and
//! `--failed`. A record is printed when every matcher given holds and no filter does.
//!
//! Invariant: selection decides what is printed only; the summary and the exit status count
//! every record.

use std::ops::RangeInclusive;

use octopus::Response;
use regex::bytes::Regex;

use crate::args::ReportArgs;
use crate::parse;

/// What to print.
#[derive(Debug, Default)]
pub struct Selection {
    match_status: Option<Vec<RangeInclusive<u16>>>,
    filter_status: Option<Vec<RangeInclusive<u16>>>,
    match_size: Option<RangeInclusive<u64>>,
    filter_size: Option<RangeInclusive<u64>>,
    match_regex: Option<Regex>,
    filter_regex: Option<Regex>,
    match_type: Option<String>,
    filter_type: Option<String>,
    failed: bool,
}

impl Selection {
    /// The selection the flags ask for; `Err` names the flag that is wrong.
    pub fn from_args(args: &ReportArgs) -> Result<Selection, String> {
        let statuses = |flag, list: &Option<String>| {
            list.as_deref()
                .map(|l| parse::statuses(flag, l))
                .transpose()
        };
        let sizes = |flag, range: &Option<String>| {
            range.as_deref().map(|r| size_range(flag, r)).transpose()
        };
        let regex = |flag, re: &Option<String>| {
            re.as_deref()
                .map(|re| Regex::new(re).map_err(|e| format!("{flag} '{re}': {e}")))
                .transpose()
        };
        let kind = |t: &Option<String>| t.as_deref().map(|t| t.trim().to_ascii_lowercase());
        Ok(Selection {
            match_status: statuses("--match-status", &args.match_status)?,
            filter_status: statuses("--filter-status", &args.filter_status)?,
            match_size: sizes("--match-size", &args.match_size)?,
            filter_size: sizes("--filter-size", &args.filter_size)?,
            match_regex: regex("--match-regex", &args.match_regex)?,
            filter_regex: regex("--filter-regex", &args.filter_regex)?,
            match_type: kind(&args.match_type),
            filter_type: kind(&args.filter_type),
            failed: args.failed,
        })
    }

    /// Whether bodies must be kept to decide (a regular expression is given).
    pub fn needs_bodies(&self) -> bool {
        self.match_regex.is_some() || self.filter_regex.is_some()
    }

    /// Whether `r`'s record is printed.
    pub fn shows(&self, r: &Response) -> bool {
        let status_in = |list: &[RangeInclusive<u16>]| {
            r.status()
                .is_some_and(|s| list.iter().any(|range| range.contains(&s)))
        };
        let type_is = |prefix: &str| {
            r.content_type()
                .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with(prefix))
        };
        let matched = self.match_status.as_deref().is_none_or(status_in)
            && self
                .match_size
                .as_ref()
                .is_none_or(|s| s.contains(&r.bytes()))
            && self
                .match_regex
                .as_ref()
                .is_none_or(|re| re.is_match(r.body()))
            && self.match_type.as_deref().is_none_or(type_is)
            && (!self.failed || !r.ok());
        let filtered = self.filter_status.as_deref().is_some_and(status_in)
            || self
                .filter_size
                .as_ref()
                .is_some_and(|s| s.contains(&r.bytes()))
            || self
                .filter_regex
                .as_ref()
                .is_some_and(|re| re.is_match(r.body()))
            || self.filter_type.as_deref().is_some_and(type_is);
        matched && !filtered
    }
}

/// `1k-64k`, `-100` (at most), `1M-` (at least), `0` (exactly): sizes as `--max-body` reads them.
fn size_range(flag: &str, s: &str) -> Result<RangeInclusive<u64>, String> {
    let bad =
        |why: String| format!("{flag} '{s}': {why} (a size or a range like 1k-64k, -100, 1M-)");
    let size = |part: &str| parse::size(part.trim()).map_err(bad);
    let range = match s.trim().split_once('-') {
        None => {
            let n = size(s)?;
            n..=n
        }
        Some(("", "")) => return Err(bad("no bounds".into())),
        Some((lo, "")) => size(lo)?..=u64::MAX,
        Some(("", hi)) => 0..=size(hi)?,
        Some((lo, hi)) => size(lo)?..=size(hi)?,
    };
    match range.is_empty() {
        true => Err(bad("the range is empty".into())),
        false => Ok(range),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_ranges() {
        assert_eq!(size_range("--match-size", "1k-64k"), Ok(1024..=65536));
        assert_eq!(size_range("--match-size", "-100"), Ok(0..=100));
        assert_eq!(size_range("--match-size", "1M-"), Ok(1 << 20..=u64::MAX));
        assert_eq!(size_range("--match-size", "0"), Ok(0..=0));
        for bad in ["-", "x", "10-1", "1k-x"] {
            let err = size_range("--match-size", bad).unwrap_err();
            assert!(err.starts_with("--match-size"), "{err}");
        }
    }
}
