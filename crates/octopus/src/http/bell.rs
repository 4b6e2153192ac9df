//! A bell: an eventfd that one thread rings and a waiting request's descriptor watches, so
//! that a request can wait in the engine's waiting set for something that is not its own
//! socket: an HTTP/2 stream woken by whoever read its connection (the `h2` crate calls the
//! stream's waker, which rings), or a request waiting for a connection being made to its
//! origin (rung when that connection is made, or is not).
//!
//! Invariants: ringing never blocks and never fails in a way anyone must see (a full
//! counter is still readable); `quiet` takes every ring so far; a bell rung twice before
//! it is quieted writes once, and one not rung is quieted without a system call (a ring
//! racing a quiet may leave the descriptor readable: a spurious wake-up, never a lost
//! one); the descriptor lives as long as the bell, and closing it takes it out of any
//! epoll set.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Wake;

use crate::http::wire::Watch;

/// An eventfd to ring and to wait on.
#[derive(Debug)]
pub(crate) struct Bell {
    fd: OwnedFd,
    /// The descriptor is in the engine's epoll set (re-armed there, not added).
    watched: AtomicBool,
    /// Rung since last quieted.
    rung: AtomicBool,
}

impl Bell {
    /// A bell not rung.
    pub fn new() -> io::Result<Arc<Bell>> {
        // SAFETY: a plain system call; the descriptor is owned from here on.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Arc::new(Bell {
            // SAFETY: `fd` was just made and is owned by nothing else.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            watched: AtomicBool::new(false),
            rung: AtomicBool::new(false),
        }))
    }

    /// The descriptor, readable once rung.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// What a request waiting for this bell waits for.
    pub fn watch(&self) -> Watch {
        Watch::read(self.fd(), self.watched.swap(true, Ordering::Relaxed))
    }

    /// Ring: the descriptor becomes readable.
    pub fn ring(&self) {
        if self.rung.swap(true, Ordering::SeqCst) {
            return;
        }
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a live buffer to a descriptor this bell owns.
        let _ = unsafe { libc::write(self.fd(), one.as_ptr().cast(), one.len()) };
    }

    /// Whether it was rung since it was last quieted.
    pub fn is_rung(&self) -> bool {
        self.rung.load(Ordering::SeqCst)
    }

    /// Take the rings so far: the descriptor is not readable until the next.
    pub fn quiet(&self) {
        if !self.rung.swap(false, Ordering::SeqCst) {
            return;
        }
        let mut count = [0u8; 8];
        // SAFETY: reads 8 bytes into a live buffer; the descriptor never blocks.
        let _ = unsafe { libc::read(self.fd(), count.as_mut_ptr().cast(), count.len()) };
    }
}

impl Wake for Bell {
    fn wake(self: Arc<Self>) {
        self.ring();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ring();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::wire::wait_watch;
    use std::time::{Duration, Instant};

    fn readable(bell: &Bell) -> bool {
        let mut fds = [libc::pollfd {
            fd: bell.fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: one live pollfd.
        unsafe { libc::poll(fds.as_mut_ptr(), 1, 0) == 1 }
    }

    #[test]
    fn a_bell_is_readable_once_rung_until_quieted() {
        let bell = Bell::new().unwrap();
        assert!(!readable(&bell));
        let waker = std::task::Waker::from(Arc::clone(&bell));
        waker.wake_by_ref();
        waker.wake();
        assert!(readable(&bell));
        wait_watch(bell.watch(), Instant::now() + Duration::from_secs(60));
        bell.quiet();
        assert!(!readable(&bell));
        assert!(bell.watch().watched, "the second watch re-arms");
    }
}
