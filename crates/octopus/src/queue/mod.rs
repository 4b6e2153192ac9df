//! One URL list shared by many processes, on any machines, through Redis (`octopus fetch
//! --queue redis://HOST/JOB`): the list in batches on a Redis stream, taken through a
//! consumer group, each URL marked done when its response was handed on, each batch
//! acknowledged when all of its URLs are done; a dead process's batches come back to the
//! living when its lease lapses.
//!
//! The job's keys, all under `octopus:job:JOB:`, and who writes them:
//! - `stream`: the batches (fields `input`, `urls` — "LINE URL" a line —, `n`), added by the
//!   feeder and `octopus enqueue` (`add.lua`), deleted when finished (`mark.lua`) or moved
//!   to the dead letters (`take.lua`); its consumer group `workers` holds who has what.
//! - `done:ID`: a bitmap per batch taken, a bit per URL done (`mark.lua`), read when a batch
//!   comes back after its holder died (those URLs are not fetched again), deleted with it.
//! - `counts`: a hash of `added`, `done`, `dead` (URLs), `fed` (the feeder's requests
//!   handed over, where a new feeder goes on from) and `input_done` (1 once the input is
//!   whole).
//! - `feeder`: who feeds the job, a lease renewed with each batch (`feeder.lua`).
//! - `dead`: the dead-letter stream, batches delivered too many times with why.
//!
//! Invariants: a URL counts as done once (its first mark, while its batch is in the
//! stream); `added = done + dead + pending`, so the job is over exactly when the input is
//! whole and `added = done + dead`; a batch leaves the stream only when every URL of it is
//! done, or to the dead letters; a process keeps the leases of the batches it holds fresh
//! (`marks.rs`), so only a batch whose holder died or stalled past the lease is taken
//! again, and then without the URLs already done: duplicates are bounded by what was in
//! flight. Redis unreachable: every call is tried again until the lease has passed, then the
//! queue is lost (`Queue::lost`) and nothing more is taken; what was not marked stays
//! pending in Redis for the next run.

mod feed;
mod link;
mod marks;
mod take;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::{Connection, RedisResult, Script};

use crate::response::Response;

pub use feed::Feeding;
pub(crate) use link::Link;
pub use take::Taken;

/// The consumer group every process of a job reads through.
const GROUP: &str = "workers";

/// How a process takes part in a shared job.
#[derive(Debug, Clone)]
pub struct QueueSettings {
    /// How long a batch stays with a process that stopped renewing it (it died), before the
    /// living take it; also how long Redis may stay unreachable before the queue is lost.
    pub lease: Duration,
    /// URLs a batch: what a process takes at once (and what a death may leave to fetch again).
    pub batch: usize,
    /// URLs added and not yet done, at most: a feeder waits beyond it (Redis's memory
    /// stays bounded whatever the list's length).
    pub ahead: u64,
    /// Deliveries of a batch, at most, before it goes to the dead letters.
    pub deliveries: u32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            lease: crate::defaults::QUEUE_LEASE,
            batch: 50,
            ahead: 20_000,
            deliveries: 5,
        }
    }
}

/// Where a shared job stands (`octopus queue status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStatus {
    /// URLs added so far.
    pub added: u64,
    /// URLs added and neither done nor dead: waiting, or being fetched.
    pub pending: u64,
    /// URLs done (a record written by some process).
    pub done: u64,
    /// URLs in batches sent to the dead letters (delivered too many times).
    pub dead: u64,
    /// Whether the input is whole (no more URLs will be added).
    pub input_complete: bool,
}

impl QueueStatus {
    /// Whether the job is over: the input whole, every URL done or dead.
    pub fn is_over(&self) -> bool {
        self.input_complete && self.pending == 0
    }
}

/// Why a shared job cannot be used: a bad URL, or Redis not reachable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueError {
    message: String,
    bad_url: bool,
    lost: bool,
}

impl QueueError {
    pub(crate) fn new(message: impl Into<String>) -> QueueError {
        QueueError {
            message: message.into(),
            bad_url: false,
            lost: false,
        }
    }

