//! Politeness settings and their arithmetic: in-flight limits per host and per URL prefix,
//! a global start rate, a per-host gap between starts, and the retry policy (which outcomes,
//! how long to wait). The scheduler (`scheduler.rs`) applies them.

use std::time::{Duration, SystemTime};

use crate::config::StatusRanges;
use crate::record::{ErrorKind, Failure, Response};

/// A `--rate` value: request starts per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate(pub f64);

impl Rate {
    /// The gap between two starts at this rate.
    pub fn interval(self) -> Duration {
        Duration::from_secs_f64(1.0 / self.0)
    }
}

impl std::str::FromStr for Rate {
    type Err = String;

    /// `N/s`, `N/m` (or a bare `N`, per second).
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "--rate '{s}': expected a number of requests per second or minute, e.g. 20/s or 90/m"
            )
        };
        let (n, per) = s.split_once('/').unwrap_or((s, "s"));
        let n: f64 = n.trim().parse().map_err(|_| bad())?;
        let per_second = match per.trim() {
            "s" | "sec" | "second" => n,
            "m" | "min" | "minute" => n / 60.0,
            _ => return Err(bad()),
        };
        if !per_second.is_finite() || per_second <= 0.0 {
            return Err(bad());
        }
        Ok(Rate(per_second))
    }
}

/// One `--limit PREFIX=N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixLimit {
    pub prefix: String,
    pub max: usize,
}

impl std::str::FromStr for PrefixLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("--limit '{s}': expected PREFIX=N, e.g. http://a.example/=2");
        let (prefix, n) = s.rsplit_once('=').ok_or_else(bad)?;
        let max: usize = n.trim().parse().map_err(|_| bad())?;
        if prefix.is_empty() || max == 0 {
            return Err(bad());
        }
        Ok(PrefixLimit {
            prefix: prefix.to_string(),
            max,
        })
    }
}

/// When and how to try a URL again.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0: none).
    pub retries: u32,
    /// Statuses that are retried (`--retry-on`, default 429 and 500-599).
    pub on_status: StatusRanges,
    /// Base of the exponential backoff (`--retry-delay`).
    pub base: Duration,
    /// Longest wait before a retry, Retry-After included (`--max-retry-wait`).
    pub max_wait: Duration,
}

impl RetryPolicy {
    /// How long to wait before attempt `attempt + 1`, or `None` when the outcome is final.
    /// `jitter` in 0..1 spreads retries (full jitter on the exponential part).
    pub fn wait_before_retry(
        &self,
        outcome: &Result<Response, Failure>,
        attempt: u32,
        jitter: f64,
    ) -> Option<Duration> {
        if attempt > self.retries {
            return None;
        }
        let retry_after = match outcome {
            Ok(r) if self.on_status.contains(r.status) => r.retry_after,
            Ok(_) => return None,
            Err(f) if retryable(f.kind) => None,
            Err(_) => return None,
        };
        let backoff = self
            .base
            .saturating_mul(1u32 << (attempt - 1).min(16))
            .mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0);
        Some(retry_after.unwrap_or(backoff).min(self.max_wait))
    }
}

/// Transport failures worth another try (a bad URL or an oversized body is not).
fn retryable(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Dns
            | ErrorKind::Connect
            | ErrorKind::Timeout
            | ErrorKind::Tls
            | ErrorKind::Protocol
            | ErrorKind::Proxy
            | ErrorKind::Io
    )
}

/// Parse a `Retry-After` value: delay-seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Everything the scheduler enforces. `is_active` is false for a plain run.
#[derive(Debug, Clone)]
pub struct Policy {
    pub per_host: Option<usize>,
    pub limits: Vec<PrefixLimit>,
    pub rate: Option<Rate>,
    pub delay: Option<Duration>,
    pub retry: RetryPolicy,
    /// Lines the scheduler may look ahead past ones that have to wait.
    pub lookahead: usize,
}

impl Policy {
    pub fn is_active(&self) -> bool {
        self.per_host.is_some()
            || !self.limits.is_empty()
            || self.rate.is_some()
            || self.delay.is_some()
            || self.retry.retries > 0
    }

    /// The first `--limit` whose prefix starts `url`.
    pub fn limit_for(&self, url: &str) -> Option<usize> {
        self.limits.iter().position(|l| url.starts_with(&l.prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            retries: 3,
            on_status: "429,500-599".parse().unwrap(),
            base: Duration::from_millis(100),
            max_wait: Duration::from_secs(5),
        }
    }

    fn status(code: u16, retry_after: Option<Duration>) -> Result<Response, Failure> {
        Ok(Response {
            status: code,
            final_url: String::new(),
            redirects: 0,
            bytes: 0,
            content_type: None,
            retry_after,
        })
    }

    #[test]
    fn rates_and_limits_parse() {
        assert_eq!("20/s".parse::<Rate>().unwrap(), Rate(20.0));
        assert_eq!("90/m".parse::<Rate>().unwrap(), Rate(1.5));
        assert_eq!("5".parse::<Rate>().unwrap(), Rate(5.0));
        assert!("0/s".parse::<Rate>().is_err());
        assert!("x/h".parse::<Rate>().is_err());
        let l: PrefixLimit = "http://a.example/x=2".parse().unwrap();
        assert_eq!((l.prefix.as_str(), l.max), ("http://a.example/x", 2));
        assert!("http://a/=0".parse::<PrefixLimit>().is_err());
        assert!("nolimit".parse::<PrefixLimit>().is_err());
    }

    #[test]
    fn backoff_grows_and_honours_retry_after() {
        let p = policy();
        let w1 = p.wait_before_retry(&status(503, None), 1, 1.0).unwrap();
        let w2 = p.wait_before_retry(&status(503, None), 2, 1.0).unwrap();
        assert_eq!(
            (w1, w2),
            (Duration::from_millis(100), Duration::from_millis(200))
        );
        let half = p.wait_before_retry(&status(503, None), 1, 0.0).unwrap();
        assert_eq!(
            half,
            Duration::from_millis(50),
            "jitter spreads between half and full"
        );
        let told = p.wait_before_retry(&status(429, Some(Duration::from_secs(2))), 1, 0.5);
        assert_eq!(told, Some(Duration::from_secs(2)));
        let capped = p.wait_before_retry(&status(429, Some(Duration::from_secs(60))), 1, 0.5);
        assert_eq!(capped, Some(Duration::from_secs(5)));
        assert_eq!(p.wait_before_retry(&status(404, None), 1, 0.5), None);
        assert_eq!(
            p.wait_before_retry(&status(503, None), 4, 0.5),
            None,
            "out of retries"
        );
        let timeout = Err(Failure::new(ErrorKind::Timeout, "slow"));
        assert!(p.wait_before_retry(&timeout, 1, 0.5).is_some());
        let invalid = Err(Failure::new(ErrorKind::InvalidUrl, "bad"));
        assert_eq!(p.wait_before_retry(&invalid, 1, 0.5), None);
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
