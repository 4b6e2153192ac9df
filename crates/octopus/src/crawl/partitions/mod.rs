//! A crawl shared by many processes through Redis (`Crawl::queue`): the frontier and the
//! seen-set live in Redis, under `octopus:crawl:JOB:`, and every change is one Lua script.
//!
//! - `seen:XXXX`: the seen-set, exact and compact: a URL's key is the first 10 bytes of its
//!   SHA-256, the first 2 naming one of 65,536 hashes (`XXXX` in hex), the other 8 its
//!   field; the value is `depth * 8 + state` (queued, done, too deep, other, over the page
//!   limit). About 16 bytes a URL while a hash stays under Redis's
//!   `hash-max-listpack-entries` (128: about 6 million URLs a job).
//! - `front:N`: partition N's URLs waiting, in the order admitted; `fly:N`: those taken and
//!   not yet handled (by key); `owner:N`: the process holding the partition, a lease.
//!   A URL's partition is the hash of its host and port, one of [`PARTITIONS`].
//! - `over`: URLs held back by the page limit; `counts`: `admitted`, `pages`, `seeded`;
//!   `members`: the processes alive (a sorted set of lease ends); `calm:N`: a released
//!   partition no one may take for the politeness delay.
//!
//! Invariants: a URL is queued if and only if it was not seen, in the same step
//! (`admit.lua`), so no URL is queued twice and none is seen without being queued (or
//! counted: too deep, over the limit, out of scope); a page's links are admitted and the
//! page marked done in one step, only by the partition's holder (a stale owner writes
//! nothing); a partition taken from a dead process gets its URLs in flight back first
//! (`take.lua`): duplicates are bounded by what the dead had in flight; the crawl is over
//! exactly when it was seeded and no partition has a URL waiting or in flight.

mod leases;
mod take;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use redis::Script;
use sha2::{Digest, Sha256};
use url::Url;

use super::store::{Admitted, Failed};
use crate::queue::{Link, QueueError, consumer_name, parse_url};
pub(crate) use leases::Leases;

/// Partitions of a shared crawl's hosts: many more than the processes that share it.
pub const PARTITIONS: u32 = 64;

/// A URL's key in the seen-set (see the module's header).
type Key = [u8; 10];

/// A URL that failed: its status, or the kind of its failure.
pub(super) type Failure = (String, Option<u16>, Option<String>);

