//! `StatusSet`: inclusive ranges of HTTP statuses (which count as success, which are
//! retried). A leaf: the policy, the scheduler and the saver all read it.

/// Inclusive ranges of statuses (which count as success, which are retried).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatusSet(Vec<(u16, u16)>);

impl StatusSet {
    pub fn new(ranges: Vec<(u16, u16)>) -> Self {
        StatusSet(ranges)
    }

    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&status))
    }
}
