//! The body of a response read by `exchange.rs`: framed by `Content-Length`, by chunks, or
//! by the end of the connection (RFC 9112, section 6.3), read from the connection's input
//! buffer, and the connection parked again once the body was read to its end.
//!
//! Invariants: no byte past the body is taken as the body's; a body cut short (the server
//! closed, a chunk is malformed, the deadline passed) is an error, never a short body that
//! looks whole; the exchange's errors travel inside `io::Error` (`Error::into_io`), so
//! `body.rs` classifies them as the exchange's; a connection is parked only after a clean
//! end, when neither side asked to close it (`Back`).

use std::io::{self, Read};
use std::sync::Arc;
use std::time::Instant;

use http::{HeaderMap, header};

use crate::http::connect::pool::{Key, Parked, Resting};
use crate::http::connect::socket::{Socket, io_error};
use crate::http::error::{Error, Step, Timeout};

/// The longest chunk-size or trailer line read.
const MAX_LINE: usize = 8 * 1024;

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `Content-Length` bytes (none for HEAD, 204 and 304).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Up to the end of the connection.
    Close,
}

impl Framing {
    /// The framing `headers` give a response (`bodiless`: one that has no body whatever
    /// they say).
    pub fn of(headers: &HeaderMap, bodiless: bool) -> Result<Framing, Error> {
        if bodiless {
            return Ok(Framing::Length(0));
        }
        let codings = headers.get_all(header::TRANSFER_ENCODING);
        if codings.iter().next().is_some() {
            // Chunked must be the last coding; anything else runs to the end.
            let last = codings
                .iter()
                .flat_map(|v| v.as_bytes().split(|&b| b == b','))
                .map(<[u8]>::trim_ascii)
                .rfind(|t| !t.is_empty());
            return Ok(match last {
                Some(t) if t.eq_ignore_ascii_case(b"chunked") => Framing::Chunked,
                _ => Framing::Close,
            });
        }
        let mut length = None;
        for value in headers.get_all(header::CONTENT_LENGTH) {
            let parsed = std::str::from_utf8(value.as_bytes())
                .ok()
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| Error::protocol("Content-Length is not a number"))?;
            if length.is_some_and(|l| l != parsed) {
                return Err(Error::protocol(
                    "Content-Length is given twice, with different values",
                ));
            }
            length = Some(parsed);
        }
        Ok(length.map_or(Framing::Close, Framing::Length))
    }

    /// Whether the body ends before the connection does (so the connection may be reused).
    pub fn ends(self) -> bool {
        self != Framing::Close
    }
}

/// Where reading a chunked body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Before a chunk-size line.
    Size,
    /// In a chunk's data, this much left.
    Data(u64),
    /// After a chunk's data, before its line end.
    DataEnd,
    /// After the last chunk, in the trailer section.
    Trailer,
}

/// Reads one response body from its connection.
pub(crate) struct BodyReader {
    /// `None` once the body has ended.
    socket: Option<Socket>,
    framing: Framing,
    /// What is left of a `Content-Length` body.
    left: u64,
    /// Bytes of the body read so far.
    read: u64,
    chunk: Chunk,
    deadline: Option<Instant>,
    /// Where the connection goes after a clean end, if it may be reused.
    back: Option<Back>,
}

impl BodyReader {
    /// The reader of a body framed by `framing` on `socket`, until `deadline`.
    pub fn new(
        socket: Socket,
        framing: Framing,
        deadline: Option<Instant>,
        back: Option<Back>,
    ) -> BodyReader {
        let mut reader = BodyReader {
            socket: Some(socket),
            framing,
            left: match framing {
                Framing::Length(n) => n,
                _ => 0,
            },
            read: 0,
            chunk: Chunk::Size,
            deadline,
            back,
        };
        if framing == Framing::Length(0) {
            reader.end();
        }
        reader
    }

    /// The body has ended cleanly: the connection goes back, if it may.
    fn end(&mut self) {
        let socket = self.socket.take();
        if let (Some(socket), Some(back)) = (socket, self.back.take()) {
            back.park(socket);
        }
    }