/// What the crawl offers for one link of a page.
pub(super) enum Offer<'a> {
    /// In the scope: followed.
    Follow(&'a Url),
    /// Out of the scope, checked (`check_external`).
    External(&'a Url),
    /// Out of the scope, only counted (once).
    Out(&'a Url),
}

/// What came of the URLs offered in one step.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub admitted: Vec<Admitted>,
    /// Links out of the scope met for the first time.
    pub out_of_scope: u64,
}

/// What a process of a shared crawl keeps to (every process should be given the same).
pub(super) struct Limits {
    /// The delay between two requests to a host, kept when a partition changes hands.
    pub calm: Duration,
    pub max_depth: u32,
    pub max_pages: Option<u64>,
    /// Requests in flight at most: no partition has more URLs in flight.
    pub concurrency: usize,
}

/// Where the URLs of one admission step come from.
enum Step<'a> {
    /// A page handled here (marked done in the same step), and how it failed.
    Page(&'a Held, Option<&'a Failed>),
    /// Seeds (`parent` ""), or a sitemap's pages.
    Listed { parent: &'a str, depth: u32 },
}

/// A URL taken, until it is handled.
struct Held {
    partition: u16,
    key: Key,
    url: String,
    /// Fetched again for its links only: not a page more.
    again: bool,
}

/// This process's part in a shared crawl.
pub(super) struct Partitions {
    link: Arc<Link>,
    prefix: String,
    me: String,
    lease: Duration,
    /// What this process keeps to.
    limits: Limits,
    scripts: Scripts,
    held: HashMap<i64, Held>,
    next_id: i64,
    /// Where the next look for partitions to claim starts (spread over processes).
    start: u32,
    /// When this process last looked for partitions to claim.
    looked: Option<std::time::Instant>,
    /// Partitions held over the fair share, being given back (see `take.lua`).
    giving: Vec<u16>,
    leases: Arc<Leases>,
    /// URLs another process had taken and not finished, taken over by this one.
    pub taken_over: u64,
}

struct Scripts {
    admit: Script,
    take: Script,
    disallowed: Script,
    status: Script,
    give_back: Script,
}

impl Partitions {
    /// Join the crawl `url` names (`redis://HOST[:PORT]/JOB`), its partitions held under
    /// `lease`, keeping to `limits`.
    pub fn open(url: &str, lease: Duration, limits: Limits) -> Result<Partitions, QueueError> {
        let (server, job) = parse_url(url)?;
        let link = Arc::new(Link::open(&server, url, lease)?);
        link.once(|conn| redis::cmd("PING").query::<()>(conn))
            .map_err(|e| QueueError::new(format!("cannot reach Redis ({url}): {e}")))?;
        let prefix = format!("octopus:crawl:{job}:");
        let me = consumer_name();
        let leases = Arc::new(Leases::new(lease));
        leases::keep(&leases, &link, prefix.clone(), me.clone());
        let start = u32::from_le_bytes(key_of(&me)[..4].try_into().unwrap_or([0; 4]));
        Ok(Partitions {
            link,
            prefix,
            me,
            lease,
            limits,
            scripts: Scripts {
                admit: Script::new(include_str!("admit.lua")),
                take: Script::new(include_str!("take.lua")),
                disallowed: Script::new(include_str!("disallowed.lua")),
                status: Script::new(include_str!("status.lua")),
                give_back: Script::new(include_str!("give_back.lua")),
            },
            held: HashMap::new(),
            next_id: 1,
            start: start % PARTITIONS,
            looked: None,
            giving: Vec::new(),
            leases,
            taken_over: 0,
        })
    }

    /// The leases, for the engines' threads to check before a page is handed on.
    pub fn leases(&self) -> Arc<Leases> {
        Arc::clone(&self.leases)
    }

    fn max_pages_arg(&self) -> i64 {
        self.limits
            .max_pages
            .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX))
    }

    /// Admit URLs listed by `parent` (a sitemap; "" for seeds) at `depth`: seeds and the
    /// pages of a sitemap. URLs another process admitted are seen: any process may be given
    /// the same seeds or read the same sitemap.
    pub fn listed(
        &mut self,
        parent: &str,
        depth: u32,
        offers: &[Offer<'_>],
    ) -> Result<Tally, QueueError> {
        let mut tally = Tally::default();
        // A step a thousand: Redis runs nothing else during a script.
        for chunk in offers.chunks(1000) {
            if let Some(more) = self.admit(Step::Listed { parent, depth }, None, chunk)? {
                tally.admitted.extend(more.admitted);
                tally.out_of_scope += more.out_of_scope;
            }
        }
        Ok(tally)
    }

    /// Page `id` was handled: `reached` (where its redirects ended) and its links admitted,
    /// the page done, in one step. `None` when its partition is no longer this process's:
    /// nothing was written (another process fetches the page again).
    pub fn handled(
        &mut self,
        id: i64,
        reached: Option<&Url>,
        failed: Option<&Failed>,
        links: &[Offer<'_>],
    ) -> Result<Option<Tally>, QueueError> {
        let Some(held) = self.held.remove(&id) else {
            return Ok(Some(Tally::default()));
        };
        self.admit(Step::Page(&held, failed), reached, links)
    }

    /// The URL of page `id`, taken here and not yet handled.
    pub fn url_of(&self, id: i64) -> Option<&str> {
        self.held.get(&id).map(|held| held.url.as_str())
    }

    /// Every URL of the crawl that failed, wherever it was fetched: its status, or the kind
    /// of its failure (for the broken-link report, once the crawl is over).
    pub fn failures(&self) -> Result<Vec<Failure>, QueueError> {
        let failed = format!("{}failed", self.prefix);
        let all: Vec<(String, String)> = self
            .link
            .call(|conn| redis::cmd("HGETALL").arg(&failed).query(conn))?;
        let read = |(url, how): (String, String)| {
            let (status, kind) = how.split_once('|').unwrap_or((&how, ""));
            let kind = (!kind.is_empty()).then(|| kind.to_string());
            (url, status.parse().ok(), kind)
        };
        Ok(all.into_iter().map(read).collect())
    }

    fn admit(
        &self,
        step: Step<'_>,
        reached: Option<&Url>,
        offers: &[Offer<'_>],
    ) -> Result<Option<Tally>, QueueError> {
        let mut invocation = self.scripts.admit.prepare_invoke();
        invocation
            .arg(&self.prefix)
            .arg(&self.me)
            .arg(self.limits.max_depth)
            .arg(self.max_pages_arg());
        match step {
            Step::Page(page, _) => invocation
                .arg("page")
                .arg(page.partition)
                .arg(&page.key[..])
                .arg(&page.url),
            Step::Listed { parent, depth } => {
                invocation.arg("listed").arg(depth).arg("").arg(parent)
            }
        };
        match reached {
            Some(url) => invocation
                .arg(&key_of(url.as_str())[..])
                .arg(partition_of(url)),
            None => invocation.arg("").arg(0),
        };
        match step {
            Step::Page(_, Some(failed)) => {
                let status = failed.status.map_or(String::new(), |s| s.to_string());
                invocation.arg(format!("{status}|{}", failed.error.unwrap_or("")))
            }
            _ => invocation.arg(""),
        };
        invocation.arg(u8::from(matches!(step, Step::Page(held, _) if held.again)));
        for offer in offers {
            let (url, kind) = match offer {
                Offer::Follow(url) => (url, "f"),
                Offer::External(url) => (url, "e"),
                Offer::Out(url) => (url, "o"),
            };
            invocation
                .arg(&key_of(url.as_str())[..])
                .arg(partition_of(url))
                .arg(kind)
                .arg(url.as_str());
        }
        let counts: Vec<u64> = self.link.call(|conn| invocation.invoke(conn))?;
        let count = |i: usize| counts.get(i).copied().unwrap_or(0);
        if count(6) == 1 {
            return Ok(None);
        }
        let mut admitted = Vec::new();
        let kinds = [
            Admitted::Queued,
            Admitted::TooDeep,
            Admitted::OverLimit,
            Admitted::NoLongerTooDeep { over: false },
            Admitted::NoLongerTooDeep { over: true },
        ];
        for (i, kind) in kinds.into_iter().enumerate() {
            for _ in 0..count(i) {
                admitted.push(kind.clone());
            }
        }
        Ok(Some(Tally {
            admitted,
            out_of_scope: count(5),
        }))
    }

    /// robots.txt disallows page `id` (or could not be fetched): handled, never fetched;
    /// whether a URL held back by the page limit was queued in its place.
    pub fn disallowed(&mut self, id: i64, unreachable: Option<&str>) -> Result<bool, QueueError> {
        let Some(held) = self.held.remove(&id) else {
            return Ok(false);
        };
        let mut invocation = self.scripts.disallowed.prepare_invoke();
        invocation
            .arg(&self.prefix)
            .arg(&self.me)
            .arg(held.partition)
            .arg(&held.key[..])
            .arg(self.max_pages_arg())
            .arg(unreachable.unwrap_or(""))
            .arg(&held.url);
        let promoted: i64 = self.link.call(|conn| invocation.invoke(conn))?;
        Ok(promoted == 1)
    }

    /// Page `id` will not be handled here (its lease looked lapsed before its handler): put
    /// back in its partition's list if the partition is still this process's (a lease
    /// renewed late), so that it is not left in flight for ever.
    pub fn give_back(&mut self, id: i64) -> Result<(), QueueError> {
        let Some(held) = self.held.remove(&id) else {
            return Ok(());
        };
        let mut invocation = self.scripts.give_back.prepare_invoke();
        invocation
            .arg(&self.prefix)
            .arg(&self.me)
            .arg(held.partition)
            .arg(&held.key[..]);
        self.link
            .call(|conn| invocation.invoke::<i64>(conn))
            .map(drop)
    }

    /// Where the crawl stands (for every process).
    pub fn status(&self) -> Result<SharedCrawlStatus, QueueError> {
        read_status(&self.link, &self.scripts.status, &self.prefix)
    }
}

/// Where a crawl shared through Redis ([`crate::Crawl::queue`]) stands, for every process
/// of it (`octopus queue status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SharedCrawlStatus {
    /// Whether some process admitted its seeds.
    pub seeded: bool,
    /// URLs waiting to be taken.
    pub waiting: u64,
    /// URLs taken by a process and not yet handled.
    pub in_flight: u64,
    /// URLs admitted (what the page limit counts).
    pub admitted: u64,
    /// Pages handled.
    pub pages: u64,
}

impl SharedCrawlStatus {
    /// Whether the crawl is over: seeded, nothing waiting or in flight.
    pub fn is_over(&self) -> bool {
        self.seeded && self.waiting == 0 && self.in_flight == 0
    }
}

/// Where the crawl `url` names (`redis://HOST[:PORT]/JOB`) stands; `None` if Redis holds no
/// crawl of that name. One round trip: nothing is written.
pub fn shared_status(url: &str) -> Result<Option<SharedCrawlStatus>, QueueError> {
    let (server, job) = parse_url(url)?;
    let link = Link::open(&server, url, crate::defaults::QUEUE_LEASE)?;
    let prefix = format!("octopus:crawl:{job}:");
    let script = Script::new(include_str!("status.lua"));
    let counts = format!("{prefix}counts");
    let known: bool = link
        .once(|conn| redis::cmd("EXISTS").arg(&counts).query(conn))
        .map_err(|e| QueueError::new(format!("cannot reach Redis ({url}): {e}")))?;
    match known {
        true => read_status(&link, &script, &prefix).map(Some),
        false => Ok(None),
    }
}

fn read_status(
    link: &Link,
    script: &Script,
    prefix: &str,
) -> Result<SharedCrawlStatus, QueueError> {
    let mut invocation = script.prepare_invoke();
    invocation.arg(prefix).arg(PARTITIONS);
    let (seeded, waiting, in_flight, admitted, pages): (u8, u64, u64, u64, u64) =
        link.call(|conn| invocation.invoke(conn))?;
    Ok(SharedCrawlStatus {
        seeded: seeded == 1,
        waiting,
        in_flight,
        admitted,
        pages,
    })
}

impl Drop for Partitions {
    /// Leave the crawl: the partitions held are released at once (one try: if Redis does
    /// not answer, their leases lapse and the others take them then).
    fn drop(&mut self) {
        self.leases.end();
        if self.link.is_lost() {
            return;
        }
        let leave = Script::new(include_str!("leave.lua"));
        let mut invocation = leave.prepare_invoke();
        invocation.arg(&self.prefix).arg(&self.me).arg(PARTITIONS);
        let _ = self.link.once(|conn| invocation.invoke::<i64>(conn));
    }
}

/// A URL's key: the first 10 bytes of its SHA-256.
fn key_of(url: &str) -> Key {
    let digest = Sha256::digest(url.as_bytes());
    let mut key = [0; 10];
    key.copy_from_slice(&digest[..10]);
    key
}

/// The partition of `url`'s host in a shared crawl (below [`PARTITIONS`]): hosts of one
/// partition are fetched by one process at a time. `None` if `url` is not a URL.
///
/// ```
/// let p = octopus::crawl::partition("http://example.org:8080/a").expect("a URL");
/// assert_eq!(octopus::crawl::partition("http://example.org:8080/b"), Some(p));
/// assert!(u32::from(p) < octopus::crawl::PARTITIONS);
/// ```
pub fn partition(url: &str) -> Option<u16> {
    Url::parse(url).ok().map(|url| partition_of(&url))
}

/// A URL's partition: the hash of its host and port (a host as `per_host` counts them).
pub(super) fn partition_of(url: &Url) -> u16 {
    let host = format!(
        "{}:{}",
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    );
    let key = key_of(&host);
    (u32::from_le_bytes([key[0], key[1], key[2], key[3]]) % PARTITIONS) as u16
}
