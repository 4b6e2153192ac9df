//! TLS on octopus's own exchange (`https` sent to the server directly): one connection's
//! TLS state (its configuration is `trust.rs`'s) driven on a
//! non-blocking socket, so that its handshake and its wait for the answer can happen in the
//! engine's waiting set like a plain connection's.
//!
//! How a connection goes: the request is queued before the handshake is done (rustls keeps
//! it until it may be sent) and the ClientHello goes out; from then on every step is
//! `advance`: read what the socket holds, let rustls process it, send what rustls has to
//! send (the rest of the handshake, then the request). A fetch waits in the epoll set
//! between steps and goes on when `advance` says an answer (or an end, or an error) is
//! there.
//!
//! Invariants: certificates are verified as ureq's rustls configuration did (the trusted
//! roots of `trust.rs`, or nothing with `insecure`; the client certificate presented when
//! given; SNI by the URL's host, IP-address certificates for address hosts); ALPN offers
//! `h2` then `http/1.1` (`http/1.1` only with `--http1.1`, and to proxies); sessions are resumed (TLS 1.3 tickets, TLS 1.2 session ids) from one
//! cache per client; rustls's errors travel inside I/O errors (`classify.rs` calls them
//! `tls`); an end of the stream during the handshake is a `tls` failure, after it the end of
//! the stream (with or without `close_notify`).

use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, IoState};
use url::{Host, Url};

use crate::http::connect::chain::{self, Digest};
use crate::http::connect::tickets;
use crate::http::wire::{Wire, wait_ready};

/// The name `url`'s server is asked for and checked against: its host, a name or an
/// address.
pub(crate) fn server_name(url: &Url) -> io::Result<ServerName<'static>> {
    let invalid = |e: String| io::Error::new(io::ErrorKind::InvalidInput, e);
    match url.host() {
        Some(Host::Domain(name)) => ServerName::try_from(name.to_string())
            .map_err(|e| invalid(format!("not a TLS server name: {e}"))),
        Some(Host::Ipv4(ip)) => Ok(ServerName::IpAddress(std::net::IpAddr::V4(ip).into())),
        Some(Host::Ipv6(ip)) => Ok(ServerName::IpAddress(std::net::IpAddr::V6(ip).into())),
        None => Err(invalid("no host".to_string())),
    }
}

/// One connection's TLS state.
#[derive(Debug)]
pub(crate) struct Tls {
    conn: ClientConnection,
    /// The server ended the TCP stream.
    ended: bool,
    /// A failure found by `ready`, for the read that follows.
    failed: Option<io::Error>,
    /// When the handshake must be done, if the connect timeout ends before the request's
    /// (counted from the start of the TCP connection, as ureq counted it).
    handshake_by: Option<Instant>,
    /// When the handshake began, and when it was seen done.
    began: Instant,
    done: Option<Instant>,
    /// The session's certificate chain, once known: where its tickets are filed
    /// (`tickets.rs`).
    chain: Option<Digest>,
}

/// What `advance` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Plaintext to read, or the end of the stream: a read will not wait.
    Ready,
    /// Nothing yet: wait for the socket to be readable.
    Waiting,
}

impl Tls {
    /// A connection to `name` with `config`, its handshake not begun (`send` begins it)
    /// and to be done by `handshake_by`.
    pub fn new(
        config: &Arc<ClientConfig>,
        name: ServerName<'static>,
        handshake_by: Option<Instant>,
    ) -> io::Result<Tls> {
        let mut conn = ClientConnection::new(Arc::clone(config), name).map_err(tls_error)?;
        // What is queued before the handshake ends is the request, already in memory.
        conn.set_buffer_limit(None);
        Ok(Tls {
            conn,
            ended: false,
            failed: None,
            handshake_by,
            began: Instant::now(),
            done: None,
            chain: None,
        })
    }

