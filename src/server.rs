//! A small HTTP/1.1 server on 127.0.0.1 for `octopus bench` and the tests: simulated latency,
//! status codes, sizes, redirects, misbehaviour, and a hit counter per path.
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
//! | `/redirect/N` | 302 to `/redirect/N-1`; `/redirect/0` is 200 |
//! | `/redirect-to?url=U` | 302 to U (verbatim) |
//! | `/flaky/N` | 503 for the first N requests to the exact path, then 200 |
//! | `/retry-after/S`, `/unavailable/S` | 429, or 503, with `Retry-After: S` |
//! | `/loop` | 302 to itself |
//! | `/reset` | promises 1000 bytes, sends 10, resets the connection (RST) |
//! | `/echo` | 200 with the request head and body as the body |
//! | `/gzip` | 200 with a gzip-encoded `hello\n` (`Content-Encoding: gzip`) |
//! | `/stall` | reads the request, never answers |
//! | `/trickle/N` | promises N bytes, sends one every 200 ms |
//! | `/garbage` | answers bytes that are not HTTP, then closes |
//! | `CONNECT host:port` | 200, then serves the tunnelled requests itself (a proxy stand-in) |
//! | anything else | 200 "ok" |

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Default)]
struct State {
    stopping: AtomicBool,
    requests: AtomicU64,
    hits: Mutex<HashMap<String, u64>>,
    last: Mutex<HashMap<String, Vec<u8>>>,
    /// Per Host header: requests being answered now, and the most at once.
    in_flight: Mutex<HashMap<String, (u64, u64)>>,
    /// When requests arrived, per Host header (kept only when asked for).
    arrivals: Mutex<Option<HashMap<String, Vec<Instant>>>>,
}

pub struct Server {
    addr: SocketAddr,
    state: Arc<State>,
}

const CONNECTION_STACK: usize = 128 * 1024;

