//! Validated settings of an `Octopus`, as the builder leaves them: what shapes requests
//! (`ClientSettings`), what the scheduler enforces (`Policy`), the cache, and which statuses
//! count as success.
//!
//! Invariant: everything here was checked by `Builder::build`; nothing downstream validates.

use std::time::Duration;

use crate::http::ClientSettings;
use crate::input::Shard;
use crate::policy::Policy;
use crate::shared::SharedSettings;
use crate::status::StatusSet;

/// The cache's settings, when it is on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CacheSettings {
    pub ttl: Duration,
    pub capacity: usize,
}

/// Everything an `Octopus` runs with.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub concurrency: usize,
    pub client: ClientSettings,
    /// `None`: no cache and no merging of repeats (also for methods other than GET and HEAD).
    pub cache: Option<CacheSettings>,
    pub ok_status: StatusSet,
    pub policy: Policy,
    /// Only the requests of this shard are taken; the others are dropped and counted.
    pub shard: Option<Shard>,
    /// Limits shared through Redis, when asked for.
    pub shared: Option<SharedSettings>,
}
