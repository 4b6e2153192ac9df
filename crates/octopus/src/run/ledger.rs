//! `Ledger`: the requests whose consumer has not returned yet, counted up when they are
//! enqueued and down when their consumer returns (or panics), and waited for by
//! `Octopus::wait`. Consumers are called here.
//!
//! Invariants: a request is counted down exactly once, after its consumer returned; a
//! consumer that panics is counted and the run goes on; a `wait` from a worker thread (from
//! inside a consumer) returns at once, since it would wait for itself.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use super::job::Delivery;
use crate::blocking;

#[derive(Default)]
pub(super) struct Ledger {
    /// Requests enqueued whose consumer has not returned yet.
    outstanding: AtomicU64,
    handler_panics: AtomicU64,
    /// Held to check `outstanding` before sleeping and to announce that it reached zero,
    /// so that the announcement is never missed.
    lock: Mutex<()>,
    settled: Condvar,
}

impl Ledger {
    /// `n` more requests were enqueued.
    pub fn add(&self, n: u64) {
        self.outstanding.fetch_add(n, Ordering::SeqCst);
    }

    /// Run a delivery's consumer (catching a panic), then count its request done.
    pub fn deliver(&self, delivery: Delivery) {
        let Delivery { consumer, response } = delivery;
        // A handler may take its time: another worker may start in its place.
        let returned = match consumer.is_quick() {
            true => catch_unwind(AssertUnwindSafe(move || consumer.consume(response))),
            false => blocking::during(|| {
                catch_unwind(AssertUnwindSafe(move || consumer.consume(response)))
            }),
        };
        if returned.is_err() {
            self.handler_panics.fetch_add(1, Ordering::Relaxed);
        }
        if self.outstanding.fetch_sub(1, Ordering::SeqCst) == 1 {
            let _held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
            self.settled.notify_all();
        }
    }

    /// Wait until every request's consumer has returned (true), or `timeout` passes.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        if blocking::on_worker() {
            return false;
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        while self.pending() > 0 {
            held = match deadline {
                None => self.settled.wait(held).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return false;
                    }
                    match self.settled.wait_timeout(held, left) {
                        Ok((held, _)) => held,
                        Err(poisoned) => poisoned.into_inner().0,
                    }
                }
            };
        }
        true
    }

    /// Requests whose consumer has not returned yet.
    pub fn pending(&self) -> u64 {
        self.outstanding.load(Ordering::SeqCst)
    }

    /// Consumers that panicked.
    pub fn panics(&self) -> u64 {
        self.handler_panics.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::failure::{ErrorKind, Failure};
    use crate::run::job::{Consumer, Effort, Ticket};
    use crate::status::StatusSet;

    /// A delivery whose consumer runs `consume`.
    fn delivery(consume: impl FnOnce() + Send + 'static) -> Delivery {
        let ticket = Ticket {
            id: 1,
            shown: "http://a/".into(),
            origin: None,
            consumer: Consumer::Handler(Box::new(move |_| consume())),
            taken: Instant::now(),
        };
        let outcome = Arc::new(crate::response::Outcome::Failed(Failure::new(
            ErrorKind::Cancelled,
            "test",
        )));
        let ok = StatusSet::new(vec![(200, 399)]);
        ticket.settle(outcome, Instant::now(), Effort::default(), &ok)
    }

    #[test]
    fn wait_returns_when_every_consumer_has_returned() {
        let ledger = Arc::new(Ledger::default());
        assert!(ledger.wait(Some(Duration::ZERO)), "nothing enqueued");
        ledger.add(2);
        assert!(!ledger.wait(Some(Duration::ZERO)));
        let ran = Arc::new(AtomicUsize::new(0));
        let deliverer = {
            let (ledger, ran) = (Arc::clone(&ledger), Arc::clone(&ran));
            std::thread::spawn(move || {
                for _ in 0..2 {
                    let ran = Arc::clone(&ran);
                    ledger.deliver(delivery(move || {
                        ran.fetch_add(1, Ordering::SeqCst);
                    }));
                }
            })
        };
        assert!(ledger.wait(None));
        assert_eq!(ran.load(Ordering::SeqCst), 2, "waited for both consumers");
        assert_eq!(ledger.pending(), 0);
        deliverer.join().unwrap();
    }

    #[test]
    fn a_consumer_that_panics_is_counted_and_counted_done() {
        let ledger = Ledger::default();
        ledger.add(1);
        ledger.deliver(delivery(|| {
            panic!("a handler's own failure (expected in this test)")
        }));
        assert_eq!((ledger.pending(), ledger.panics()), (0, 1));
        assert!(ledger.wait(None));
    }
}
