//! WARC records (WARC/1.1), built outside the writer's lock: an exchange's `request` and
//! `response` records, each compressed to its own gzip member when the file is `.warc.gz`;
//! a file's `warcinfo` record.
//!
//! Invariants: `Content-Length` is the block's length and the digests are of exactly the
//! bytes written (`WARC-Block-Digest` of the block, `WARC-Payload-Digest` of the payload
//! after the HTTP head); a response's payload is the entity as the server sent it
//! (content-encoded bodies stay encoded), only the transfer coding removed.

use std::io::{self, Write};
use std::net::IpAddr;
use std::time::SystemTime;

use http::{request, response};
use sha1::{Digest, Sha1};
use url::Url;

use super::gzip::{Level, Member};
use super::spool::Spool;
use crate::input::push_host;

/// One HTTP exchange to archive: what was sent and what came back.
pub(crate) struct Exchange<'a> {
    /// The URL requested (credentials removed: archives do not keep them).
    pub target: &'a Url,
    /// When the request was sent.
    pub date: SystemTime,
    /// The address the request was sent to, when known (`WARC-IP-Address`).
    pub ip: Option<IpAddr>,
    pub request: &'a request::Parts,
    pub request_body: Option<&'a [u8]>,
    pub response: &'a response::Parts,
    /// The body as received, transfer coding removed.
    pub payload: Spool,
    /// Why the payload is not whole, if it is not.
    pub truncated: Option<Truncated>,
}

/// Why a payload was cut short (`WARC-Truncated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Truncated {
    /// Past the body limit.
    Length,
    /// Past the deadline.
    Time,
    /// The connection failed.
    Disconnect,
}

impl Truncated {
    fn name(self) -> &'static str {
        match self {
            Truncated::Length => "length",
            Truncated::Time => "time",
            Truncated::Disconnect => "disconnect",
        }
    }
}

/// Bytes of a payload looked at to guess whether it compresses.
const SAMPLE: usize = 4096;

/// A new record ID.
fn record_id() -> String {
    format!("<urn:uuid:{}>", uuid::Uuid::new_v4())
}

fn warc_date(when: SystemTime) -> String {
    humantime::format_rfc3339_seconds(when).to_string()
}

/// `sha1:` and the digest in base32, as WARC files write it.
fn sha1_label(hasher: Sha1) -> String {
    format!("sha1:{}", data_encoding::BASE32.encode(&hasher.finalize()))
}

/// The `request` and `response` records of an exchange, linked by `WARC-Concurrent-To`.
pub(crate) fn exchange_records(mut x: Exchange<'_>, gzip: bool) -> io::Result<(Spool, Spool)> {
    let (request_id, response_id) = (record_id(), record_id());
    let date = warc_date(x.date);
    let target = x.target.as_str();
    let mut request_block = request_head(x.request, x.target);
    if let Some(body) = x.request_body {
        request_block.extend_from_slice(body);
    }
    let mut fields = vec![
        ("WARC-Type", "request".to_string()),
        ("WARC-Record-ID", request_id.clone()),
        ("WARC-Date", date.clone()),
        ("WARC-Target-URI", target.to_string()),
        ("WARC-Concurrent-To", response_id.clone()),
        (
            "Content-Type",
            "application/http; msgtype=request".to_string(),
        ),
    ];
    let ip = x.ip.map(|ip| ("WARC-IP-Address", ip.to_string()));
    fields.extend(ip.clone());
    // HTTP/2 is written in HTTP/1.1's syntax (what WARC readers parse), and said in
    // `WARC-Protocol` (iipc/warc-specifications#42, as StormCrawler and Nutch write it).
    let protocol =
        (x.response.version == http::Version::HTTP_2).then(|| ("WARC-Protocol", "h2".to_string()));
    fields.extend(protocol.clone());
    let request = record(
        &mut fields,
        &request_block,
        None,
        gzip.then_some(Level::Default),
    )?;

    let head = response_head(x.response, x.payload.len());
    let mut fields = vec![
        ("WARC-Type", "response".to_string()),
        ("WARC-Record-ID", response_id),
        ("WARC-Date", date),
        ("WARC-Target-URI", target.to_string()),
        ("WARC-Concurrent-To", request_id),
        (
            "Content-Type",
            "application/http; msgtype=response".to_string(),
        ),
    ];
    fields.extend(ip);
    fields.extend(protocol);
    if let Some(truncated) = x.truncated {
        fields.push(("WARC-Truncated", truncated.name().to_string()));
    }
    let level = match gzip {
        true => Some(payload_level(x.response, &x.payload.prefix(SAMPLE)?)),
        false => None,
    };
    let response = record(&mut fields, &head, Some(&mut x.payload), level)?;
    Ok((request, response))
}

