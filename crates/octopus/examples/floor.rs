//! The floors under octopus's throughput (BENCHMARKS.md, "Why W3 stops at about 20% of
//! wrk", "An exchange of our own" and "Requests that wait on no thread"): GET every URL of
//! a file, with nothing of octopus (no scheduler, records, capture or output). Failures are
//! counted.
//!
//! - `http1`: N threads, a minimal HTTP/1.1 client: idle connections kept by host and shared
//!   by the threads, the head parsed with httparse into a `HeaderMap`, a `Content-Length`
//!   body read. No timeouts, no chunked bodies, no redirects: only what a small response on
//!   loopback needs.
//! - `epoll`: the same exchange on one thread, N requests in flight in one epoll set
//!   (IPv4 literal hosts only).
//!
//! `cargo run --release --example floor -- http1|epoll URLS_FILE N`
//!
//! (A `ureq` floor, N threads on one shared ureq agent, ran at about 0.8 of wget2's rate on
//! W3 where `http1` ran at 1.5: BENCHMARKS.md. It went with the ureq dependency.)

use std::collections::HashMap;
use std::error::Error;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use http::{HeaderMap, HeaderName, HeaderValue, header};

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// One thread's client: fetch a URL, read its body.
trait Client: Send + 'static {
    fn get(&mut self, url: &str) -> Result<()>;
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(client), Some(file), Some(threads)) = (args.next(), args.next(), args.next()) else {
        return Err("usage: floor http1|epoll URLS_FILE N".into());
    };
    let threads: usize = threads.parse()?;
    let urls: Arc<Vec<String>> = Arc::new(
        std::fs::read_to_string(file)?
            .lines()
            .map(String::from)
            .collect(),
    );
    let failed = match client.as_str() {
        "http1" => {
            let kept = Arc::new(Mutex::new(HashMap::new()));
            run(&urls, threads, || Http1 {
                kept: Arc::clone(&kept),
                buf: vec![0; 16 * 1024],
            })
        }
        "epoll" => evented::run(&urls, threads)?,
        other => return Err(format!("unknown client {other}: http1 or epoll").into()),
    };
    eprintln!("{} URLs, {failed} failed", urls.len());
    Ok(())
}