    pub(crate) fn lost(message: String) -> QueueError {
        QueueError {
            message,
            bad_url: false,
            lost: true,
        }
    }

    pub(crate) fn bad_url(message: String) -> QueueError {
        QueueError {
            message,
            bad_url: true,
            lost: false,
        }
    }

    /// Whether the job's URL is what is wrong (not Redis).
    pub fn is_bad_url(&self) -> bool {
        self.bad_url
    }

    /// Whether Redis, reached before, then stayed unreachable past the lease: what was not
    /// done stays in the job, for the same command to go on with.
    pub fn is_lost(&self) -> bool {
        self.lost
    }
}

impl std::fmt::Display for QueueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for QueueError {}

/// A process's part in a shared job: add URLs to it, take batches of it, mark them done.
/// Clones share one connection pool and one set of batches held.
///
/// ```no_run
/// use octopus::{Octopus, queue::Queue};
/// let queue = Queue::open("redis://127.0.0.1:6379/my-job")?;
/// let otto = Octopus::builder().concurrency(100).build()?;
/// for response in otto.fetch_all(queue.take())? {
///     println!("{} {:?}", response.url(), response.status());
///     queue.done(&response); // after its record is kept: a death now fetches it again
/// }
/// queue.finish()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

struct Inner {
    link: Link,
    job: String,
    keys: Keys,
    /// This process's name in the consumer group.
    me: String,
    settings: QueueSettings,
    scripts: Scripts,
    marks: Mutex<marks::Marks>,
    /// Held while marks are being sent.
    flushing: Mutex<()>,
    /// Where in the pending entries the look for lapsed batches goes on from.
    lapsed: Mutex<String>,
    /// Nothing more is to be taken (`Queue::stop`).
    stopped: AtomicBool,
}

struct Scripts {
    take: Script,
    mark: Script,
    add: Script,
    feeder: Script,
    renew: Script,
}

/// The job's keys.
struct Keys {
    stream: String,
    counts: String,
    dead: String,
    done: String,
    feeder: String,
}

impl Queue {
    /// Join the job `url` names (`redis://[USER:PASSWORD@]HOST[:PORT]/JOB`, `?db=N` for
    /// another database than 0) with the default settings.
    pub fn open(url: &str) -> Result<Queue, QueueError> {
        Queue::open_with(url, QueueSettings::default())
    }

    /// Join the job `url` names with `settings`: one round trip proves Redis answers.
    pub fn open_with(url: &str, settings: QueueSettings) -> Result<Queue, QueueError> {
        let (server, job) = parse_url(url)?;
        let link = Link::open(&server, url, settings.lease)?;
        let base = format!("octopus:job:{job}:");
        let keys = Keys {
            stream: format!("{base}stream"),
            counts: format!("{base}counts"),
            dead: format!("{base}dead"),
            done: format!("{base}done:"),
            feeder: format!("{base}feeder"),
        };
        let inner = Arc::new(Inner {
            link,
            job,
            keys,
            me: consumer_name(),
            settings: QueueSettings {
                batch: settings.batch.max(1),
                ..settings
            },
            scripts: Scripts {
                take: Script::new(include_str!("take.lua")),
                mark: Script::new(include_str!("mark.lua")),
                add: Script::new(include_str!("add.lua")),
                feeder: Script::new(include_str!("feeder.lua")),
                renew: Script::new(include_str!("renew.lua")),
            },
            marks: Mutex::new(marks::Marks::default()),
            flushing: Mutex::new(()),
            lapsed: Mutex::new("0-0".into()),
            stopped: AtomicBool::new(false),
        });
        let created = inner.link.once(|conn| {
            redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(&inner.keys.stream)
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .query::<()>(conn)
        });
        match created {
            Ok(()) => {}
            Err(e) if e.code() == Some("BUSYGROUP") => {}
            Err(e) => return Err(QueueError::new(format!("cannot reach Redis ({url}): {e}"))),
        }
        marks::keep(&inner)?;
        Ok(Queue { inner })
    }

    /// The job's name.
    pub fn job(&self) -> &str {
        &self.inner.job
    }

