//! The floors under octopus's raw throughput (BENCHMARKS.md, "Why W3 stops at about 20% of
//! wrk" and "An exchange of our own"): N threads, each taking the next URL of a file and
//! GETting it, with nothing of octopus (no scheduler, records, capture or output). Failures
//! are counted.
//!
//! - `ureq`: one shared ureq agent, each body read to the end.
//! - `http1`: a minimal HTTP/1.1 client: a kept connection per thread and host, the head
//!   parsed with httparse into a `HeaderMap`, a `Content-Length` body read. No timeouts, no
//!   chunked bodies, no redirects: only what a small response on loopback needs.
//!
//! `cargo run --release --example floor -- ureq|http1 URLS_FILE THREADS`

use std::collections::HashMap;
use std::error::Error;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{HeaderMap, HeaderName, HeaderValue, header};

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// One thread's client: fetch a URL, read its body.
trait Client: Send + 'static {
    fn get(&mut self, url: &str) -> Result<()>;
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(client), Some(file), Some(threads)) = (args.next(), args.next(), args.next()) else {
        return Err("usage: floor ureq|http1 URLS_FILE THREADS".into());
    };
    let threads: usize = threads.parse()?;
    let urls: Arc<Vec<String>> = Arc::new(
        std::fs::read_to_string(file)?
            .lines()
            .map(String::from)
            .collect(),
    );
    let failed = match client.as_str() {
        "ureq" => {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .max_idle_connections(threads)
                .max_idle_connections_per_host(threads)
                .build()
                .into();
            run(&urls, threads, || Ureq {
                agent: agent.clone(),
                body: Vec::new(),
            })
        }
        "http1" => run(&urls, threads, || Http1 {
            kept: HashMap::new(),
            buf: vec![0; 16 * 1024],
        }),
        other => return Err(format!("unknown client {other}: ureq or http1").into()),
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

struct Ureq {
    agent: ureq::Agent,
    body: Vec<u8>,
}

impl Client for Ureq {
    fn get(&mut self, url: &str) -> Result<()> {
        self.body.clear();
        let mut response = self.agent.get(url).call()?;
        response
            .body_mut()
            .as_reader()
            .read_to_end(&mut self.body)?;
        Ok(())
    }
}

struct Http1 {
    kept: HashMap<String, TcpStream>,
    buf: Vec<u8>,
}

impl Client for Http1 {
    fn get(&mut self, url: &str) -> Result<()> {
        get(&mut self.kept, url, &mut self.buf)
    }
}

/// GET `url` on the connection kept for its host (or a new one), reading the body.
fn get(kept: &mut HashMap<String, TcpStream>, url: &str, buf: &mut [u8]) -> Result<()> {
    let url = url::Url::parse(url)?;
    let host = url.host_str().ok_or("no host")?;
    let authority = format!("{host}:{}", url.port_or_known_default().unwrap_or(80));
    let mut stream = match kept.remove(&authority) {
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
    kept.insert(authority, stream);
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
