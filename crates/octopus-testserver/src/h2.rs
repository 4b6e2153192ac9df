//! An HTTP/2 server for the tests (feature `h2`): the `h2` crate on a tokio runtime of its
//! own, over TLS (ALPN as its configuration says) or in clear with prior knowledge (h2c).
//! It answers the HTTP/1.1 server's routes (each answer made by `routes.rs`, then sent as
//! HTTP/2: status, headers but the connection's own, body), and these of its own:
//!
//! | path | answer |
//! |---|---|
//! | `/delay/MS` | 200 after MS milliseconds (without holding a thread) |
//! | `/trickle/N` | 200, N bytes, one every 200 ms |
//! | `/h2/refuse-once/…` | the stream reset with `REFUSED_STREAM` the first time this path is asked, then 200 |
//! | `/h2/reset` | the stream reset with `INTERNAL_ERROR` |
//! | `/h2/kill-once` | the first time: the whole connection closed at once (every stream on it lost); then 200 |
//! | `/h2/names` | 200, `authority NAME sni NAME`: the request's authority and the name the connection's TLS was for |
//!
//! With `H2Options::only_its_own_name`, a request whose authority is not the name its
//! connection's TLS was for is answered `421 Misdirected Request` (as Apache httpd does
//! when the two name servers configured differently).
//!
//! It counts connections, requests, the most streams open at once on one connection, and
//! the GOAWAYs it sent (`H2Options::requests_per_connection`, as nginx's
//! `keepalive_requests`).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use h2::server::SendResponse;
use h2::{Reason, RecvStream};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::{Request, State, routes};

/// How an `H2Server` behaves.
#[derive(Debug, Clone)]
pub struct H2Options {
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` (default 100).
    pub max_streams: u32,
    /// Requests taken on a connection before it is told to go away (GOAWAY), as nginx's
    /// `keepalive_requests`; `None`: never.
    pub requests_per_connection: Option<u64>,
    /// Answer `421` to a request for another name than the connection's TLS was for.
    pub only_its_own_name: bool,
}

impl Default for H2Options {
    fn default() -> Self {
        H2Options {
            max_streams: 100,
            requests_per_connection: None,
            only_its_own_name: false,
        }
    }
}

/// A running HTTP/2 server; dropping it stops it.
pub struct H2Server {
    addr: SocketAddr,
    tls: bool,
    counts: Arc<Counts>,
    runtime: Option<tokio::runtime::Runtime>,
}

#[derive(Default)]
struct Counts {
    routes: State,
    connections: AtomicU64,
    requests: AtomicU64,
    most_streams: AtomicU64,
    goaways: AtomicU64,
    /// Paths asked once (`/h2/refuse-once/…`, `/h2/kill-once`).
    seen: Mutex<HashMap<String, u64>>,
}

impl Counts {
    /// How many times `path` was asked before.
    fn asked_before(&self, path: &str) -> u64 {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let count = seen.entry(path.to_string()).or_default();
        *count += 1;
        *count - 1
    }
}

impl H2Server {
    /// Serve HTTP/2 over TLS with `config` (its ALPN list decides what is agreed: give it
    /// `h2`), on an ephemeral port of 127.0.0.1.
    pub fn start_tls(config: Arc<rustls::ServerConfig>, options: H2Options) -> io::Result<Self> {
        H2Server::start(Some(config), options)
    }

    /// Serve HTTP/2 in clear to clients that know it (prior knowledge).
    pub fn start_h2c(options: H2Options) -> io::Result<Self> {
        H2Server::start(None, options)
    }

    fn start(config: Option<Arc<rustls::ServerConfig>>, options: H2Options) -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let counts = Arc::new(Counts::default());
        let tls = config.is_some();
        let accepting = Arc::clone(&counts);
        runtime.spawn(async move {
            let acceptor = config.map(tokio_rustls::TlsAcceptor::from);
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                accepting.connections.fetch_add(1, Ordering::SeqCst);
                let counts = Arc::clone(&accepting);
                let options = options.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                let sni = stream.get_ref().1.server_name().map(str::to_string);
                                serve(stream, counts, options, sni).await;
                            }
                        }
                        None => serve(stream, counts, options, None).await,
                    }
                });
            }
        });
        Ok(H2Server {
            addr,
            tls,
            counts,
            runtime: Some(runtime),
        })
    }

    /// `https://127.0.0.1:PORT` (`http://` for h2c) followed by `path`.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted.
    pub fn connections(&self) -> u64 {
        self.counts.connections.load(Ordering::SeqCst)
    }

