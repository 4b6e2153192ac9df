//! Requests sent and waiting for their answer, held by no thread: one epoll set, one thread
//! that waits on it, and each request's deadline. When a request's connection becomes
//! readable (or closes, or its deadline passes) the request is handed back, to be resumed
//! by a worker (`engine.rs`).
//!
//! Why: with a thread per request in flight, every response woke a sleeping thread, and at
//! thousands of requests in flight the kernel's scheduling, futexes and the threads' stacks
//! were most of the CPU (BENCHMARKS.md, "Requests that wait on no thread").
//!
//! Invariants: every item put in is handed back exactly once (readable, closed, or due),
//! and never before it is in; the set holds each descriptor once (added the first time,
//! re-armed after: one-shot); an event of an item already handed back is ignored (each
//! registration carries its slot's generation); the thread exits only once it is told to
//! and nothing is in.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// The events one wait takes at most.
const BATCH: usize = 256;

/// The epoll data of the wake-up descriptor (slots are numbered from 0 in the low bits).
const WAKE: u64 = u64::MAX;

/// Who takes the items back.
pub(crate) trait Resume<T>: Send + Sync + 'static {
    /// Take items whose connection is readable (or closed) or whose deadline passed.
    fn ready(&self, items: Vec<T>);
    /// Whether the thread may end (nothing more will be put in) once nothing is in.
    fn closing(&self) -> bool;
}

/// The set and the items in it.
pub(crate) struct Waiting<T> {
    epoll: OwnedFd,
    /// An eventfd: written to wake the thread (an earlier deadline, or closing).
    wake: OwnedFd,
    slots: Mutex<Slots<T>>,
}

struct Slots<T> {
    items: Vec<Slot<T>>,
    free: Vec<usize>,
    /// Items in.
    count: usize,
    /// No item is due before this (it may be earlier than the earliest item's deadline:
    /// the next scan finds out).
    earliest: Option<Instant>,
}

struct Slot<T> {
    generation: u32,
    item: Option<(T, Instant)>,
}

