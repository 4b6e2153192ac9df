//! One accepted connection, plain or TLS, as the request reader and the response writer
//! share it (both on the connection's one thread).

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rustls::{HandshakeKind, ServerConfig, ServerConnection, StreamOwned};

use crate::State;

/// How long a client may take over its handshake before the server gives up on it.
const HANDSHAKE_TIME: Duration = Duration::from_secs(30);

/// A connection; clones are handles to the same one.
#[derive(Clone)]
pub(crate) struct Conn(Rc<RefCell<Inner>>);

enum Inner {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Conn {
    pub(crate) fn plain(stream: TcpStream) -> Conn {
        Conn(Rc::new(RefCell::new(Inner::Plain(stream))))
    }

    /// The connection once its TLS handshake is done (counted in `state`); `None` when
    /// the handshake failed or the client left.
    pub(crate) fn tls(stream: TcpStream, config: Arc<ServerConfig>, state: &State) -> Option<Conn> {
        let mut conn = ServerConnection::new(config).ok()?;
        let mut stream = stream;
        stream.set_read_timeout(Some(HANDSHAKE_TIME)).ok()?;
        while conn.is_handshaking() {
            conn.complete_io(&mut stream).ok()?;
        }
        stream.set_read_timeout(None).ok()?;
        state.handshakes.fetch_add(1, Ordering::SeqCst);
        if conn.handshake_kind() == Some(HandshakeKind::Resumed) {
            state.resumed.fetch_add(1, Ordering::SeqCst);
        }
        if let Ok(mut alpn) = state.alpn.lock() {
            alpn.push(conn.alpn_protocol().map(<[u8]>::to_vec));
        }
        let tls = StreamOwned::new(conn, stream);
        Some(Conn(Rc::new(RefCell::new(Inner::Tls(Box::new(tls))))))
    }

    /// The TCP connection under it (another handle to the same socket).
    pub(crate) fn tcp(&self) -> io::Result<TcpStream> {
        match &*self.0.borrow() {
            Inner::Plain(stream) => stream.try_clone(),
            Inner::Tls(tls) => tls.sock.try_clone(),
        }
    }

    /// Say the end of the connection (TLS: a `close_notify`).
    pub(crate) fn close(&self) {
        if let Inner::Tls(tls) = &mut *self.0.borrow_mut() {
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut *self.0.borrow_mut() {
            Inner::Plain(stream) => stream.read(buf),
            Inner::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut *self.0.borrow_mut() {
            Inner::Plain(stream) => stream.write(buf),
            Inner::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut *self.0.borrow_mut() {
            Inner::Plain(stream) => stream.flush(),
            Inner::Tls(tls) => tls.flush(),
        }
    }
}