/// A `warcinfo` record with `fields` (`application/warc-fields`).
pub(crate) fn warcinfo(
    filename: &str,
    fields: &[(String, String)],
    gzip: bool,
) -> io::Result<Spool> {
    let mut block = Vec::new();
    for (name, value) in fields {
        block.extend_from_slice(format!("{name}: {}\r\n", one_line(value)).as_bytes());
    }
    let mut header = vec![
        ("WARC-Type", "warcinfo".to_string()),
        ("WARC-Record-ID", record_id()),
        ("WARC-Date", warc_date(SystemTime::now())),
        ("WARC-Filename", one_line(filename)),
        ("Content-Type", "application/warc-fields".to_string()),
    ];
    record(&mut header, &block, None, gzip.then_some(Level::Default))
}

/// A field value on one line (a value from a setting may hold anything).
fn one_line(value: &str) -> String {
    value.replace(['\r', '\n'], " ")
}

/// How hard to deflate a response record: a payload that is compressed already (encoded,
/// or whose first bytes look random: an image, an archive) gains nothing from the default
/// level, which spends 2.5 times the CPU on it.
fn payload_level(response: &response::Parts, sample: &[u8]) -> Level {
    let encoded = response
        .headers
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"));
    match encoded || entropy(sample) > 7.5 {
        true => Level::Fast,
        false => Level::Default,
    }
}