    /// The unread input, read from the connection first if there is none; empty at the end
    /// of the stream.
    fn available(&mut self) -> io::Result<&[u8]> {
        let empty = match self.socket.as_mut() {
            Some(socket) => socket.buffers().input().is_empty(),
            None => return Ok(&[]),
        };
        if empty {
            self.read_more()?;
        }
        Ok(match self.socket.as_mut() {
            Some(socket) => socket.buffers().input(),
            None => &[],
        })
    }

    /// Read what the server sent next into the input, waiting until the deadline: how many
    /// bytes (0 at the end of the stream, or once the body has ended).
    fn read_more(&mut self) -> io::Result<usize> {
        let deadline = self.deadline;
        match self.socket.as_mut() {
            Some(socket) => socket
                .fill(deadline)
                .map_err(|e| io_error(e, Timeout::Global(Step::Body)).into_io()),
            None => Ok(0),
        }
    }

    /// Copy up to `limit` bytes of the input into `buf`; 0 at the end of the stream.
    fn copy(&mut self, buf: &mut [u8], limit: u64) -> io::Result<usize> {
        let input = self.available()?;
        let n = input
            .len()
            .min(buf.len())
            .min(usize::try_from(limit).unwrap_or(usize::MAX));
        if let (Some(to), Some(from)) = (buf.get_mut(..n), input.get(..n)) {
            to.copy_from_slice(from);
        }
        self.consume(n);
        Ok(n)
    }

    fn consume(&mut self, n: usize) {
        if let Some(socket) = self.socket.as_mut() {
            socket.buffers().input_consume(n);
        }
    }

    /// The next line of the input (without its line end), given to `parse`.
    fn line<R>(&mut self, parse: impl FnOnce(&[u8]) -> io::Result<R>) -> io::Result<R> {
        loop {
            let input = self.available()?;
            if input.is_empty() {
                return Err(cut_chunked(self.read).into_io());
            }
            if let Some(end) = input.iter().position(|&b| b == b'\n') {
                let line = input.get(..end).unwrap_or_default();
                let parsed = parse(line.strip_suffix(b"\r").unwrap_or(line));
                self.consume(end + 1);
                return parsed;
            }
            if input.len() > MAX_LINE {
                return Err(protocol("a chunk of the body does not end with CRLF"));
            }
            // The line is not all here: read more behind it.
            if self.read_more()? == 0 {
                return Err(cut_chunked(self.read).into_io());
            }
        }
    }

    fn read_chunked(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.chunk {
                Chunk::Size => {
                    let size = self.line(chunk_size)?;
                    self.chunk = match size {
                        0 => Chunk::Trailer,
                        n => Chunk::Data(n),
                    };
                }
                Chunk::Data(left) => {
                    let n = self.copy(buf, left)?;
                    if n == 0 {
                        return Err(cut_chunked(self.read).into_io());
                    }
                    self.read += n as u64;
                    let left = left - n as u64;
                    self.chunk = if left == 0 {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left)
                    };
                    return Ok(n);
                }
                Chunk::DataEnd => {
                    self.line(|line| match line.is_empty() {
                        true => Ok(()),
                        false => Err(protocol("a chunk of the body does not end with CRLF")),
                    })?;
                    self.chunk = Chunk::Size;
                }
                Chunk::Trailer => {
                    if self.line(|line| Ok(line.is_empty()))? {
                        self.end();
                        return Ok(0);
                    }
                }
            }
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.socket.is_none() || buf.is_empty() {
            return Ok(0);
        }
        match self.framing {
            Framing::Length(_) if self.left == 0 => Ok(0),
            Framing::Length(length) => {
                let n = self.copy(buf, self.left)?;
                if n == 0 {
                    return Err(cut_short(length - self.left, length).into_io());
                }
                self.left -= n as u64;
                if self.left == 0 {
                    self.end();
                }
                Ok(n)
            }
            Framing::Chunked => self.read_chunked(buf),
            Framing::Close => {
                let n = self.copy(buf, u64::MAX)?;
                if n == 0 {
                    // Never reused: the server closed it.
                    self.socket = None;
                }
                Ok(n)
            }
        }
    }
}

