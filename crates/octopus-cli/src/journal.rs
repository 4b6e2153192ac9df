//! `-o FILE` and `--resume`: records appended to a file that is the run's state. Resuming
//! reads the file first: a torn last line (a run killed mid-write) is cut off, records to
//! refetch (`--retry-failed`, `--max-age`) are dropped by rewriting the file through a
//! temporary one, and what is kept becomes `Prior`: which input lines are done, and their
//! counts for the summary.
//!
//! Invariants: after `open`, the file holds only whole records, at most one per input line
//! that the input still has; a line is recognised by its input's name and line number, and
//! its URL must be the same, else the input changed and the run says so instead of mixing.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::fs::{File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use octopus::Request;
use serde_json::Value;

use super::counts::Counts;

/// Which records of the file are done (`--resume`), and which are fetched again.
#[derive(Debug, Clone, Copy, Default)]
pub struct Resume {
    /// Refetch records older than this.
    pub max_age: Option<Duration>,
    /// Refetch records that are not ok.
    pub retry_failed: bool,
}

/// The output file, open for appending.
pub struct Journal {
    pub file: File,
    /// The file was empty (a CSV header goes first).
    pub fresh: bool,
    /// With `--resume`: the records it already holds.
    pub prior: Option<Prior>,
}

/// What a resumed file already holds.
#[derive(Debug, Default)]
pub struct Prior {
    path: PathBuf,
    inputs: HashMap<String, u32>,
    /// (input, line) → hash of the URL its record shows.
    done: HashMap<(u32, u64), u64>,
    /// The kept records' counts, for the summary.
    pub counts: Counts,
    /// Records whose line the input turned out to have.
    matched: AtomicU64,
}

/// What `Prior` says of an input line.
pub enum Seen {
    /// Not in the file: fetch it.
    New,
    /// Done: skip it.
    Done,
    /// The file has a record for this input and line, of another URL.
    Changed(String),
}

/// Open `path` for appending records; with `resume`, read what it holds first.
pub fn open(path: &Path, resume: Option<Resume>) -> Result<Journal, String> {
    let shown = path.display();
    let prior = match resume {
        Some(rules) if path.exists() => Some(read(path, rules)?),
        Some(_) => Some(Prior::default()),
        None => None,
    };
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("--output {shown}: {e}"))?;
    let fresh = file.metadata().map(|m| m.len() == 0).unwrap_or(false);
    Ok(Journal { file, fresh, prior })
}

/// Read a journal: keep its whole records that are done, drop the rest from the file.
fn read(path: &Path, rules: Resume) -> Result<Prior, String> {
    let shown = path.display();
    let mut prior = Prior {
        path: path.to_path_buf(),
        ..Prior::default()
    };
    let now = SystemTime::now();
    let mut whole = 0u64;
    let mut dropped = false;
    for_each_record(path, |record, line| {
        match rules.refetch(record, now) {
            true => dropped = true,
            false => prior.add(record),
        }
        whole += line.len() as u64;
    })?;
    let cut = |e: std::io::Error| format!("--resume {shown}: cannot rewrite it: {e}");
    if dropped {
        rewrite(path, rules, now).map_err(cut)?;
    } else if std::fs::metadata(path).map_err(cut)?.len() > whole {
        // A torn last line: the last write of a killed run. Its line is fetched again.
        OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|f| f.set_len(whole))
            .map_err(cut)?;
    }
    Ok(prior)
}

/// Call `each` with every whole record of the file (and its line); a torn last line (no
/// newline) is not a record.
fn for_each_record(path: &Path, mut each: impl FnMut(&Value, &[u8])) -> Result<(), String> {
    let shown = path.display();
    let file = File::open(path).map_err(|e| format!("--resume {shown}: {e}"))?;
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    for number in 1.. {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("--resume {shown}: {e}"))?;
        if n == 0 || !line.ends_with(b"\n") {
            return Ok(());
        }
        let record: Value = serde_json::from_slice(&line).map_err(|e| {
            format!(
                "--resume {shown}:{number}: not a JSON record ({e}); is it octopus --json output?"
            )
        })?;
        each(&record, &line);
    }
    Ok(())
}

/// Rewrite the file with only the records `rules` keep, through a temporary file renamed
/// over it (a crash leaves the old file or the new one, never half of one).
fn rewrite(path: &Path, rules: Resume, now: SystemTime) -> std::io::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let temp = path.with_file_name(format!(".{}.octopus-resume", name.unwrap_or_default()));
    let mut out = BufWriter::new(File::create(&temp)?);
    let mut failed = Ok(());
    let read = for_each_record(path, |record, line| {
        if failed.is_ok() && !rules.refetch(record, now) {
            failed = out.write_all(line);
        }
    });
    read.map_err(std::io::Error::other)?;
    failed?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&temp, path)
}

impl Resume {
    /// Whether a record's line is fetched again.
    fn refetch(&self, record: &Value, now: SystemTime) -> bool {
        let failed = record["ok"] != Value::Bool(true);
        let stale = self.max_age.is_some_and(|max_age| {
            let finished = record["finished_at"]
                .as_str()
                .and_then(|t| humantime::parse_rfc3339(t).ok());
            // A record without a time is as old as can be.
            finished.is_none_or(|at| now.duration_since(at).unwrap_or_default() > max_age)
        });
        (self.retry_failed && failed) || stale
    }
}

fn url_hash(url: &str) -> u64 {
    let mut h = DefaultHasher::new();
    url.hash(&mut h);
    h.finish()
}

impl Prior {
    fn add(&mut self, record: &Value) {
        let (Some(input), Some(line), Some(url)) = (
            record["input"].as_str(),
            record["line"].as_u64(),
            record["url"].as_str(),
        ) else {
            return;
        };
        let next = self.inputs.len() as u32;
        let input = *self.inputs.entry(input.to_string()).or_insert(next);
        if self.done.insert((input, line), url_hash(url)).is_none() {
            self.counts.add_record(record);
        }
    }

    /// What the file says of `request`'s line.
    pub fn seen(&self, request: &Request) -> Seen {
        let (Some(input), Some(line)) = (request.input(), request.line()) else {
            return Seen::New;
        };
        let Some(hash) = self
            .inputs
            .get(input)
            .and_then(|i| self.done.get(&(*i, line)))
        else {
            return Seen::New;
        };
        let url = request.shown_url();
        if *hash != url_hash(&url) {
            return Seen::Changed(format!(
                "--resume: {} has a record for {input} line {line} of another URL than {url}: \
                 the input changed since (restore it, or start a new output file)",
                self.path.display()
            ));
        }
        self.matched.fetch_add(1, Ordering::Relaxed);
        Seen::Done
    }

    /// Records of the file whose line the input did not have (it was shortened).
    pub fn unmatched(&self) -> u64 {
        (self.done.len() as u64).saturating_sub(self.matched.load(Ordering::Relaxed))
    }
}
