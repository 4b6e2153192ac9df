//! Requests sent and waiting for their answer, held by no thread: one epoll set and each
//! request's deadline. A worker with nothing else to do polls the set (`worker.rs`), and
//! goes on itself with the requests whose connection became readable (or closed) or whose
//! deadline passed: the thread that sees an answer is the thread that reads it, as in an
//! event loop, with no hand-off between threads.
//!
//! Why: with a thread per request in flight, every response woke a sleeping thread, and at
//! thousands of requests in flight the kernel's scheduling, futexes and the threads' stacks
//! were most of the CPU; a thread of its own that handed each answer to a worker still
//! paid two wake-ups per answer (BENCHMARKS.md, "Requests that wait on no thread", "The
//! worker that polls").
//!
//! Invariants: every item put in is given back exactly once by `poll` (readable, closed, or
//! due), and never before it is in; the set holds each descriptor once (added the first
//! time, re-armed after: one-shot); an event of an item already given back is ignored (each
//! registration carries its slot's generation); `nudge` ends a `poll` in progress.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Instant;

pub(crate) use crate::http::Watch;

/// The events one poll takes at most.
const BATCH: usize = 256;

/// The epoll data of the wake-up descriptor (slots are numbered from 0 in the low bits).
const WAKE: u64 = u64::MAX;

/// A set made when the first item is put in (most runs of `https` or through a proxy need
/// none); if it cannot be made, items are given back (their requests then wait on their
/// worker).
pub(crate) struct Lazy<T>(OnceLock<Option<Waiting<T>>>);

impl<T> Lazy<T> {
    pub fn new() -> Self {
        Lazy(OnceLock::new())
    }

    /// The set, if it was made.
    pub fn made(&self) -> Option<&Waiting<T>> {
        self.0.get().and_then(Option::as_ref)
    }

    /// Whether items wait in it.
    pub fn is_busy(&self) -> bool {
        self.made().is_some_and(|set| !set.is_empty())
    }

    /// Put `item` in (see `Waiting::put`), making the set first if it is not yet.
    pub fn put(&self, watch: Watch, deadline: Instant, item: T) -> Result<(), T> {
        match self.0.get_or_init(|| Waiting::new().ok()) {
            Some(set) => set.put(watch, deadline, item),
            None => Err(item),
        }
    }

    /// End a poll in progress, if the set is made.
    pub fn nudge(&self) {
        if let Some(set) = self.made() {
            set.nudge();
        }
    }
}

/// The set and the items in it.
pub(crate) struct Waiting<T> {
    epoll: OwnedFd,
    /// An eventfd: written to end a poll in progress (new work, an earlier timer, closing).
    wake: OwnedFd,
    /// Items in (read without the lock, to decide whether to poll).
    count: AtomicUsize,
    slots: Mutex<Slots<T>>,
}

struct Slots<T> {
    items: Vec<Slot<T>>,
    free: Vec<usize>,
    /// No item is due before this (it may be earlier than the earliest item's deadline:
    /// the next scan finds out).
    earliest: Option<Instant>,
}

struct Slot<T> {
    generation: u32,
    item: Option<(T, Instant)>,
}

/// What a poll gives back: the items whose deadline passed, and those whose event fired.
pub(crate) struct Polled<T> {
    pub due: Vec<T>,
    pub fired: Vec<T>,
}

impl<T> Polled<T> {
    /// Every item, the due first.
    #[cfg(test)]
    pub fn all(self) -> Vec<T> {
        let mut all = self.due;
        all.extend(self.fired);
        all
    }
}

