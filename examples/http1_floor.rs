//! A minimal HTTP/1.1 client on threads, for comparison with `ureq_floor.rs` and octopus
//! (BENCHMARKS.md, "An exchange of our own"): each of N threads takes the next URL of a
//! file, sends a GET on its kept connection to the host (or a new one), parses the head
//! with httparse into a `HeaderMap` and reads a `Content-Length` body. No timeouts, no
//! chunked bodies, no redirects: only what a small response on loopback needs. Failures
//! are counted and their connection dropped.
//!
//! `cargo run --release --example http1_floor -- URLS_FILE THREADS`

use std::collections::HashMap;
use std::error::Error;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{HeaderMap, HeaderName, HeaderValue, header};

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(file), Some(threads)) = (args.next(), args.next()) else {
        return Err("usage: http1_floor URLS_FILE THREADS".into());
    };
    let threads: usize = threads.parse()?;
    let urls: Arc<Vec<String>> = Arc::new(
        std::fs::read_to_string(file)?
            .lines()
            .map(String::from)
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (next, urls, failed) = (Arc::clone(&next), Arc::clone(&urls), Arc::clone(&failed));
            std::thread::spawn(move || {
                let mut kept: HashMap<String, TcpStream> = HashMap::new();
                let mut buf = vec![0u8; 16 * 1024];
                while let Some(url) = urls.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if get(&mut kept, url, &mut buf).is_err() {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    eprintln!(
        "{} URLs, {} failed",
        urls.len(),
        failed.load(Ordering::Relaxed)
    );
    Ok(())
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
         user-agent: http1_floor\r\naccept: */*\r\n\r\n"
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
