//! What a run counts: `InputStats` (what the reader saw of the input) and `Counts` (records
//! by what became of them). A leaf: the feed, the output file's reader (`journal.rs`) and
//! the summary all fill or read them.

use std::collections::BTreeMap;

use serde::Serialize;

/// What the reader saw of the input.
#[derive(Debug, Default)]
pub struct InputStats {
    /// Lines that deserve a record (non-blank, non-comment), including any not fetched.
    pub lines: u64,
    /// Whether the input was read to its end (false when a stop left stdin unread).
    pub complete: bool,
    /// Inputs that could not be read (opened or read), with the reason.
    pub errors: Vec<String>,
}

/// The bucket for responses whose status is outside `--ok-status`.
pub const HTTP_STATUS: &str = "http_status";

/// Counts of records by what became of them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub urls: u64,
    pub ok: u64,
    pub failed: u64,
    pub failed_by_kind: BTreeMap<String, u64>,
    pub cached: u64,
    pub bytes: u64,
    /// Records that waited for a slot, a rate, a delay or a retry, and their total wait.
    pub waited: u64,
    pub waited_ms: u64,
    /// Records that took more than one attempt.
    pub retried: u64,
    /// Bodies saved under --output-dir, and URLs skipped as already saved.
    pub saved: u64,
    pub skipped: u64,
    /// Records printed (all of them unless matchers or filters leave some out).
    pub printed: u64,
    /// Records of earlier runs, read from the output file (`--resume`).
    pub resumed: u64,
}

impl Counts {
    pub fn failed_kind(&mut self, kind: &str) {
        match self.failed_by_kind.get_mut(kind) {
            Some(n) => *n += 1,
            None => {
                self.failed_by_kind.insert(kind.to_string(), 1);
            }
        }
    }

    /// Count a record of an earlier run, as its JSON says (`--resume`).
    pub fn add_record(&mut self, record: &serde_json::Value) {
        let number = |field: &str| record[field].as_u64().unwrap_or(0);
        let yes = |field: &str| record[field].as_bool().unwrap_or(false);
        self.urls += 1;
        self.resumed += 1;
        self.printed += 1;
        self.cached += u64::from(yes("cached"));
        let waited_ms = record["waited_ms"].as_f64().unwrap_or(0.0);
        if waited_ms > 0.0 {
            self.waited += 1;
            self.waited_ms += waited_ms as u64;
        }
        self.retried += u64::from(number("attempts") > 1);
        self.skipped += u64::from(yes("skipped"));
        self.saved += u64::from(record.get("saved").is_some() && !yes("skipped"));
        self.bytes += number("bytes");
        if yes("ok") {
            self.ok += 1;
            return;
        }
        self.failed += 1;
        let kind = record["error"]["kind"].as_str().unwrap_or(HTTP_STATUS);
        self.failed_kind(kind);
    }
}
