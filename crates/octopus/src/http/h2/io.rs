//! An HTTP/2 connection's socket as the `h2` crate reads and writes it: tokio's I/O traits
//! over a `Socket` (plain, or TLS), never waiting. Where a read finds nothing, or a write
//! finds no room, the answer is `Poll::Pending` and no waker is kept: whoever waits for
//! the connection (a request in the engine's waiting set, or a thread reading a body)
//! waits for its descriptor instead, then drives the connection again (`conn.rs`).
//!
//! Invariants: nothing here blocks; `blocked` says that a write is waiting for room, so
//! that the wait is for the descriptor to be writable too; while `sending_only` is set, a
//! read finds nothing without asking the socket (the connection is driven to send: what
//! came in stays in the socket, where whoever waits for it sees it).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::http::connect::socket::Socket;

/// The socket under an HTTP/2 connection.
#[derive(Debug)]
pub(crate) struct Io {
    pub socket: Socket,
    /// Shared with the connection, which the `h2` crate keeps this in.
    pub state: Arc<IoState>,
}

/// What the connection knows of its socket, and tells it.
#[derive(Debug, Default)]
pub(crate) struct IoState {
    /// A write found no room: wait for the socket to be writable.
    pub blocked: AtomicBool,
    /// Reads are held back: the connection is driven only to send what it has to.
    pub sending_only: AtomicBool,
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let io = self.get_mut();
        if io.state.sending_only.load(Ordering::Relaxed) {
            return Poll::Pending;
        }
        match io.socket.read_into_now(buf.initialize_unfilled()) {
            Ok(Some(amount)) => {
                buf.advance(amount);
                Poll::Ready(Ok(()))
            }
            Ok(None) => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let io = self.get_mut();
        match io.socket.write_now(buf) {
            Ok(amount) => {
                io.state.blocked.store(false, Ordering::Relaxed);
                Poll::Ready(Ok(amount))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                io.state.blocked.store(true, Ordering::Relaxed);
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let io = self.get_mut();
        match io.socket.flush_now() {
            Ok(true) => {
                io.state.blocked.store(false, Ordering::Relaxed);
                Poll::Ready(Ok(()))
            }
            Ok(false) => {
                io.state.blocked.store(true, Ordering::Relaxed);
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}