    /// Requests (streams) taken.
    pub fn requests(&self) -> u64 {
        self.counts.requests.load(Ordering::SeqCst)
    }

    /// The most streams open at once on one connection.
    pub fn most_streams(&self) -> u64 {
        self.counts.most_streams.load(Ordering::SeqCst)
    }

    /// Connections told to go away after `requests_per_connection` requests.
    pub fn goaways(&self) -> u64 {
        self.counts.goaways.load(Ordering::SeqCst)
    }

    /// Requests received for this exact path (with its query), as `Server::hits`.
    pub fn hits(&self, path: &str) -> u64 {
        (self.counts.routes.hits.lock()).map_or(0, |h| h.get(path).copied().unwrap_or(0))
    }
}

impl Drop for H2Server {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Serve one connection until it ends, or a stream kills it.
async fn serve<T>(io: T, counts: Arc<Counts>, options: H2Options, sni: Option<String>)
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let mut builder = h2::server::Builder::new();
    builder.max_concurrent_streams(options.max_streams);
    let Ok(mut conn) = builder.handshake::<_, Bytes>(io).await else {
        return;
    };
    let kill = Arc::new(Notify::new());
    let sni: Arc<str> = Arc::from(sni.unwrap_or_default());
    let open = Arc::new(AtomicU64::new(0));
    let mut taken = 0u64;
    let mut going_away = false;
    loop {
        let accepted = tokio::select! {
            accepted = conn.accept() => accepted,
            () = kill.notified() => return,
        };
        let Some(Ok((request, respond))) = accepted else {
            return;
        };
        taken += 1;
        counts.requests.fetch_add(1, Ordering::SeqCst);
        let now = open.fetch_add(1, Ordering::SeqCst) + 1;
        counts.most_streams.fetch_max(now, Ordering::SeqCst);
        let stream = Stream {
            counts: Arc::clone(&counts),
            open: Arc::clone(&open),
            kill: Arc::clone(&kill),
            ended: AtomicBool::new(false),
            sni: Arc::clone(&sni),
            only_its_own_name: options.only_its_own_name,
        };
        tokio::spawn(stream.answer(request, respond));
        if !going_away
            && options
                .requests_per_connection
                .is_some_and(|most| taken >= most)
        {
            going_away = true;
            counts.goaways.fetch_add(1, Ordering::SeqCst);
            conn.graceful_shutdown();
        }
    }
}

/// One stream being answered.
struct Stream {
    counts: Arc<Counts>,
    open: Arc<AtomicU64>,
    kill: Arc<Notify>,
    /// No longer counted as open.
    ended: AtomicBool,
    /// The name the connection's TLS was for (empty in clear, or without SNI).
    sni: Arc<str>,
    /// Requests for other names are answered `421`.
    only_its_own_name: bool,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.end();
    }
}

impl Stream {
    /// Counts the stream as no longer open, once: called just before its last frame is
    /// handed to the connection, since the client may open its next stream as soon as that
    /// frame arrives (before this task would get to drop the stream).
    fn end(&self) {
        if !self.ended.swap(true, Ordering::SeqCst) {
            self.open.fetch_sub(1, Ordering::SeqCst);
        }
    }

    async fn answer(self, request: http::Request<RecvStream>, mut respond: SendResponse<Bytes>) {
        let (parts, mut incoming) = request.into_parts();
        let mut body = Vec::new();
        while let Some(Ok(chunk)) = incoming.data().await {
            let _ = incoming.flow_control().release_capacity(chunk.len());
            body.extend_from_slice(&chunk);
        }
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let route = path.split('?').next().unwrap_or("/");
        let number = |prefix: &str| route.strip_prefix(prefix).and_then(|n| n.parse().ok());
        let authority = parts.uri.host().unwrap_or_default();
        if self.only_its_own_name && !authority.eq_ignore_ascii_case(&self.sni) {
            self.end();
            send(
                &mut respond,
                421,
                Vec::new(),
                Bytes::from_static(b"misdirected\n"),
            );
        } else if route == "/h2/names" {
            self.end();
            let names = format!("authority {authority} sni {}", self.sni);
            send(&mut respond, 200, Vec::new(), Bytes::from(names));
        } else if let Some(ms) = number("/delay/") {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            self.end();
            send(&mut respond, 200, Vec::new(), Bytes::from_static(b"ok\n"));
        } else if let Some(n) = number("/trickle/") {
            self.trickle(&mut respond, n).await;
        } else if route.starts_with("/h2/refuse-once/") && self.counts.asked_before(route) == 0 {
            self.end();
            respond.send_reset(Reason::REFUSED_STREAM);
        } else if route == "/h2/reset" {
            self.end();
            respond.send_reset(Reason::INTERNAL_ERROR);
        } else if route == "/h2/kill-once" && self.counts.asked_before(route) == 0 {
            self.kill.notify_one();
        } else {
            self.routed(&mut respond, &parts, path, body).await;
        }
    }