/// Where a connection goes when its response was read cleanly.
pub(crate) struct Back {
    parked: Arc<Parked<Socket>>,
    key: Key,
}

impl Back {
    /// Back to `parked`, under `key`.
    pub fn new(parked: Arc<Parked<Socket>>, key: Key) -> Back {
        Back { parked, key }
    }

    /// Park `socket` for the next request to its host, if it is still fit for one.
    pub fn park(self, mut socket: Socket) {
        if socket.is_open() {
            let resting = Resting {
                peer: socket.peer,
                transport: socket,
                since: Instant::now(),
            };
            self.parked.park(self.key, resting);
        }
    }
}

/// The server closed the connection before the response was whole: `why`, in words (an
/// end of stream, so that a reused connection the server had closed is tried again).
pub(crate) fn disconnected(why: impl Into<String>) -> Error {
    Error::Io(std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        why.into(),
    ))
}

/// The server closed the connection with `got` bytes of a body of `length`.
fn cut_short(got: u64, length: u64) -> Error {
    disconnected(format!(
        "the server closed the connection with {} of {} bytes of the body",
        thousands(got),
        thousands(length)
    ))
}

/// The server closed the connection inside a chunked body, after `got` bytes of it.
fn cut_chunked(got: u64) -> Error {
    disconnected(format!(
        "the server closed the connection inside a chunked body, after {} bytes of it",
        thousands(got)
    ))
}

/// `n` with its thousands separated by commas, as the messages write counts.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A chunk-size line's size (extensions after `;` ignored).
fn chunk_size(line: &[u8]) -> io::Result<u64> {
    let digits = line
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    let text = std::str::from_utf8(digits)
        .map_err(|_| protocol("a chunk size is not a hexadecimal number"))?;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(protocol("a chunk size is not a hexadecimal number"));
    }
    u64::from_str_radix(text, 16).map_err(|_| protocol("a chunk size is not a hexadecimal number"))
}

fn protocol(what: &str) -> io::Error {
    Error::protocol(what).into_io()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(lines: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in lines {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let of = |lines: &[(&'static str, &'static str)]| Framing::of(&headers(lines), false);
        assert_eq!(
            of(&[("content-length", "12")]).unwrap(),
            Framing::Length(12)
        );
        assert_eq!(of(&[]).unwrap(), Framing::Close);
        assert_eq!(
            of(&[
                ("transfer-encoding", "gzip, chunked"),
                ("content-length", "3")
            ])
            .unwrap(),
            Framing::Chunked,
            "chunked wins over a length"
        );
        assert_eq!(
            of(&[("transfer-encoding", "gzip")]).unwrap(),
            Framing::Close
        );
        assert!(of(&[("content-length", "1"), ("content-length", "2")]).is_err());
        assert_eq!(
            of(&[("content-length", "5"), ("content-length", "5")]).unwrap(),
            Framing::Length(5)
        );
        assert!(of(&[("content-length", "-1")]).is_err());
        assert!(of(&[("content-length", "+1")]).is_err());
        assert!(of(&[("content-length", "")]).is_err());
        let bodiless = Framing::of(&headers(&[("content-length", "9")]), true);
        assert_eq!(bodiless.unwrap(), Framing::Length(0));
    }

    #[test]
    fn counts_are_written_with_thousands_apart() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(50_000), "50,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn chunk_sizes_are_hex_with_extensions_ignored() {
        assert_eq!(chunk_size(b"1a").unwrap(), 26);
        assert_eq!(chunk_size(b"0;name=value").unwrap(), 0);
        assert_eq!(chunk_size(b"FF ").unwrap(), 255);
        assert!(chunk_size(b"").is_err());
        assert!(chunk_size(b"-1").is_err());
        assert!(chunk_size(b"zz").is_err());
        assert!(chunk_size(b"fffffffffffffffff").is_err(), "past u64");
    }
}
