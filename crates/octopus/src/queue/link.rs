//! A process's link to the Redis of a shared job (a URL list, `Queue`, or a crawl's
//! frontier): a few connections, and every call tried again while Redis cannot be reached,
//! until the lease has passed since it last answered; then the link is lost for good.
//!
//! Invariant: once lost, a link makes no more calls (what was not sent stays as Redis has
//! it, for the next run).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redis::{Connection, RedisResult};

use super::QueueError;
use crate::shared::pool::Pool;

pub(crate) struct Link {
    pool: Pool,
    lease: Duration,
    /// Redis stayed unreachable past the lease.
    lost: AtomicBool,
    /// Since when Redis has not answered, if it has not.
    down_since: Mutex<Option<Instant>>,
}

impl Link {
    /// A link to the server `server` (a `redis://` URL as `parse_url` gives it); `named` is
    /// the job's URL as the user gave it, for messages.
    pub fn open(server: &str, named: &str, lease: Duration) -> Result<Link, QueueError> {
        let client = redis::Client::open(server)
            .map_err(|e| QueueError::bad_url(format!("--queue {named}: {e}")))?;
        Ok(Link {
            pool: Pool::new(client),
            lease,
            lost: AtomicBool::new(false),
            down_since: Mutex::new(None),
        })
    }

    /// Run `f` once, without retrying (proving Redis answers at the start).
    pub fn once<T>(&self, f: impl FnOnce(&mut Connection) -> RedisResult<T>) -> RedisResult<T> {
        self.pool.with(f)
    }

    /// Whether Redis stayed unreachable past the lease.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Run `f` on a connection, again and again while Redis cannot be reached, until the
    /// lease has passed since it last answered: the link is lost then.
    pub fn call<T>(&self, f: impl Fn(&mut Connection) -> RedisResult<T>) -> Result<T, QueueError> {
        let mut pause = Duration::from_millis(50);
        loop {
            if self.is_lost() {
                return Err(QueueError::lost("Redis could not be reached".into()));
            }
            let error = match self.pool.with(&f) {
                Ok(answer) => {
                    *self.down_since.lock().unwrap_or_else(|p| p.into_inner()) = None;
                    return Ok(answer);
                }
                Err(e) => e,
            };
            if !(error.is_io_error() || error.is_connection_dropped() || error.is_timeout()) {
                return Err(QueueError::new(format!("Redis refused: {error}")));
            }
            let since = *self
                .down_since
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert_with(Instant::now);
            if since.elapsed() >= self.lease {
                self.lost.store(true, Ordering::SeqCst);
                return Err(QueueError::lost(format!(
                    "Redis could not be reached for {} s (the lease): {error}",
                    self.lease.as_secs_f64()
                )));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }
}
