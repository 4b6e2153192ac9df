//! The answers: one small function per route (the table is in the crate docs).

use std::io::{self, Write};
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Duration;

use crate::{Request, State};

/// Answer one request; `Ok(false)` closes the connection.
pub(crate) fn respond(req: &Request, out: &mut impl Write, state: &State) -> io::Result<bool> {
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
        ("status", Some(code)) => send(out, req, code as u16, &[], b"status\n"),
        ("delay", Some(ms)) => {
            thread::sleep(Duration::from_millis(ms));
            send(out, req, 200, &[], b"ok\n")
        }
        ("bytes", Some(n)) => bytes(out, req, n),
        ("chunked", Some(n)) => chunked(out, req, n),
        ("flaky", Some(failures)) => flaky(req, out, state, failures),
        ("retry-after" | "unavailable", Some(secs)) => {
            let wait = secs.to_string();
            let status = if name == "unavailable" { 503 } else { 429 };
            send(out, req, status, &[("Retry-After", &wait)], b"slow down\n")
        }
        ("redirect", Some(0)) => send(out, req, 200, &[], b"arrived\n"),
        ("redirect", Some(n)) => {
            let location = format!("/redirect/{}", n - 1);
            send(out, req, 302, &[("Location", &location)], b"")
        }
        ("loop", _) => send(out, req, 302, &[("Location", "/loop")], b""),
        ("reset", _) => reset(out),
        ("redirect-to", _) => {
            let target = req.path.split_once("?url=").map_or("/", |(_, u)| u);
            send(out, req, 302, &[("Location", target)], b"")
        }
        ("echo", _) => {
            let mut body = req.head.clone().into_bytes();
            body.extend_from_slice(&req.body);
            send(out, req, 200, &[], &body)
        }
        ("gzip", _) => send(out, req, 200, &[("Content-Encoding", "gzip")], GZIP_HELLO),
        ("bad-gzip", _) => send(
            out,
            req,
            200,
            &[("Content-Encoding", "gzip")],
            b"not gzip\n",
        ),
        ("brotli", _) => send(out, req, 200, &[("Content-Encoding", "br")], BROTLI_HELLO),
        ("binary", Some(n)) => {
            let body: Vec<u8> = (0..n).map(|i| (i % 256) as u8).collect();
            let headers = [("Content-Type", "application/octet-stream")];
            send(out, req, 200, &headers, &body)
        }
        ("empty", Some(code)) => send_head(out, code as u16, &[("Content-Encoding", "gzip")]),
        ("headers", Some(n)) => many_headers(out, req, n),
        ("big-head", Some(n)) => {
            let value = "v".repeat(n as usize);
            send(out, req, 200, &[("X-Big", &value)], b"ok\n")
        }
        ("redirect-raw", _) => redirect_raw(out, route.ends_with("latin1")),
        ("redirect-empty", _) => send(out, req, 302, &[("Location", "")], b""),
        ("redirect-creds", _) => {
            let target = match route.ends_with("/bad") {
                true => "http://a:s3cret@[bad/".to_string(),
                false => format!("http://a:s3cret@{}/landed", req.host),
            };
            send(out, req, 302, &[("Location", &target)], b"")
        }
        ("target-ü", _) | ("target-%C3%BC", _) | ("target-%FC", _) => {
            send(out, req, 200, &[], b"arrived\n")
        }
        ("html", _) => send(out, req, 200, &[("Content-Type", "text/html")], HTML),
        ("site", Some(n)) if n < SITE_PAGES => html(out, req, &site_page(n, &req.host)),
        ("sitemap.xml", _) => {
            let listed = req.path.split_once('?').map(|(_, paths)| paths);
            let locs = match listed {
                Some(paths) => paths
                    .split(',')
                    .map(|path| format!("http://{}{path}", req.host))
                    .collect(),
                None => vec![
                    format!("http://{}/calendar/1000", req.host),
                    format!("http://{}/calendar/2000?a=1&amp;b=2", req.host),
                    "http://away.test/html".to_string(),
                ],
            };
            let urls: String = locs
                .iter()
                .map(|l| format!("<url><loc>{l}</loc></url>"))
                .collect();
            let body = format!("<?xml version=\"1.0\"?><urlset>{urls}</urlset>");
            xml(out, req, &body)
        }
        ("sitemap-index.xml", _) => {
            let sitemap = format!(
                "<sitemap><loc>http://{}/sitemap.xml</loc></sitemap>",
                req.host
            );
            let body = format!("<sitemapindex>{sitemap}{sitemap}</sitemapindex>");
            xml(out, req, &body)
        }
        ("web", Some(n)) if n < WEB_PAGES => {
            let links = [n + 1, n * 7 + 1, n * 13 + 5, n * 31 + 17].map(|m| m % WEB_PAGES);
            let mut page = format!("<title>web {n}</title>");
            // `?ports=P,Q,…`: page M lives on the loopback server of port number M mod k.
            let ports = req.path.split_once("?ports=").map(|(_, ports)| ports);
            let hosts: Vec<&str> = ports.map_or(Vec::new(), |p| p.split(',').collect());
            for m in links {
                match hosts.get((m as usize) % hosts.len().max(1)) {
                    Some(port) => {
                        let (ports, m) = (ports.unwrap_or(""), m);
                        page += &format!(
                            "<a href=\"http://127.0.0.1:{port}/web/{m}?ports={ports}\">{m}</a>"
                        );
                    }
                    None => page += &format!("<a href=\"/web/{m}\">{m}</a>"),
                }
            }
            html(out, req, &page)
        }
        ("links", Some(ms)) => {
            thread::sleep(Duration::from_millis(ms));
            let hrefs = req.path.split_once('?').map_or("", |(_, hrefs)| hrefs);
            let page: String = hrefs
                .split(',')
                .filter(|href| !href.is_empty())
                .map(|href| format!("<a href=\"{href}\">{href}</a>"))
                .collect();
            html(out, req, &page)
        }
        ("calendar", Some(n)) => {
            let page = format!(
                "<title>day {n}</title><a href=\"/calendar/{}\">next</a>",
                n + 1
            );
            html(out, req, &page)
        }
        ("robots.txt", _) => {
            let robots = state.robots.lock().ok().and_then(|r| r.clone());
            match robots {
                Some((status, body)) => send(out, req, status, &[], body.as_bytes()),
                None => send(out, req, 404, &[], b"no robots.txt\n"),
            }
        }
        ("stall", _) => stall(state),
        ("trickle", Some(n)) => trickle(out, state, n),
        ("close", _) => {
            send(out, req, 200, &[("Connection", "close")], b"closing\n")?;
            Ok(false)
        }
        ("garbage", _) => {
            out.write_all(b"this is not HTTP at all\r\n\r\n")?;
            out.flush()?;
            Ok(false)
        }
        ("raw", _) => raw(out, route),
        _ if req.method == "HEAD" => send(out, req, 200, &[], b""),
        _ => send(out, req, 200, &[], b"ok\n"),
    }
}

