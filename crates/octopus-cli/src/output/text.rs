//! The text record: `STATUS TIMEms BYTES URL [-> FINAL_URL] [cached] [attempts=N]
//! [waited=Nms] [saved=PATH] [sha256=HEX …] [title=TITLE] [depth=N links=N [from=URL]]
//! [KIND: MESSAGE]` (`depth=` and on for a crawl's pages), `ERR` for no
//! status, `SKIP` for a URL not fetched because its file was there (awk-friendly,
//! space-separated). A title's spaces are percent-encoded like the rest (`Example%20Page`).
//!
//! Invariant: no field before the message holds a space or a control character, and the
//! message holds no control character: what an input line or a server sent cannot move the
//! terminal's cursor, retitle it, or shift awk's fields. Such characters are
//! percent-encoded (`%1B`), as in a URL.

use std::borrow::Cow;
use std::io::Write;

use octopus::{Response, Visit};

use super::Printer;

pub struct TextPrinter;

impl Printer for TextPrinter {
    fn print(&mut self, r: &Response, found: Option<&Visit>, out: &mut Vec<u8>) {
        let status = match r.status() {
            Some(status) => status.to_string(),
            None if r.skipped() => "SKIP".to_string(),
            None => "ERR".to_string(),
        };
        let _ = write!(
            out,
            "{status} {}ms {} {}",
            time(r).as_millis(),
            r.bytes(),
            escape(r.url(), true)
        );
        if let Some(final_url) = r.final_url().filter(|_| r.redirects() > 0) {
            let _ = write!(out, " -> {}", escape(final_url, true));
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
        if let Some(saved) = r.saved() {
            let path = saved.path().to_string_lossy();
            let _ = write!(out, " saved={}", escape(&path, true));
        }
        for (hash, hex) in r.digests() {
            let _ = write!(out, " {}={hex}", hash.name());
        }
        if let Some(title) = r.title() {
            let _ = write!(out, " title={}", escape(title, true));
        }
        if let Some(visit) = found {
            let _ = write!(out, " depth={} links={}", visit.depth(), r.links().len());
            if let Some(parent) = visit.parent() {
                let _ = write!(out, " from={}", escape(parent, true));
            }
        }
        if let Some(f) = r.error() {
            let _ = write!(out, " {}: {}", f.kind(), escape(f.message(), false));
        }
        out.push(b'\n');
    }
}

/// The record's time: the exchange's (`fetch_ms`, redirects and body included; a cache hit
/// shows its fetch's), or, when no response came, the time the line took less what it
/// waited for limits and between retries. Never the waits: they are `waited=`.
fn time(r: &Response) -> std::time::Duration {
    r.fetch_time()
        .unwrap_or_else(|| r.elapsed().saturating_sub(r.waited()))
}

/// `text` with control characters (C0, DEL, C1), bidirectional-text controls and, when
/// `spaces`, white space percent-encoded byte by byte.
pub(super) fn escape(text: &str, spaces: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
            || (spaces && c.is_whitespace())
    };
    // Printable ASCII (most URLs) needs no look at characters.
    let printable = |b: u8| b.is_ascii_graphic() || (b == b' ' && !spaces);
    if text.bytes().all(printable) || !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            let mut utf8 = [0; 4];
            for b in c.encode_utf8(&mut utf8).bytes() {
                escaped.push_str(&format!("%{b:02X}"));
            }
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn controls_bidi_and_spaces_are_percent_encoded() {
        assert_eq!(escape("http://h/a", true), "http://h/a");
        assert_eq!(
            escape("http://h/\u{1b}]0;x\u{7}", true),
            "http://h/%1B]0;x%07"
        );
        assert_eq!(escape("a b\rc", true), "a%20b%0Dc");
        assert_eq!(escape("a b\rc", false), "a b%0Dc");
        assert_eq!(escape("x\u{202E}y\u{85}", false), "x%E2%80%AEy%C2%85");
        assert_eq!(escape("ü", true), "ü");
    }
}
