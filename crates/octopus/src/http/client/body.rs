//! Reading a response body once: the bytes as sent (kept for a WARC record when asked),
//! decoded (`decode.rs`), counted and bounded by the body limit, and handed to what the
//! capture was asked for.
//!
//! Invariant: neither the decoded nor the received size passes `max_body` unnoticed: past
//! it, reading stops and the body is `body_too_large` (what was received so far stays
//! available to WARC, marked truncated).

use std::io::{self, Read, Write};

use crate::capture::{Captured, Reading};
use crate::failure::{ErrorKind, Failure};
use crate::http::client::decode::Decoder;
use crate::warc::{Spool, Truncated};

/// The first reads of a body (most bodies fit).
const SMALL_READ: usize = 2 * 1024;
/// Reads once a body has filled the small buffer.
const LARGE_READ: usize = 16 * 1024;

/// What reading a body gave.
pub(crate) struct Body {
    /// Decoded bytes read.
    pub bytes: u64,
    pub captured: Option<Box<Captured>>,
    /// The bytes as the server sent them (transfer coding removed), when asked for.
    pub raw: Option<Spool>,
    /// Why `raw` is not the whole body, if it is not.
    pub truncated: Option<Truncated>,
    /// Why the body could not be read whole, if it could not.
    pub failure: Option<Failure>,
}

/// How to read a body.
pub(crate) struct Reader {
    pub decoder: Decoder,
    pub reading: Option<Reading>,
    pub max_body: u64,
    /// Keep the bytes as received.
    pub keep_raw: bool,
    /// The response has no body (HEAD, 1xx, 204, 304): nothing is read.
    pub bodiless: bool,
}

/// Decoded bytes counted and handed to the capture, up to the body limit.
struct Count {
    bytes: u64,
    reading: Option<Reading>,
    max_body: u64,
}

impl Count {
    fn consume(&mut self, decoded: &[u8]) {
        self.bytes += decoded.len() as u64;
        if let Some(reading) = self
            .reading
            .as_mut()
            .filter(|_| self.bytes <= self.max_body)
        {
            reading.chunk(decoded);
        }
    }
}

/// Why reading stopped early, and how that cuts the raw body.
type Stopped = (Failure, Option<Truncated>);

impl Reader {
    /// Read `body` to its end.
    pub fn read(self, body: &mut impl Read) -> Body {
        let mut count = Count {
            bytes: 0,
            reading: self.reading,
            max_body: self.max_body,
        };
        let mut raw = self.keep_raw.then(Spool::default);
        let result = match self.bodiless {
            true => Ok(()),
            false => read_all(body, self.decoder, &mut count, raw.as_mut()),
        };
        let (failure, truncated) = match result {
            Ok(()) => (None, None),
            Err((failure, truncated)) => (Some(failure), truncated),
        };
        let captured = match (count.reading, &failure) {
            (Some(reading), None) => Some(Box::new(reading.finish())),
            (Some(reading), Some(_)) => {
                reading.abandon();
                None
            }
            (None, _) => None,
        };
        Body {
            bytes: count.bytes,
            captured,
            raw,
            truncated,
            failure,
        }
    }
}

/// Read, keep (in `raw`) and decode `body` to its end: through a 2 KiB buffer on the stack,
/// then a 16 KiB one on the heap (a connection's input buffer's size) once a read fills
/// the small one. A small body costs zeroing 2 KiB; `io::copy` zeroed 8 KiB on every read,
/// twice per small response.
fn read_all(
    body: &mut impl Read,
    decoder: Decoder,
    count: &mut Count,
    raw: Option<&mut Spool>,
) -> Result<(), Stopped> {
    let mut taking = Taking {
        decoder,
        count,
        raw,
        received: 0,
    };
    let mut small = [0u8; SMALL_READ];
    let mut large = Vec::new();
    loop {
        let buf = match large.is_empty() {
            true => &mut small[..],
            false => &mut large[..],
        };
        let n = match body.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(cut_off(e)),
        };
        let full = n == buf.len();
        taking.take(buf.get(..n).unwrap_or_default())?;
        if full && large.is_empty() {
            large = vec![0; LARGE_READ];
        }
    }
    let Taking { decoder, count, .. } = taking;
    decoder
        .finish(&mut |d| count.consume(d))
        .map_err(|e| (io_failure(e), None))?;
    match count.bytes > count.max_body {
        true => Err((too_large(count.max_body), Some(Truncated::Length))),
        false => Ok(()),
    }
}

/// Where `read_all` puts each chunk read: kept as received, decoded, counted; it says stop
/// past the body limit or when the body does not decode.
struct Taking<'a> {
    decoder: Decoder,
    count: &'a mut Count,
    raw: Option<&'a mut Spool>,
    received: u64,
}

impl Taking<'_> {
    fn take(&mut self, chunk: &[u8]) -> Result<(), Stopped> {
        let max_body = self.count.max_body;
        self.received += chunk.len() as u64;
        if let Some(raw) = self.raw.as_deref_mut() {
            raw.write_all(chunk).map_err(|e| (spool_failure(e), None))?;
        }
        let count = &mut *self.count;
        self.decoder
            .feed(chunk, &mut |d| count.consume(d))
            .map_err(|e| (io_failure(e), None))?;
        match count.bytes > max_body || self.received > max_body {
            true => Err((too_large(max_body), Some(Truncated::Length))),
            false => Ok(()),
        }
    }
}

/// The connection failed while the body was read: why, and how that truncates it.
fn cut_off(e: io::Error) -> (Failure, Option<Truncated>) {
    // The exchange's own errors (a timeout, …) travel inside the reader's `io::Error`.
    let failure =
        crate::http::client::classify::classify(&crate::http::error::Error::from(e), None);
    let truncated = match failure.kind() {
        ErrorKind::Timeout => Truncated::Time,
        ErrorKind::BodyTooLarge => Truncated::Length,
        _ => Truncated::Disconnect,
    };
    (failure, Some(truncated))
}

/// A body that does not decode.
fn io_failure(e: io::Error) -> Failure {
    crate::http::client::classify::classify(&crate::http::error::Error::Io(e), None)
}

fn spool_failure(e: io::Error) -> Failure {
    Failure::new(
        ErrorKind::Save,
        format!("cannot hold the body for the WARC file: {e}"),
    )
}

fn too_large(max_body: u64) -> Failure {
    Failure::new(
        ErrorKind::BodyTooLarge,
        format!("body larger than max-body ({max_body} bytes)"),
    )
}
