//! Writing records: one printer per format behind `Printer` (`text.rs`, `json.rs`,
//! `csv.rs`), which records are printed (`select.rs`), and `Output`, the one buffered writer
//! that owns stdout (or the `-o` file); the run's summary (`summary.rs`, with `stats.rs`;
//! a crawl's in `crawl_summary.rs`) and the progress bar (`progress.rs`) on stderr.
//!
//! Invariants: a record is always written whole, as one line ending in `\n`; output is
//! flushed whenever the run is idle, so `| jq` sees records as they complete; a closed stdout
//! (EPIPE) is reported once to the caller, never as a panic.

pub mod broken;
pub mod crawl_summary;
mod csv;
mod json;
pub mod progress;
pub mod select;
pub mod stats;
pub mod summary;
mod text;

use std::io::{self, Write};

use octopus::{Response, Visit};

/// How records are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Csv,
}

/// Formats one record as one line (with its trailing newline) into `out`.
pub trait Printer: Send {
    /// What a new output starts with (CSV's header row).
    fn begin(&mut self, _out: &mut Vec<u8>) {}

    /// `found`: where a crawl found the page (`octopus crawl`), else `None`.
    fn print(&mut self, response: &Response, found: Option<&Visit>, out: &mut Vec<u8>);
}

/// How records are printed.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub format: Format,
    /// Print kept bodies (`--include-body`); bodies kept only for `--match-regex` are not.
    pub bodies: bool,
    /// Records of a crawl (CSV has its depth, parent and links columns).
    pub crawl: bool,
}

fn printer(style: Style) -> Box<dyn Printer> {
    match style.format {
        Format::Text => Box::new(text::TextPrinter),
        Format::Json => Box::new(json::JsonPrinter {
            bodies: style.bodies,
        }),
        Format::Csv => Box::new(csv::CsvPrinter { crawl: style.crawl }),
    }
}

/// Buffers formatted records and writes them to a stream (stdout in the binary).
pub struct Output<W: Write> {
    printer: Box<dyn Printer>,
    format: Format,
    buf: Vec<u8>,
    stream: W,
    closed: bool,
}

/// Flush once this much is buffered even if more records are waiting.
const FLUSH_AT: usize = 64 * 1024;

impl<W: Write> Output<W> {
    /// Records in `style` to `stream`; `fresh`: the stream holds nothing yet (a CSV header
    /// row goes first).
    pub fn new(style: Style, stream: W, fresh: bool) -> Self {
        let mut printer = printer(style);
        let mut buf = Vec::with_capacity(FLUSH_AT + 1024);
        if fresh {
            printer.begin(&mut buf);
        }
        Output {
            printer,
            format: style.format,
            buf,
            stream,
            closed: false,
        }
    }

    /// Format a record (of a page a crawl `found`); returns false once the stream is
    /// closed.
    pub fn write(&mut self, response: &Response, found: Option<&Visit>) -> bool {
        if self.closed {
            return false;
        }
        self.printer.print(response, found, &mut self.buf);
        if self.buf.len() >= FLUSH_AT {
            return self.flush();
        }
        true
    }

    /// Format something else than a record (a report) with `print`; returns false once the
    /// stream is closed.
    pub fn write_with(&mut self, print: impl FnOnce(Format, &mut Vec<u8>)) -> bool {
        if self.closed {
            return false;
        }
        print(self.format, &mut self.buf);
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
