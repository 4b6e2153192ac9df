//! Which partitions of a shared crawl this process holds, and until when it surely does:
//! read by the engines' threads before a page's handler is called (a page of a partition
//! no longer held is not handed on: a stale owner writes nothing), kept fresh by a thread
//! of its own that renews them in Redis a third of the lease apart (`renew.lua`).
//!
//! Invariant: `holds(p)` is true only before the lease Redis granted has run out (each
//! deadline is counted from before the call that granted it).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use redis::Script;

use super::PARTITIONS;
use crate::queue::Link;

pub(crate) struct Leases {
    base: Instant,
    lease: Duration,
    /// For each partition, when its lease surely runs out (ms after `base`); 0: not held.
    until: Vec<AtomicU64>,
    /// The crawl is over: the renewing thread ends.
    ended: AtomicBool,
}

impl Leases {
    pub fn new(lease: Duration) -> Leases {
        Leases {
            base: Instant::now(),
            lease,
            until: (0..PARTITIONS).map(|_| AtomicU64::new(0)).collect(),
            ended: AtomicBool::new(false),
        }
    }

    fn now_ms(&self) -> u64 {
        self.base.elapsed().as_millis() as u64
    }

    /// Whether this process surely holds partition `p`.
    pub fn holds(&self, p: u16) -> bool {
        let until = self.until[usize::from(p)].load(Ordering::SeqCst);
        until > 0 && self.now_ms() < until
    }

    /// Partition `p` granted by a call begun at `asked`.
    pub fn granted(&self, p: u16, asked: Instant) {
        let until = asked.duration_since(self.base) + self.lease;
        self.until[usize::from(p)].store((until.as_millis() as u64).max(1), Ordering::SeqCst);
    }

    /// Partition `p` is no longer held.
    pub fn lost(&self, p: u16) {
        self.until[usize::from(p)].store(0, Ordering::SeqCst);
    }

    /// The partitions held (as far as this process knows).
    pub fn held(&self) -> Vec<u16> {
        (0..PARTITIONS as u16)
            .filter(|&p| self.until[usize::from(p)].load(Ordering::SeqCst) > 0)
            .collect()
    }

    /// Stop renewing.
    pub fn end(&self) {
        self.ended.store(true, Ordering::SeqCst);
    }
}

/// Renew the leases of `leases` on `link` until the crawl ends or Redis is lost.
pub(super) fn keep(leases: &Arc<Leases>, link: &Arc<Link>, prefix: String, me: String) {
    let (leases, link) = (Arc::downgrade(leases), Arc::downgrade(link));
    let renew = Script::new(include_str!("renew.lua"));
    let spawned = std::thread::Builder::new()
        .name("octopus-crawl-leases".into())
        .spawn(move || renew_until_ended(&leases, &link, &renew, &prefix, &me));
    // Without the thread, leases lapse and other processes take the partitions over: the
    // crawl stays whole, only slower.
    drop(spawned);
}

fn renew_until_ended(
    leases: &Weak<Leases>,
    link: &Weak<Link>,
    renew: &Script,
    prefix: &str,
    me: &str,
) {
    loop {
        let Some(held) = leases.upgrade() else { return };
        if held.ended.load(Ordering::SeqCst) {
            return;
        }
        let pause = held.lease / 3;
        let Some(redis) = link.upgrade() else { return };
        let partitions = held.held();
        let asked = Instant::now();
        let mut invocation = renew.prepare_invoke();
        invocation
            .arg(prefix)
            .arg(me)
            .arg(held.lease.as_millis() as u64);
        for p in &partitions {
            invocation.arg(*p);
        }
        match redis.call(|conn| invocation.invoke::<Vec<u16>>(conn)) {
            Ok(lost) => {
                for p in partitions {
                    match lost.contains(&p) {
                        true => held.lost(p),
                        false => held.granted(p, asked),
                    }
                }
            }
            Err(_) => return,
        }
        drop((held, redis));
        std::thread::sleep(pause.max(Duration::from_millis(10)));
    }
}
