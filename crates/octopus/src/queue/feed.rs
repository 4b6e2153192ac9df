//! Adding to a job: URLs in batches (one input's URLs a batch), held back while the job is
//! far ahead of its workers; and the feeder's role, held by one process at a time (the
//! first to claim it), taken over where it stopped if that process dies.
//!
//! Invariants: a batch and the feeder's count of requests handed over grow together (one
//! script), so a new feeder given the same input neither skips nor repeats a request; the
//! input is marked whole only after its last batch.

use std::sync::Arc;
use std::time::Duration;

use super::{Inner, Queue, QueueError};
use crate::input::Request;

/// How long a feeder waits before looking again at a job too far ahead of its workers.
const ROOM_POLL: Duration = Duration::from_millis(50);

/// What became of a feeder's input ([`Queue::feed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feeding {
    /// This process fed the job (this many requests, after those an earlier feeder handed
    /// over) and marked its input whole.
    Fed(u64),
    /// Another process feeds the job, or fed it whole.
    Elsewhere,
}

impl Queue {
    /// Add `requests` to the job in batches, holding back while more than the settings'
    /// `ahead` URLs wait: how many were added. A request keeps its input and line (one
    /// without them is shown as line N of input `queue`); its own method, headers or body
    /// cannot be carried (an error).
    pub fn add<I>(&self, requests: I) -> Result<u64, QueueError>
    where
        I: IntoIterator,
        I::Item: Into<Request>,
    {
        let added = self
            .inner
            .add(requests.into_iter().map(Into::into), false)?;
        Ok(added.unwrap_or(0))
    }

    /// Feed the job `requests` if this process holds (or gets) the feeder's role, going on
    /// after what an earlier feeder handed over (every process must be given the same
    /// input), then mark the input whole. Waits while another process feeds it, to take
    /// over if that one dies.
    pub fn feed<I>(&self, requests: I) -> Result<Feeding, QueueError>
    where
        I: IntoIterator,
        I::Item: Into<Request>,
    {
        let inner = &self.inner;
        loop {
            if inner.status()?.input_complete {
                return Ok(Feeding::Elsewhere);
            }
            if inner.hold_feeder()? {
                break;
            }
            std::thread::sleep(inner.settings.lease / 4);
        }
        let fed: Option<u64> = inner.call(|conn| {
            redis::cmd("HGET")
                .arg(&inner.keys.counts)
                .arg("fed")
                .query(conn)
        })?;
        let skip = usize::try_from(fed.unwrap_or(0)).unwrap_or(usize::MAX);
        let requests = requests.into_iter().map(Into::into).skip(skip);
        let Some(added) = inner.add(requests, true)? else {
            return Ok(Feeding::Elsewhere);
        };
        self.complete_input()?;
        inner.call(|conn| redis::cmd("DEL").arg(&inner.keys.feeder).query::<()>(conn))?;
        Ok(Feeding::Fed(added))
    }

    /// Mark the job's input whole: once every URL is done, the job is over.
    pub fn complete_input(&self) -> Result<(), QueueError> {
        let inner = &self.inner;
        inner.call(|conn| {
            redis::cmd("HSET")
                .arg(&inner.keys.counts)
                .arg("input_done")
                .arg(1)
                .query::<()>(conn)
        })
    }
}

/// A batch being made.
#[derive(Default)]
struct Batch {
    input: Option<Arc<str>>,
    urls: String,
    size: u32,
    /// Requests handed over since the last batch sent (the feeder's count).
    handed: u64,
}

impl Inner {
    /// Add `requests` in batches; `None` when `as_feeder` and the role went to another.
    fn add(
        &self,
        requests: impl Iterator<Item = Request>,
        as_feeder: bool,
    ) -> Result<Option<u64>, QueueError> {
        let mut batch = Batch::default();
        let mut added = 0;
        for (position, request) in requests.enumerate() {
            if request.has_shape() {
                return Err(QueueError::new(format!(
                    "{}: a request with its own method, headers, body, timeout or redirect \
                     limit cannot be queued",
                    request.text()
                )));
            }
            let (input, line) = match request.origin_parts() {
                Some((input, line)) => (Arc::clone(input), line),
                None => (Arc::from("queue"), position as u64 + 1),
            };
            if batch.size > 0 && batch.input.as_ref() != Some(&input) {
                added += self.send(&mut batch, as_feeder)?;
            }
            let text: String = request
                .text()
                .chars()
                .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
                .collect();
            batch.urls.push_str(&format!("{line} {text}\n"));
            batch.input = Some(input);
            batch.size += 1;
            batch.handed += 1;
            if batch.size as usize >= self.settings.batch {
                added += self.send(&mut batch, as_feeder)?;
            }
            if as_feeder && batch.size == 0 && !self.hold_feeder()? {
                return Ok(None);
            }
        }
        added += self.send(&mut batch, as_feeder)?;
        Ok(Some(added))
    }

    /// Send `batch` (none if empty) once the job has room for it; how many URLs it held.
    fn send(&self, batch: &mut Batch, as_feeder: bool) -> Result<u64, QueueError> {
        let batch = std::mem::take(batch);
        if batch.size == 0 {
            return Ok(0);
        }
        while self.status()?.pending >= self.settings.ahead {
            if as_feeder {
                self.hold_feeder()?;
            }
            std::thread::sleep(ROOM_POLL);
        }
        let input = batch.input.as_deref().unwrap_or("queue");
        let handed = if as_feeder { batch.handed } else { 0 };
        let mut invocation = self.scripts.add.prepare_invoke();
        invocation
            .key(&self.keys.stream)
            .key(&self.keys.counts)
            .arg(input)
            .arg(&batch.urls)
            .arg(batch.size)
            .arg(handed);
        self.call(|conn| invocation.invoke::<u64>(conn))?;
        Ok(u64::from(batch.size))
    }

    /// Take or renew the feeder's role: whether this process holds it.
    fn hold_feeder(&self) -> Result<bool, QueueError> {
        let mut invocation = self.scripts.feeder.prepare_invoke();
        invocation
            .key(&self.keys.feeder)
            .arg(&self.me)
            .arg(self.settings.lease.as_millis() as u64);
        Ok(self.call(|conn| invocation.invoke::<u64>(conn))? == 1)
    }
}
