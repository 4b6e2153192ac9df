//! `ForwardProxy`: an HTTP proxy on 127.0.0.1 as the proxies people run behave, for the
//! tests of octopus's proxy support. A request in absolute-form (`GET http://host/path
//! HTTP/1.1`) is forwarded to its origin in origin-form, its `Proxy-*` headers dropped,
//! and the answer relayed; the connection to the client is kept when the answer's length
//! is known. `CONNECT` is refused (403) to any port but 443, as squid's stock configuration
//! refuses it (`http_access deny CONNECT !SSL_ports`). With credentials set, a request
//! without them (`Proxy-Authorization: Basic`) gets 407 and `Proxy-Authenticate`.
//!
//! It forwards only to loopback addresses (127.0.0.0/8): a test never sends traffic
//! elsewhere.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;

use crate::State;
use crate::accept::Accepting;
use crate::conn::Conn;

/// An HTTP proxy on a loopback port, stopped when dropped.
pub struct ForwardProxy {
    accepting: Accepting,
    state: Arc<Seen>,
    tls: bool,
}

#[derive(Default)]
struct Seen {
    /// `user:password` a request must carry, if any.
    credentials: Option<String>,
    /// Each request's line and `Proxy-Authorization` value, in order.
    requests: Mutex<Vec<(String, Option<String>)>>,
    /// CONNECT is allowed to any port (not only 443).
    any_port: AtomicBool,
}

impl ForwardProxy {
    /// A proxy that asks for no credentials.
    pub fn start() -> io::Result<ForwardProxy> {
        ForwardProxy::with(None)
    }

    /// A proxy that answers 407 unless a request carries `user:password`.
    pub fn with_credentials(user: &str, password: &str) -> io::Result<ForwardProxy> {
        ForwardProxy::with(Some(format!("{user}:{password}")))
    }

    /// A proxy spoken to over TLS (an `https://` proxy) with `config`.
    pub fn start_tls(config: Arc<rustls::ServerConfig>) -> io::Result<ForwardProxy> {
        ForwardProxy::serve(None, Some(config))
    }

    fn with(credentials: Option<String>) -> io::Result<ForwardProxy> {
        ForwardProxy::serve(credentials, None)
    }