impl Server {
    /// Start on an ephemeral port of 127.0.0.1.
    pub fn start() -> io::Result<Server> {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
        socket.listen(4096)?;
        let listener: TcpListener = socket.into();
        let addr = listener.local_addr()?;
        let state = Arc::new(State::default());
        let accept_state = Arc::clone(&state);
        thread::Builder::new()
            .name("server-accept".into())
            .spawn(move || accept_loop(&listener, &accept_state))?;
        Ok(Server { addr, state })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
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
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn accept_loop(listener: &TcpListener, state: &Arc<State>) {
    for stream in listener.incoming() {
        if state.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else {
            continue;
        };
        let state = Arc::clone(state);
        let _ = thread::Builder::new()
            .stack_size(CONNECTION_STACK)
            .spawn(move || serve_connection(stream, &state));
    }
}

struct Request {
    method: String,
    path: String,
    host: String,
    head: String,
    body: Vec<u8>,
    close: bool,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> io::Result<Option<Request>> {
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
    let path = first.next().unwrap_or("/").to_string();
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

fn serve_connection(stream: TcpStream, state: &State) {
    let _ = stream.set_nodelay(true);
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut writer = io::BufWriter::new(write_half);
    let mut reader = BufReader::new(stream);
    while let Ok(Some(request)) = read_request(&mut reader) {
        state.requests.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut hits) = state.hits.lock() {
            *hits.entry(request.path.clone()).or_default() += 1;
        }
        if let Ok(mut last) = state.last.lock() {
            let mut seen = request.head.clone().into_bytes();
            seen.extend_from_slice(&request.body);
            last.insert(request.path.clone(), seen);
        }
        if let Ok(mut arrivals) = state.arrivals.lock()
            && let Some(map) = arrivals.as_mut()
        {
            map.entry(request.host.clone())
                .or_default()
                .push(Instant::now());
        }
        let answered = state.answering(&request.host, || respond(&request, &mut writer, state));
        if request.path.starts_with("/reset") {
            let _ = writer.flush();
            // Linger 0: closing sends RST instead of FIN.
            let _ = socket2::SockRef::from(reader.get_ref()).set_linger(Some(Duration::ZERO));
            return;
        }
        match answered {
            Ok(true) if !request.close => continue,
            _ => break,
        }
    }
    let _ = writer.flush();
    let _ = reader.get_ref().shutdown(Shutdown::Both);
}

/// Answer one request; `Ok(false)` closes the connection.
fn respond(req: &Request, out: &mut impl Write, state: &State) -> io::Result<bool> {
    if req.method == "CONNECT" {
        // Play a proxy that tunnels to this very server: later requests on the connection
        // are served as the origin.
        out.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
        out.flush()?;
        return Ok(true);
    }
    let route = req.path.split('?').next().unwrap_or("/");
    let mut segments = route.trim_start_matches('/').split('/');
    let name = segments.next().unwrap_or_default();
    let number = segments.next().and_then(|n| n.parse::<u64>().ok());
    match (name, number) {
        ("status", Some(code)) => send(out, code as u16, &[], b"status\n"),
        ("delay", Some(ms)) => {
            thread::sleep(Duration::from_millis(ms));
            send(out, 200, &[], b"ok\n")
        }
        ("bytes", Some(n)) => {
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Length: {n}\r\nContent-Type: application/octet-stream\r\n\r\n"
            )?;
            let chunk = [b'x'; 8192];
            let mut left = n;
            while left > 0 {
                let take = left.min(chunk.len() as u64) as usize;
                out.write_all(&chunk[..take])?;
                left -= take as u64;
            }
            out.flush()?;
            Ok(true)
        }
        ("flaky", Some(failures)) => {
            // The first N requests for this exact path fail with 503.
            let seen = state
                .hits
                .lock()
                .map_or(0, |h| h.get(&req.path).copied().unwrap_or(0));
            if seen <= failures {
                send(out, 503, &[], b"try again\n")
            } else {
                send(out, 200, &[], b"ok\n")
            }
        }
        ("retry-after" | "unavailable", Some(secs)) => {
            let wait = secs.to_string();
            let status = if name == "unavailable" { 503 } else { 429 };
            send(out, status, &[("Retry-After", &wait)], b"slow down\n")
        }
        ("redirect", Some(0)) => send(out, 200, &[], b"arrived\n"),
        ("redirect", Some(n)) => {
            let location = format!("/redirect/{}", n - 1);
            send(out, 302, &[("Location", &location)], b"")
        }
        ("loop", _) => send(out, 302, &[("Location", "/loop")], b""),
        ("reset", _) => {
            // Promise 1000 bytes, send 10, then reset the connection (see `serve_connection`).
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789"
            )?;
            out.flush()?;
            Ok(false)
        }
        ("redirect-to", _) => {
            let target = req
                .path
                .split_once("?url=")
                .map_or("/", |(_, u)| u)
                .to_string();
            send(out, 302, &[("Location", &target)], b"")
        }
        ("echo", _) => {
            let mut body = req.head.clone().into_bytes();
            body.extend_from_slice(&req.body);
            send(out, 200, &[], &body)
        }
        ("gzip", _) => send(out, 200, &[("Content-Encoding", "gzip")], GZIP_HELLO),
        ("stall", _) => {
            for _ in 0..1200 {
                if state.stopping.load(Ordering::SeqCst) {
                    break;
                }
                thread::sleep(Duration::from_millis(50));
            }
            Ok(false)
        }
        ("trickle", Some(n)) => {
            write!(out, "HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n")?;
            out.flush()?;
            for _ in 0..n {
                if state.stopping.load(Ordering::SeqCst) {
                    break;
                }
                thread::sleep(Duration::from_millis(200));
                out.write_all(b"x")?;
                out.flush()?;
            }
            Ok(true)
        }
        ("garbage", _) => {
            out.write_all(b"this is not HTTP at all\r\n\r\n")?;
            out.flush()?;
            Ok(false)
        }
        _ if req.method == "HEAD" => send(out, 200, &[], b""),
        _ => send(out, 200, &[], b"ok\n"),
    }
}

/// `hello\n`, gzip-compressed.
const GZIP_HELLO: &[u8] = &[
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xe7,
    0x02, 0x00, 0x20, 0x30, 0x3a, 0x36, 0x06, 0x00, 0x00, 0x00,
];

fn send(
    out: &mut impl Write,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<bool> {
    write!(out, "HTTP/1.1 {status} {}\r\n", reason(status))?;
    for (name, value) in headers {
        write!(out, "{name}: {value}\r\n")?;
    }
    write!(
        out,
        "Content-Length: {}\r\nContent-Type: text/plain\r\n\r\n",
        body.len()
    )?;
    out.write_all(body)?;
    out.flush()?;
    Ok(true)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
