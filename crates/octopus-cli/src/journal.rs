//! `-o FILE`, `--append` and `--resume`: records written to a file, which may be the run's
//! state. Without `--append` or `--resume` the file is replaced, as curl's and wget's are.
//! Appending checks the file holds records of the format written, and cuts a torn last
//! line (a run killed mid-write) off. Resuming reads the file first: records to refetch
//! (`--retry-failed`, `--max-age`) are dropped by rewriting the file through a temporary
//! one, and what is kept becomes `Prior`: which input lines are done, and their counts for
//! the summary.
//!
//! Invariants: after `open`, the file holds only whole records of one format, at most one
//! per input line that the input still has; an input is recognised however it is named (a
//! file by its canonical path: `many.txt` is `./many.txt`; stdin and URL arguments by
//! position), a line by its input and line number, and its URL must be the same, else the
//! input changed and the run says so instead of mixing; a resume that recognises none of
//! the file's inputs stops before fetching anything.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use octopus::Request;
use octopus::input::Source;
use serde_json::Value;

use super::counts::Counts;
use super::output::Format;
use super::output::stats::Stats;

/// How the output file is opened.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    /// Replaced (`-o` alone).
    Replace,
    /// Appended to (`--append`): it must hold records of the format written, or nothing.
    Append,
    /// Appended to after skipping what it holds (`--resume`, JSON Lines).
    Resume(Resume),
}

/// Which records of the file are done (`--resume`), and which are fetched again.
#[derive(Debug, Clone, Copy, Default)]
pub struct Resume {
    /// Refetch records older than this.
    pub max_age: Option<Duration>,
    /// Refetch records that are not ok.
    pub retry_failed: bool,
}

/// The output file, open for writing records.
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
    /// The inputs of this run, by name as given, that the file has records of.
    given: HashMap<String, u32>,
    /// The kept records' counts and statistics, for the summary.
    pub counts: Counts,
    pub stats: Stats,
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

/// Open `path` for records of `format` from `sources`, as `mode` says.
pub fn open(
    path: &Path,
    mode: Mode,
    format: Format,
    sources: &[Source],
) -> Result<Journal, String> {
    let held = prepare(path, mode, format)?;
    let prior = match mode {
        Mode::Resume(rules) if held => Some(read(path, rules)?.recognise(sources)?),
        Mode::Resume(_) => Some(Prior::default()),
        Mode::Append | Mode::Replace => None,
    };
    let (file, fresh) = open_file(path, mode)?;
    Ok(Journal { file, fresh, prior })
}

/// A crawl's output file, opened as `mode` says; with `--resume`, the hashes
/// ([`url_hash`]) of the URLs its kept records are of (a crawl's records are known by URL).
pub fn open_crawl(
    path: &Path,
    mode: Mode,
    format: Format,
) -> Result<(File, bool, Option<HashSet<u64>>), String> {
    let held = prepare(path, mode, format)?;
    let recorded = match mode {
        Mode::Resume(rules) => {
            let mut urls = HashSet::new();
            if held {
                read_kept(path, rules, |record| {
                    if let Some(url) = record["url"].as_str() {
                        urls.insert(url_hash(url));
                    }
                })?;
            }
            Some(urls)
        }
        Mode::Append | Mode::Replace => None,
    };
    let (file, fresh) = open_file(path, mode)?;
    Ok((file, fresh, recorded))
}

/// Check a file about to be added to holds records of `format`; whether it holds any.
fn prepare(path: &Path, mode: Mode, format: Format) -> Result<bool, String> {
    let held = std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
    if held && !matches!(mode, Mode::Replace) {
        check_format(path, format)?;
    }
    Ok(held)
}

/// The file opened for writing as `mode` says; whether it is empty. Added to, it ends
/// with a whole line: a torn last line (the last write of a killed run; `--resume` has
/// cut it already) is cut off, so that the next record does not run on from it.
fn open_file(path: &Path, mode: Mode) -> Result<(File, bool), String> {
    let mut options = OpenOptions::new();
    match mode {
        Mode::Replace => options.write(true).truncate(true),
        Mode::Append | Mode::Resume(_) => options.read(true).append(true),
    };
    let failed = |e: std::io::Error| format!("--output {}: {e}", path.display());
    let mut file = options.create(true).open(path).map_err(failed)?;
    if !matches!(mode, Mode::Replace) {
        let whole = whole_lines(&mut file).map_err(failed)?;
        if whole < file.metadata().map_err(failed)?.len() {
            file.set_len(whole).map_err(failed)?;
        }
    }
    let fresh = file.metadata().map(|m| m.len() == 0).unwrap_or(false);
    Ok((file, fresh))
}