    /// When a wait must end: `deadline`, or the handshake's own if it is earlier and the
    /// handshake is not done.
    pub fn deadline(&self, deadline: Option<Instant>) -> Option<Instant> {
        match (self.handshake_by, self.conn.is_handshaking()) {
            (Some(by), true) => Some(deadline.map_or(by, |d| d.min(by))),
            _ => deadline,
        }
    }

    /// Whether the handshake is not done.
    pub fn handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Whether the server chose HTTP/2 (ALPN `h2`).
    pub fn speaks_h2(&self) -> bool {
        self.conn.alpn_protocol() == Some(b"h2")
    }

    /// The server's own certificate (the first of its chain), once the handshake is done.
    pub fn leaf(&self) -> Option<CertificateDer<'static>> {
        Some(self.conn.peer_certificates()?.first()?.clone().into_owned())
    }

    /// Queue `bytes` (encrypted at once: the handshake is done) and send what the socket
    /// takes now: whether everything went out.
    pub fn send_now(&mut self, under: &mut Under<'_>, bytes: &[u8]) -> io::Result<bool> {
        self.conn.writer().write_all(bytes)?;
        self.flush_now(under)
    }

    /// Send what rustls has to send, as far as the socket takes it now: whether
    /// everything went out.
    pub fn flush_now(&mut self, under: &mut Under<'_>) -> io::Result<bool> {
        while self.conn.wants_write() {
            match self.conn.write_tls(under) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// How long the handshake took, once done.
    pub fn handshake_time(&self) -> Option<Duration> {
        Some(self.done?.saturating_duration_since(self.began))
    }

    /// When the handshake was seen done (the request, queued, goes out then).
    pub fn done_at(&self) -> Option<Instant> {
        self.done
    }

    /// Whether the handshake is not done and its time is up (a timeout then is the
    /// connect timeout's).
    pub fn handshake_late(&self) -> bool {
        self.conn.is_handshaking() && self.handshake_by.is_some_and(|by| Instant::now() >= by)
    }

    /// Queue `bytes` to be sent (encrypted now, or once the handshake is done), then send
    /// what can be sent, waiting for room until `deadline`.
    pub fn send(
        &mut self,
        under: &mut Under<'_>,
        bytes: &[u8],
        deadline: Option<Instant>,
    ) -> io::Result<()> {
        self.conn.writer().write_all(bytes)?;
        self.flush(under, deadline)
    }

    /// Send what rustls has to send, waiting for room until `deadline`.
    fn flush(&mut self, under: &mut Under<'_>, deadline: Option<Instant>) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(under) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    wait_ready(under.stream(), libc::POLLOUT, deadline)?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.during_handshake(e)),
            }
        }
        Ok(())
    }

    /// Take in what the socket holds, without waiting for more, and send what that calls
    /// for (the handshake's next flight, then the request); say whether a read would now
    /// find something. A failure (a certificate refused, a broken record) is returned here.
    pub fn advance(
        &mut self,
        under: &mut Under<'_>,
        deadline: Option<Instant>,
    ) -> io::Result<Progress> {
        if let Some(failed) = self.failed.take() {
            return Err(failed);
        }
        loop {
            let state = match self.process() {
                Ok(state) => state,
                Err(e) => {
                    // Tell the server why (the alert rustls queued), if it still listens.
                    let _ = self.conn.write_tls(under);
                    return Err(tls_error(e));
                }
            };
            if self.done.is_none() && !self.conn.is_handshaking() {
                self.done = Some(Instant::now());
            }
            self.flush(under, deadline)?;
            if state.plaintext_bytes_to_read() > 0 || state.peer_has_closed() {
                return Ok(Progress::Ready);
            }
            if self.ended {
                return match self.conn.is_handshaking() {
                    true => Err(cut_short("closed")),
                    false => Ok(Progress::Ready),
                };
            }
            match self.conn.read_tls(under) {
                Ok(0) => self.ended = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Progress::Waiting),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.during_handshake(e)),
            }
        }
    }

    /// `e` as a `tls` failure when the handshake is not done: a reset then says the server
    /// refused to go on with TLS, not that a kept connection went stale.
    fn during_handshake(&self, e: io::Error) -> io::Error {
        let reset = matches!(
            e.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
        );
        match reset && self.conn.is_handshaking() {
            true => cut_short("reset"),
            false => e,
        }
    }

    /// Read the plaintext there is into `buf` (after `advance` said `Ready`): how many
    /// bytes, 0 at the end of the stream.
    pub fn read_ready(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match io::Read::read(&mut self.conn.reader(), buf) {
            // Closed without `close_notify`: the end of the stream, as HTTP framing (or its
            // absence) decides what that means.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            other => other,
        }
    }

    /// Whether a read would find something now (plaintext, the end, or a failure, kept for
    /// that read): the step a fetch waiting in the epoll set takes when its socket is
    /// readable.
    pub fn ready(&mut self, under: &mut Under<'_>, deadline: Option<Instant>) -> bool {
        match self.advance(under, deadline) {
            Ok(progress) => progress == Progress::Ready,
            Err(e) => {
                self.failed = Some(e);
                true
            }
        }
    }

    /// Whether plaintext that was not read yet is held (then the connection cannot be kept).
    pub fn holds_plaintext(&mut self) -> bool {
        self.process()
            .map_or(true, |state| state.plaintext_bytes_to_read() > 0)
    }

    /// rustls's processing of the records read, with the session's chain known to the
    /// ticket store (`tickets::during`); a resumed session's chain is the one it carries.
    fn process(&mut self) -> Result<IoState, rustls::Error> {
        let conn = &mut self.conn;
        let state = tickets::during(&mut self.chain, || conn.process_new_packets());
        if self.chain.is_none() && !self.conn.is_handshaking() {
            let certs = self.conn.peer_certificates().and_then(<[_]>::split_first);
            self.chain = certs.map(|(end_entity, rest)| chain::digest(end_entity, rest));
        }
        state
    }
}

