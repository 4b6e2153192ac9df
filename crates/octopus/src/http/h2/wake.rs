//! How the streams of an HTTP/2 connection are woken (`conn.rs` says who waits for what):
//! the connection's own epoll set (its socket and the kick), the kick that wakes the
//! driver when another thread took its answer in, each stream's waker, and the waits of a
//! thread reading a body.
//!
//! Invariants: a stream's waker rings its bell, and the kick too while the stream is the
//! driver; the connection's epoll set is level-triggered, so what came before it is
//! watched is seen; every wait here ends by its deadline.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Wake;
use std::time::Instant;

use crate::http::bell::Bell;
use crate::http::connect::socket::io_error;
use crate::http::error::{Error, Step, Timeout};
use crate::http::wire::wait_any;

/// Which stream watches the connection, and the bell in the connection's epoll set that
/// wakes it.
#[derive(Debug)]
pub(super) struct Kick {
    /// The driver's token (0: none).
    pub driver: AtomicU64,
    pub bell: Arc<Bell>,
}

/// What the driver watches: the connection's own epoll set (its socket and the kick's
/// bell). Made when a stream opens on an idle connection, closed when the last one ends:
/// an idle connection holds its socket alone (thousands of them are kept).
#[derive(Debug)]
pub(super) struct Watcher {
    pub poller: OwnedFd,
    pub kick: Arc<Kick>,
    /// The poller is in the engine's epoll set.
    pub watched: bool,
    /// The socket is watched for room to write too, in the poller.
    pub watching_out: bool,
}

impl Watcher {
    /// A watcher of the connection's socket `fd`.
    pub fn new(fd: RawFd) -> io::Result<Watcher> {
        let kick = Arc::new(Kick {
            driver: AtomicU64::new(0),
            bell: Bell::new()?,
        });
        let poller = poller(fd, kick.bell.fd())?;
        Ok(Watcher {
            poller,
            kick,
            watched: false,
            watching_out: false,
        })
    }
}

/// A stream's waker: rings its bell, and the connection's kick when the stream is the
/// driver (it watches the connection, not its bell).
pub(super) struct StreamWake {
    pub bell: Arc<Bell>,
    pub token: u64,
    pub kick: Arc<Kick>,
}

impl Wake for StreamWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.bell.ring();
        if self.kick.driver.load(Ordering::SeqCst) == self.token {
            self.kick.bell.ring();
        }
    }
}

/// The connection's own epoll set: the socket `fd` and the kick's bell, each readable.
fn poller(fd: RawFd, kick: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: a plain system call; the descriptor is owned from here on.
    let poller = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if poller < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `poller` was just made and is owned by nothing else.
    let poller = unsafe { OwnedFd::from_raw_fd(poller) };
    control(&poller, libc::EPOLL_CTL_ADD, fd, libc::EPOLLIN)?;
    control(&poller, libc::EPOLL_CTL_ADD, kick, libc::EPOLLIN)?;
    Ok(poller)
}

/// Add or change `fd` in `poller`, level-triggered, for `events`.
pub(super) fn control(
    poller: &OwnedFd,
    op: libc::c_int,
    fd: RawFd,
    events: libc::c_int,
) -> io::Result<()> {
    let mut event = libc::epoll_event {
        events: events as u32,
        u64: fd as u64,
    };
    // SAFETY: `event` is valid for the call; both descriptors are open.
    match unsafe { libc::epoll_ctl(poller.as_raw_fd(), op, fd, &mut event) } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

/// Wait on this thread until `fd` is readable (or writable, when `write`) or `bell` is
/// rung, or `deadline` passes (the request's timeout, run out `during` that step).
pub(crate) fn wait_for_either(
    (fd, write): (RawFd, bool),
    bell: &Bell,
    deadline: Instant,
    during: Step,
) -> Result<(), Error> {
    let events = match write {
        true => libc::POLLIN | libc::POLLOUT,
        false => libc::POLLIN,
    };
    wait_on(fd, events, Some(bell), deadline, during)
}

/// Wait on this thread until `fd` is ready for `events` or `bell` (if any) is rung, or
/// `deadline` passes (the request's timeout, run out `during` that step).
pub(super) fn wait_on(
    fd: RawFd,
    events: libc::c_short,
    bell: Option<&Bell>,
    deadline: Instant,
    during: Step,
) -> Result<(), Error> {
    let pollfd = |fd, events| libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // `poll` passes over an entry whose descriptor is negative: no bell.
    let mut fds = [
        pollfd(fd, events),
        pollfd(bell.map_or(-1, |bell| bell.fd()), libc::POLLIN),
    ];
    wait_any(&mut fds, Some(deadline)).map_err(|e| io_error(e, Timeout::Global(during)))
}
