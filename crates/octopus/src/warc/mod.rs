//! Web archives (WARC/1.1, ISO 28500): every HTTP exchange of a run, redirect hops
//! included, as a `request` and a `response` record (`record.rs`), each built and
//! compressed (`gzip.rs`) by the worker that made the exchange, appended by one writer (`Warc`). Large
//! payloads wait in temporary files, not in memory (`spool.rs`).
//!
//! Invariants: records never interleave (one lock, taken only to append finished members);
//! every record is complete in the file before the next begins, and a failed append is cut
//! off again, so an interrupted run leaves a file whose every record reads; a file is never
//! overwritten (a single file is appended to, numbered files start at the first free number).

mod gzip;
mod record;
mod spool;

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub(crate) use record::{Exchange, Truncated};
pub(crate) use spool::Spool;

/// Where a response's record went in a WARC file ([`crate::Builder::warc`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarcLocation {
    file: Arc<Path>,
    offset: u64,
}

impl WarcLocation {
    /// The WARC file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The byte offset of the response record (of its gzip member in a `.warc.gz`), as a
    /// CDX index gives it.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

/// The WARC writer shared by all workers.
#[derive(Debug)]
pub(crate) struct Warc {
    files: Files,
    current: Mutex<Current>,
}

/// What the files are called and begin with.
#[derive(Debug)]
struct Files {
    /// The path asked for; numbered names derive from it when files rotate.
    path: PathBuf,
    /// Start a new file when one would grow past this many bytes.
    max_size: Option<u64>,
    gzip: bool,
    /// The `warcinfo` record's fields (each file starts with one).
    info: Vec<(String, String)>,
}

/// The file being written.
#[derive(Debug)]
struct Current {
    file: File,
    path: Arc<Path>,
    size: u64,
    /// Whether it holds only its `warcinfo` record.
    fresh: bool,
    number: u32,
}

impl Warc {
    /// Open (or, for a single file, append to) the archive at `path`; a name ending in
    /// `.warc` is written uncompressed, any other gzip-compressed.
    pub fn create(
        path: &Path,
        max_size: Option<u64>,
        info: Vec<(String, String)>,
    ) -> io::Result<Warc> {
        let files = Files {
            path: path.to_path_buf(),
            max_size: max_size.filter(|&n| n > 0),
            gzip: !path.to_string_lossy().ends_with(".warc"),
            info,
        };
        let first = files.open(0)?;
        Ok(Warc {
            files,
            current: Mutex::new(first),
        })
    }

    /// The path asked for.
    pub fn path(&self) -> &Path {
        &self.files.path
    }

    /// Write an exchange's records; where its response record went.
    pub fn write(&self, exchange: Exchange<'_>) -> io::Result<WarcLocation> {
        let (mut request, mut response) = record::exchange_records(exchange, self.files.gzip)?;
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let len = request.len() + response.len();
        let full = self
            .files
            .max_size
            .is_some_and(|max| current.size + len > max);
        if full && !current.fresh {
            let number = current.number + 1;
            *current = self.files.open(number)?;
        }
        let start = current.size;
        let written = (|| {
            request.copy_to(&mut current.file)?;
            response.copy_to(&mut current.file)?;
            current.file.flush()
        })();
        if let Err(e) = written {
            // Cut the partial records off, so that what follows them still reads.
            let _ = current.file.set_len(start);
            let _ = current.file.seek(SeekFrom::Start(start));
            return Err(e);
        }
        current.size = start + len;
        current.fresh = false;
        Ok(WarcLocation {
            file: Arc::clone(&current.path),
            offset: start + request.len(),
        })
    }
}

impl Files {
    /// Open file `number` (the first free one from there when files rotate) and write its
    /// `warcinfo` record.
    fn open(&self, number: u32) -> io::Result<Current> {
        let (path, number, mut file) = match self.max_size {
            None => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?;
                (self.path.clone(), number, file)
            }
            Some(_) => {
                let mut number = number;
                loop {
                    let path = numbered(&self.path, number);
                    match OpenOptions::new().write(true).create_new(true).open(&path) {
                        Ok(file) => break (path, number, file),
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => number += 1,
                        Err(e) => return Err(e),
                    }
                }
            }
        };
        let start = file.seek(SeekFrom::End(0))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let mut info = record::warcinfo(&name.unwrap_or_default(), &self.info, self.gzip)?;
        info.copy_to(&mut file)?;
        Ok(Current {
            file,
            path: Arc::from(path),
            size: start + info.len(),
            fresh: true,
            number,
        })
    }
}

/// The name of file `number` of a rotated archive: `crawl.warc.gz` → `crawl-00000.warc.gz`.
fn numbered(path: &Path, number: u32) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let (stem, ext) = [".warc.gz", ".warc"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext).map(|stem| (stem, *ext)))
        .unwrap_or((name.as_str(), ""));
    path.with_file_name(format!("{stem}-{number:05}{ext}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_files_are_numbered_before_the_extension() {
        let n = |p: &str, i| numbered(Path::new(p), i);
        assert_eq!(
            n("out/crawl.warc.gz", 0),
            Path::new("out/crawl-00000.warc.gz")
        );
        assert_eq!(n("crawl.warc", 12), Path::new("crawl-00012.warc"));
        assert_eq!(n("crawl", 1), Path::new("crawl-00001"));
    }
}
