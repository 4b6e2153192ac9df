//! Plain TCP connections, made by octopus in place of ureq's `TcpConnector` (TLS, SOCKS and
//! CONNECT proxies still wrap them, see `connector.rs`).
//!
//! What differs from ureq's, measured at thousands of connections (BENCHMARKS.md, W9) and
//! on raw throughput (W3): the buffers (`buffers.rs`) are held only while the connection
//! is busy, so a connection waiting for its response first waits for the socket to be
//! readable (`poll`) with no buffer; reads and writes never block (`MSG_DONTWAIT`, with
//! `poll` for the waits), so no socket timeout is set per request (two `setsockopt` calls
//! per request in ureq's transport); checking that an idle connection is still open is
//! one `recv(MSG_PEEK | MSG_DONTWAIT)` instead of three system calls, once per request.
//! No shutdown handle is registered with ureq (its pool walked the list of every live
//! connection on each request); octopus never shuts an agent down while requests run.
//!
//! Invariants: every wait is bounded by the request's timeout; a timeout is reported as
//! ureq's `Error::Timeout` with ureq's reason, like its own transport does; a head larger
//! than the input limit is still seen by ureq as too large.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Instant;

use ureq::config::Config;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, NextTimeout, Transport,
};
use ureq::{Error, Timeout};

use super::buffers::SocketBuffers;
use super::connect::connect;
use super::pool::connected_to;
use super::resolver::OctopusResolver;
use crate::blocking;

/// Waits up to this long are not told to the engine (`blocking.rs`).
const SHORT_WAIT_MS: i32 = 1;

/// Connects plain TCP sockets; passes a connection made earlier in the chain (a SOCKS
/// proxy's) through. Looks the host up here when ureq's resolver left it for later (see
/// `resolver.rs`).
#[derive(Debug)]
pub(crate) struct Tcp {
    pub resolver: OctopusResolver,
}

impl<In: Transport> Connector<In> for Tcp {
    type Out = Either<In, Socket>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, Error> {
        if let Some(transport) = chained {
            return Ok(Some(Either::A(transport)));
        }
        let socket = if details.addrs.is_empty() {
            let deadline = super::resolver::deadline_of(&details.timeout);
            let addrs = self
                .resolver
                .lookup(details.uri, details.config, deadline)?;
            Socket::open(&addrs, details.timeout, details.config)?
        } else {
            Socket::open(&details.addrs, details.timeout, details.config)?
        };
        connected_to(socket.peer);
        Ok(Some(Either::B(socket)))
    }
}

/// One plain TCP connection and its buffers.
#[derive(Debug)]
pub(crate) struct Socket {
    stream: TcpStream,
    buffers: SocketBuffers,
    /// Bytes were read since the last `is_open`: ureq is asking at the end of a response.
    answered: bool,
    /// The address connected to, when known.
    pub peer: Option<SocketAddr>,
    /// The descriptor is in the engine's epoll set (`run/waiting.rs`): it is re-armed there,
    /// not added again.
    pub watched: bool,
    /// The response was waited for in the epoll set: the next read tries before it waits.
    pub woken: bool,
}

impl Socket {
    /// A connection to the first of `addrs` that answers within its share of `timeout`,
    /// with buffers sized by `config`.
    pub fn open(
        addrs: &[SocketAddr],
        timeout: NextTimeout,
        config: &Config,
    ) -> Result<Socket, Error> {
        let stream = connect(addrs, timeout)?;
        if config.no_delay() {
            stream.set_nodelay(true)?;
        }
        Ok(Socket {
            peer: stream.peer_addr().ok(),
            stream,
            buffers: SocketBuffers::new(config.input_buffer_size(), config.output_buffer_size()),
            answered: false,
            watched: false,
            woken: false,
        })
    }

    /// The descriptor, to wait on.
    pub fn fd(&self) -> std::os::fd::RawFd {
        self.stream.as_raw_fd()
    }

