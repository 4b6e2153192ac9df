//! One HTTP/2 connection, shared by the streams on it: the `h2` crate's connection and
//! request sender behind one lock, driven (its socket read, its frames taken in, what it
//! has to send written) by whichever thread needs it to go on, never by a thread of its
//! own.
//!
//! How its streams wait on no thread: the connection is in the engine's waiting set once,
//! watched by one of the streams waiting for their answer, the driver; every other waiting
//! stream watches its own bell (`bell.rs`), which the `h2` crate rings (the stream's waker)
//! when what it waits for came in. What the driver watches is the connection's own epoll
//! descriptor, readable when the socket is (or writable, when a write waits for room) or
//! when the driver's own answer was taken in by another thread (its waker then rings the
//! connection's kick too): one descriptor for the engine, and no wake-up lost. When it is
//! readable, the driver is given back, drives the connection, and every stream whose
//! answer came is rung; a driver that leaves (answered, or out of time) passes the role on
//! by ringing a waiting stream, which then watches the connection. A thread reading a body
//! drives the connection too, and waits on the socket and its bell at once.
//!
//! Invariants: the lock is never held during a wait; at most one stream watches the
//! descriptor; while a stream waits for its answer, either it watches the descriptor or
//! another does, or its bell has been rung; a connection that ended (closed, failed, or
//! told to go away) takes no new stream, and every stream on it is told why by the `h2`
//! crate.

use std::future::Future;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::{Pin, pin};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use h2::client::{Connection, SendRequest};

use crate::http::bell::Bell;
use crate::http::connect::socket::Socket;
use crate::http::error::{Error, Step};
use crate::http::h2::io::{Io, IoState};
use crate::http::h2::wake::{StreamWake, Watcher, control, wait_on};
use crate::http::wire::Watch;

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
    /// The socket's descriptor.
    fd: RawFd,
    /// Whether a write waits for room in the socket (and reads are held back).
    io: Arc<IoState>,
    /// The address connected to, when known (for the archive).
    pub peer: Option<SocketAddr>,
}

#[derive(Debug)]
struct Inner {
    conn: Connection<Io, Bytes>,
    send: SendRequest<Bytes>,
    /// The socket's state, shared with `conn`'s `Io`.
    io: Arc<IoState>,
    /// The connection's future has ended (it is not polled again).
    finished: bool,
    /// Why the connection takes no new stream, once it does not.
    ended: Option<String>,
    /// The stream whose request watches the descriptor, if one does.
    driver: Option<u64>,
    /// The bells of the other streams waiting for their answer.
    waiting: Vec<(u64, Arc<Bell>)>,
    /// What the driver watches, while a stream is open.
    watcher: Option<Watcher>,
    /// Streams begun and not ended.
    open: usize,
    /// The next stream's number (ours, not the protocol's).
    next: u64,
    /// Bells of streams that ended, for the next (an eventfd made, added to the engine's
    /// epoll set and closed per stream was a tenth of the system time on W14h2).
    spare: Vec<Arc<Bell>>,
    /// Since when no stream is open (`None` while one is).
    idle_since: Option<Instant>,
}

/// Bells kept for the next streams, at most: each is a descriptor.
const SPARE_BELLS: usize = 16;