/// Shannon entropy of `bytes`, in bits per byte (8 for random bytes, about 5 for text).
fn entropy(bytes: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// One record: `fields`, the digests and length of the block (`head`, then `payload` if
/// any), the block; as a gzip member at `gzip`'s level when given.
fn record(
    fields: &mut Vec<(&'static str, String)>,
    head: &[u8],
    mut payload: Option<&mut Spool>,
    gzip: Option<Level>,
) -> io::Result<Spool> {
    let mut block_hash = Sha1::new();
    block_hash.update(head);
    let payload_len = payload.as_ref().map_or(0, |p| p.len());
    if let Some(payload) = payload.as_deref_mut() {
        let mut payload_hash = Sha1::new();
        payload.copy_to(&mut Hashing(&mut [&mut block_hash, &mut payload_hash]))?;
        fields.push(("WARC-Payload-Digest", sha1_label(payload_hash)));
    }
    fields.push(("WARC-Block-Digest", sha1_label(block_hash)));
    let length = head.len() as u64 + payload_len;
    fields.push(("Content-Length", length.to_string()));
    let mut header = String::from("WARC/1.1\r\n");
    for (name, value) in fields.iter() {
        header.push_str(&format!("{name}: {value}\r\n"));
    }
    header.push_str("\r\n");
    let write = |out: &mut dyn Write| -> io::Result<()> {
        out.write_all(header.as_bytes())?;
        out.write_all(head)?;
        if let Some(payload) = payload {
            payload.copy_to(out)?;
        }
        out.write_all(b"\r\n\r\n")
    };
    match gzip {
        Some(level) => {
            let mut member = Member::new(level)?;
            write(&mut member)?;
            member.finish()
        }
        None => {
            let mut plain = Spool::default();
            write(&mut plain)?;
            Ok(plain)
        }
    }
}

/// Feeds what is written to several digests.
struct Hashing<'a, 'b>(&'a mut [&'b mut Sha1]);

impl Write for Hashing<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for hasher in self.0.iter_mut() {
            hasher.update(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The request line and headers as sent: `Host` first (as ureq sends it), then the request's
/// headers.
fn request_head(parts: &request::Parts, url: &Url) -> Vec<u8> {
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let mut head = format!("{} {target} HTTP/1.1\r\n", parts.method).into_bytes();
    if !parts.headers.contains_key(http::header::HOST) {
        head.extend_from_slice(b"host: ");
        push_host(&mut head, url);
        head.extend_from_slice(b"\r\n");
    }
    push_headers(&mut head, parts.headers.iter());
    head.extend_from_slice(b"\r\n");
    head
}

/// The status line and headers as received, except that a transfer coding, removed from
/// the payload, is removed from the headers too, with `Content-Length` saying the payload's
/// length.
fn response_head(parts: &response::Parts, payload_len: u64) -> Vec<u8> {
    let version = match parts.version {
        http::Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    };
    let status = parts.status;
    let reason = status.canonical_reason().unwrap_or("");
    let mut head = format!("{version} {} {reason}\r\n", status.as_u16()).into_bytes();
    let decoded = parts.headers.contains_key(http::header::TRANSFER_ENCODING);
    push_headers(
        &mut head,
        parts.headers.iter().filter(|(name, _)| {
            !decoded
                || (*name != http::header::TRANSFER_ENCODING
                    && *name != http::header::CONTENT_LENGTH)
        }),
    );
    if decoded {
        head.extend_from_slice(format!("content-length: {payload_len}\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head
}

fn push_headers<'a>(
    head: &mut Vec<u8>,
    headers: impl Iterator<Item = (&'a http::HeaderName, &'a http::HeaderValue)>,
) {
    for (name, value) in headers {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(headers: &[(&str, &str)]) -> response::Parts {
        let mut builder = http::Response::builder().status(200);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn compressed_payloads_are_deflated_fast_text_at_the_default_level() {
        let text = b"<html><head><title>A page</title></head><body>Some text.</body></html>";
        let random: Vec<u8> = (0u32..4096)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let plain = response(&[]);
        assert_eq!(payload_level(&plain, &text.repeat(50)), Level::Default);
        assert_eq!(payload_level(&plain, &random), Level::Fast);
        assert_eq!(payload_level(&plain, b""), Level::Default);
        let gzip = response(&[("Content-Encoding", "gzip")]);
        assert_eq!(payload_level(&gzip, b"\x1f\x8b"), Level::Fast);
        let identity = response(&[("Content-Encoding", "identity")]);
        assert_eq!(payload_level(&identity, text), Level::Default);
    }

    #[test]
    fn a_chunked_response_head_loses_its_transfer_coding_and_says_the_length() {
        let chunked = response(&[
            ("Transfer-Encoding", "chunked"),
            ("Content-Type", "text/plain"),
        ]);
        let head = String::from_utf8(response_head(&chunked, 42)).unwrap();
        assert_eq!(
            head,
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 42\r\n\r\n"
        );
        let plain = response(&[("Content-Length", "7")]);
        let head = String::from_utf8(response_head(&plain, 3)).unwrap();
        assert_eq!(
            head, "HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\n",
            "kept as sent"
        );
    }

    #[test]
    fn a_request_head_names_the_host_with_its_port_first() {
        let url = Url::parse("http://127.0.0.1:8080/a/b?c=d").unwrap();
        let (parts, ()) = http::Request::get("http://127.0.0.1:8080/a/b?c=d")
            .header("accept", "*/*")
            .body(())
            .unwrap()
            .into_parts();
        let head = String::from_utf8(request_head(&parts, &url)).unwrap();
        assert_eq!(
            head,
            "GET /a/b?c=d HTTP/1.1\r\nhost: 127.0.0.1:8080\r\naccept: */*\r\n\r\n"
        );
    }
}