/// Answers written byte for byte, for the edge cases of HTTP/1.1 framing; `true` keeps
/// the connection open for another request.
const RAW: &[(&str, &[u8], bool)] = &[
    (
        "early-hints",
        b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n\
          HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nfinal\n",
        true,
    ),
    (
        "until-close",
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nread until the end\n",
        false,
    ),
    (
        "http10",
        b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n",
        true,
    ),
    (
        "extra-bytes",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\nHTTP/1.1 200 OK\r\n",
        true,
    ),
    (
        "chunked-trailer",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
          3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n",
        true,
    ),
    (
        "bad-chunk",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        false,
    ),
    (
        "cut-chunk",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nabcde",
        false,
    ),
    ("empty", b"", false),
    (
        "cut-length",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcde",
        false,
    ),
    (
        "two-lengths",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nok\n",
        false,
    ),
];

/// `/raw/NAME`: the answer named in `RAW`.
fn raw(out: &mut impl Write, route: &str) -> io::Result<bool> {
    let name = route.rsplit('/').next().unwrap_or_default();
    let Some((_, answer, keep)) = RAW.iter().find(|(n, _, _)| *n == name) else {
        out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")?;
        return Ok(true);
    };
    out.write_all(answer)?;
    out.flush()?;
    Ok(*keep)
}

/// 200 with an `n`-byte body of `x`.
fn bytes(out: &mut impl Write, req: &Request, n: u64) -> io::Result<bool> {
    write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Length: {n}\r\nContent-Type: application/octet-stream\r\n\r\n"
    )?;
    let chunk = [b'x'; 8192];
    let mut left = if req.method == "HEAD" { 0 } else { n };
    while left > 0 {
        let take = left.min(chunk.len() as u64) as usize;
        out.write_all(&chunk[..take])?;
        left -= take as u64;
    }
    out.flush()?;
    Ok(true)
}

/// 200 with an `n`-byte body of `x` in chunks of at most 1000 bytes
/// (`Transfer-Encoding: chunked`).
fn chunked(out: &mut impl Write, req: &Request, n: u64) -> io::Result<bool> {
    out.write_all(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n",
    )?;
    let mut left = if req.method == "HEAD" { 0 } else { n };
    while left > 0 {
        let take = left.min(1000);
        write!(out, "{take:x}\r\n")?;
        out.write_all(&vec![b'x'; take as usize])?;
        out.write_all(b"\r\n")?;
        left -= take;
    }
    if req.method != "HEAD" {
        out.write_all(b"0\r\n\r\n")?;
    }
    out.flush()?;
    Ok(true)
}

/// 200 with `n` `Set-Cookie` lines.
fn many_headers(out: &mut impl Write, req: &Request, n: u64) -> io::Result<bool> {
    let cookies: Vec<(String, String)> = (0..n)
        .map(|i| ("Set-Cookie".to_string(), format!("c{i}=v{i}; Path=/")))
        .collect();
    let headers: Vec<(&str, &str)> = cookies
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    send(out, req, 200, &headers, b"ok\n")
}