    /// Give the buffers back while nothing is buffered (before a wait elsewhere).
    pub fn release_buffers(&mut self) {
        if !self.buffers.holds_input() {
            self.buffers.release();
        }
    }

    /// Send all of `bytes`, waiting for room in the socket until `deadline`.
    pub fn send(&self, bytes: &[u8], deadline: Option<Instant>) -> io::Result<()> {
        send_all(&self.stream, bytes, deadline)
    }

    /// Read what the server sent next into the input buffer, waiting for it until
    /// `deadline`: how many bytes, 0 at the end of the stream (or with no room left).
    pub fn fill(&mut self, deadline: Option<Instant>) -> io::Result<usize> {
        let woken = std::mem::take(&mut self.woken);
        if !woken && !self.buffers.holds_input() {
            // The request is sent and nothing is buffered: wait for the answer holding no
            // buffer (this is where a slow server keeps a connection).
            self.release_buffers();
            wait_ready(&self.stream, libc::POLLIN, deadline)?;
        }
        let amount = loop {
            match recv_now(&self.stream, self.buffers.input_append_buf()) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    wait_ready(&self.stream, libc::POLLIN, deadline)?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        self.buffers.input_appended(amount);
        self.answered |= amount > 0;
        Ok(amount)
    }
}

impl Transport for Socket {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        let timeout = timeout.for_write();
        let reason = timeout.reason;
        let deadline = deadline(timeout)?;
        send_all(&self.stream, self.buffers.written(amount), deadline)
            .map_err(|e| io_error(e, reason))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        let timeout = timeout.for_read();
        let reason = timeout.reason;
        let deadline = deadline(timeout)?;
        let amount = self.fill(deadline).map_err(|e| io_error(e, reason))?;
        Ok(amount > 0)
    }

    /// Whether the connection may be used again: the server has neither closed it nor sent
    /// anything unasked. ureq asks when a response ends, and the pool when it hands the
    /// connection out; the buffers are given back here. Right after a response was read
    /// (ureq's question) the socket is not probed: the pool's probe at hand-out, later, is
    /// the one that counts, and one probe per request is enough.
    fn is_open(&mut self) -> bool {
        self.buffers.release();
        if self.buffers.holds_input() {
            return false;
        }
        std::mem::take(&mut self.answered) || peek_says_open(&self.stream)
    }
}

/// When a read or write must end, `None` for never; an error if no time is left.
pub(crate) fn deadline(timeout: NextTimeout) -> Result<Option<Instant>, Error> {
    if timeout.after.is_zero() {
        return Err(Error::Timeout(timeout.reason));
    }
    Ok(timeout
        .not_zero()
        .and_then(|t| Instant::now().checked_add(*t)))
}

fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// An I/O error as ureq's transport reports it: a socket timeout is ureq's `Timeout`.
pub(crate) fn io_error(e: io::Error, reason: Timeout) -> Error {
    if timed_out(&e) {
        Error::Timeout(reason)
    } else {
        Error::Io(e)
    }
}

/// Wait until `stream` is ready for `events` (or closed, or failed: the read or write that
/// follows says which), or until `deadline`. The socket stays blocking: the waits are
/// here, and reads and writes never block (`MSG_DONTWAIT`), so no socket timeout is set
/// per request.
fn wait_ready(
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

/// Wait until one of `fds` is ready for its events (their `revents` say which), or
/// `deadline` passes (`TimedOut`). The first wait is short and not told to the engine (a
/// connection on loopback, an answer already on its way); a longer one is
/// (`blocking::during`).
pub(super) fn wait_any(fds: &mut [libc::pollfd], deadline: Option<Instant>) -> io::Result<()> {
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

/// Read what the socket holds into `buf`, without waiting.
fn recv_now(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
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
fn send_all(stream: &TcpStream, mut bytes: &[u8], deadline: Option<Instant>) -> io::Result<()> {
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
fn send_now(stream: &TcpStream, buf: &[u8]) -> io::Result<usize> {
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
fn peek_says_open(stream: &TcpStream) -> bool {
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