/// What a connection's TLS records travel over: the TCP stream, or, for TLS to an origin
/// through an `https://` proxy's tunnel, the TLS connection with the proxy (TLS inside
/// TLS), whose waits are the stream's.
pub(crate) enum Under<'a> {
    Tcp(&'a TcpStream),
    Proxy {
        outer: &'a mut Tls,
        stream: &'a TcpStream,
        deadline: Option<Instant>,
    },
}

impl Under<'_> {
    /// The TCP stream everything waits on.
    pub fn stream(&self) -> &TcpStream {
        match self {
            Under::Tcp(stream) | Under::Proxy { stream, .. } => stream,
        }
    }
}

impl io::Read for Under<'_> {
    /// What came, without waiting (`WouldBlock` when nothing has).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Under::Tcp(stream) => Wire(stream).read(buf),
            Under::Proxy {
                outer,
                stream,
                deadline,
            } => match outer.advance(&mut Under::Tcp(stream), *deadline)? {
                Progress::Waiting => Err(io::ErrorKind::WouldBlock.into()),
                Progress::Ready => outer.read_ready(buf),
            },
        }
    }
}

impl io::Write for Under<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Under::Tcp(stream) => Wire(stream).write(buf),
            Under::Proxy {
                outer,
                stream,
                deadline,
            } => {
                outer.send(&mut Under::Tcp(stream), buf, *deadline)?;
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The server ended the connection (`how`: closed, reset) before the handshake was done.
fn cut_short(how: &str) -> io::Error {
    tls_error(rustls::Error::General(format!(
        "the server {how} the connection during the handshake"
    )))
}

/// A rustls error as an I/O error (as rustls's own streams report it).
fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_named_by_the_url_host() {
        let name = |url: &str| server_name(&Url::parse(url).unwrap()).unwrap();
        assert_eq!(
            name("https://a.test:8443/x"),
            ServerName::try_from("a.test").unwrap()
        );
        assert!(matches!(
            name("https://127.0.0.1/"),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(name("https://[::1]/"), ServerName::IpAddress(_)));
    }
}
