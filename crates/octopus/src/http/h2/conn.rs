//! One HTTP/2 connection, shared by the streams on it: the `h2` crate's connection and
//! request sender behind one lock, driven (its socket read, its frames taken in, what it
//! has to send written) by whichever thread needs it to go on, never by a thread of its
//! own.
//!
//! How its streams wait on no thread: the connection's descriptor is in the engine's
//! waiting set once, watched by one of the streams waiting for their answer, the driver;
//! every other waiting stream watches its own bell (`bell.rs`), which the `h2` crate rings
//! (the stream's waker) when what it waits for came in. When the descriptor is readable,
//! the driver is given back, drives the connection, and every stream whose answer came is
//! rung; a driver that leaves (answered, or out of time) passes the descriptor on by
//! ringing a waiting stream, which then watches it. A thread reading a body drives the
//! connection too, and waits on the descriptor and its bell at once.
//!
//! Invariants: the lock is never held during a wait; at most one stream watches the
//! descriptor; while a stream waits for its answer, either it watches the descriptor or
//! another does, or its bell has been rung; a connection that ended (closed, failed, or
//! told to go away) takes no new stream, and every stream on it is told why by the `h2`
//! crate.

use std::future::Future;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::Bytes;
use h2::client::{Connection, SendRequest};

use crate::http::bell::Bell;
use crate::http::connect::socket::Socket;
use crate::http::error::{Error, Timeout};
use crate::http::h2::io::Io;
use crate::http::wire::{Watch, wait_any};

/// A stream's receive window: large enough that a body is not held back by round trips
/// (the spec's 64 KiB is what hyper found too small), released as the body is read.
const STREAM_WINDOW: u32 = 2 << 20;
/// The connection's receive window, shared by its streams.
const CONNECTION_WINDOW: u32 = 16 << 20;
/// Streams opened on a connection before the server's SETTINGS say how many it takes (as
/// curl).
pub(crate) const FIRST_STREAMS: usize = 100;

/// An HTTP/2 connection and its streams' bookkeeping.
#[derive(Debug)]
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    fd: RawFd,
    /// A write is waiting for room in the socket.
    blocked: Arc<AtomicBool>,
    /// The address connected to, when known (for the archive).
    pub peer: Option<SocketAddr>,
}

#[derive(Debug)]
struct Inner {
    conn: Connection<Io, Bytes>,
    send: SendRequest<Bytes>,
    /// The connection's future has ended (it is not polled again).
    finished: bool,
    /// Why the connection takes no new stream, once it does not.
    ended: Option<String>,
    /// The stream whose request watches the descriptor, if one does.
    driver: Option<u64>,
    /// The bells of the other streams waiting for their answer.
    waiting: Vec<(u64, Arc<Bell>)>,
    /// The descriptor is in the engine's epoll set.
    watched: bool,
    /// Streams begun and not ended.
    open: usize,
    /// The next stream's number (ours, not the protocol's).
    next: u64,
}

