//! The text record: `STATUS ELAPSEDms BYTES URL [-> FINAL_URL] [cached] [attempts=N]
//! [waited=Nms] [KIND: MESSAGE]`, `ERR` for no status (awk-friendly, space-separated).

use std::io::Write;

use octopus::Response;

use super::Printer;

pub struct TextPrinter;

impl Printer for TextPrinter {
    fn print(&self, r: &Response, out: &mut Vec<u8>) {
        let status = r
            .status()
            .map_or_else(|| "ERR".to_string(), |s| s.to_string());
        let _ = write!(
            out,
            "{status} {}ms {} {}",
            r.elapsed().as_millis(),
            r.bytes(),
            r.url()
        );
        if let Some(final_url) = r.final_url().filter(|_| r.redirects() > 0) {
            let _ = write!(out, " -> {final_url}");
        }
        if r.cached() {
            out.extend_from_slice(b" cached");
        }
        if r.attempts() > 1 {
            let _ = write!(out, " attempts={}", r.attempts());
        }
        if !r.waited().is_zero() {
            let _ = write!(out, " waited={}ms", r.waited().as_millis());
        }
        if let Some(f) = r.error() {
            // Messages come from servers and libraries: keep them on one line.
            let message: String = f
                .message()
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let _ = write!(out, " {}: {message}", f.kind());
        }
        out.push(b'\n');
    }
}
