//! CSV (`--format csv`, RFC 4180 through the `csv` crate): a header row, then one row per
//! record with the JSON record's scalar fields; the error object becomes `error_kind` and
//! `error_message`, the WARC location `warc_file` and `warc_offset`. Absent values are empty
//! cells. Headers and bodies (not scalars) are left out. Columns added later go at the end
//! (the timings), so that a reader by position keeps working. A crawl's records have three
//! more: `depth`, `parent` and `links`.

use octopus::{Hash, Response};

use super::Printer;

/// The columns, in order.
pub const COLUMNS: [&str; 34] = [
    "url",
    "final_url",
    "input",
    "line",
    "status",
    "ok",
    "error_kind",
    "error_message",
    "bytes",
    "elapsed_ms",
    "redirects",
    "cached",
    "content_type",
    "attempts",
    "waited_ms",
    "fetch_ms",
    "finished_at",
    "sha256",
    "sha1",
    "sha512",
    "md5",
    "title",
    "saved",
    "layout",
    "skipped",
    "warc_file",
    "warc_offset",
    "dns_ms",
    "connect_ms",
    "tls_ms",
    "ttfb_ms",
    "proxy_ms",
    "proxy",
    "http_version",
];

/// The columns a crawl's records add.
pub const CRAWL_COLUMNS: [&str; 3] = ["depth", "parent", "links"];

pub struct CsvPrinter {
    /// Records of a crawl: `CRAWL_COLUMNS` too.
    pub crawl: bool,
}

/// Write one row to `out` (writing into a Vec cannot fail).
pub(super) fn row<I: IntoIterator<Item = T>, T: AsRef<[u8]>>(cells: I, out: &mut Vec<u8>) {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .buffer_capacity(1024)
        .from_writer(out);
    let _ = writer.write_record(cells);
    let _ = writer.flush();
}

impl Printer for CsvPrinter {
    fn begin(&mut self, out: &mut Vec<u8>) {
        match self.crawl {
            true => row(COLUMNS.iter().chain(&CRAWL_COLUMNS), out),
            false => row(COLUMNS, out),
        }
    }

    fn print(&mut self, r: &Response, found: Option<&octopus::Visit>, out: &mut Vec<u8>) {
        let millis = |d: std::time::Duration| format!("{:.3}", d.as_secs_f64() * 1000.0);
        let opt = |v: Option<String>| v.unwrap_or_default();
        let timings = r.timings();
        let cells: [String; 34] = [
            r.url().to_string(),
            opt(r.final_url().map(str::to_string)),
            opt(r.input().map(str::to_string)),
            opt(r.line().map(|l| l.to_string())),
            opt(r.status().map(|s| s.to_string())),
            r.ok().to_string(),
            opt(r.error().map(|e| e.kind().as_str().to_string())),
            opt(r.error().map(|e| e.message().to_string())),
            r.bytes().to_string(),
            millis(r.elapsed()),
            r.redirects().to_string(),
            r.cached().to_string(),
            opt(r.content_type().map(str::to_string)),
            r.attempts().to_string(),
            millis(r.waited()),
            opt(r.fetch_time().map(millis)),
            humantime::format_rfc3339_millis(r.finished_at()).to_string(),
            opt(r.hash(Hash::Sha256).map(str::to_string)),
            opt(r.hash(Hash::Sha1).map(str::to_string)),
            opt(r.hash(Hash::Sha512).map(str::to_string)),
            opt(r.hash(Hash::Md5).map(str::to_string)),
            opt(r.title().map(str::to_string)),
            opt(r.saved().map(|s| s.path().to_string_lossy().into_owned())),
            opt(r.saved().map(|s| s.layout().name().to_string())),
            r.skipped().to_string(),
            opt(r.warc().map(|w| w.file().to_string_lossy().into_owned())),
            opt(r.warc().map(|w| w.offset().to_string())),
            opt(timings.dns.map(millis)),
            opt(timings.connect.map(millis)),
            opt(timings.tls.map(millis)),
            opt(timings.ttfb.map(millis)),
            opt(timings.proxy.map(millis)),
            opt(r.proxy().map(str::to_string)),
            opt(r.http_version().map(str::to_string)),
        ];
        match (self.crawl, found) {
            (true, Some(visit)) => {
                let crawl = [
                    visit.depth().to_string(),
                    opt(visit.parent().map(str::to_string)),
                    r.links().len().to_string(),
                ];
                row(cells.iter().chain(&crawl), out);
            }
            _ => row(&cells, out),
        }
    }
}