    /// One byte every 200 ms, `n` of them.
    async fn trickle(&self, respond: &mut SendResponse<Bytes>, n: u64) {
        let head = http::Response::builder()
            .status(200)
            .body(())
            .unwrap_or_default();
        if n == 0 {
            self.end();
        }
        let Ok(mut out) = respond.send_response(head, n == 0) else {
            return;
        };
        for i in 0..n {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if i + 1 == n {
                self.end();
            }
            if out.send_data(Bytes::from_static(b"x"), i + 1 == n).is_err() {
                return;
            }
        }
    }

    /// The answer `routes.rs` gives the request, sent as HTTP/2.
    async fn routed(
        &self,
        respond: &mut SendResponse<Bytes>,
        parts: &http::request::Parts,
        path: String,
        body: Vec<u8>,
    ) {
        let host = parts.uri.authority().map_or("", |a| a.as_str()).to_string();
        let mut head = format!("{} {path} HTTP/2\r\nhost: {host}\r\n", parts.method);
        for (name, value) in &parts.headers {
            head.push_str(&format!(
                "{name}: {}\r\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        head.push_str("\r\n");
        let request = Request {
            method: parts.method.to_string(),
            path,
            host,
            head,
            body,
            close: false,
        };
        let counts = Arc::clone(&self.counts);
        let answered = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            counts.routes.track(&request);
            let _ = routes::respond(&request, &mut out, &counts.routes);
            out
        })
        .await
        .unwrap_or_default();
        self.end();
        match parse(&answered) {
            Some((status, headers, body)) => send(respond, status, headers, body),
            None => respond.send_reset(Reason::INTERNAL_ERROR),
        }
    }
}

/// Send a whole answer.
fn send(
    respond: &mut SendResponse<Bytes>,
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    body: Bytes,
) {
    let mut head = http::Response::builder().status(status);
    for (name, value) in headers {
        head = head.header(name, value);
    }
    let Ok(head) = head.body(()) else {
        respond.send_reset(Reason::INTERNAL_ERROR);
        return;
    };
    if let Ok(mut out) = respond.send_response(head, body.is_empty()) {
        if !body.is_empty() {
            let _ = out.send_data(body, true);
        }
    }
}

/// An answer's status, headers and body.
type Answer = (u16, Vec<(String, Vec<u8>)>, Bytes);

/// Status, headers (those of the connection left out) and body of an HTTP/1.1 answer
/// (chunks joined).
fn parse(answer: &[u8]) -> Option<Answer> {
    let mut lines = [httparse::EMPTY_HEADER; 128];
    let mut response = httparse::Response::new(&mut lines);
    let httparse::Status::Complete(at) = response.parse(answer).ok()? else {
        return None;
    };
    let mut chunked = false;
    let mut headers = Vec::new();
    for header in response.headers.iter() {
        let name = header.name.to_ascii_lowercase();
        match name.as_str() {
            "transfer-encoding" => chunked = true,
            "connection" | "keep-alive" => {}
            _ => headers.push((name, header.value.to_vec())),
        }
    }
    let rest = answer.get(at..)?;
    let body = match chunked {
        true => unchunk(rest),
        false => rest.to_vec(),
    };
    Some((response.code?, headers, Bytes::from(body)))
}

/// The data of a chunked body.
fn unchunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&rest[..end]).ok();
        let size = size.and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok());
        let Some(size) = size.filter(|&size| size > 0) else {
            break;
        };
        let start = end + 2;
        body.extend_from_slice(rest.get(start..start + size).unwrap_or_default());
        rest = rest.get(start + size + 2..).unwrap_or_default();
    }
    body
}
