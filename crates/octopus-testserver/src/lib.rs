//! A small HTTP/1.1 server on 127.0.0.1 for `octopus bench`, octopus's tests and its doc
//! examples: simulated latency, status codes, sizes, redirects, misbehaviour, and a hit
//! counter per path. It is not part of octopus's public API.
//!
//! Also kept, per Host header: the most requests answered at once, and (on request) every
//! arrival time, for tests of politeness limits.
//!
//! Invariants: binds only to loopback; one thread per connection with keep-alive (so a delay
//! never blocks other connections); dropping the `Server` stops accepting and lets stalled
//! connections go. Routes (any path may carry extra segments or a query after them):
//!
//! | path | answer |
//! |---|---|
//! | `/status/N` | status N, short body |
//! | `/delay/MS` | 200 after MS milliseconds |
//! | `/bytes/N` | 200 with an N-byte body |
//! | `/chunked/N` | 200 with an N-byte body, sent chunked (`Transfer-Encoding: chunked`) |
//! | `/redirect/N` | 302 to `/redirect/N-1`; `/redirect/0` is 200 |
//! | `/redirect-to?url=U` | 302 to U (verbatim) |
//! | `/flaky/N` | 503 for the first N requests to the exact path, then 200 |
//! | `/retry-after/S`, `/unavailable/S` | 429, or 503, with `Retry-After: S` |
//! | `/loop` | 302 to itself |
//! | `/reset` | promises 1000 bytes, sends 10, resets the connection (RST) |
//! | `/echo` | 200 with the request head and body as the body |
//! | `/gzip` | 200 with a gzip-encoded `hello\n` (`Content-Encoding: gzip`) |
//! | `/bad-gzip` | 200 with `Content-Encoding: gzip` and a body that is not gzip |
//! | `/brotli` | 200 with a brotli-encoded `hello\n` (`Content-Encoding: br`) |
//! | `/binary/N` | 200 with N bytes 0, 1, 2, … 255, 0, … (not UTF-8) |
//! | `/empty/N` | status N with `Content-Encoding: gzip` and no body (for 204 and 304) |
//! | `/html` | 200 with a small HTML page (`text/html`) |
//! | `/sitemap.xml`, `/sitemap-index.xml` | a sitemap (`/calendar/1000`, `/calendar/2000?a=1&b=2` and a URL of `away.test`; with a query `?/a,/b`, those paths of this host), and an index naming it twice |
//! | `/links/MS?HREF,HREF` | an HTML page linking to each HREF (verbatim), after MS milliseconds |
//! | `/web/N` | a page of a larger site (N < 1000): links to `/web/M` for M = N+1, 7N+1, 13N+5 and 31N+17 (mod 1000); with `?ports=P,Q,…`, page M on `127.0.0.1` at the (M mod k)th port, the query kept (one site over k servers) |
//! | `/site/N` | a page of a small site (N < 15, a binary tree): links to `/site/2N+1` and `/site/2N+2` (those under 15), `/private/N`, `/status/404`, `http://away.test:PORT/status/410` (N even) or `…/html` (N odd), an image `/img/N.png`, a form to `/search` |
//! | `/calendar/N` | a page linking to `/calendar/N+1` (a crawl trap) |
//! | `/robots.txt` | as `Server::set_robots` says; 404 until then |
//! | `/headers/N` | 200 with N `Set-Cookie` header lines |
//! | `/big-head/N` | 200 with one header N bytes long |
//! | `/redirect-raw/utf8`, `/redirect-raw/latin1` | 302 to `/target-ü`, its `Location` raw UTF-8 or Latin-1 bytes |
//! | `/redirect-empty` | 302 with an empty `Location` |
//! | `/redirect-creds`, `/redirect-creds/bad` | 302 to `http://a:s3cret@HOST/landed`, or to a malformed URL with those credentials |
//! | `/drop-next` | 200; the next request on the same connection is read, never answered, and the connection closed (a stale keep-alive connection) |
//! | `/stall` | reads the request, never answers |
//! | `/trickle/N` | promises N bytes, sends one every 200 ms |
//! | `/garbage` | answers bytes that are not HTTP, then closes |
//! | `/close` | 200 with `Connection: close`, then closes |
//! | `/raw/NAME` | an answer written byte for byte (`routes.rs`, `RAW`): `early-hints` (103 then 200), `until-close` (no length: the body ends with the connection), `http10`, `extra-bytes` (more than `Content-Length`), `chunked-trailer`, `bad-chunk`, `cut-chunk`, `cut-length`, `two-lengths` |
//! | `CONNECT host:port` | 200, then serves the tunnelled requests itself (a proxy stand-in) |
//! | `GET http://host:port/PATH` (absolute-form, as sent to a proxy) | answered as `PATH` (a proxy stand-in; `last_request` shows the request line) |
//! | anything else | 200 "ok" |
//!
//! A `HEAD` request gets the headers its `GET` would get, and no body.
//!
//! [`Server::start_tls`] serves the same routes over TLS (rustls), and counts the
//! handshakes it completed and those that resumed a session. [`DnsServer`] is a DNS server
//! for tests of name resolution, on a UDP port of 127.0.0.1.

