//! The batches a process holds and the marks of its URLs done. Marks wait here and go to
//! Redis in one round trip (`mark.lua`) every tenth of a second, from a thread of the
//! queue's own that also keeps the held batches' leases fresh (`renew.lua`, a third of the
//! lease apart), or sooner when a taker finds nothing left to take.
//!
//! Invariants: a batch is held (its lease renewed) from when it is taken until every URL of
//! it taken here is marked and the marks are sent, or until Redis says it is no longer
//! this process's; a mark is sent once, or lost with the queue.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::{GROUP, Inner, QueueError};
use crate::input::Queued;

/// How often marks are sent.
const SEND_EVERY: Duration = Duration::from_millis(100);
/// Marks a round trip, at most.
const MARKS_A_TRIP: usize = 300;

#[derive(Default)]
pub(super) struct Marks {
    /// Batches taken and not finished here: entry id → URLs of it taken here and not marked.
    held: HashMap<Arc<str>, u32>,
    /// Marks not sent yet: (batch, index in it, its size).
    unsent: Vec<(Arc<str>, u32, u32)>,
}

impl Marks {
    /// `batch` was taken, `count` of its URLs to fetch here.
    pub fn hold(&mut self, batch: Arc<str>, count: u32) {
        self.held.insert(batch, count);
    }

    /// The URL at `queued` was handed on.
    pub fn mark(&mut self, queued: &Queued) {
        if let Some(left) = self.held.get_mut(&queued.batch) {
            *left = left.saturating_sub(1);
        }
        (self.unsent).push((Arc::clone(&queued.batch), queued.index, queued.size));
    }

    /// Nothing held, nothing to send.
    pub fn is_idle(&self) -> bool {
        self.held.is_empty() && self.unsent.is_empty()
    }

    /// Batches whose URLs are all marked, their marks sent: held no more.
    fn forget_finished(&mut self) {
        let unsent = &self.unsent;
        (self.held).retain(|batch, left| *left > 0 || unsent.iter().any(|(b, ..)| b == batch));
    }
}

impl Inner {
    /// Send the marks waiting (several round trips when many wait).
    pub(super) fn flush(&self) -> Result<(), QueueError> {
        // One at a time: a batch is held until the marks another flush took are sent.
        let _one = self.flushing.lock().unwrap_or_else(|p| p.into_inner());
        let unsent = std::mem::take(&mut self.lock_marks().unsent);
        for chunk in unsent.chunks(MARKS_A_TRIP) {
            let mut invocation = self.scripts.mark.prepare_invoke();
            invocation
                .key(&self.keys.stream)
                .key(&self.keys.counts)
                .key(&self.keys.done)
                .arg(GROUP);
            for (batch, index, size) in chunk {
                invocation.arg(&**batch).arg(*index).arg(*size);
            }
            self.call(|conn| invocation.invoke::<u64>(conn))?;
        }
        self.lock_marks().forget_finished();
        Ok(())
    }

    /// Renew the leases of the batches held; let go of those Redis says are not ours.
    fn renew(&self) -> Result<(), QueueError> {
        let held: Vec<Arc<str>> = self.lock_marks().held.keys().cloned().collect();
        for chunk in held.chunks(MARKS_A_TRIP) {
            let mut invocation = self.scripts.renew.prepare_invoke();
            invocation.key(&self.keys.stream).arg(GROUP).arg(&self.me);
            for batch in chunk {
                invocation.arg(&**batch);
            }
            let gone: Vec<String> = self.call(|conn| invocation.invoke(conn))?;
            // Finished by another's marks, or taken by another after a stall: what is left
            // of it here is still fetched and marked (a duplicate at worst), not renewed.
            let mut marks = self.lock_marks();
            for batch in gone {
                marks.held.remove(batch.as_str());
            }
        }
        Ok(())
    }
}

/// Start the thread that sends the marks and renews the leases while the queue lives.
pub(super) fn keep(inner: &Arc<Inner>) -> Result<(), QueueError> {
    let weak = Arc::downgrade(inner);
    std::thread::Builder::new()
        .name("octopus-queue".into())
        .spawn(move || keep_while_alive(&weak))
        .map(|_| ())
        .map_err(|e| QueueError::new(format!("cannot start the queue's thread: {e}")))
}

fn keep_while_alive(weak: &Weak<Inner>) {
    let mut renewed = Instant::now();
    loop {
        std::thread::sleep(SEND_EVERY);
        let Some(inner) = weak.upgrade() else { return };
        if inner.link.is_lost() {
            return;
        }
        // A failure is the queue's loss (`Inner::call`), seen by the taker and the finish.
        let _ = inner.flush();
        if renewed.elapsed() >= inner.settings.lease / 3 {
            let _ = inner.renew();
            renewed = Instant::now();
        }
    }
}