/// The length of `file` up to and including its last newline: its whole lines.
fn whole_lines(file: &mut File) -> std::io::Result<u64> {
    let mut end = file.metadata()?.len();
    let mut chunk = vec![0; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let piece = &mut chunk[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(piece)?;
        if let Some(at) = piece.iter().rposition(|&b| b == b'\n') {
            return Ok(start + at as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// The format of the records a file holds, by its first line: a JSON object, the CSV header,
/// or else text. Appending records of another format is refused.
fn check_format(path: &Path, format: Format) -> Result<(), String> {
    let shown = path.display();
    let file = File::open(path).map_err(|e| format!("--output {shown}: {e}"))?;
    let mut first = Vec::new();
    let mut reader = BufReader::new(file).take(64 * 1024);
    reader
        .read_until(b'\n', &mut first)
        .map_err(|e| format!("--output {shown}: {e}"))?;
    let held = if first.starts_with(b"{") {
        Format::Json
    } else if first.starts_with(b"url,final_url,") {
        Format::Csv
    } else {
        Format::Text
    };
    if held == format {
        return Ok(());
    }
    let name = |f: Format| match f {
        Format::Json => "JSON Lines",
        Format::Csv => "CSV",
        Format::Text => "text",
    };
    Err(format!(
        "--output {shown} holds {} records; this run writes {}: use the same --format, \
         or another file (without --append or --resume the file is replaced)",
        name(held),
        name(format)
    ))
}

/// Read a journal: keep its whole records that are done, drop the rest from the file.
fn read(path: &Path, rules: Resume) -> Result<Prior, String> {
    let mut prior = Prior {
        path: path.to_path_buf(),
        ..Prior::default()
    };
    read_kept(path, rules, |record| prior.add(record))?;
    Ok(prior)
}

/// Call `keep` with each whole record of the file that `rules` keep; drop the others from
/// the file (a torn last line is not a record: `open_file` cuts it, and its line is
/// fetched again).
fn read_kept(path: &Path, rules: Resume, mut keep: impl FnMut(&Value)) -> Result<(), String> {
    let shown = path.display();
    let now = SystemTime::now();
    let mut dropped = false;
    for_each_record(path, |record, _| match rules.refetch(record, now) {
        true => dropped = true,
        false => keep(record),
    })?;
    if dropped {
        rewrite(path, rules, now)
            .map_err(|e| format!("--resume {shown}: cannot rewrite it: {e}"))?;
    }
    Ok(())
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

/// A URL as a journal knows it (a hash: the file's URLs are not all held in memory).
pub fn url_hash(url: &str) -> u64 {
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
            self.stats.add_record(record);
        }
    }

    /// Which of `sources` the file has records of, however each is named now; refused when
    /// the file holds records and none is recognised (fetching everything again and
    /// appending it would mix two runs' records).
    fn recognise(mut self, sources: &[Source]) -> Result<Prior, String> {
        let held: HashMap<String, u32> = self
            .inputs
            .iter()
            .map(|(name, i)| (identity(name), *i))
            .collect();
        for source in sources {
            let name = source.name().to_string();
            if let Some(i) = held.get(&identity(&name)) {
                self.given.insert(name, *i);
            }
        }
        if self.given.is_empty() && !self.done.is_empty() {
            let mut names: Vec<&str> = self.inputs.keys().map(String::as_str).collect();
            names.sort_unstable();
            return Err(format!(
                "--resume: {} holds {} records of other inputs ({}), none of those given: \
                 resume with the same inputs, or add these records with --append instead",
                self.path.display(),
                self.done.len(),
                names.join(", ")
            ));
        }
        Ok(self)
    }

    /// What the file says of `request`'s line.
    pub fn seen(&self, request: &Request) -> Seen {
        let (Some(input), Some(line)) = (request.input(), request.line()) else {
            return Seen::New;
        };
        let Some(hash) = self
            .given
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

/// What an input is, whatever its name: a file by its canonical path (when it exists); stdin
/// (`-`) and URL arguments (`arg`) as named, since only their positions tell their lines.
fn identity(name: &str) -> String {
    match name {
        "-" | "arg" => name.to_string(),
        path => std::fs::canonicalize(path)
            .map_or_else(|_| path.to_string(), |p| p.display().to_string()),
    }
}