impl<T> Waiting<T> {
    /// An empty set.
    pub fn new() -> io::Result<Self> {
        // SAFETY: plain system calls; each descriptor is owned from here on.
        let (epoll, wake) = unsafe {
            let epoll = libc::epoll_create1(libc::EPOLL_CLOEXEC);
            if epoll < 0 {
                return Err(io::Error::last_os_error());
            }
            let epoll = OwnedFd::from_raw_fd(epoll);
            let wake = libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK);
            if wake < 0 {
                return Err(io::Error::last_os_error());
            }
            (epoll, OwnedFd::from_raw_fd(wake))
        };
        let waiting = Waiting {
            epoll,
            wake,
            count: AtomicUsize::new(0),
            slots: Mutex::new(Slots {
                items: Vec::new(),
                free: Vec::new(),
                earliest: None,
            }),
        };
        let wake = waiting.wake.as_raw_fd();
        waiting.control(libc::EPOLL_CTL_ADD, wake, WAKE, libc::EPOLLIN)?;
        Ok(waiting)
    }

    fn slots(&self) -> MutexGuard<'_, Slots<T>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether nothing is in.
    pub fn is_empty(&self) -> bool {
        self.count.load(Ordering::SeqCst) == 0
    }

    /// Put `item` in until its descriptor is ready as `watch` says (readable, or writable)
    /// or `deadline` passes. Gives the item back if the set refuses the descriptor.
    pub fn put(&self, watch: Watch, deadline: Instant, item: T) -> Result<(), T> {
        let Watch {
            fd,
            watched,
            writable,
        } = watch;
        let mut slots = self.slots();
        let index = match slots.free.pop() {
            Some(index) => index,
            None => {
                slots.items.push(Slot {
                    generation: 0,
                    item: None,
                });
                slots.items.len() - 1
            }
        };
        let Some(slot) = slots.items.get_mut(index) else {
            return Err(item);
        };
        slot.generation = slot.generation.wrapping_add(1);
        let data = (u64::from(slot.generation) << 32) | index as u64;
        let op = match watched {
            true => libc::EPOLL_CTL_MOD,
            false => libc::EPOLL_CTL_ADD,
        };
        // Armed once, for reading (and the peer closing) or for writing (a connect ending).
        let events = match writable {
            true => libc::EPOLLOUT | libc::EPOLLONESHOT,
            false => libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLONESHOT,
        };
        if self.control(op, fd, data, events).is_err() {
            slots.free.push(index);
            return Err(item);
        }
        slot.item = Some((item, deadline));
        self.count.fetch_add(1, Ordering::SeqCst);
        if slots.earliest.is_none_or(|earliest| deadline < earliest) {
            slots.earliest = Some(deadline);
            drop(slots);
            // A poll in progress may wait for a later time.
            self.nudge();
        }
        Ok(())
    }

    /// End a poll in progress (or make the next one return at once).
    pub fn nudge(&self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a live buffer. A full counter (it cannot be: each
        // poll reads it) would only mean a poll is already due to return.
        let _ = unsafe { libc::write(self.wake.as_raw_fd(), one.as_ptr().cast(), one.len()) };
    }

    fn control(
        &self,
        op: libc::c_int,
        fd: RawFd,
        data: u64,
        events: libc::c_int,
    ) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: events as u32,
            u64: data,
        };
        // SAFETY: `event` is valid for the call.
        match unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut event) } {
            0 => Ok(()),
            _ => Err(io::Error::last_os_error()),
        }
    }

    /// Wait until an item is readable or due, `until` passes (`None`: no bound but the
    /// items' deadlines), or `nudge` is called; the items readable or due, out of the set
    /// (possibly none). `until` in the past: does not wait.
    pub fn poll(&self, until: Option<Instant>) -> Polled<T> {
        let due = match (self.slots().earliest, until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let timeout = match due {
            None => -1,
            // Rounded up to the millisecond: never woken before the deadline.
            Some(due) => {
                let left = due.saturating_duration_since(Instant::now());
                left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
            }
        };
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; BATCH];
        // SAFETY: `events` is a live buffer of `BATCH` entries.
        let n = unsafe {
            libc::epoll_wait(
                self.epoll.as_raw_fd(),
                events.as_mut_ptr(),
                BATCH as i32,
                timeout,
            )
        };
        let fired = usize::try_from(n).unwrap_or(0);
        self.take(events.get(..fired).unwrap_or_default())
    }

    /// The items whose event fired or whose deadline passed, out of their slots.
    fn take(&self, fired: &[libc::epoll_event]) -> Polled<T> {
        let mut ready = Vec::with_capacity(fired.len());
        let mut due_now = Vec::new();
        let mut slots = self.slots();
        for event in fired {
            let data = event.u64;
            if data == WAKE {
                let mut count = [0u8; 8];
                // SAFETY: reads 8 bytes into a live buffer; the descriptor never blocks.
                let _ = unsafe {
                    libc::read(
                        self.wake.as_raw_fd(),
                        count.as_mut_ptr().cast(),
                        count.len(),
                    )
                };
                continue;
            }
            let (generation, index) = ((data >> 32) as u32, (data & 0xffff_ffff) as usize);
            if let Some(item) = slots.release(index, Some(generation)) {
                ready.push(item);
            }
        }
        let now = Instant::now();
        if slots.earliest.is_some_and(|due| due <= now) {
            slots.earliest = None;
            for index in 0..slots.items.len() {
                match slots.items.get(index).and_then(|slot| slot.item.as_ref()) {
                    Some((_, due)) if *due <= now => {
                        due_now.extend(slots.release(index, None));
                    }
                    Some((_, due)) => {
                        let due = *due;
                        slots.earliest = Some(slots.earliest.map_or(due, |e| e.min(due)));
                    }
                    None => {}
                }
            }
        }
        self.count
            .fetch_sub(ready.len() + due_now.len(), Ordering::SeqCst);
        Polled {
            due: due_now,
            fired: ready,
        }
    }
}

impl<T> Slots<T> {
    /// The item in slot `index` (if it is of `generation`, when given), taken out.
    fn release(&mut self, index: usize, generation: Option<u32>) -> Option<T> {
        let slot = self.items.get_mut(index)?;
        if generation.is_some_and(|g| g != slot.generation) {
            return None;
        }
        let (item, _) = slot.item.take()?;
        self.free.push(index);
        Some(item)
    }
}

