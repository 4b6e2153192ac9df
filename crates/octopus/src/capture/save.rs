//! Saving bodies under an output directory.
//!
//! Invariants:
//! - nothing is written outside the directory: names come from `names.rs` (plain
//!   components only), and a directory on the way that is a symbolic link is refused, so a
//!   link planted inside the directory cannot lead out of it;
//! - writes are atomic: a body goes to a new temporary file (`.NAME.octopus-*.part`, opened
//!   with `create_new`, which never follows a link) in the directory it belongs in, and is
//!   renamed over the final name when complete; an interrupted run leaves no partial file
//!   under a final name, and of two bodies for one name the later one stays;
//! - a file and a directory of the same name (`/a`, then `/a/b`): the file moves into the
//!   directory as `index.html`, and a body whose name is a directory is saved as
//!   `index.html` inside it (under a lock, so concurrent saves agree);
//! - in the `hash` layout a body is stored once per content (`ab/abcdef….body`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use url::Url;

use super::names::mirror_path;
use crate::failure::{ErrorKind, Failure};
use crate::status::StatusSet;

/// How saved bodies are laid out under the output directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Layout {
    /// `HOST[_PORT]/PATH`, as `wget -x` does (the default).
    Mirror,
    /// `ab/abcdef….body`, named by the body's SHA-256: each content stored once.
    Hash,
}

impl Layout {
    /// The layout's name: `mirror` or `hash`.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Mirror => "mirror",
            Layout::Hash => "hash",
        }
    }
}

/// Where a body was saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    path: PathBuf,
    layout: Layout,
}

impl Saved {
    /// The file's path, relative to the output directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The layout it was saved in.
    pub fn layout(&self) -> Layout {
        self.layout
    }
}

/// The output directory and what goes there.
#[derive(Debug)]
pub(crate) struct Saver {
    dir: PathBuf,
    layout: Layout,
    /// Save every HTTP response, not only those with an OK status.
    all: bool,
    skip_existing: bool,
    ok_status: StatusSet,
    /// Serialises moving a file aside for a directory of the same name.
    conflicts: Mutex<()>,
    temporaries: AtomicU64,
}

