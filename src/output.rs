//! Writing records to stdout: one printer per format behind `Printer`, and `Output`, the one
//! buffered writer that owns stdout.
//!
//! Invariants: a record is always written whole, as one line ending in `\n`; output is
//! flushed whenever the run is idle, so `| jq` sees records as they complete; a closed stdout
//! (EPIPE) is reported once to the caller, never as a panic.

use std::io::{self, Write};

use serde::Serialize;

use crate::config::Format;
use crate::record::{Failure, Record};

/// Formats one record as one line (with its trailing newline) into `out`.
pub trait Printer: Send {
    fn print(&self, record: &Record, out: &mut Vec<u8>);
}

pub fn printer(format: Format) -> Box<dyn Printer> {
    match format {
        Format::Text => Box::new(TextPrinter),
        Format::Json => Box::new(JsonPrinter),
    }
}

/// `STATUS ELAPSEDms BYTES URL [-> FINAL_URL] [cached] [attempts=N] [waited=Nms]
/// [KIND: MESSAGE]`, `ERR` for no status.
pub struct TextPrinter;

impl Printer for TextPrinter {
    fn print(&self, r: &Record, out: &mut Vec<u8>) {
        let status = r
            .status()
            .map_or_else(|| "ERR".to_string(), |s| s.to_string());
        let bytes = r.response().map_or(0, |resp| resp.bytes);
        let _ = write!(
            out,
            "{status} {}ms {bytes} {}",
            r.elapsed.as_millis(),
            r.url
        );
        if let Some(resp) = r.response()
            && resp.redirects > 0
        {
            let _ = write!(out, " -> {}", resp.final_url);
        }
        if r.cached {
            out.extend_from_slice(b" cached");
        }
        if r.attempts > 1 {
            let _ = write!(out, " attempts={}", r.attempts);
        }
        if !r.waited.is_zero() {
            let _ = write!(out, " waited={}ms", r.waited.as_millis());
        }
        if let Some(f) = r.failure() {
            // Messages come from servers and libraries: keep them on one line.
            let message: String = f
                .message
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let _ = write!(out, " {}: {message}", f.kind);
        }
        out.push(b'\n');
    }
}

/// JSON Lines; the field set is the stable schema documented in the README.
pub struct JsonPrinter;

#[derive(Serialize)]
struct JsonRecord<'a> {
    url: &'a str,
    final_url: Option<&'a str>,
    input: &'a str,
    line: u64,
    status: Option<u16>,
    ok: bool,
    error: Option<&'a Failure>,
    bytes: u64,
    elapsed_ms: f64,
    redirects: u32,
    cached: bool,
    content_type: Option<&'a str>,
    attempts: u32,
    waited_ms: f64,
}

impl Printer for JsonPrinter {
    fn print(&self, r: &Record, out: &mut Vec<u8>) {
        let resp = r.response();
        let json = JsonRecord {
            url: &r.url,
            final_url: resp.map(|x| x.final_url.as_str()),
            input: &r.input,
            line: r.line,
            status: r.status(),
            ok: r.ok,
            error: r.failure(),
            bytes: resp.map_or(0, |x| x.bytes),
            elapsed_ms: millis(r.elapsed),
            redirects: resp.map_or(0, |x| x.redirects),
            cached: r.cached,
            content_type: resp.and_then(|x| x.content_type.as_deref()),
            attempts: r.attempts,
            waited_ms: millis(r.waited),
        };
        // Serialising plain data into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &json);
        out.push(b'\n');
    }
}

/// Milliseconds with microsecond precision.
fn millis(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Buffers formatted records and writes them to a stream (stdout in the binary).
pub struct Output<W: Write> {
    printer: Box<dyn Printer>,
    buf: Vec<u8>,
    stream: W,
    closed: bool,
}

/// Flush once this much is buffered even if more records are waiting.
const FLUSH_AT: usize = 64 * 1024;

impl<W: Write> Output<W> {
    pub fn new(format: Format, stream: W) -> Self {
        Output {
            printer: printer(format),
            buf: Vec::with_capacity(FLUSH_AT + 1024),
            stream,
            closed: false,
        }
    }

    /// Format a record; returns false once the stream is closed.
    pub fn write(&mut self, record: &Record) -> bool {
        if self.closed {
            return false;
        }
        self.printer.print(record, &mut self.buf);
        if self.buf.len() >= FLUSH_AT {
            return self.flush();
        }
        true
    }

    /// Write out what is buffered; returns false once the stream is closed.
    pub fn flush(&mut self) -> bool {
        if self.closed {
            return false;
        }
        let result = self
            .stream
            .write_all(&self.buf)
            .and_then(|()| self.stream.flush());
        self.buf.clear();
        match result {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                false
            }
            Err(e) => {
                let _ = writeln!(io::stderr(), "octopus: cannot write output: {e}");
                self.closed = true;
                false
            }
        }
    }
}