impl<T> std::fmt::Debug for Waiting<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiting").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    use std::sync::Arc;
    use std::time::Duration;

    const LONG: Duration = Duration::from_secs(60);

    /// Poll until something comes back (a poll may return nothing: a nudge, a rounding).
    fn next(waiting: &Waiting<&'static str>) -> Vec<&'static str> {
        let deadline = Instant::now() + LONG;
        loop {
            let items = waiting.poll(Some(deadline)).all();
            if !items.is_empty() || Instant::now() >= deadline {
                return items;
            }
        }
    }

    #[test]
    fn an_item_comes_back_when_its_descriptor_is_readable_or_its_deadline_passes() {
        let waiting = Waiting::new().unwrap();
        let (mut a, b) = UnixStream::pair().unwrap();
        let (_c, d) = UnixStream::pair().unwrap();
        let far = Instant::now() + LONG;
        waiting
            .put(Watch::read(b.as_raw_fd(), false), far, "answered")
            .unwrap();
        waiting
            .put(Watch::read(d.as_raw_fd(), false), Instant::now(), "due")
            .unwrap();
        assert_eq!(next(&waiting), ["due"], "nothing to read: due");
        assert!(!waiting.is_empty());
        assert_eq!(waiting.poll(Some(Instant::now())).all(), Vec::<&str>::new());
        a.write_all(b"x").unwrap();
        assert_eq!(next(&waiting), ["answered"]);
        assert!(waiting.is_empty());
        // Re-armed (one-shot: added once), it comes back again on the bytes still unread.
        waiting
            .put(Watch::read(b.as_raw_fd(), true), far, "again")
            .unwrap();
        assert_eq!(next(&waiting), ["again"]);
        // Adding a descriptor twice is refused, and the item given back.
        assert_eq!(
            waiting.put(Watch::read(b.as_raw_fd(), false), far, "twice"),
            Err("twice")
        );
        assert!(waiting.is_empty());
    }

    #[test]
    fn an_item_waiting_to_write_comes_back_when_it_can_then_waits_to_read() {
        let waiting = Waiting::new().unwrap();
        let (mut a, b) = UnixStream::pair().unwrap();
        let far = Instant::now() + LONG;
        let writable = Watch {
            fd: b.as_raw_fd(),
            watched: false,
            writable: true,
        };
        waiting.put(writable, far, "connected").unwrap();
        assert_eq!(next(&waiting), ["connected"], "an empty buffer takes bytes");
        // Re-armed for reading: nothing to read, so only the bytes bring it back.
        waiting
            .put(Watch::read(b.as_raw_fd(), true), far, "answered")
            .unwrap();
        assert_eq!(waiting.poll(Some(Instant::now())).all(), Vec::<&str>::new());
        a.write_all(b"x").unwrap();
        assert_eq!(next(&waiting), ["answered"]);
    }

    #[test]
    fn an_event_of_an_item_handed_back_finds_nothing() {
        let waiting = Waiting::new().unwrap();
        let (mut a, b) = UnixStream::pair().unwrap();
        waiting
            .put(Watch::read(b.as_raw_fd(), false), Instant::now(), "due")
            .unwrap();
        assert_eq!(next(&waiting), ["due"]);
        // The next item takes the same slot; the first one's registration is still armed,
        // and its event must not hand the new item back.
        let (_c, d) = UnixStream::pair().unwrap();
        waiting
            .put(
                Watch::read(d.as_raw_fd(), false),
                Instant::now() + LONG,
                "next",
            )
            .unwrap();
        a.write_all(b"late").unwrap();
        let soon = Instant::now() + Duration::from_millis(200);
        while Instant::now() < soon {
            assert_eq!(waiting.poll(Some(soon)).all(), Vec::<&str>::new());
        }
    }

    #[test]
    fn a_nudge_ends_a_poll_in_progress() {
        let waiting = Arc::new(Waiting::<&'static str>::new().unwrap());
        let (_a, b) = UnixStream::pair().unwrap();
        // Due long after the liveness bound below: only the nudge can end the poll in time.
        waiting
            .put(
                Watch::read(b.as_raw_fd(), false),
                Instant::now() + 10 * LONG,
                "held",
            )
            .unwrap();
        let (sender, polled) = std::sync::mpsc::channel();
        let polling = Arc::clone(&waiting);
        std::thread::spawn(move || sender.send(polling.poll(None).all()));
        std::thread::sleep(Duration::from_millis(50));
        waiting.nudge();
        // It returns, with nothing (the item is neither readable nor due). A liveness
        // bound, not a speed claim.
        assert_eq!(polled.recv_timeout(LONG), Ok(Vec::<&str>::new()));
        assert!(!waiting.is_empty());
    }
}