impl Shared {
    /// An HTTP/2 connection on `socket`, its preface and SETTINGS sent (waiting for room
    /// until `deadline`; nothing is read yet).
    pub fn handshake(socket: Socket, deadline: Instant) -> Result<Arc<Shared>, Error> {
        let fd = socket.fd();
        let peer = socket.peer;
        let state = Arc::new(IoState::default());
        let io = Io {
            socket,
            state: Arc::clone(&state),
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
                Poll::Pending => wait_on(fd, libc::POLLOUT, None, deadline, Step::Tls)?,
            }
        };
        Ok(Arc::new(Shared {
            inner: Mutex::new(Inner {
                conn,
                send,
                io: Arc::clone(&state),
                finished: false,
                ended: None,
                driver: None,
                waiting: Vec::new(),
                watcher: None,
                open: 0,
                next: 0,
                spare: Vec::new(),
                idle_since: Some(Instant::now()),
            }),
            fd,
            io: state,
            peer,
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The descriptor, and whether a write waits for room in it.
    pub fn fd(&self) -> (RawFd, bool) {
        (self.fd, self.io.blocked.load(Ordering::Relaxed))
    }

    /// Whether the connection may take new streams: not ended, and not idle for `age`
    /// (one lock: every https request asks this of its origin's connections).
    pub fn usable(&self, age: Duration) -> bool {
        let inner = self.lock();
        inner.ended.is_none() && inner.idle_since.is_none_or(|since| since.elapsed() < age)
    }

    /// Whether no stream is open on it.
    pub fn is_idle(&self) -> bool {
        self.lock().idle_since.is_some()
    }

    /// A stream's place on the connection, if it has room: fewer streams open than the
    /// server takes at once, and none held back by the `h2` crate. An error when the
    /// stream's bell or the connection's watcher cannot be made (no descriptor left).
    pub fn reserve(self: &Arc<Self>) -> std::io::Result<Option<Slot>> {
        let mut inner = self.lock();
        let most = inner.send.current_max_send_streams();
        if inner.ended.is_some() || inner.open >= most {
            return Ok(None);
        }
        // The `h2` crate frees a stream's place only once the stream is released, which
        // can be after ours: while it holds a stream back for want of room, so do we.
        match inner
            .send
            .poll_ready(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(Ok(())) => {}
            Poll::Pending => return Ok(None),
            Poll::Ready(Err(e)) => {
                inner.ended = Some(super::error(&e).to_string());
                return Ok(None);
            }
        }
        let bell = match inner.spare.pop() {
            Some(bell) => bell,
            None => Bell::new()?,
        };
        let kick = match &inner.watcher {
            Some(watcher) => Arc::clone(&watcher.kick),
            None => {
                let watcher = Watcher::new(self.fd)?;
                let kick = Arc::clone(&watcher.kick);
                inner.watcher = Some(watcher);
                kick
            }
        };
        inner.open += 1;
        inner.idle_since = None;
        inner.next += 1;
        let token = inner.next;
        let waker = Waker::from(Arc::new(StreamWake {
            bell: Arc::clone(&bell),
            token,
            kick,
        }));
        Ok(Some(Slot {
            conn: Arc::clone(self),
            token,
            bell,
            waker,
        }))
    }

    /// Begin a stream with `request` (and its `body`) and send what can be sent (nothing is
    /// read: the answer cannot be in yet).
    pub fn begin(
        &self,
        request: http::Request<()>,
        body: Option<Bytes>,
    ) -> Result<h2::client::ResponseFuture, Error> {
        let mut inner = self.lock();
        // Ended since the stream's place was taken: nothing would send it (the connection
        // is no longer driven), so it goes elsewhere.
        if let Some(why) = &inner.ended {
            return Err(Error::Refused(format!("the connection ended ({why})")));
        }
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
                inner.send_pending();
                Ok(response)
            }
            Err(e) => {
                let error = super::error(&e);
                inner.ended.get_or_insert_with(|| error.to_string());
                Err(error)
            }
        }
    }

    /// What the stream of `slot` waits for: the connection (its epoll descriptor), if no
    /// other stream watches it, else its own bell.
    pub fn watch_for(&self, slot: &Slot) -> Watch {
        let mut guard = self.lock();
        let inner = &mut *guard;
        // A stream's slot keeps the watcher: there is one while the stream is open.
        if inner.driver.is_none_or(|driver| driver == slot.token)
            && let Some(watcher) = inner.watcher.as_mut()
        {
            inner.driver = Some(slot.token);
            watcher.kick.driver.store(slot.token, Ordering::SeqCst);
            // Rung before it watched the connection (its answer taken in between): the
            // connection's kick says so now. (Rung after the store above, its waker rings
            // the kick itself.)
            if slot.bell.is_rung() {
                watcher.kick.bell.ring();
            }
            let out = self.io.blocked.load(Ordering::Relaxed);
            if out != watcher.watching_out {
                let events = match out {
                    true => libc::EPOLLIN | libc::EPOLLOUT,
                    false => libc::EPOLLIN,
                };
                if control(&watcher.poller, libc::EPOLL_CTL_MOD, self.fd, events).is_ok() {
                    watcher.watching_out = out;
                }
            }
            let watched = std::mem::replace(&mut watcher.watched, true);
            return Watch::read(watcher.poller.as_raw_fd(), watched);
        }
        if !inner
            .waiting
            .iter()
            .any(|(waiting, _)| *waiting == slot.token)
        {
            inner.waiting.push((slot.token, Arc::clone(&slot.bell)));
        }
        slot.bell.watch()
    }

    /// Poll what the stream of `slot` waits for (`poll`, with the stream's waker), after
    /// driving the connection if it is not in yet and `drive` says so (not for the first
    /// poll after a stream begins: it only leaves the stream's waker with the `h2` crate).
    /// The stream watches nothing from here on; once what it waited for came, the
    /// connection passes to another stream if no other watches it.
    pub fn poll_stream<T>(
        &self,
        slot: &Slot,
        drive: bool,
        mut poll: impl FnMut(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        slot.bell.quiet();
        let mut inner = self.lock();
        if inner.driver == Some(slot.token)
            && let Some(watcher) = &inner.watcher
        {
            watcher.kick.bell.quiet();
        }
        inner.stop_waiting(slot.token);
        let mut cx = Context::from_waker(&slot.waker);
        // What a stream was rung for is in already: the socket is read only when not.
        let mut polled = poll(&mut cx);
        if polled.is_pending() && drive {
            inner.drive();
            // Rung by that drive (under the lock, as every ring is): seen by this poll.
            slot.bell.quiet();
            polled = poll(&mut cx);
        }
        if polled.is_ready() {
            inner.hand_off();
        }
        polled
    }

    /// Send what the connection has to send (after a body's window was released: the
    /// update goes out).
    pub fn send_pending(&self) {
        self.lock().send_pending();
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

    /// Send what is to be sent (a request begun, a window released, a stream's end) without
    /// reading the socket: what came in is read by a stream waiting for it (the driver's
    /// poller is level-triggered; a thread reading a body waits on the socket itself).
    /// (Every drive read the socket: 5.4 reads a URL on W14h2, 1.6 now.)
    fn send_pending(&mut self) {
        self.io.sending_only.store(true, Ordering::Relaxed);
        self.drive();
        self.io.sending_only.store(false, Ordering::Relaxed);
    }

    /// The stream `token` neither watches the connection nor waits for its bell.
    fn stop_waiting(&mut self, token: u64) {
        if self.driver == Some(token) {
            self.driver = None;
            if let Some(watcher) = &self.watcher {
                watcher.kick.driver.store(0, Ordering::Relaxed);
            }
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

/// A stream's place on a connection, its bell and its waker: given up when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    pub conn: Arc<Shared>,
    /// The stream's number among the connection's (ours; from 1).
    pub token: u64,
    /// Rung when what the stream waits for came in.
    pub bell: Arc<Bell>,
    waker: Waker,
}

impl Drop for Slot {
    /// The stream's place is given back, and the connection driven: what the stream's end
    /// calls for (a reset of an unfinished stream, a stream the `h2` crate held back for
    /// want of room) goes out now, not when something next comes in.
    fn drop(&mut self) {
        let mut inner = self.conn.lock();
        inner.send_pending();
        inner.open = inner.open.saturating_sub(1);
        inner.stop_waiting(self.token);
        inner.hand_off();
        if inner.open == 0 {
            inner.idle_since = Some(Instant::now());
            // An idle connection keeps its socket alone (no stream waits: nothing watches
            // the poller): the descriptors of thousands of idle connections add up.
            inner.spare.clear();
            inner.watcher = None;
            return;
        }
        // A waker of the stream the `h2` crate still holds may ring it: a spurious wake-up
        // of the next stream, never a lost one.
        self.bell.quiet();
        if inner.spare.len() < SPARE_BELLS {
            inner.spare.push(Arc::clone(&self.bell));
        }
    }
}
