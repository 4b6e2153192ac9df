//! The handshake with a proxy, a step of making a connection (`dial.rs`) that waits in the
//! waiting set like the connect before it: TLS with an `https://` proxy, then the tunnel's
//! `CONNECT` (`tunnel.rs`) or the SOCKS exchange (`socks.rs`). Each reply is read without
//! waiting; when it is not all there, the step waits for the socket to be readable.
//!
//! Invariants: nothing of what follows the proxy's last reply is taken from the input (it
//! is the target's); the handshake ends by the connect timeout (when it is the earlier) or
//! the request's deadline; a failure is the proxy's (`ProxyError`), a TLS one too, unless
//! the proxy could not reach the target.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use url::Url;

use crate::http::connect::socket::Socket;
use crate::http::connect::tls::{Tls, server_name};
use crate::http::connect::tls_words::tls_message;
use crate::http::error::{Error, Step, Timeout};
use crate::http::route::proxy::{Form, ProxyError, Scheme, Target, Via};
use crate::http::route::socks::{Next, Socks};
use crate::http::route::tunnel::{connect_reply, connect_request};
use crate::http::wire::Watch;

/// A proxy's handshake under way on its connection.
#[derive(Debug)]
pub(crate) struct Greeting {
    socket: Socket,
    talk: Talk,
    began: Instant,
    /// When the connect timeout ends, if before the request's deadline.
    by: Option<Instant>,
}

#[derive(Debug)]
enum Talk {
    /// Only TLS with the proxy (requests then go to it in absolute-form).
    Tls,
    Connect,
    Socks(Socks),
}

impl Greeting {
    /// Begin the handshake `via` calls for on `socket` (just connected to the proxy), for
    /// a request to `url` (`target`: where a SOCKS proxy is to connect), by `by`; `Err`
    /// with the socket when there is none (a plain `http://` proxy, requests in
    /// absolute-form).
    pub fn begin(
        via: &Via,
        proxy_tls: Option<&Arc<rustls::ClientConfig>>,
        mut socket: Socket,
        url: &Url,
        target: Option<Target>,
        by: Option<Instant>,
    ) -> Result<Result<Greeting, Socket>, Error> {
        let began = Instant::now();
        let proxy = &via.proxy;
        if proxy.scheme == Scheme::Https {
            // An `https` target's TLS then goes inside this one (`Socket::start_tls`).
            let config = proxy_tls.ok_or_else(|| Error::Io(ProxyError::failed("no TLS")))?;
            let name = server_name(&proxy.endpoint).map_err(Error::Io)?;
            socket.start_tls(Tls::new(config, name, by).map_err(Error::Io)?);
        }
        let (talk, opening) = match via.form {
            Form::Forward if proxy.scheme == Scheme::Https => (Talk::Tls, Vec::new()),
            Form::Forward => return Ok(Err(socket)),
            Form::Tunnel => {
                let host = url.host_str().unwrap_or_default();
                let port = url.port_or_known_default().unwrap_or(443);
                let basic = proxy.basic();
                let request = connect_request(
                    &format!("{host}:{port}"),
                    basic.as_ref().map(|b| b.as_bytes()),
                );
                (Talk::Connect, request)
            }
            Form::Socks => {
                let missing = || Error::Io(ProxyError::failed("no address for the target"));
                let target = target.ok_or_else(missing)?;
                let five = matches!(proxy.scheme, Scheme::Socks5 | Scheme::Socks5h);
                let (socks, opening) =
                    Socks::begin(five, target, proxy.credentials.clone()).map_err(Error::Io)?;
                (Talk::Socks(socks), opening)
            }
        };
        let mut greeting = Greeting {
            socket,
            talk,
            began,
            by,
        };
        greeting.send(&opening)?;
        Ok(Ok(greeting))
    }

    /// What to wait for: the proxy's answer.
    pub fn watch(&mut self) -> Watch {
        let before = std::mem::replace(&mut self.socket.watched, true);
        Watch::read(self.socket.fd(), before)
    }

    /// When the wait must end: `deadline`, or the connect timeout's end if earlier.
    pub fn deadline(&self, deadline: Instant) -> Instant {
        self.by.map_or(deadline, |by| by.min(deadline))
    }

    /// Take in what the proxy sent and answer it, without waiting: whether the handshake
    /// is done (the connection is then the target's, or the proxy's for requests in
    /// absolute-form).
    pub fn go_on(&mut self, deadline: Instant) -> Result<bool, Error> {
        let deadline = self.deadline(deadline);
        loop {
            let read = self.socket.read_now(Some(deadline));
            let read = read.map_err(|e| self.failed(e))?;
            // Only TLS with the proxy: done once its handshake is (the step that finished
            // it may have read everything the proxy sent).
            if matches!(self.talk, Talk::Tls) && !self.socket.handshaking() {
                return Ok(true);
            }
            match read {
                None if Instant::now() >= deadline => return Err(self.timed_out()),
                None => return Ok(false),
                Some(0) => {
                    return Err(Error::Io(ProxyError::failed(
                        "the proxy closed the connection during the handshake",
                    )));
                }
                Some(_) => {}
            }
            let input = self.socket.buffers().input();
            let said = match &mut self.talk {
                Talk::Tls => continue,
                Talk::Connect => connect_reply(input).map(|r| r.map(|used| (used, Next::Open))),
                Talk::Socks(socks) => socks.reply(input),
            };
            match said.map_err(Error::Io)? {
                None => {}
                Some((used, Next::Send(bytes))) => {
                    self.socket.buffers().input_consume(used);
                    self.send(&bytes)?;
                }
                Some((used, Next::Open)) => {
                    self.socket.buffers().input_consume(used);
                    return Ok(true);
                }
            }
        }
    }

    /// The connection, its handshake done, how long the handshake took, and when the
    /// connect timeout ends (if before the request's deadline).
    pub fn done(self) -> (Socket, Duration, Option<Instant>) {
        (self.socket, self.began.elapsed(), self.by)
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let by = self.by;
        self.socket.send(bytes, by).map_err(|e| self.failed(e))
    }

    /// The handshake ran out of time: the connect timeout's, or the request's.
    fn timed_out(&self) -> Error {
        match self.by.is_some_and(|by| Instant::now() >= by) {
            true => Error::Timeout(Timeout::Connect(Step::Proxy)),
            false => Timeout::request(Step::Proxy),
        }
    }

    /// An I/O failure during the handshake, as the proxy's.
    fn failed(&self, e: io::Error) -> Error {
        if e.get_ref().is_some_and(|inner| inner.is::<ProxyError>()) {
            return Error::Io(e);
        }
        if matches!(
            e.kind(),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
        ) {
            return self.timed_out();
        }
        let message = match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(tls) => format!("TLS with the proxy: {}", tls_message(tls)),
            None => format!("the connection to the proxy failed during the handshake: {e}"),
        };
        Error::Io(ProxyError::failed(message))
    }
}
