//! The defaults of [`Builder`](crate::Builder)'s settings, and the bounds it checks them
//! against, written once: the builder starts from them, and the `octopus` command line
//! shows them in `--help` and uses them when a flag is not given.
//!
//! ```
//! use octopus::defaults;
//! assert_eq!(defaults::CONCURRENCY, 50);
//! assert_eq!(defaults::TIMEOUT, std::time::Duration::from_secs(10));
//! ```

use std::ops::RangeInclusive;
use std::time::Duration;

use crate::capture::Layout;
use crate::input::ShardBy;

/// The longest duration any setting takes (a year): longer ones are refused, so that no
/// deadline can overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// The most requests in flight an `Octopus` takes.
pub const MAX_CONCURRENCY: usize = 100_000;

/// [`Builder::concurrency`](crate::Builder::concurrency): requests in flight at once.
pub const CONCURRENCY: usize = 50;

/// [`Builder::timeout`](crate::Builder::timeout): the deadline of each whole request.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// [`Builder::connect_timeout`](crate::Builder::connect_timeout).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// [`Builder::max_redirects`](crate::Builder::max_redirects).
pub const MAX_REDIRECTS: u32 = 10;

/// [`Builder::dns_concurrency`](crate::Builder::dns_concurrency): names looked up at once.
pub const DNS_CONCURRENCY: usize = 256;

/// [`Builder::max_body`](crate::Builder::max_body): 100 MiB.
pub const MAX_BODY: u64 = 100 << 20;

/// [`Builder::ok_status`](crate::Builder::ok_status): what counts as success.
pub const OK_STATUS: &[RangeInclusive<u16>] = &[200..=399];

/// The cache's time to live when it is turned on ([`Builder::cache_ttl`](crate::Builder::cache_ttl)):
/// the library keeps no cache unless asked; the command line keeps one for this long
/// unless `--no-cache` (the original octopus's `expiration_in_seconds` was 30 too).
pub const CACHE_TTL: Duration = Duration::from_secs(30);

/// [`Builder::cache_size`](crate::Builder::cache_size): the most responses kept.
pub const CACHE_SIZE: usize = 100_000;

/// [`Builder::lookahead`](crate::Builder::lookahead).
pub const LOOKAHEAD: usize = 1000;

/// [`Builder::retries`](crate::Builder::retries): none.
pub const RETRIES: u32 = 0;

/// [`Builder::retry_on`](crate::Builder::retry_on): 429 and 500-599.
pub const RETRY_ON: &[RangeInclusive<u16>] = &[429..=429, 500..=599];

/// [`Builder::retry_delay`](crate::Builder::retry_delay): the backoff's base.
pub const RETRY_DELAY: Duration = Duration::from_secs(1);

/// [`Builder::max_retry_wait`](crate::Builder::max_retry_wait).
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);

/// [`Builder::save_layout`](crate::Builder::save_layout).
pub const LAYOUT: Layout = Layout::Mirror;

/// [`Builder::shard_by`](crate::Builder::shard_by).
pub const SHARD_BY: ShardBy = ShardBy::Host;

/// [`Builder::redis_prefix`](crate::Builder::redis_prefix).
pub const REDIS_PREFIX: &str = "octopus";

/// [`Builder::redis_lease`](crate::Builder::redis_lease).
pub const REDIS_LEASE: Duration = Duration::from_secs(30);

/// [`Builder::redis_outage`](crate::Builder::redis_outage).
pub const REDIS_OUTAGE: Duration = Duration::from_secs(60);

/// [`QueueSettings::lease`](crate::queue::QueueSettings::lease).
pub const QUEUE_LEASE: Duration = Duration::from_secs(30);