/// 302 to `/target-ü`, the `Location` written as raw UTF-8 or Latin-1 bytes.
fn redirect_raw(out: &mut impl Write, latin1: bool) -> io::Result<bool> {
    let target: &[u8] = if latin1 {
        b"/target-\xfc"
    } else {
        "/target-\u{fc}".as_bytes()
    };
    out.write_all(b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\nLocation: ")?;
    out.write_all(target)?;
    out.write_all(b"\r\n\r\n")?;
    out.flush()?;
    Ok(true)
}

/// The first `failures` requests for this exact path fail with 503, later ones get 200.
fn flaky(req: &Request, out: &mut impl Write, state: &State, failures: u64) -> io::Result<bool> {
    let seen = state
        .hits
        .lock()
        .map_or(0, |h| h.get(&req.path).copied().unwrap_or(0));
    if seen <= failures {
        send(out, req, 503, &[], b"try again\n")
    } else {
        send(out, req, 200, &[], b"ok\n")
    }
}

/// Promise 1000 bytes, send 10; the connection is then reset (see `serve_connection`).
fn reset(out: &mut impl Write) -> io::Result<bool> {
    write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789"
    )?;
    out.flush()?;
    Ok(false)
}

/// Read the request, never answer (until the server is dropped or a minute passes).
fn stall(state: &State) -> io::Result<bool> {
    for _ in 0..1200 {
        if state.stopping.load(Ordering::SeqCst) {
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    Ok(false)
}

/// Promise `n` bytes and send one every 200 ms.
fn trickle(out: &mut impl Write, state: &State, n: u64) -> io::Result<bool> {
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

/// `hello\n`, gzip-compressed.
const GZIP_HELLO: &[u8] = &[
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xe7,
    0x02, 0x00, 0x20, 0x30, 0x3a, 0x36, 0x06, 0x00, 0x00, 0x00,
];

/// `hello\n`, brotli-compressed.
const BROTLI_HELLO: &[u8] = &[139, 2, 128, 104, 101, 108, 108, 111, 10, 3];

/// A small HTML page.
/// Pages of `/web/N`.
const WEB_PAGES: u64 = 1000;
/// Pages of `/site/N`.
const SITE_PAGES: u64 = 15;

/// `/site/N`: its children in the tree, and a link of each other kind.
fn site_page(n: u64, host: &str) -> String {
    let mut page = format!("<!doctype html><title>page {n}</title>");
    for child in [2 * n + 1, 2 * n + 2]
        .into_iter()
        .filter(|c| *c < SITE_PAGES)
    {
        page += &format!("<a href=\"/site/{child}#top\">{child}</a>");
    }
    // Away: another host name, on this server's port; one of two pages there is gone.
    let port = host.rsplit_once(':').map_or("80", |(_, port)| port);
    let away = match n % 2 {
        0 => "status/410",
        _ => "html",
    };
    page += &format!(
        "<a href=/private/{n}>private</a><a href=/status/404>broken</a>\
         <a href=\"http://away.test:{port}/{away}\">away</a><img src=\"/img/{n}.png\">\
         <form action=/search></form>"
    );
    page
}

/// A 200 XML document.
fn xml(out: &mut impl Write, req: &Request, body: &str) -> io::Result<bool> {
    send(
        out,
        req,
        200,
        &[("Content-Type", "application/xml")],
        body.as_bytes(),
    )
}

/// A 200 HTML page.
fn html(out: &mut impl Write, req: &Request, page: &str) -> io::Result<bool> {
    send(
        out,
        req,
        200,
        &[("Content-Type", "text/html")],
        page.as_bytes(),
    )
}

const HTML: &[u8] = b"<!doctype html><html><head><title>Octopus test page</title></head>\
<body><p>Hello from the loopback server.</p></body></html>\n";

/// A whole response with `Content-Length` (and `text/plain` unless `headers` name a type);
/// the body is left out for `HEAD`.
fn send(
    out: &mut impl Write,
    req: &Request,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<bool> {
    write!(out, "HTTP/1.1 {status} {}\r\n", reason(status))?;
    for (name, value) in headers {
        write!(out, "{name}: {value}\r\n")?;
    }
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        out.write_all(b"Content-Type: text/plain\r\n")?;
    }
    write!(out, "Content-Length: {}\r\n\r\n", body.len())?;
    if req.method != "HEAD" {
        out.write_all(body)?;
    }
    out.flush()?;
    Ok(true)
}

/// A response head with no body at all (for 1xx, 204, 304, and `HEAD`).
fn send_head(out: &mut impl Write, status: u16, headers: &[(&str, &str)]) -> io::Result<bool> {
    write!(out, "HTTP/1.1 {status} {}\r\n", reason(status))?;
    for (name, value) in headers {
        write!(out, "{name}: {value}\r\n")?;
    }
    out.write_all(b"\r\n")?;
    out.flush()?;
    Ok(true)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        304 => "Not Modified",
        302 => "Found",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
