//! Politeness settings and their arithmetic: in-flight limits per host and per URL prefix,
//! a global start rate, a per-host gap between starts, and the retry policy (which outcomes,
//! how long to wait). The scheduler (`run/`) applies them.
//!
//! Invariant: pure arithmetic, no I/O and no clock (times are passed in).

use std::time::Duration;

use crate::response::Outcome;
use crate::status::StatusSet;

/// One prefix limit: at most `max` requests in flight to URLs starting with `prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PrefixLimit {
    pub prefix: String,
    pub max: usize,
}

/// When and how to try a URL again.
#[derive(Debug, Clone)]
pub(crate) struct RetryPolicy {
    /// Retries after the first attempt (0: none).
    pub retries: u32,
    /// Statuses that are retried (default 429 and 500-599).
    pub on_status: StatusSet,
    /// Base of the exponential backoff.
    pub base: Duration,
    /// Longest wait before a retry, Retry-After included.
    pub max_wait: Duration,
}

impl RetryPolicy {
    /// How long to wait before attempt `attempt + 1`, or `None` when the outcome is final.
    /// `jitter` in 0..1 spreads retries (full jitter on the exponential part).
    pub fn wait_before_retry(
        &self,
        outcome: &Outcome,
        attempt: u32,
        jitter: f64,
    ) -> Option<Duration> {
        if attempt > self.retries {
            return None;
        }
        let retry_after = match outcome {
            Outcome::Answered(r) if self.on_status.contains(r.status) => r.retry_after,
            Outcome::Failed(f) if f.is_transient() => None,
            _ => return None,
        };
        let exponential = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let factor = 0.5 + jitter.clamp(0.0, 1.0) / 2.0;
        let backoff = Duration::try_from_secs_f64(exponential.as_secs_f64() * factor)
            .unwrap_or(Duration::MAX);
        Some(retry_after.unwrap_or(backoff).min(self.max_wait))
    }
}

/// Everything the scheduler enforces. With no limit set, every URL may start at once.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub per_host: Option<usize>,
    pub limits: Vec<PrefixLimit>,
    /// The gap between two request starts (from the rate), overall.
    pub interval: Option<Duration>,
    /// The gap between two requests to the same host (from when the last went out).
    pub delay: Option<Duration>,
    pub retry: RetryPolicy,
    /// URLs the scheduler looks at, past ones that have to wait.
    pub lookahead: usize,
}

impl Policy {
    /// The first prefix limit whose prefix starts `url`.
    pub fn limit_for(&self, url: &str) -> Option<usize> {
        self.limits.iter().position(|l| url.starts_with(&l.prefix))
    }

    /// Whether a URL's host must be known (per-host limits and delays count by it).
    pub fn counts_hosts(&self) -> bool {
        self.per_host.is_some() || self.delay.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::{ErrorKind, Failure};

    fn policy() -> RetryPolicy {
        RetryPolicy {
            retries: 3,
            on_status: StatusSet::new(vec![(429, 429), (500, 599)]),
            base: Duration::from_millis(100),
            max_wait: Duration::from_secs(5),
        }
    }

    fn status(code: u16, retry_after: Option<Duration>) -> Outcome {
        let mut fetched = crate::run::tests::fetched(code);
        fetched.retry_after = retry_after;
        Outcome::Answered(fetched)
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
        let timeout = Outcome::Failed(Failure::new(ErrorKind::Timeout, "slow"));
        assert!(p.wait_before_retry(&timeout, 1, 0.5).is_some());
        let invalid = Outcome::Failed(Failure::new(ErrorKind::InvalidUrl, "bad"));
        assert_eq!(p.wait_before_retry(&invalid, 1, 0.5), None);
    }

    #[test]
    fn huge_bases_saturate_instead_of_overflowing() {
        let p = RetryPolicy {
            base: Duration::MAX,
            max_wait: Duration::from_secs(60),
            ..policy()
        };
        let wait = p.wait_before_retry(&status(503, None), 3, 1.0);
        assert_eq!(wait, Some(Duration::from_secs(60)));
        let unbounded = RetryPolicy {
            max_wait: Duration::MAX,
            ..p
        };
        assert!(
            unbounded
                .wait_before_retry(&status(503, None), 3, 1.0)
                .is_some()
        );
    }
}