impl Saver {
    pub fn new(
        dir: PathBuf,
        layout: Layout,
        all: bool,
        skip_existing: bool,
        ok_status: StatusSet,
    ) -> Saver {
        Saver {
            dir,
            layout,
            all,
            skip_existing,
            ok_status,
            conflicts: Mutex::new(()),
            temporaries: AtomicU64::new(0),
        }
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Whether a response with `status` is saved.
    pub fn wants(&self, status: u16) -> bool {
        self.all || self.ok_status.contains(status)
    }

    /// With `skip_existing`, the file `url` was saved to before, if it is there.
    pub fn existing(&self, url: &Url) -> Option<Saved> {
        if !self.skip_existing || self.layout != Layout::Mirror {
            return None;
        }
        let path = mirror_path(url);
        let target = self.dir.join(&path);
        let is_file = |p: &Path| fs::symlink_metadata(p).is_ok_and(|m| m.is_file());
        let path = if is_file(&target) {
            path
        } else if is_file(&target.join("index.html")) {
            path.join("index.html")
        } else {
            return None;
        };
        Some(Saved {
            path,
            layout: Layout::Mirror,
        })
    }

    /// Start saving the body of `url`: a temporary file in the directory it belongs in.
    pub fn start(&self, url: &Url) -> Result<Writing, Failure> {
        let (folder, name) = match self.layout {
            Layout::Mirror => {
                let path = mirror_path(url);
                let name = path.file_name().map(PathBuf::from).unwrap_or_default();
                (
                    path.parent().map(Path::to_path_buf).unwrap_or_default(),
                    name,
                )
            }
            Layout::Hash => (PathBuf::new(), PathBuf::from("body")),
        };
        let dir = self.directories(&folder)?;
        let n = self.temporaries.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(
            ".{}.octopus-{}-{n}.part",
            name.display(),
            std::process::id()
        ));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| failure("cannot create", &temp, &e))?;
        Ok(Writing {
            temp,
            folder,
            name,
            file: BufWriter::with_capacity(64 * 1024, file),
            error: None,
        })
    }

    /// Make `folder` (relative) exist as directories under the output directory, refusing
    /// links, turning a file in the way into `index.html` inside a new directory.
    fn directories(&self, folder: &Path) -> Result<PathBuf, Failure> {
        let mut at = self.dir.clone();
        for component in folder.components() {
            at.push(component);
            match fs::symlink_metadata(&at) {
                Ok(meta) if meta.is_dir() => continue,
                Ok(meta) if meta.file_type().is_symlink() => {
                    let e = io::Error::other("it is a symbolic link, not followed");
                    return Err(failure("refused to write under", &at, &e));
                }
                Ok(_) => self.file_to_directory(&at)?,
                Err(_) => match fs::create_dir(&at) {
                    Ok(()) => {}
                    // Another worker made it meanwhile.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists && at.is_dir() => {}
                    Err(e) => return Err(failure("cannot create directory", &at, &e)),
                },
            }
        }
        Ok(at)
    }

    /// A file stands where a directory is needed: it becomes `index.html` inside it.
    fn file_to_directory(&self, at: &Path) -> Result<(), Failure> {
        let _moving = self.conflicts.lock().unwrap_or_else(|p| p.into_inner());
        if fs::symlink_metadata(at).is_ok_and(|m| m.is_dir()) {
            return Ok(());
        }
        let name = at.file_name().unwrap_or_default().to_string_lossy();
        let aside = at.with_file_name(format!(".{name}.octopus-moving"));
        let moved = fs::rename(at, &aside)
            .and_then(|()| fs::create_dir(at))
            .and_then(|()| fs::rename(&aside, at.join("index.html")));
        moved.map_err(|e| failure("cannot make a directory of", at, &e))
    }

    /// Put a complete temporary file under its final name.
    fn place(&self, writing: &Writing, sha256: Option<&str>) -> Result<Saved, Failure> {
        let relative = match (self.layout, sha256) {
            (Layout::Hash, None) => {
                let e = io::Error::other("no SHA-256 to name it by");
                return Err(failure("cannot save", &writing.temp, &e));
            }
            (Layout::Hash, Some(sha)) => {
                let dir = self.directories(Path::new(&sha[..2]))?;
                let relative = PathBuf::from(&sha[..2]).join(format!("{sha}.body"));
                if dir.join(relative.file_name().unwrap_or_default()).exists() {
                    // The same content is there already.
                    let _ = fs::remove_file(&writing.temp);
                    return Ok(self.saved(relative));
                }
                relative
            }
            (Layout::Mirror, _) => writing.folder.join(&writing.name),
        };
        let mut target = self.dir.join(&relative);
        let mut relative = relative;
        if fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir()) {
            target.push("index.html");
            relative.push("index.html");
        }
        fs::rename(&writing.temp, &target).map_err(|e| failure("cannot write", &target, &e))?;
        Ok(self.saved(relative))
    }

    fn saved(&self, path: PathBuf) -> Saved {
        Saved {
            path,
            layout: self.layout,
        }
    }
}

/// A body being written to its temporary file.
pub(crate) struct Writing {
    temp: PathBuf,
    /// Where it goes, relative to the output directory (mirror layout).
    folder: PathBuf,
    name: PathBuf,
    file: BufWriter<File>,
    error: Option<Failure>,
}

impl Writing {
    pub fn write(&mut self, bytes: &[u8]) {
        if self.error.is_none()
            && let Err(e) = self.file.write_all(bytes)
        {
            self.error = Some(failure("cannot write", &self.temp, &e));
        }
    }

    /// Finish the file and put it under its final name (`sha256` names it in the hash
    /// layout); on any failure, the temporary file is removed.
    pub fn finish(mut self, saver: &Saver, sha256: Option<&str>) -> Result<Saved, Failure> {
        let flushed = match self.error.take() {
            Some(failure) => Err(failure),
            None => self
                .file
                .flush()
                .map_err(|e| failure("cannot write", &self.temp, &e)),
        };
        let placed = flushed.and_then(|()| saver.place(&self, sha256));
        if placed.is_err() {
            let _ = fs::remove_file(&self.temp);
        }
        placed
    }

    /// Give up (the body could not be read whole): no file is left.
    pub fn abandon(self) {
        let _ = fs::remove_file(&self.temp);
    }
}

fn failure(doing: &str, path: &Path, error: &io::Error) -> Failure {
    Failure::new(
        ErrorKind::Save,
        format!("{doing} {}: {error}", path.display()),
    )
}
