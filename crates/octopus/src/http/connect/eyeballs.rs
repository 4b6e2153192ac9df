//! Connecting to one of a host's addresses: Happy Eyeballs v2 (RFC 8305, section 5). The
//! addresses are tried in their order with the families interleaved (the first address's
//! family first); a next attempt starts `ATTEMPT_DELAY` after the last one if none has
//! connected yet, or at once when one fails, and the first to connect wins (the others are
//! closed). A host whose IPv6 path is black-holed costs a quarter of a second, not the
//! connect timeout.
//!
//! `Connecting` is driven from outside: a request sent directly waits for its attempts in
//! the engine's waiting set (the newest attempt's socket, for writing).
//!
//! Invariants: the whole is bounded by the connect timeout (reported as
//! `Error::Timeout` with its reason); an error that concerns one address only moves on to
//! the next; a descriptor handed to a waiting set is known as such until its socket is
//! closed or handed on with the connection.

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use crate::http::error::{Error, Timeout};

use crate::http::wire::Watch;
#[cfg(test)]
use crate::http::wire::wait_any;

/// How long an attempt runs alone before the next address is tried too (RFC 8305's
/// "Connection Attempt Delay", its recommended value).
const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Connect to one of `addrs` within `timeout`, waiting on this thread (the tests' way).
#[cfg(test)]
pub(crate) fn connect(
    addrs: &[SocketAddr],
    after: Duration,
    reason: Timeout,
) -> Result<TcpStream, Error> {
    let mut connecting = Connecting::new(addrs, after, reason);
    loop {
        if let Some((stream, _)) = connecting.advance()? {
            return Ok(stream);
        }
        connecting.wait_here()?;
    }
}

/// A connection being made, held by no thread while it waits: the attempts under way,
/// the addresses still to try, and when the next one starts.
#[derive(Debug)]
pub(crate) struct Connecting {
    waiting: std::vec::IntoIter<SocketAddr>,
    trying: Vec<TcpStream>,
    next_start: Instant,
    deadline: Option<Instant>,
    reason: Timeout,
    last: Option<io::Error>,
    /// The attempts' descriptors handed to a waiting set (they are re-armed there).
    watched: Vec<RawFd>,
}

impl Connecting {
    /// Connecting to one of `addrs`, within `after` (`reason`'s timeout): nothing started
    /// yet.
    pub fn new(addrs: &[SocketAddr], after: Duration, reason: Timeout) -> Connecting {
        Connecting {
            waiting: interleave(addrs).into_iter(),
            trying: Vec::new(),
            next_start: Instant::now(),
            deadline: Instant::now().checked_add(after),
            reason,
            last: None,
            watched: Vec::new(),
        }
    }

    /// Go as far as can be gone without waiting: the connection made (and whether its
    /// descriptor is in a waiting set), or `None` to wait (`watch`, `until`).
    pub fn advance(&mut self) -> Result<Option<(TcpStream, bool)>, Error> {
        loop {
            let now = Instant::now();
            if self.deadline.is_some_and(|deadline| now >= deadline) {
                return Err(Error::Timeout(self.reason));
            }
            if let Some(made) = self.settle()? {
                return Ok(Some(made));
            }
            let more = self.waiting.len() > 0;
            if more && (self.trying.is_empty() || now >= self.next_start) {
                let Some(addr) = self.waiting.next() else {
                    continue;
                };
                match start(&addr) {
                    Ok(Start::Connected(stream)) => return Ok(Some((connected(stream)?, false))),
                    Ok(Start::Trying(stream)) => {
                        self.trying.push(stream);
                        self.next_start = now + ATTEMPT_DELAY;
                    }
                    Err(e) if concerns_one_address(&e) => self.last = Some(e),
                    Err(e) => return Err(Error::Io(e)),
                }
                continue;
            }
            if self.trying.is_empty() {
                return Err(Error::Io(self.last.take().unwrap_or_else(refused)));
            }
            return Ok(None);
        }
    }

    /// Of the attempts under way, the first found connected (the others closed); the
    /// failed ones go, and the next address may start at once.
    fn settle(&mut self) -> Result<Option<(TcpStream, bool)>, Error> {
        if self.trying.is_empty() {
            return Ok(None);
        }
        let mut fds = self.pollfds();
        // SAFETY: `fds` is a valid array of pollfds whose descriptors `trying` keeps open.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) };
        if ready <= 0 {
            return Ok(None);
        }
        for (i, fd) in fds.iter().enumerate().rev() {
            if fd.revents == 0 {
                continue;
            }
            let stream = self.trying.remove(i);
            let watched = self.forget(fd.fd);
            match stream.take_error() {
                Ok(None) => return Ok(Some((connected(stream)?, watched))),
                Ok(Some(e)) | Err(e) if concerns_one_address(&e) => {
                    self.last = Some(e);
                    self.next_start = Instant::now();
                }
                Ok(Some(e)) | Err(e) => return Err(Error::Io(e)),
            }
        }
        Ok(None)
    }

    /// No longer watched: `fd` leaves (its socket is closed or handed on); whether it was.
    fn forget(&mut self, fd: RawFd) -> bool {
        let was = self.watched.contains(&fd);
        self.watched.retain(|w| *w != fd);
        was
    }

    fn pollfds(&self) -> Vec<libc::pollfd> {
        self.trying
            .iter()
            .map(|stream| libc::pollfd {
                fd: stream.as_raw_fd(),
                events: libc::POLLOUT,
                revents: 0,
            })
            .collect()
    }

    /// The descriptor to wait on, for writing: the newest attempt's (the others are looked
    /// at by `advance`, at the latest by `until`).
    pub fn watch(&mut self) -> Watch {
        let fd = self.trying.last().map_or(-1, |s| s.as_raw_fd());
        let watched = self.watched.contains(&fd);
        if !watched {
            self.watched.push(fd);
        }
        Watch {
            fd,
            watched,
            writable: true,
        }
    }

    /// When the wait must end: when the next address starts, or, with several attempts
    /// under way, when the others are looked at again; never after the connect deadline.
    pub fn until(&self) -> Option<Instant> {
        let next = match (self.waiting.len() > 0, self.trying.len() > 1) {
            (true, _) => Some(self.next_start),
            (false, true) => Some(Instant::now() + ATTEMPT_DELAY),
            (false, false) => None,
        };
        match (next, self.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Wait on this thread until an attempt is ready or `until` passes.
    #[cfg(test)]
    fn wait_here(&self) -> Result<(), Error> {
        let mut fds = self.pollfds();
        match wait_any(&mut fds, self.until()) {
            Err(e) if e.kind() != io::ErrorKind::TimedOut => Err(Error::Io(e)),
            _ => Ok(()),
        }
    }
}

/// The addresses with their families interleaved, the first address's family first, each
/// family in its order (RFC 8305, section 4).
fn interleave(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
    let first_v6 = addrs.first().is_some_and(SocketAddr::is_ipv6);
    let (mut first, mut second): (VecDeque<SocketAddr>, VecDeque<SocketAddr>) =
        addrs.iter().partition(|a| a.is_ipv6() == first_v6);
    let mut order = Vec::with_capacity(addrs.len());
    while !first.is_empty() || !second.is_empty() {
        order.extend(first.pop_front());
        order.extend(second.pop_front());
    }
    order
}

/// What starting an attempt gave.
enum Start {
    Connected(TcpStream),
    Trying(TcpStream),
}

/// Start connecting to `addr` without waiting.
fn start(addr: &SocketAddr) -> io::Result<Start> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(*addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_nonblocking(true)?;
    match socket.connect(&(*addr).into()) {
        Ok(()) => Ok(Start::Connected(TcpStream::from(socket))),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
            Ok(Start::Trying(TcpStream::from(socket)))
        }
        Err(e) => Err(e),
    }
}

/// A connection made, made blocking (reads and writes say `MSG_DONTWAIT` themselves).
fn connected(stream: TcpStream) -> Result<TcpStream, Error> {
    stream.set_nonblocking(false)?;
    Ok(stream)
}

fn refused() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionRefused, "Connection refused")
}

/// A failed connect that another of the host's addresses might not share.
fn concerns_one_address(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::NetworkDown
            | io::ErrorKind::AddrNotAvailable
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::error::Step;

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn families_are_interleaved_the_first_ones_first() {
        let given = addrs(&["[::1]:1", "[::2]:1", "[::3]:1", "10.0.0.1:1", "10.0.0.2:1"]);
        let expected = addrs(&["[::1]:1", "10.0.0.1:1", "[::2]:1", "10.0.0.2:1", "[::3]:1"]);
        assert_eq!(interleave(&given), expected);
        let v4_first = addrs(&["10.0.0.1:1", "[::1]:1"]);
        assert_eq!(interleave(&v4_first), v4_first);
    }

    #[test]
    fn a_refused_address_moves_on_to_the_next() {
        // A port nothing listens on (refused at once), then one that accepts.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap()
        };
        let open = listener.local_addr().unwrap();
        let stream = connect(
            &[closed, open],
            Duration::from_secs(30),
            Timeout::Connect(Step::Connect),
        )
        .unwrap();
        assert_eq!(stream.peer_addr().unwrap(), open);
    }
}
