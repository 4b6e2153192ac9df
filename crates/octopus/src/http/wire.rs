//! The system calls under a connection: reads and writes that never block (`MSG_DONTWAIT`,
//! without SIGPIPE), waits for a socket to be ready with `poll` (a long one told to the
//! engine, `blocking.rs`), the one-`recv` probe of an idle connection, and the view of a
//! socket rustls reads and writes (`Wire`).
//!
//! Invariants: every wait ends by its deadline (`TimedOut`); nothing here blocks but
//! `poll`.

use std::io;
use std::net::TcpStream;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Instant;

use crate::blocking;

/// What an item waits for: its descriptor to be readable (or writable), and whether the
/// descriptor was put in before (it is then re-armed, not added).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Watch {
    pub fd: RawFd,
    pub watched: bool,
    pub writable: bool,
}

impl Watch {
    /// Wait for `fd` to be readable.
    pub fn read(fd: RawFd, watched: bool) -> Watch {
        Watch {
            fd,
            watched,
            writable: false,
        }
    }
}

/// Waits up to this long are not told to the engine (`blocking.rs`).
const SHORT_WAIT_MS: i32 = 1;

/// Wait until `stream` is ready for `events` (or closed, or failed: the read or write that
/// follows says which), or until `deadline`. The socket stays blocking: the waits are
/// here, and reads and writes never block (`MSG_DONTWAIT`), so no socket timeout is set
/// per request.
pub(crate) fn wait_ready(
    stream: &TcpStream,
    events: libc::c_short,
    deadline: Option<Instant>,
) -> io::Result<()> {
    let mut fds = [libc::pollfd {
        fd: stream.as_raw_fd(),
        events,
        revents: 0,
    }];
    wait_any(&mut fds, deadline)
}

/// Wait on this thread until `watch`'s descriptor is ready (readable, or writable) or
/// `until` passes; what became of it is for the caller to find out.
pub(crate) fn wait_watch(watch: Watch, until: Instant) {
    let events = match watch.writable {
        true => libc::POLLOUT,
        false => libc::POLLIN,
    };
    let mut fds = [libc::pollfd {
        fd: watch.fd,
        events,
        revents: 0,
    }];
    let _ = wait_any(&mut fds, Some(until));
}

/// Wait until one of `fds` is ready for its events (their `revents` say which), or
/// `deadline` passes (`TimedOut`). The first wait is short and not told to the engine (a
/// connection on loopback, an answer already on its way); a longer one is
/// (`blocking::during`).
pub(crate) fn wait_any(fds: &mut [libc::pollfd], deadline: Option<Instant>) -> io::Result<()> {
    let mut short = true;
    let count = fds.len() as libc::nfds_t;
    loop {
        let millis = match deadline {
            None => -1,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                // Rounded up, so that a wait never ends before the deadline.
                i32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
            }
        };
        let ready = match std::mem::take(&mut short) {
            // SAFETY: `fds` is a valid array of `count` pollfds whose descriptors the
            // caller keeps open.
            true => unsafe { libc::poll(fds.as_mut_ptr(), count, shorter(millis)) },
            // SAFETY: as above.
            false => blocking::during(|| unsafe { libc::poll(fds.as_mut_ptr(), count, millis) }),
        };
        match ready {
            1.. => return Ok(()),
            0 => continue,
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}

/// A wait of at most `SHORT_WAIT_MS` in place of `millis` (-1: no limit).
fn shorter(millis: i32) -> i32 {
    match millis {
        ..0 => SHORT_WAIT_MS,
        _ => millis.min(SHORT_WAIT_MS),
    }
}

/// A connection as rustls reads and writes it: what the socket holds or takes now, never
/// waiting (`WouldBlock` instead).
pub(crate) struct Wire<'a>(pub &'a TcpStream);

impl io::Read for Wire<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        recv_now(self.0, buf)
    }
}

impl io::Write for Wire<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        send_now(self.0, buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Read what the socket holds into `buf`, without waiting.
pub(crate) fn recv_now(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is writable for its length, on a descriptor `stream` keeps open.
    let n = unsafe {
        libc::recv(
            stream.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
        )
    };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// Send all of `bytes`, waiting for room in the socket until `deadline`.
pub(crate) fn send_all(
    stream: &TcpStream,
    mut bytes: &[u8],
    deadline: Option<Instant>,
) -> io::Result<()> {
    while !bytes.is_empty() {
        match send_now(stream, bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait_ready(stream, libc::POLLOUT, deadline)?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Send what the socket takes of `buf`, without waiting (and without SIGPIPE).
pub(crate) fn send_now(stream: &TcpStream, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is readable for its length, on a descriptor `stream` keeps open.
    let n = unsafe {
        libc::send(
            stream.as_raw_fd(),
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// An idle connection is open when reading from it would block: no end of stream, no
/// error, no bytes the server sent unasked.
pub(crate) fn peek_says_open(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    // SAFETY: `byte` is a writable buffer of the length given, on a descriptor `stream`
    // keeps open; MSG_PEEK | MSG_DONTWAIT neither consumes nor blocks.
    let n = unsafe {
        libc::recv(
            stream.as_raw_fd(),
            byte.as_mut_ptr().cast(),
            byte.len(),
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock
}
