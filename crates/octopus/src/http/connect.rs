//! Connecting to one of a host's addresses: Happy Eyeballs v2 (RFC 8305, section 5). The
//! addresses are tried in their order with the families interleaved (the first address's
//! family first); a next attempt starts `ATTEMPT_DELAY` after the last one if none has
//! connected yet, or at once when one fails, and the first to connect wins (the others are
//! closed). A host whose IPv6 path is black-holed costs a quarter of a second, not the
//! connect timeout.
//!
//! Invariants: the whole is bounded by the connect timeout (reported as ureq's
//! `Error::Timeout` with its reason); an error that concerns one address only moves on to
//! the next; the waits are in `wait_any` (a long one told to the engine).

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use ureq::Error;
use ureq::unversioned::transport::NextTimeout;

use super::wire::wait_any;

/// How long an attempt runs alone before the next address is tried too (RFC 8305's
/// "Connection Attempt Delay", its recommended value).
const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Connect to one of `addrs` within `timeout` (see the module documentation).
pub(super) fn connect(addrs: &[SocketAddr], timeout: NextTimeout) -> Result<TcpStream, Error> {
    let deadline = timeout
        .not_zero()
        .and_then(|t| Instant::now().checked_add(*t));
    let mut waiting = interleave(addrs).into_iter();
    let mut trying: Vec<TcpStream> = Vec::new();
    let mut next_start = Instant::now();
    let mut last = None;
    loop {
        let now = Instant::now();
        if deadline.is_some_and(|deadline| now >= deadline) {
            return Err(Error::Timeout(timeout.reason));
        }
        let more = waiting.len() > 0;
        if more && (trying.is_empty() || now >= next_start) {
            let Some(addr) = waiting.next() else {
                continue;
            };
            match start(&addr) {
                Ok(Start::Connected(stream)) => return connected(stream),
                Ok(Start::Trying(stream)) => {
                    trying.push(stream);
                    next_start = now + ATTEMPT_DELAY;
                }
                Err(e) if concerns_one_address(&e) => last = Some(e),
                Err(e) => return Err(Error::Io(e)),
            }
            continue;
        }
        if trying.is_empty() {
            return Err(Error::Io(last.unwrap_or_else(refused)));
        }
        let until = match more {
            true => Some(deadline.map_or(next_start, |deadline| deadline.min(next_start))),
            false => deadline,
        };
        let mut fds: Vec<libc::pollfd> = trying
            .iter()
            .map(|stream| libc::pollfd {
                fd: stream.as_raw_fd(),
                events: libc::POLLOUT,
                revents: 0,
            })
            .collect();
        match wait_any(&mut fds, until) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::TimedOut => continue,
            Err(e) => return Err(Error::Io(e)),
        }
        // Of the attempts that are ready, the first to have connected wins; the failed ones
        // go, and the next address starts at once.
        for (i, fd) in fds.iter().enumerate().rev() {
            if fd.revents == 0 {
                continue;
            }
            let stream = trying.swap_remove(i);
            match stream.take_error() {
                Ok(None) => return connected(stream),
                Ok(Some(e)) | Err(e) if concerns_one_address(&e) => {
                    last = Some(e);
                    next_start = Instant::now();
                }
                Ok(Some(e)) | Err(e) => return Err(Error::Io(e)),
            }
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
        let timeout = NextTimeout {
            after: ureq::unversioned::transport::time::Duration::Exact(Duration::from_secs(30)),
            reason: ureq::Timeout::Connect,
            per_read: None,
            per_write: None,
        };
        let stream = connect(&[closed, open], timeout).unwrap();
        assert_eq!(stream.peer_addr().unwrap(), open);
    }
}