impl Shared {
    /// An HTTP/2 connection on `socket`, its preface and SETTINGS sent (waiting for room
    /// until `deadline`; nothing is read yet).
    pub fn handshake(socket: Socket, deadline: Instant) -> Result<Arc<Shared>, Error> {
        let fd = socket.fd();
        let watched = socket.watched;
        let peer = socket.peer;
        let blocked = Arc::new(AtomicBool::new(false));
        let io = Io {
            socket,
            blocked: Arc::clone(&blocked),
        };
        let mut builder = h2::client::Builder::new();
        builder
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .initial_max_send_streams(FIRST_STREAMS)
            .enable_push(false);
        let mut handshake = pin!(builder.handshake::<_, Bytes>(io));
        let (send, conn) = loop {
            match handshake
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
            {
                Poll::Ready(made) => break made.map_err(|e| super::error(&e))?,
                Poll::Pending => wait_for(fd, true, deadline)?,
            }
        };
        Ok(Arc::new(Shared {
            inner: Mutex::new(Inner {
                conn,
                send,
                finished: false,
                ended: None,
                driver: None,
                waiting: Vec::new(),
                watched,
                open: 0,
                next: 0,
            }),
            fd,
            blocked,
            peer,
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The descriptor, and whether a write waits for room in it.
    pub fn fd(&self) -> (RawFd, bool) {
        (self.fd, self.blocked.load(Ordering::Relaxed))
    }

    /// Whether the connection may take new streams.
    pub fn usable(&self) -> bool {
        self.lock().ended.is_none()
    }

    /// A stream's place on the connection, if it has room: fewer streams open than the
    /// server takes at once.
    pub fn reserve(self: &Arc<Self>) -> Option<Slot> {
        let mut inner = self.lock();
        let most = inner.send.current_max_send_streams();
        if inner.ended.is_some() || inner.open >= most {
            return None;
        }
        inner.open += 1;
        inner.next += 1;
        Some(Slot {
            conn: Arc::clone(self),
            token: inner.next,
        })
    }

    /// Begin a stream with `request` (and its `body`) and send what can be sent.
    pub fn begin(
        &self,
        request: http::Request<()>,
        body: Option<Bytes>,
    ) -> Result<h2::client::ResponseFuture, Error> {
        let mut inner = self.lock();
        let mut cx = Context::from_waker(Waker::noop());
        let sent = match inner.send.poll_ready(&mut cx) {
            Poll::Ready(Ok(())) => inner.send.send_request(request, body.is_none()),
            Poll::Ready(Err(e)) => Err(e),
            Poll::Pending => return Err(Error::Refused("no room for another stream".into())),
        };
        let sent = sent.and_then(|(response, mut stream)| {
            if let Some(body) = body {
                stream.send_data(body, true)?;
            }
            Ok(response)
        });
        match sent {
            Ok(response) => {
                inner.drive();
                Ok(response)
            }
            Err(e) => {
                let error = super::error(&e);
                inner.ended.get_or_insert_with(|| error.to_string());
                Err(error)
            }
        }
    }

    /// What the stream `token` waits for: the descriptor, if no other stream watches it,
    /// else its own `bell`.
    pub fn watch_for(&self, token: u64, bell: &Arc<Bell>) -> Watch {
        let mut inner = self.lock();
        if inner.driver.is_none_or(|driver| driver == token) {
            inner.driver = Some(token);
            let watched = std::mem::replace(&mut inner.watched, true);
            return Watch {
                fd: self.fd,
                watched,
                writable: self.blocked.load(Ordering::Relaxed),
            };
        }
        if !inner.waiting.iter().any(|(waiting, _)| *waiting == token) {
            inner.waiting.push((token, Arc::clone(bell)));
        }
        bell.watch()
    }

    /// Drive the connection, then poll what stream `token` waits for (`poll`, with `bell`
    /// as its waker). The stream watches nothing from here on; once what it waited for
    /// came, the descriptor passes to another stream if no other watches it.
    pub fn poll_stream<T>(
        &self,
        token: u64,
        bell: &Arc<Bell>,
        poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        bell.quiet();
        let mut inner = self.lock();
        inner.stop_waiting(token);
        inner.drive();
        let waker = Waker::from(Arc::clone(bell));
        let polled = poll(&mut Context::from_waker(&waker));
        if polled.is_ready() {
            inner.hand_off();
        }
        polled
    }

    /// Drive the connection (after a body's window was released: the update goes out).
    pub fn drive(&self) {
        self.lock().drive();
    }
}

impl Inner {
    /// Read what came, take its frames in (ringing the streams they are for), and send
    /// what is to be sent, without waiting.
    fn drive(&mut self) {
        if self.finished {
            return;
        }
        let mut cx = Context::from_waker(Waker::noop());
        let why = match Pin::new(&mut self.conn).poll(&mut cx) {
            Poll::Pending => return,
            Poll::Ready(Ok(())) => "the server closed the connection".to_string(),
            Poll::Ready(Err(e)) => super::error(&e).to_string(),
        };
        self.finished = true;
        self.ended.get_or_insert(why);
    }

    /// The stream `token` neither watches the descriptor nor waits for its bell.
    fn stop_waiting(&mut self, token: u64) {
        if self.driver == Some(token) {
            self.driver = None;
        }
        self.waiting.retain(|(waiting, _)| *waiting != token);
    }

    /// With no stream watching the descriptor, ring one that waits: it will.
    fn hand_off(&mut self) {
        if self.driver.is_none()
            && let Some((_, bell)) = self.waiting.pop()
        {
            bell.ring();
        }
    }
}

/// A stream's place on a connection: given up when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    pub conn: Arc<Shared>,
    /// The stream's number among the connection's (ours).
    pub token: u64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut inner = self.conn.lock();
        inner.open = inner.open.saturating_sub(1);
        inner.stop_waiting(self.token);
        inner.hand_off();
    }
}

/// Wait on this thread until `fd` is readable (or writable, when `write`) or `bell` is
/// rung, or `deadline` passes (the request's timeout).
pub(crate) fn wait_for_either(
    (fd, write): (RawFd, bool),
    bell: &Bell,
    deadline: Instant,
) -> Result<(), Error> {
    let events = match write {
        true => libc::POLLIN | libc::POLLOUT,
        false => libc::POLLIN,
    };
    let mut fds = [
        libc::pollfd {
            fd,
            events,
            revents: 0,
        },
        libc::pollfd {
            fd: bell.fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    wait_any(&mut fds, Some(deadline)).map_err(|e| timed_out(e, Timeout::Global))
}

/// Wait on this thread until `fd` is writable (`write`) or readable, until `deadline`.
fn wait_for(fd: RawFd, write: bool, deadline: Instant) -> Result<(), Error> {
    let events = match write {
        true => libc::POLLOUT,
        false => libc::POLLIN,
    };
    let mut fds = [libc::pollfd {
        fd,
        events,
        revents: 0,
    }];
    wait_any(&mut fds, Some(deadline)).map_err(|e| timed_out(e, Timeout::Global))
}

fn timed_out(e: std::io::Error, reason: Timeout) -> Error {
    match e.kind() {
        std::io::ErrorKind::TimedOut => Error::Timeout(reason),
        _ => Error::Io(e),
    }
}