impl<T: Send + 'static> Waiting<T> {
    /// An empty set, and its thread handing items back to `resume`.
    pub fn start(resume: Arc<dyn Resume<T>>) -> io::Result<Arc<Self>> {
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
        let waiting = Arc::new(Waiting {
            epoll,
            wake,
            slots: Mutex::new(Slots {
                items: Vec::new(),
                free: Vec::new(),
                count: 0,
                earliest: None,
            }),
        });
        waiting.control(libc::EPOLL_CTL_ADD, waiting.wake.as_raw_fd(), WAKE, false)?;
        let run = Arc::clone(&waiting);
        std::thread::Builder::new()
            .name("octopus-waiting".into())
            .stack_size(256 * 1024)
            .spawn(move || run.run(&*resume))?;
        Ok(waiting)
    }

    fn slots(&self) -> MutexGuard<'_, Slots<T>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Put `item` in until `fd` is readable or `deadline` passes; `watched`: `fd` was put in
    /// before (it is re-armed). Gives the item back if the set refuses the descriptor.
    pub fn put(&self, fd: RawFd, watched: bool, deadline: Instant, item: T) -> Result<(), T> {
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
        if self.control(op, fd, data, true).is_err() {
            slots.free.push(index);
            return Err(item);
        }
        slot.item = Some((item, deadline));
        slots.count += 1;
        if slots.earliest.is_none_or(|earliest| deadline < earliest) {
            slots.earliest = Some(deadline);
            drop(slots);
            self.nudge();
        }
        Ok(())
    }

    /// Wake the thread (to see an earlier deadline, or that the engine closes).
    pub fn nudge(&self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a live buffer. A full counter (it cannot be: the
        // thread reads it) would only mean the thread is already due to wake.
        let _ = unsafe { libc::write(self.wake.as_raw_fd(), one.as_ptr().cast(), one.len()) };
    }

    fn control(&self, op: libc::c_int, fd: RawFd, data: u64, once: bool) -> io::Result<()> {
        let mut flags = libc::EPOLLIN | libc::EPOLLRDHUP;
        if once {
            flags |= libc::EPOLLONESHOT;
        }
        let mut event = libc::epoll_event {
            events: flags as u32,
            u64: data,
        };
        // SAFETY: `event` is valid for the call.
        match unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut event) } {
            0 => Ok(()),
            _ => Err(io::Error::last_os_error()),
        }
    }

    /// The thread: wait, hand back what is ready or due, until closing with nothing in.
    fn run(&self, resume: &dyn Resume<T>) {
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; BATCH];
        loop {
            let timeout = match self.slots().earliest {
                None => -1,
                // Rounded up to the millisecond: never woken before the deadline.
                Some(due) => {
                    let left = due.saturating_duration_since(Instant::now());
                    left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
                }
            };
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
            let ready = self.take(events.get(..fired).unwrap_or_default());
            if !ready.is_empty() {
                resume.ready(ready);
            }
            if resume.closing() && self.slots().count == 0 {
                return;
            }
        }
    }

    /// The items whose event fired or whose deadline passed, out of their slots.
    fn take(&self, fired: &[libc::epoll_event]) -> Vec<T> {
        let mut ready = Vec::with_capacity(fired.len());
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
                        ready.extend(slots.release(index, None));
                    }
                    Some((_, due)) => {
                        let due = *due;
                        slots.earliest = Some(slots.earliest.map_or(due, |e| e.min(due)));
                    }
                    None => {}
                }
            }
        }
        ready
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
        self.count -= 1;
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
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc::{Receiver, Sender, channel};
    use std::time::Duration;

    struct Back {
        items: Mutex<Sender<&'static str>>,
        closing: AtomicBool,
    }

    impl Resume<&'static str> for Back {
        fn ready(&self, items: Vec<&'static str>) {
            let sender = self.items.lock().unwrap();
            for item in items {
                sender.send(item).unwrap();
            }
        }

        fn closing(&self) -> bool {
            self.closing.load(Ordering::SeqCst)
        }
    }

    fn start() -> (
        Arc<Waiting<&'static str>>,
        Arc<Back>,
        Receiver<&'static str>,
    ) {
        let (sender, receiver) = channel();
        let back = Arc::new(Back {
            items: Mutex::new(sender),
            closing: AtomicBool::new(false),
        });
        let waiting = Waiting::start(Arc::clone(&back) as Arc<dyn Resume<_>>).unwrap();
        (waiting, back, receiver)
    }

    const LONG: Duration = Duration::from_secs(60);

    #[test]
    fn an_item_comes_back_when_its_descriptor_is_readable_or_its_deadline_passes() {
        let (waiting, _back, back) = start();
        let (mut a, b) = UnixStream::pair().unwrap();
        let (_c, d) = UnixStream::pair().unwrap();
        let far = Instant::now() + LONG;
        waiting.put(b.as_raw_fd(), false, far, "answered").unwrap();
        waiting
            .put(d.as_raw_fd(), false, Instant::now(), "due")
            .unwrap();
        assert_eq!(back.recv_timeout(LONG), Ok("due"), "nothing to read: due");
        assert!(back.try_recv().is_err(), "nothing written yet");
        a.write_all(b"x").unwrap();
        assert_eq!(back.recv_timeout(LONG), Ok("answered"));
        // Re-armed (one-shot: added once), it comes back again on the bytes still unread.
        waiting.put(b.as_raw_fd(), true, far, "again").unwrap();
        assert_eq!(back.recv_timeout(LONG), Ok("again"));
        // Adding a descriptor twice is refused, and the item given back.
        assert_eq!(
            waiting.put(b.as_raw_fd(), false, far, "twice"),
            Err("twice")
        );
    }

    #[test]
    fn an_event_of_an_item_handed_back_finds_nothing() {
        let (waiting, _back, back) = start();
        let (mut a, b) = UnixStream::pair().unwrap();
        waiting
            .put(b.as_raw_fd(), false, Instant::now(), "due")
            .unwrap();
        assert_eq!(back.recv_timeout(LONG), Ok("due"));
        // The next item takes the same slot; the first one's registration is still armed,
        // and its event must not hand the new item back.
        let (_c, d) = UnixStream::pair().unwrap();
        waiting
            .put(d.as_raw_fd(), false, Instant::now() + LONG, "next")
            .unwrap();
        a.write_all(b"late").unwrap();
        assert!(back.recv_timeout(Duration::from_millis(200)).is_err());
    }

    #[test]
    fn the_thread_ends_when_closing_with_nothing_in() {
        let (waiting, back, items) = start();
        let (a, b) = UnixStream::pair().unwrap();
        waiting
            .put(b.as_raw_fd(), false, Instant::now() + LONG, "held")
            .unwrap();
        back.closing.store(true, Ordering::SeqCst);
        waiting.nudge();
        // It holds an item: it stays (its handle and this one).
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(Arc::strong_count(&waiting), 2);
        // The peer closes: the item is readable (end of stream), handed back, and the
        // thread ends.
        drop(a);
        assert_eq!(items.recv_timeout(LONG), Ok("held"));
        let deadline = Instant::now() + LONG;
        while Arc::strong_count(&waiting) > 1 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(Arc::strong_count(&waiting), 1, "the thread ended");
        drop(b);
    }
}