/// Fetch every URL on `threads` threads, each with its own client; how many failed.
fn run<C: Client>(urls: &Arc<Vec<String>>, threads: usize, client: impl Fn() -> C) -> usize {
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (next, urls, failed) = (Arc::clone(&next), Arc::clone(urls), Arc::clone(&failed));
            let mut client = client();
            std::thread::spawn(move || {
                while let Some(url) = urls.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if client.get(url).is_err() {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    failed.load(Ordering::Relaxed)
}

struct Http1 {
    kept: Kept,
    buf: Vec<u8>,
}

impl Client for Http1 {
    fn get(&mut self, url: &str) -> Result<()> {
        get(&self.kept, url, &mut self.buf)
    }
}

/// Idle connections by authority, shared by the threads.
type Kept = Arc<Mutex<HashMap<String, Vec<TcpStream>>>>;

/// GET `url` on a connection kept for its host (or a new one), reading the body.
fn get(kept: &Kept, url: &str, buf: &mut [u8]) -> Result<()> {
    let url = url::Url::parse(url)?;
    let host = url.host_str().ok_or("no host")?;
    let authority = format!("{host}:{}", url.port_or_known_default().unwrap_or(80));
    let idle = kept
        .lock()
        .map_err(|_| "poisoned")?
        .get_mut(&authority)
        .and_then(Vec::pop);
    let mut stream = match idle {
        Some(stream) => stream,
        None => {
            let stream = TcpStream::connect(&authority)?;
            stream.set_nodelay(true)?;
            stream
        }
    };
    let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let request = format!(
        "GET {target} HTTP/1.1\r\nhost: {authority}\r\naccept-encoding: gzip, br\r\n\
         user-agent: floor\r\naccept: */*\r\n\r\n"
    );
    stream.write_all(request.as_bytes())?;
    let mut have = 0;
    let (used, headers) = loop {
        let n = stream.read(buf.get_mut(have..).ok_or("head too large")?)?;
        if n == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        have += n;
        if let Some(head) = parse(buf.get(..have).unwrap_or_default())? {
            break head;
        }
    };
    let length: usize = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(0);
    let mut body = have - used;
    while body < length {
        let n = stream.read(buf)?;
        if n == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        body += n;
    }
    kept.lock()
        .map_err(|_| "poisoned")?
        .entry(authority)
        .or_default()
        .push(stream);
    Ok(())
}

/// A whole response head at the start of `input`: its length and headers.
fn parse(input: &[u8]) -> Result<Option<(usize, HeaderMap)>> {
    let mut lines = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut lines);
    let httparse::Status::Complete(used) = response.parse(input)? else {
        return Ok(None);
    };
    let mut headers = HeaderMap::with_capacity(response.headers.len());
    for line in response.headers.iter() {
        headers.append(
            HeaderName::from_bytes(line.name.as_bytes())?,
            HeaderValue::from_bytes(line.value)?,
        );
    }
    Ok(Some((used, headers)))
}

/// The event-driven floor: one thread, `slots` requests in flight, every connection
/// non-blocking in one epoll set (edge-triggered, registered once). Kept connections are
/// shared by host. Only what a small `Content-Length` response on loopback needs.
mod evented {
    use std::collections::HashMap;
    use std::io::{self, Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::os::fd::FromRawFd;

    use super::Result;

    struct Conn {
        stream: TcpStream,
        authority: String,
        request: Vec<u8>,
        written: usize,
        connected: bool,
        have: usize,
        need: Option<usize>,
        busy: bool,
    }

    /// Fetch every URL with `slots` in flight; how many failed.
    pub fn run(urls: &[String], slots: usize) -> Result<usize> {
        // SAFETY: plain system call, no pointers.
        let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if ep < 0 {
            return Err(io::Error::last_os_error().into());
        }
        let mut conns: HashMap<i32, Conn> = HashMap::new();
        let mut idle: HashMap<String, Vec<i32>> = HashMap::new();
        let mut buf = vec![0u8; 16 * 1024];
        let mut next = 0;
        let (mut failed, mut in_flight) = (0, 0);
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
        loop {
            while in_flight < slots && next < urls.len() {
                let url = &urls[next];
                next += 1;
                match start(ep, url, &mut conns, &mut idle) {
                    Ok(()) => in_flight += 1,
                    Err(_) => failed += 1,
                }
            }
            if in_flight == 0 {
                break;
            }
            // SAFETY: `events` is a valid buffer of its length.
            let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, -1) };
            if n < 0 {
                return Err(io::Error::last_os_error().into());
            }
            for event in &events[..n as usize] {
                let fd = event.u64 as i32;
                let Some(conn) = conns.get_mut(&fd) else {
                    continue;
                };
                if !conn.busy {
                    continue;
                }
                match progress(conn, &mut buf) {
                    Ok(false) => {}
                    Ok(true) => {
                        conn.busy = false;
                        in_flight -= 1;
                        idle.entry(conn.authority.clone()).or_default().push(fd);
                    }
                    Err(_) => {
                        failed += 1;
                        in_flight -= 1;
                        conns.remove(&fd);
                    }
                }
            }
        }
        Ok(failed)
    }

    /// Send `url` on a kept connection to its host, or open one.
    fn start(
        ep: i32,
        url: &str,
        conns: &mut HashMap<i32, Conn>,
        idle: &mut HashMap<String, Vec<i32>>,
    ) -> Result<()> {
        let url = url::Url::parse(url)?;
        let host = url.host_str().ok_or("no host")?;
        let authority = format!("{host}:{}", url.port_or_known_default().unwrap_or(80));
        let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
        let request = format!(
            "GET {target} HTTP/1.1\r\nhost: {authority}\r\naccept-encoding: gzip, br\r\n\
             user-agent: floor\r\naccept: */*\r\n\r\n"
        )
        .into_bytes();
        let fd = match idle.get_mut(&authority).and_then(Vec::pop) {
            Some(fd) => fd,
            None => open(ep, &authority, conns)?,
        };
        let conn = conns.get_mut(&fd).ok_or("lost connection")?;
        conn.request = request;
        conn.written = 0;
        conn.have = 0;
        conn.need = None;
        conn.busy = true;
        if conn.connected {
            let mut scratch = [];
            progress(conn, &mut scratch)?;
        }
        Ok(())
    }

    /// A non-blocking connection to `authority`, registered for reads and writes.
    fn open(ep: i32, authority: &str, conns: &mut HashMap<i32, Conn>) -> Result<i32> {
        let addr: SocketAddr = authority.parse()?;
        let SocketAddr::V4(v4) = addr else {
            return Err("IPv4 only".into());
        };
        // SAFETY: plain system calls; `sin` lives across `connect`.
        let fd = unsafe {
            libc::socket(
                libc::AF_INET,
                libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error().into());
        }
        // SAFETY: `fd` is ours from here on.
        let stream = unsafe { TcpStream::from_raw_fd(fd) };
        stream.set_nodelay(true)?;
        let sin = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: v4.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*v4.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        // SAFETY: `sin` is a valid sockaddr_in of the given length.
        let rc = unsafe {
            libc::connect(
                fd,
                (&raw const sin).cast(),
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if rc < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(io::Error::last_os_error().into());
        }
        let mut event = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLET) as u32,
            u64: fd as u64,
        };
        // SAFETY: `event` is valid for the call.
        if unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut event) } < 0 {
            return Err(io::Error::last_os_error().into());
        }
        conns.insert(
            fd,
            Conn {
                stream,
                authority: authority.to_string(),
                request: Vec::new(),
                written: 0,
                connected: false,
                have: 0,
                need: None,
                busy: false,
            },
        );
        Ok(fd)
    }

    /// Write what is left of the request, read what has come; true once the response is whole.
    fn progress(conn: &mut Conn, buf: &mut [u8]) -> Result<bool> {
        conn.connected = true;
        while conn.written < conn.request.len() {
            match conn.stream.write(&conn.request[conn.written..]) {
                Ok(n) => conn.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e.into()),
            }
        }
        if buf.is_empty() {
            return Ok(false);
        }
        loop {
            let at = if conn.need.is_some() { 0 } else { conn.have };
            let room = buf
                .get_mut(at..)
                .filter(|room| !room.is_empty())
                .ok_or("head too large")?;
            let n = match conn.stream.read(room) {
                Ok(0) => return Err("closed".into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e.into()),
            };
            match conn.need {
                Some(_) => conn.have += n,
                None => {
                    conn.have += n;
                    if let Some((used, headers)) = super::parse(&buf[..conn.have])? {
                        let length: usize = headers
                            .get(http::header::CONTENT_LENGTH)
                            .and_then(|v| v.to_str().ok()?.parse().ok())
                            .unwrap_or(0);
                        conn.need = Some(used + length);
                    }
                }
            }
            if conn.need.is_some_and(|need| conn.have >= need) {
                return Ok(true);
            }
        }
    }
}
