//! Taking a job's batches: `Taken`, the requests of the batches this process takes, one
//! batch at a time as it asks for more (a batch whose holder died first, then new ones), each
//! request knowing where it sits in the job (`input::Queued`); it ends when the job is over.
//!
//! Invariants: a URL already marked done in a batch taken again is not handed out; a batch
//! is held from when it is taken (`marks.rs`); the end comes only when the input is whole,
//! every URL is done or dead, and this process has nothing held or unsent.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use redis::Value;

use super::{GROUP, Inner, Queue, QueueError};
use crate::input::{Queued, Request};

/// How long a taker waits before asking again when there is nothing to take.
const IDLE: Duration = Duration::from_millis(50);

/// The requests of the batches this process takes from a job, as an `Octopus` pulls them
/// ([`crate::Octopus::fetch_all`]); waits while the job has nothing to take but is not over.
pub struct Taken {
    queue: Queue,
    ready: VecDeque<Request>,
    over: bool,
}

impl Queue {
    /// The requests this process takes from the job, batch by batch as they are pulled,
    /// until the job is over (or Redis is lost: [`Queue::lost`]). Mark each one done
    /// ([`Queue::done`]) once its response is handed on.
    pub fn take(&self) -> Taken {
        Taken {
            queue: self.clone(),
            ready: VecDeque::new(),
            over: false,
        }
    }
}

impl Iterator for Taken {
    type Item = Request;

    fn next(&mut self) -> Option<Request> {
        loop {
            if let Some(request) = self.ready.pop_front() {
                return Some(request);
            }
            let inner = &self.queue.inner;
            if self.over || inner.stopped.load(std::sync::atomic::Ordering::SeqCst) {
                return None;
            }
            match inner.take_batch() {
                Ok(Some(batch)) => self.ready.extend(batch),
                Ok(None) => match inner.is_over_here() {
                    Ok(true) => self.over = true,
                    Ok(false) => std::thread::sleep(IDLE),
                    Err(_) => self.over = true,
                },
                Err(_) => self.over = true,
            }
        }
    }

    /// The requests at hand: that many come without a round trip to Redis.
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.ready.len(), None)
    }
}

impl Inner {
    /// One batch's requests (those not done yet), or `None` when there is none to take.
    fn take_batch(&self) -> Result<Option<Vec<Request>>, QueueError> {
        let mut invocation = self.scripts.take.prepare_invoke();
        invocation
            .key(&self.keys.stream)
            .key(&self.keys.counts)
            .key(&self.keys.dead)
            .key(&self.keys.done)
            .arg(GROUP)
            .arg(&self.me)
            .arg(self.settings.lease.as_millis() as u64)
            .arg(self.settings.deliveries)
            .arg(self.lapsed_from());
        let answer: Vec<Value> = self.call(|conn| invocation.invoke(conn))?;
        if let Some(cursor) = answer.last().and_then(text) {
            *self.lapsed_cursor() = cursor;
        }
        let [id, input, urls, size, done, _deliveries, _cursor] = answer.as_slice() else {
            return Ok(None);
        };
        let (Some(id), Some(input), Some(urls), Some(done)) =
            (text(id), text(input), text(urls), bytes(done))
        else {
            return Err(QueueError::new(
                "Redis answered a batch in a form not expected",
            ));
        };
        let batch: Arc<str> = Arc::from(id.as_str());
        let size = int(size).unwrap_or(0) as u32;
        let requests = requests(&batch, Arc::from(input.as_str()), &urls, size, &done);
        self.lock_marks()
            .hold(Arc::clone(&batch), requests.len() as u32);
        Ok(Some(requests))
    }

    /// Where the look for lapsed batches goes on from (`take.lua`).
    fn lapsed_cursor(&self) -> std::sync::MutexGuard<'_, String> {
        self.lapsed.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lapsed_from(&self) -> String {
        self.lapsed_cursor().clone()
    }

    /// Whether the job is over and nothing of it is left here (marks sent first).
    fn is_over_here(&self) -> Result<bool, QueueError> {
        self.flush()?;
        Ok(self.status()?.is_over() && self.lock_marks().is_idle())
    }
}

/// The requests of a batch (`urls`: "LINE URL" a line) but those `done` marks (a bitmap, bit
/// 0 the first byte's highest).
fn requests(batch: &Arc<str>, input: Arc<str>, urls: &str, size: u32, done: &[u8]) -> Vec<Request> {
    let is_done = |index: usize| {
        done.get(index / 8)
            .is_some_and(|byte| byte & (0x80 >> (index % 8)) != 0)
    };
    urls.lines()
        .enumerate()
        .filter(|(index, _)| !is_done(*index))
        .map(|(index, entry)| {
            let (line, text) = entry.split_once(' ').unwrap_or(("0", entry));
            let queued = Queued {
                batch: Arc::clone(batch),
                index: index as u32,
                size,
            };
            let line = line.parse().unwrap_or(0);
            Request::queued(text.to_string(), Arc::clone(&input), line, queued)
        })
        .collect()
}

fn bytes(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(bytes) => Some(bytes.clone()),
        Value::SimpleString(text) => Some(text.clone().into_bytes()),
        Value::Nil => Some(Vec::new()),
        _ => None,
    }
}

fn text(value: &Value) -> Option<String> {
    bytes(value).map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn int(value: &Value) -> Option<u64> {
    match value {
        Value::Int(n) => u64::try_from(*n).ok(),
        other => text(other)?.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_gives_its_urls_but_those_done() {
        let batch: Arc<str> = Arc::from("1-0");
        let urls = "3 http://a/\n4 http://b/ with space\n9 http://c/\n";
        // Bit 1 set: the second URL is done.
        let taken = requests(&batch, Arc::from("urls.txt"), urls, 3, &[0b0100_0000]);
        let shown: Vec<(String, Option<u64>)> = taken
            .iter()
            .map(|r| (r.text().to_string(), r.origin_parts().map(|(_, l)| l)))
            .collect();
        assert_eq!(
            shown,
            [("http://a/".into(), Some(3)), ("http://c/".into(), Some(9))]
        );
    }
}