    fn serve(
        credentials: Option<String>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> io::Result<ForwardProxy> {
        let state = Arc::new(Seen {
            credentials,
            ..Seen::default()
        });
        let serving = Arc::clone(&state);
        let is_tls = tls.is_some();
        let accepting = Accepting::start("octopus-test-proxy", move |client| {
            let client = match &tls {
                Some(config) => Conn::tls(client, Arc::clone(config), &State::default()),
                None => Some(Conn::plain(client)),
            };
            if let Some(client) = client {
                let _ = serve(client, &serving);
            }
        })?;
        Ok(ForwardProxy {
            accepting,
            state,
            tls: is_tls,
        })
    }

    /// `http://127.0.0.1:PORT` (`https://` for a TLS proxy), with `userinfo@` when given
    /// (`user:password`).
    pub fn url(&self, userinfo: Option<&str>) -> String {
        let scheme = match self.tls {
            true => "https",
            false => "http",
        };
        match userinfo {
            Some(userinfo) => format!("{scheme}://{userinfo}@{}", self.accepting.addr()),
            None => format!("{scheme}://{}", self.accepting.addr()),
        }
    }

    /// Each request's line and `Proxy-Authorization`, in the order they came.
    pub fn requests(&self) -> Vec<(String, Option<String>)> {
        self.state
            .requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Allow CONNECT to any port, not only 443 (as a proxy configured for tunnels does).
    pub fn tunnel_any_port(&self) -> &Self {
        self.state.any_port.store(true, Ordering::SeqCst);
        self
    }

    /// Connections clients opened to the proxy.
    pub fn connections(&self) -> u64 {
        self.accepting.connections()
    }
}

/// A request's head: its line and headers.
struct Head {
    line: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 {
            return Ok(None);
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    Ok(Some(Head {
        line: line.trim_end().to_string(),
        headers,
    }))
}

/// Serve one client connection, request after request.
fn serve(client: Conn, state: &Seen) -> io::Result<()> {
    let mut reader = BufReader::new(client.clone());
    let mut client = client;
    while let Some(head) = read_head(&mut reader)? {
        let authorization = head.get("proxy-authorization").map(str::to_string);
        if let Ok(mut requests) = state.requests.lock() {
            requests.push((head.line.clone(), authorization.clone()));
        }
        let length: usize = head
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let mut parts = head.line.split_whitespace();
        let (method, target) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or("/"),
        );
        if let Some(wanted) = &state.credentials {
            let given = authorization
                .as_deref()
                .and_then(|v| v.strip_prefix("Basic "))
                .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok());
            if given.as_deref() != Some(wanted.as_bytes()) {
                client.write_all(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                      Proxy-Authenticate: Basic realm=\"octopus-test\"\r\nContent-Length: 0\r\n\r\n",
                )?;
                continue;
            }
        }
        if method == "CONNECT" {
            let ssl_port = target
                .rsplit_once(':')
                .is_some_and(|(_, port)| port == "443");
            if !ssl_port && !state.any_port.load(Ordering::SeqCst) {
                client.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")?;
                continue;
            }
            return tunnel(client, target);
        }
        let Some(rest) = target.strip_prefix("http://") else {
            client.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")?;
            continue;
        };
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        let kept = forward(&mut client, &head, method, authority, path, &body)?;
        if !kept {
            return Ok(());
        }
    }
    Ok(())
}

/// The loopback address `authority` names, if it names one.
fn loopback(authority: &str) -> Option<SocketAddr> {
    let with_port = match authority.rsplit_once(':') {
        Some((_, port)) if port.parse::<u16>().is_ok() && !authority.ends_with(']') => {
            authority.to_string()
        }
        _ => format!("{authority}:80"),
    };
    with_port
        .to_socket_addrs()
        .ok()?
        .find(|a| matches!(a.ip(), IpAddr::V4(v4) if v4.is_loopback()))
}

/// Send the request to its origin (`Connection: close`) and relay the answer; whether the
/// client's connection may be kept (the answer's length was known).
fn forward(
    client: &mut Conn,
    head: &Head,
    method: &str,
    authority: &str,
    path: &str,
    body: &[u8],
) -> io::Result<bool> {
    let Some(origin) = loopback(authority) else {
        client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")?;
        return Ok(true);
    };
    let mut upstream = TcpStream::connect(origin)?;
    let mut request = format!("{method} {path} HTTP/1.1\r\n");
    for (name, value) in &head.headers {
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("proxy-") || lower == "connection" {
            continue;
        }
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    upstream.write_all(request.as_bytes())?;
    upstream.write_all(body)?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer)?;
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(answer.len());
    let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
    let framed = head.contains("\r\ncontent-length:") || head.contains("\r\ntransfer-encoding:");
    client.write_all(&answer)?;
    // The origin closed its side; the client's is kept when the answer is framed and does
    // not say it closes.
    Ok(framed && !head.contains("\r\nconnection: close"))
}

/// Open a tunnel to `target` (a loopback address) and copy both ways until either closes
/// (one thread, each side read in turn with a short timeout: `client` may be TLS).
fn tunnel(mut client: Conn, target: &str) -> io::Result<()> {
    let Some(origin) = loopback(target) else {
        return client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
    };
    let mut upstream = TcpStream::connect(origin)?;
    client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    let turn = Some(std::time::Duration::from_millis(2));
    client.tcp()?.set_read_timeout(turn)?;
    upstream.set_read_timeout(turn)?;
    let mut buf = vec![0u8; 64 * 1024];
    let waiting = |e: &io::Error| {
        matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        )
    };
    loop {
        match client.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => upstream.write_all(&buf[..n])?,
            Err(e) if waiting(&e) => {}
            Err(_) => break,
        }
        match upstream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => client.write_all(&buf[..n])?,
            Err(e) if waiting(&e) => {}
            Err(_) => break,
        }
    }
    let _ = upstream.shutdown(std::net::Shutdown::Both);
    Ok(())
}