#![warn(missing_docs)]

mod accept;
mod conn;
mod dns;
#[cfg(feature = "h2")]
mod h2;
mod proxy;
mod routes;
mod socks;

pub use dns::DnsServer;
#[cfg(feature = "h2")]
pub use h2::{H2Options, H2Server};
pub use proxy::ForwardProxy;
pub use socks::SocksProxy;

use conn::Conn;

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Default)]
pub(crate) struct State {
    pub(crate) stopping: AtomicBool,
    requests: AtomicU64,
    /// Connections accepted.
    connections: AtomicU64,
    pub(crate) hits: Mutex<HashMap<String, u64>>,
    last: Mutex<HashMap<String, Vec<u8>>>,
    /// Per Host header: requests being answered now, and the most at once.
    in_flight: Mutex<HashMap<String, (u64, u64)>>,
    /// When requests arrived, per Host header (kept only when asked for).
    arrivals: Mutex<Option<HashMap<String, Vec<Instant>>>>,
    /// TLS handshakes completed, and those of them that resumed a session.
    handshakes: AtomicU64,
    resumed: AtomicU64,
    /// The protocol agreed by ALPN in each handshake completed, in order.
    alpn: Mutex<Vec<Option<Vec<u8>>>>,
    /// What `/robots.txt` answers, when set (`Server::set_robots`).
    pub(crate) robots: Mutex<Option<(u16, String)>>,
}

/// A running server; dropping it stops accepting connections.
pub struct Server {
    addr: SocketAddr,
    state: Arc<State>,
    tls: bool,
}

const CONNECTION_STACK: usize = 128 * 1024;

impl Server {
    /// Start on an ephemeral port of 127.0.0.1.
    pub fn start() -> io::Result<Server> {
        Server::serve(None)
    }

    /// Start on an ephemeral port of 127.0.0.1, serving every route over TLS with
    /// `config` (its certificate, its client verification, its session resumption).
    pub fn start_tls(config: Arc<rustls::ServerConfig>) -> io::Result<Server> {
        Server::serve(Some(config))
    }

    fn serve(tls: Option<Arc<rustls::ServerConfig>>) -> io::Result<Server> {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
        socket.listen(4096)?;
        let listener: TcpListener = socket.into();
        let addr = listener.local_addr()?;
        let state = Arc::new(State::default());
        let accept_state = Arc::clone(&state);
        let is_tls = tls.is_some();
        thread::Builder::new()
            .name("server-accept".into())
            .spawn(move || accept_loop(&listener, &accept_state, tls.as_ref()))?;
        Ok(Server {
            addr,
            state,
            tls: is_tls,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (`https://` for a TLS server) followed by `path`.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }

    /// TLS handshakes completed (a TLS server).
    pub fn handshakes(&self) -> u64 {
        self.state.handshakes.load(Ordering::SeqCst)
    }

    /// TLS handshakes that resumed an earlier session instead of a full handshake.
    pub fn resumed(&self) -> u64 {
        self.state.resumed.load(Ordering::SeqCst)
    }

    /// The protocol agreed by ALPN in each handshake completed, in order (`None`: none;
    /// the server's configuration says which it accepts).
    pub fn alpn_agreed(&self) -> Vec<Option<Vec<u8>>> {
        self.state
            .alpn
            .lock()
            .map(|a| a.clone())
            .unwrap_or_default()
    }

    /// Answer `/robots.txt` with `status` and `body` (until then it is 404).
    pub fn set_robots(&self, status: u16, body: &str) {
        if let Ok(mut robots) = self.state.robots.lock() {
            *robots = Some((status, body.to_string()));
        }
    }

    /// Requests received for this exact path (with its query).
    pub fn hits(&self, path: &str) -> u64 {
        self.state
            .hits
            .lock()
            .map_or(0, |h| h.get(path).copied().unwrap_or(0))
    }

    /// The head and body of the last request for this exact path, as received.
    pub fn last_request(&self, path: &str) -> Option<String> {
        let last = self.state.last.lock().ok()?;
        last.get(path)
            .map(|r| String::from_utf8_lossy(r).into_owned())
    }

    /// The most requests with this Host header that were being answered at once.
    pub fn max_in_flight(&self, host: &str) -> u64 {
        self.state
            .in_flight
            .lock()
            .map_or(0, |m| m.get(host).map_or(0, |&(_, max)| max))
    }

    /// Start keeping the arrival time of every request (off by default: it grows).
    pub fn keep_arrivals(&self) {
        if let Ok(mut a) = self.state.arrivals.lock() {
            a.get_or_insert_with(HashMap::new);
        }
    }

    /// Arrival times of requests with this Host header, in order (see `keep_arrivals`).
    pub fn arrivals(&self, host: &str) -> Vec<Instant> {
        let Ok(a) = self.state.arrivals.lock() else {
            return Vec::new();
        };
        let mut times = a
            .as_ref()
            .and_then(|m| m.get(host).cloned())
            .unwrap_or_default();
        times.sort();
        times
    }

    /// Requests received in all.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Connections accepted in all (what a client's reuse of connections saves).
    pub fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::SeqCst)
    }
}

