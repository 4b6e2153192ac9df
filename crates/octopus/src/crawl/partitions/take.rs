//! Taking URLs of a shared crawl (`take.lua`): the partitions this process holds, as Redis
//! says after the step (their leases counted from before it), and each URL taken held here
//! under an id of this process until it is handled.

use std::time::{Duration, Instant};

use redis::Value;

use super::{Held, Key, PARTITIONS, Partitions};
use crate::crawl::store::Entry;
use crate::queue::QueueError;

/// How often a process looks for partitions to claim (and gives back those over its fair
/// share); in between it only takes from those it holds (a look reads every partition).
const LOOK_EVERY: Duration = Duration::from_millis(250);

impl Partitions {
    /// Up to `n` URLs of the partitions this process holds (claiming more when it has
    /// room for them), taken.
    pub fn take(&mut self, n: usize) -> Result<Vec<Entry>, QueueError> {
        let asked = Instant::now();
        let held = self.leases.held();
        let look = held.is_empty() || self.looked.is_none_or(|at| at.elapsed() >= LOOK_EVERY);
        let mut invocation = self.scripts.take.prepare_invoke();
        invocation
            .arg(&self.prefix)
            .arg(&self.me)
            .arg(self.lease.as_millis() as u64)
            .arg(n)
            .arg(self.start)
            .arg(PARTITIONS)
            .arg(self.limits.calm.as_millis() as u64)
            .arg(self.limits.concurrency.max(1))
            .arg(u8::from(look));
        if look {
            self.looked = Some(asked);
        } else {
            for p in held {
                match self.giving.contains(&p) {
                    true => invocation.arg(format!("d{p}")),
                    false => invocation.arg(p),
                };
            }
        }
        let answer: Vec<Value> = self.link.call(|conn| invocation.invoke(conn))?;
        let mut answer = answer.into_iter();
        let owned: Vec<u16> = answer
            .next()
            .and_then(|v| redis::from_redis_value(v).ok())
            .unwrap_or_default();
        let given_back: u64 = answer
            .next()
            .and_then(|v| redis::from_redis_value(v).ok())
            .unwrap_or(0);
        self.taken_over += given_back;
        // Over the fair share (as the last look found): nothing more taken from these.
        self.giving = answer
            .next()
            .and_then(|v| redis::from_redis_value(v).ok())
            .unwrap_or_default();
        for p in 0..PARTITIONS as u16 {
            match owned.contains(&p) {
                true => self.leases.granted(p, asked),
                false => self.leases.lost(p),
            }
        }
        let mut entries = Vec::new();
        while let (Some(partition), Some(depth), Some(entry)) =
            (answer.next(), answer.next(), answer.next())
        {
            let (Ok(partition), Ok(depth), Ok(entry)) = (
                redis::from_redis_value::<u16>(partition),
                redis::from_redis_value::<u32>(depth),
                redis::from_redis_value::<Vec<u8>>(entry),
            ) else {
                continue;
            };
            if let Some(entry) = self.entry(partition, depth, &entry) {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// An entry of `front:N` as the crawl's, held under a new id.
    fn entry(&mut self, partition: u16, depth: u32, raw: &[u8]) -> Option<Entry> {
        let key: Key = raw.get(..10)?.try_into().ok()?;
        let flag = raw.get(10).copied().unwrap_or(b'0').wrapping_sub(b'0');
        let text = String::from_utf8_lossy(raw.get(11..)?);
        let (parent, url) = text.split_once('\n')?;
        let id = self.next_id;
        self.next_id += 1;
        self.held.insert(
            id,
            Held {
                partition,
                key,
                url: url.to_string(),
                again: flag & 2 == 2,
            },
        );
        Some(Entry {
            id,
            url: url.to_string(),
            depth,
            parent: (!parent.is_empty()).then(|| parent.to_string()),
            parent_id: None,
            external: flag & 1 == 1,
            again: flag & 2 == 2,
            partition: Some(partition),
        })
    }
}
