//! One TCP connection: its input buffer, and its TLS state when it carries TLS (`tls.rs`;
//! two with an `https://` proxy, the origin's inside the proxy's), through which reads and
//! writes then go.
//!
//! What differs from ureq's transport, measured at thousands of connections (BENCHMARKS.md,
//! W9) and on raw throughput (W3): the buffer (`buffers.rs`) is held only while the
//! connection is busy, so a connection waiting for its response first waits for the socket
//! to be readable (`poll`) with no buffer; reads and writes never block (`MSG_DONTWAIT`,
//! with `poll` for the waits), so no socket timeout is set per request; checking that an
//! idle connection is still open is one `recv(MSG_PEEK | MSG_DONTWAIT)`, once per request.
//!
//! Invariants: every wait is bounded by the request's timeout; a timeout is reported as
//! `Error::Timeout` with whose timeout it was; a head larger than the input limit is
//! seen as too large, not as a stalled read.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use crate::http::connect::buffers::SocketBuffers;
use crate::http::connect::tls::{Progress, Tls, Under};
use crate::http::error::MAX_HEAD;
use crate::http::error::{Error, Step, Timeout};
use crate::http::wire::{peek_says_open, recv_now, send_all, send_now, wait_ready};

/// The most a connection reads ahead: more than `MAX_HEAD`, so that a head over the limit
/// is seen as such, not as a stalled read.
const INPUT_BUFFER: usize = MAX_HEAD + 8 * 1024;

/// One TCP connection, its buffers, and its TLS state when it carries TLS.
#[derive(Debug)]
pub(crate) struct Socket {
    stream: TcpStream,
    buffers: SocketBuffers,
    tls: Option<Box<Tls>>,
    /// Under `tls`, the TLS connection with an `https://` proxy whose tunnel carries it.
    outer: Option<Box<Tls>>,
    /// Bytes were read since the last `is_open`: it is asked at the end of a response.
    answered: bool,
    /// The address connected to, when known.
    pub peer: Option<SocketAddr>,
    /// The descriptor is in the engine's epoll set (`run/waiting.rs`): it is re-armed there,
    /// not added again.
    pub watched: bool,
    /// The response was waited for in the epoll set: the next read tries before it waits.
    pub woken: bool,
    /// When the last request was sent, and when the first byte of its answer came.
    sent_at: Option<Instant>,
    first_byte: Option<Instant>,
}