/// A TLS server configuration (TLS 1.3 and 1.2, session tickets on, no client
/// certificates) for the certificate `chain` and its PKCS#8 `key` (DER), agreeing by ALPN
/// to the first of `alpn` a client offers (none: no ALPN).
pub fn tls_config(
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: Vec<u8>,
    alpn: &[&[u8]],
) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.into());
    // The protocol versions and the key are fixed and valid: a failure is a broken test.
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
        .expect("a TLS configuration for a certificate and its key");
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    if let Ok(ticketer) = rustls::crypto::aws_lc_rs::Ticketer::new() {
        config.ticketer = ticketer;
    }
    Arc::new(config)
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn accept_loop(
    listener: &TcpListener,
    state: &Arc<State>,
    tls: Option<&Arc<rustls::ServerConfig>>,
) {
    for stream in listener.incoming() {
        if state.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else {
            continue;
        };
        state.connections.fetch_add(1, Ordering::SeqCst);
        let state = Arc::clone(state);
        let tls = tls.cloned();
        let _ = thread::Builder::new()
            .stack_size(CONNECTION_STACK)
            .spawn(move || {
                let conn = match tls {
                    None => Conn::plain(stream),
                    Some(config) => match Conn::tls(stream, config, &state) {
                        Some(conn) => conn,
                        None => return,
                    },
                };
                serve_connection(conn, &state);
            });
    }
}

pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) host: String,
    pub(crate) head: String,
    pub(crate) body: Vec<u8>,
    close: bool,
}

fn read_request(reader: &mut BufReader<impl Read>) -> io::Result<Option<Request>> {
    let mut head = String::new();
    loop {
        let before = head.len();
        if reader.read_line(&mut head)? == 0 {
            return Ok(None);
        }
        if head[before..].trim_end().is_empty() && before > 0 {
            break;
        }
        if head.len() > 64 * 1024 {
            return Err(io::Error::other("request head too large"));
        }
    }
    let mut first = head.lines().next().unwrap_or_default().split_whitespace();
    let method = first.next().unwrap_or_default().to_string();
    let target = first.next().unwrap_or("/");
    // Absolute-form (a request sent to a proxy): served as the origin it names would serve
    // it, as the CONNECT stand-in does; the request line stays in the head.
    let path = match target.strip_prefix("http://") {
        Some(rest) => rest.find('/').map_or("/", |at| &rest[at..]).to_string(),
        None => target.to_string(),
    };
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let close = header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let host = header("host").unwrap_or_default();
    let mut body = vec![0; length.min(16 << 20)];
    reader.read_exact(&mut body)?;
    Ok(Some(Request {
        method,
        path,
        host,
        head,
        body,
        close,
    }))
}

impl State {
    /// Run `f` counted as one request in flight for `host`.
    fn answering<R>(&self, host: &str, f: impl FnOnce() -> R) -> R {
        if let Ok(mut m) = self.in_flight.lock() {
            let entry = m.entry(host.to_string()).or_default();
            entry.0 += 1;
            entry.1 = entry.1.max(entry.0);
        }
        let result = f();
        if let Ok(mut m) = self.in_flight.lock()
            && let Some(entry) = m.get_mut(host)
        {
            entry.0 -= 1;
        }
        result
    }
}

impl State {
    /// Count a request and keep what the accessors report.
    pub(crate) fn track(&self, request: &Request) {
        self.requests.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut hits) = self.hits.lock() {
            *hits.entry(request.path.clone()).or_default() += 1;
        }
        if let Ok(mut last) = self.last.lock() {
            let mut seen = request.head.clone().into_bytes();
            seen.extend_from_slice(&request.body);
            last.insert(request.path.clone(), seen);
        }
        if let Ok(mut arrivals) = self.arrivals.lock()
            && let Some(map) = arrivals.as_mut()
        {
            map.entry(request.host.clone())
                .or_default()
                .push(Instant::now());
        }
    }
}

fn serve_connection(conn: Conn, state: &State) {
    let Ok(tcp) = conn.tcp() else {
        return;
    };
    let _ = tcp.set_nodelay(true);
    let mut writer = io::BufWriter::new(conn.clone());
    let mut reader = BufReader::new(conn);
    // After `/drop-next`, the next request on the connection is read and left unanswered:
    // the connection closes, as a server's stale keep-alive connection does.
    let mut drop_next = false;
    while let Ok(Some(request)) = read_request(&mut reader) {
        state.track(&request);
        if drop_next {
            break;
        }
        drop_next = request.path.starts_with("/drop-next");
        let answered = state.answering(&request.host, || {
            routes::respond(&request, &mut writer, state)
        });
        if request.path.starts_with("/reset") {
            let _ = writer.flush();
            // Linger 0: closing sends RST instead of FIN.
            let _ = socket2::SockRef::from(&tcp).set_linger(Some(Duration::ZERO));
            return;
        }
        match answered {
            Ok(true) if !request.close => continue,
            _ => break,
        }
    }
    let _ = writer.flush();
    reader.get_ref().close();
    let _ = tcp.shutdown(Shutdown::Both);
}