    /// Mark the URL of `response` done, if it was taken from this job: kept for the next
    /// round trip (a tenth of a second at most), its batch finished once all of it is done.
    pub fn done(&self, response: &Response) {
        if let Some(queued) = response.queued() {
            self.inner.lock_marks().mark(queued);
        }
    }

    /// Send the marks not yet sent. `Err` when Redis could not be reached for the lease.
    pub fn finish(&self) -> Result<(), QueueError> {
        self.inner.flush()
    }

    /// Where the job stands.
    pub fn status(&self) -> Result<QueueStatus, QueueError> {
        self.inner.status()
    }

    /// Whether Redis stayed unreachable past the lease: nothing more was taken, and what was
    /// not marked done stays pending for the next run.
    pub fn lost(&self) -> bool {
        self.inner.link.is_lost()
    }

    /// Take nothing more: [`Queue::take`]'s requests end now, even while the job goes on
    /// (a Ctrl-C). What was taken and not marked done goes to the others after the lease.
    pub fn stop(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
    }
}

impl Inner {
    fn call<T>(&self, f: impl Fn(&mut Connection) -> RedisResult<T>) -> Result<T, QueueError> {
        self.link.call(f)
    }

    fn lock_marks(&self) -> std::sync::MutexGuard<'_, marks::Marks> {
        self.marks.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn status(&self) -> Result<QueueStatus, QueueError> {
        let (added, done, dead, input_done): (Option<u64>, Option<u64>, Option<u64>, Option<u8>) =
            self.call(|conn| {
                redis::cmd("HMGET")
                    .arg(&self.keys.counts)
                    .arg(&["added", "done", "dead", "input_done"][..])
                    .query(conn)
            })?;
        let (added, done, dead) = (added.unwrap_or(0), done.unwrap_or(0), dead.unwrap_or(0));
        Ok(QueueStatus {
            added,
            pending: added.saturating_sub(done + dead),
            done,
            dead,
            input_complete: input_done == Some(1),
        })
    }
}

/// The Redis server's URL and the job's name in `url` (`redis://HOST[:PORT]/JOB[?db=N]`).
pub(crate) fn parse_url(url: &str) -> Result<(String, String), QueueError> {
    let bad =
        |why: &str| QueueError::bad_url(format!("--queue {url}: {why} (redis://HOST[:PORT]/JOB)"));
    let parsed = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if !matches!(parsed.scheme(), "redis" | "rediss") {
        return Err(bad("not a redis:// URL"));
    }
    let job = parsed.path().trim_start_matches('/');
    let fits = |c: char| c.is_ascii_alphanumeric() || "._:-".contains(c);
    if job.is_empty() || job.len() > 100 || !job.chars().all(fits) {
        return Err(bad(
            "the job's name is missing or not made of letters, digits and ._:-",
        ));
    }
    let db = parsed
        .query_pairs()
        .find(|(k, _)| k == "db")
        .map(|(_, v)| v.parse::<u32>().map_err(|_| bad("db is not a number")))
        .transpose()?
        .unwrap_or(0);
    let mut server = parsed.clone();
    server.set_path(&format!("/{db}"));
    server.set_query(None);
    Ok((server.to_string(), job.to_string()))
}

/// A name for this process in the job's consumer group: its host, its process id and the
/// time it started (a restarted process is a new consumer).
pub(crate) fn consumer_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    format!("{host}-{}-{started:x}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_url_names_the_server_and_the_job() {
        let (server, job) = parse_url("redis://127.0.0.1:7000/crawl-1").unwrap();
        assert_eq!(
            (server.as_str(), job.as_str()),
            ("redis://127.0.0.1:7000/0", "crawl-1")
        );
        let (server, _) = parse_url("redis://u:pw@h/j?db=3").unwrap();
        assert_eq!(server, "redis://u:pw@h/3");
        for bad in [
            "redis://h/",
            "http://h/j",
            "redis://h/a b",
            "redis://h/j?db=x",
            "j",
        ] {
            let error = parse_url(bad).unwrap_err().to_string();
            assert!(error.starts_with("--queue"), "{bad}: {error}");
        }
    }
}