impl Socket {
    /// The connection `stream` (just made); requests go out at once (no Nagle delay).
    pub fn new(stream: TcpStream) -> Result<Socket, Error> {
        stream.set_nodelay(true).map_err(Error::Io)?;
        Ok(Socket {
            peer: stream.peer_addr().ok(),
            stream,
            buffers: SocketBuffers::new(INPUT_BUFFER),
            tls: None,
            outer: None,
            answered: false,
            watched: false,
            woken: false,
            sent_at: None,
            first_byte: None,
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

    /// The input buffer: what was read and not consumed.
    pub fn buffers(&mut self) -> &mut SocketBuffers {
        &mut self.buffers
    }

    /// Whether the connection may be used again: the server has neither closed it nor sent
    /// anything unasked. Asked when a response ends (`body_reader.rs`) and when the pool
    /// hands the connection out; the buffers are given back here. Right after a response
    /// was read the socket is not probed: the probe at hand-out, later, is the one that
    /// counts, and one probe per request is enough.
    pub fn is_open(&mut self) -> bool {
        self.buffers.release();
        let unread = |tls: &mut Option<Box<Tls>>| tls.as_mut().is_some_and(|t| t.holds_plaintext());
        if self.buffers.holds_input() || unread(&mut self.tls) || unread(&mut self.outer) {
            return false;
        }
        std::mem::take(&mut self.answered) || peek_says_open(&self.stream)
    }

    /// Carry TLS from now on (`tls` made for this connection, its handshake begun by the
    /// first `send`); over the TLS it already carries (with an `https://` proxy), inside it.
    pub fn start_tls(&mut self, tls: Tls) {
        self.outer = self.tls.take();
        self.tls = Some(Box::new(tls));
    }

    /// Send all of `bytes`, waiting for room in the socket until `deadline`. With TLS, what
    /// the handshake does not let go yet is queued and sent as it goes on.
    pub fn send(&mut self, bytes: &[u8], deadline: Option<Instant>) -> io::Result<()> {
        self.first_byte = None;
        let sent = match self.tls.as_mut() {
            Some(tls) => tls.send(
                &mut under(&mut self.outer, &self.stream, deadline),
                bytes,
                deadline,
            ),
            None => send_all(&self.stream, bytes, deadline),
        };
        // Once it is out (the time to first byte and `--delay`'s spacing count from then).
        self.sent_at = Some(Instant::now());
        sent
    }

    /// Read what has come into the input buffer, without waiting: how many bytes (0 at the
    /// end of the stream), `None` when nothing has come yet. With TLS, the handshake goes on
    /// with what came.
    pub fn read_now(&mut self, deadline: Option<Instant>) -> io::Result<Option<usize>> {
        let amount = match self.tls.as_mut() {
            Some(tls) => match tls.advance(
                &mut under(&mut self.outer, &self.stream, deadline),
                tls.deadline(deadline),
            )? {
                Progress::Waiting => return Ok(None),
                Progress::Ready => tls.read_ready(self.buffers.input_append_buf())?,
            },
            None => match recv_now(&self.stream, self.buffers.input_append_buf()) {
                Ok(amount) => amount,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(None),
                Err(e) => return Err(e),
            },
        };
        self.buffers.input_appended(amount);
        Ok(Some(amount))
    }

    /// Read what has come straight into `buf`, without waiting: how many bytes (0 at the
    /// end of the stream), `None` when nothing has come yet (an HTTP/2 connection's reads,
    /// whose frames the `h2` crate buffers itself).
    pub fn read_into_now(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match self.tls.as_mut() {
            Some(tls) => {
                match tls.advance(&mut under(&mut self.outer, &self.stream, None), None)? {
                    Progress::Waiting => Ok(None),
                    Progress::Ready => tls.read_ready(buf).map(Some),
                }
            }
            None => match recv_now(&self.stream, buf) {
                Ok(amount) => Ok(Some(amount)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    /// Write what the socket takes of `bytes` now: how much was taken (`WouldBlock` when
    /// nothing). With TLS, all of it is taken once what was queued before went out.
    pub fn write_now(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self.tls.as_mut() {
            Some(tls) => {
                let link = &mut under(&mut self.outer, &self.stream, None);
                if !tls.flush_now(link)? {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                tls.send_now(link, bytes)?;
                Ok(bytes.len())
            }
            None => send_now(&self.stream, bytes),
        }
    }

    /// Send what TLS still holds, as far as the socket takes it now: whether all went out.
    pub fn flush_now(&mut self) -> io::Result<bool> {
        match self.tls.as_mut() {
            Some(tls) => tls.flush_now(&mut under(&mut self.outer, &self.stream, None)),
            None => Ok(true),
        }
    }

    /// Go on with the TLS handshake with what came, without waiting for more: whether it
    /// is done (a plain connection has none to do).
    pub fn handshake_now(&mut self, deadline: Option<Instant>) -> io::Result<bool> {
        let Some(tls) = self.tls.as_mut() else {
            return Ok(true);
        };
        let deadline = tls.deadline(deadline);
        tls.advance(
            &mut under(&mut self.outer, &self.stream, deadline),
            deadline,
        )?;
        Ok(!tls.handshaking())
    }

    /// Whether the server chose HTTP/2 in the TLS handshake.
    pub fn speaks_h2(&self) -> bool {
        self.tls.as_ref().is_some_and(|tls| tls.speaks_h2())
    }

    /// The server's own certificate, on a TLS connection whose handshake is done.
    pub fn leaf(&self) -> Option<rustls::pki_types::CertificateDer<'static>> {
        self.tls.as_ref()?.leaf()
    }

    /// Whether a TLS handshake is under way (not begun or not done).
    pub fn handshaking(&self) -> bool {
        self.tls.as_ref().is_some_and(|tls| tls.handshaking())
    }

    /// How long the TLS handshake took, once done (a TLS connection).
    pub fn handshake_time(&self) -> Option<Duration> {
        self.tls.as_ref()?.handshake_time()
    }

    /// From the request sent (or, on a new TLS connection, from the handshake's end, when
    /// it went out) to the first byte of its answer, once that came.
    pub fn time_to_first_byte(&self) -> Option<Duration> {
        let sent = self.sent_at?;
        let out = match self.tls.as_ref().and_then(|tls| tls.done_at()) {
            Some(done) => sent.max(done),
            None => sent,
        };
        Some(self.first_byte?.saturating_duration_since(out))
    }

    /// When the request last sent went out: when it was sent, or, on a new TLS connection,
    /// when the handshake ended (`None` while it has not).
    pub fn went_out(&self) -> Option<Instant> {
        let sent = self.sent_at?;
        match self.tls.as_ref() {
            Some(tls) => tls.done_at().map(|done| sent.max(done)),
            None => Some(sent),
        }
    }

    /// When a wait for this connection must end: `deadline`, or earlier while a TLS
    /// handshake is not done (the connect timeout bounds it).
    pub fn deadline(&self, deadline: Option<Instant>) -> Option<Instant> {
        match self.tls.as_ref() {
            Some(tls) => tls.deadline(deadline),
            None => deadline,
        }
    }

    /// What a timeout now is reported as: while a TLS handshake is not done, one during
    /// it (the connect timeout's when that ran out), else `usual`.
    pub fn timeout_reason(&self, usual: Timeout) -> Timeout {
        match self.tls.as_ref() {
            Some(tls) if tls.handshake_late() => Timeout::Connect(Step::Tls),
            Some(tls) if tls.handshaking() => Timeout::Global(Step::Tls),
            _ => usual,
        }
    }

    /// Whether a read would find something now (or end at once). Plain connections say
    /// yes (they are asked once readable); TLS ones take in what came, and go on with the
    /// handshake, first: what came may be only that.
    pub fn ready(&mut self, deadline: Option<Instant>) -> bool {
        match self.tls.as_mut() {
            Some(tls) => {
                let deadline = tls.deadline(deadline);
                tls.ready(
                    &mut under(&mut self.outer, &self.stream, deadline),
                    deadline,
                )
            }
            None => true,
        }
    }

    /// Read what the server sent next into the input buffer, waiting for it until
    /// `deadline`: how many bytes, 0 at the end of the stream (or with no room left).
    pub fn fill(&mut self, deadline: Option<Instant>) -> io::Result<usize> {
        if self.tls.is_some() {
            return self.fill_tls(deadline);
        }
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
        if amount > 0 && self.first_byte.is_none() {
            self.first_byte = Some(Instant::now());
        }
        Ok(amount)
    }

    /// `fill` through TLS: no buffer is held while waiting.
    fn fill_tls(&mut self, deadline: Option<Instant>) -> io::Result<usize> {
        self.woken = false;
        let Some(tls) = self.tls.as_mut() else {
            return Ok(0);
        };
        loop {
            let deadline = tls.deadline(deadline);
            let link = &mut under(&mut self.outer, &self.stream, deadline);
            if tls.advance(link, deadline)? == Progress::Ready {
                break;
            }
            if !self.buffers.holds_input() {
                self.buffers.release();
            }
            wait_ready(&self.stream, libc::POLLIN, tls.deadline(deadline))?;
        }
        let amount = tls.read_ready(self.buffers.input_append_buf())?;
        self.buffers.input_appended(amount);
        self.answered |= amount > 0;
        if amount > 0 && self.first_byte.is_none() {
            self.first_byte = Some(Instant::now());
        }
        Ok(amount)
    }
}

/// What `tls`'s records travel over: the stream, or the TLS with a proxy (`outer`).
fn under<'a>(
    outer: &'a mut Option<Box<Tls>>,
    stream: &'a TcpStream,
    deadline: Option<Instant>,
) -> Under<'a> {
    match outer.as_deref_mut() {
        Some(outer) => Under::Proxy {
            outer,
            stream,
            deadline,
        },
        None => Under::Tcp(stream),
    }
}

fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// An I/O error as the exchange reports it: a wait that ran out is a `Timeout`, `reason`'s.
pub(crate) fn io_error(e: io::Error, reason: Timeout) -> Error {
    if timed_out(&e) {
        Error::Timeout(reason)
    } else {
        Error::Io(e)
    }
}
