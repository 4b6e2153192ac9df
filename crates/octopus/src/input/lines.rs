//! Where URLs come from: command-line arguments, files, stdin or any reader, read as a stream.
//!
//! Invariants: input is never read into memory whole; a line is held only up to
//! `MAX_LINE` bytes (the rest is skipped and the line reported as too long); blank lines
//! and `#` comments are dropped here, so everything yielded deserves one record.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::Arc;

/// Lines longer than this (in bytes, before trimming) are reported, not parsed.
pub const MAX_LINE: usize = 64 * 1024;

/// One place URLs come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A URL given on the command line.
    Url(String),
    /// Standard input (`-`, or no INPUT with stdin not a terminal).
    Stdin,
    /// A file of URLs, one per line.
    File(PathBuf),
}

impl Source {
    /// Classify one INPUT argument as curl users expect: `-` is stdin; a URL if it contains
    /// `://`, or if no file of that name exists and it looks like `host[:port][/path]`
    /// (`example.com/a`, `localhost:8080`); else a file.
    pub fn from_arg(arg: &str) -> Source {
        if arg == "-" {
            Source::Stdin
        } else if arg.contains("://") || (std::fs::metadata(arg).is_err() && looks_like_host(arg)) {
            Source::Url(arg.to_string())
        } else {
            Source::File(PathBuf::from(arg))
        }
    }

    /// Check a file input before anything is fetched: it must exist, be readable, not a directory.
    pub fn check(&self) -> Result<(), InputError> {
        let Source::File(path) = self else {
            return Ok(());
        };
        let open = |error| InputError::open(&self.name(), error);
        let meta = std::fs::metadata(path).map_err(open)?;
        if meta.is_dir() {
            let error = io::Error::new(io::ErrorKind::IsADirectory, "it is a directory");
            return Err(open(error));
        }
        File::open(path).map_err(open)?;
        Ok(())
    }

    /// The input's name in records: the file path, `-` for stdin, `arg` for a URL argument.
    pub fn name(&self) -> Arc<str> {
        match self {
            Source::Url(_) => Arc::from("arg"),
            Source::Stdin => Arc::from("-"),
            Source::File(p) => Arc::from(p.display().to_string()),
        }
    }
}

/// Whether `arg` reads as `host[:port][/path]`: a host name with a dot (or `localhost`, or
/// an IP address), then a port or a path. A bare `name.ext` with a list file's extension
/// (`urls.txt`) is a file name.
fn looks_like_host(arg: &str) -> bool {
    let (authority, path) = arg.split_at(arg.find(['/', '?', '#']).unwrap_or(arg.len()));
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host, Some(port)),
        _ => (authority, None),
    };
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    let name_like = !host.is_empty()
        && host.contains('.')
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    let ip = host.parse::<std::net::IpAddr>().is_ok() || host.eq_ignore_ascii_case("localhost");
    // Extensions of files (and of their typos and backups: `urls.tx`, `urls.txt.bak`) that
    // are no top-level domain: such a bare name is a file that is not there, not a host.
    const LIST_FILES: [&str; 23] = [
        "txt", "tx", "text", "csv", "tsv", "lst", "list", "log", "json", "jsonl", "ndjson", "xml",
        "yaml", "yml", "dat", "gz", "xz", "zst", "urls", "bak", "old", "orig", "tmp",
    ];
    let extension = host
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let bare_file_name =
        path.is_empty() && port.is_none() && LIST_FILES.contains(&extension.as_str());
    (name_like || ip) && !bare_file_name
}

/// An input that could not be opened or read.
#[derive(Debug)]
pub struct InputError {
    input: Arc<str>,
    opening: bool,
    error: io::Error,
}

impl InputError {
    fn open(input: &Arc<str>, error: io::Error) -> Self {
        InputError {
            input: Arc::clone(input),
            opening: true,
            error,
        }
    }

    /// The input's name (see [`Source::name`]).
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let doing = if self.opening {
            "cannot read"
        } else {
            "error reading"
        };
        write!(f, "{doing} {}: {}", self.input, self.error)?;
        if self.opening && self.error.kind() == io::ErrorKind::NotFound {
            match colon_missing(&self.input) {
                Some(url) => write!(f, " (a URL's scheme ends with `://`: did you mean {url}?)")?,
                None => write!(f, " (to fetch it as a URL, write http://{})", self.input)?,
            }
        }
        Ok(())
    }
}

/// `input` as the URL it was meant to be when it is one with `://` mistyped (`http//host/`,
/// `https:/host/`, `http:host`).
fn colon_missing(input: &str) -> Option<String> {
    let (scheme, rest) = ["https", "http"]
        .iter()
        .find_map(|scheme| Some((*scheme, strip_prefix_ignore_case(input, scheme)?)))?;
    let rest = rest
        .strip_prefix("//")
        .or_else(|| rest.strip_prefix(":/"))
        .or_else(|| rest.strip_prefix(':'))?;
    let host = rest.trim_start_matches('/');
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

impl std::error::Error for InputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Why a line cannot even be looked at as a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    /// The line is not valid UTF-8.
    NotUtf8,
    /// The line is longer than [`MAX_LINE`] (its length in bytes).
    TooLong(u64),
}

impl std::error::Error for LineError {}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineError::NotUtf8 => write!(f, "line is not valid UTF-8"),
            LineError::TooLong(n) => write!(f, "line is {n} bytes long (limit {MAX_LINE})"),
        }
    }
}

/// A non-blank, non-comment input line.
#[derive(Debug, Clone)]
pub struct Line {
    /// The input's name (see [`Source::name`]).
    pub input: Arc<str>,
    /// 1-based line number within the input (position among URL arguments for `arg`).
    pub number: u64,
    /// The trimmed text, or why it could not be read as text.
    pub text: Result<String, LineError>,
    /// The trimmed line, lossily decoded (what a record shows for an unreadable line).
    pub raw: String,
}

/// A reader of one source's lines that enforces `MAX_LINE`.
struct LineReader {
    reader: BufReader<Box<dyn Read + Send>>,
    buf: Vec<u8>,
}

impl LineReader {
    fn new(reader: Box<dyn Read + Send>) -> Self {
        LineReader {
            reader: BufReader::with_capacity(64 * 1024, reader),
            buf: Vec::with_capacity(256),
        }
    }

    /// Read the next physical line into `self.buf` (at most `MAX_LINE` bytes kept).
    /// Returns the line's full length, or `None` at end of input.
    fn next_line(&mut self) -> io::Result<Option<u64>> {
        self.buf.clear();
        let mut total: u64 = 0;
        let mut seen_any = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                return Ok(seen_any.then_some(total));
            }
            seen_any = true;
            let (chunk, used, done) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..i], i + 1, true),
                None => (available, available.len(), false),
            };
            let room = MAX_LINE.saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            total += chunk.len() as u64;
            self.reader.consume(used);
            if done {
                return Ok(Some(total));
            }
        }
    }
}

/// Trim what curl and wget ignore around a URL: whitespace, CR, a UTF-8 byte-order mark.
fn trim_line(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

fn is_skipped(trimmed: &[u8]) -> bool {
    trimmed.is_empty() || trimmed.starts_with(b"#")
}

/// What a physical line of `len` bytes (the first `MAX_LINE` in `buf`) holds: `None` for a
/// blank or comment line, else its trimmed text or why it cannot be read as text.
fn line_text(buf: &[u8], len: u64) -> Option<Result<String, LineError>> {
    let bytes = trim_bytes(buf);
    if is_skipped(bytes) {
        return None;
    }
    if len > MAX_LINE as u64 {
        return Some(Err(LineError::TooLong(len)));
    }
    match std::str::from_utf8(bytes) {
        // Unicode whitespace (vertical tab, no-break space, …) can still hide a blank line.
        Ok(s) => {
            let text = trim_line(s);
            (!text.is_empty() && !text.starts_with('#')).then(|| Ok(text.to_string()))
        }
        Err(_) => Some(Err(LineError::NotUtf8)),
    }
}

fn trim_bytes(b: &[u8]) -> &[u8] {
    let b = b.strip_prefix("\u{feff}".as_bytes()).unwrap_or(b);
    b.trim_ascii()
}

/// Streams the lines of several sources in order.
pub struct Lines {
    sources: std::vec::IntoIter<Source>,
    current: Option<(Arc<str>, LineReader)>,
    number: u64,
    /// How many URL arguments have been opened so far (their "line" numbers).
    args_opened: u64,
    /// Whether the source being read now is stdin (which can be endless).
    on_stdin: bool,
}

impl Lines {
    /// The lines of `sources`, read in order.
    pub fn new(sources: Vec<Source>) -> Self {
        Lines {
            sources: sources.into_iter(),
            current: None,
            number: 0,
            args_opened: 0,
            on_stdin: false,
        }
    }

    /// Lines of any reader (named `name` in records), with the same rules as for files.
    pub fn from_reader(name: &str, reader: Box<dyn Read + Send>) -> Self {
        let mut lines = Lines::new(Vec::new());
        lines.current = Some((Arc::from(name), LineReader::new(reader)));
        lines
    }

    fn open(source: &Source) -> io::Result<Box<dyn Read + Send>> {
        Ok(match source {
            Source::Url(u) => Box::new(io::Cursor::new(u.clone().into_bytes())),
            Source::Stdin => Box::new(io::stdin()),
            Source::File(p) => Box::new(File::open(p)?),
        })
    }

    /// Whether the source being read now is stdin (which can be endless).
    pub fn is_on_stdin(&self) -> bool {
        self.on_stdin
    }

    /// True when the next line cannot come without a read from the OS (which may block,
    /// as stdin fed by a slow producer does): a good moment to hand over buffered work.
    pub fn would_read(&self) -> bool {
        self.current
            .as_ref()
            .is_none_or(|(_, r)| r.reader.buffer().is_empty())
    }

    /// The next line worth a record, or an I/O error naming the input (reading then goes
    /// on with the next input).
    pub fn next_line(&mut self) -> Option<Result<Line, InputError>> {
        loop {
            if self.current.is_none() {
                let source = self.sources.next()?;
                self.on_stdin = source == Source::Stdin;
                self.number = 0;
                let name = source.name();
                match Self::open(&source) {
                    Ok(r) => self.current = Some((name, LineReader::new(r))),
                    Err(e) => return Some(Err(InputError::open(&name, e))),
                }
                if let Source::Url(_) = source {
                    // Arguments are numbered by their position among URL arguments.
                    self.number = self.args_opened;
                    self.args_opened += 1;
                }
            }
            let (name, reader) = self.current.as_mut()?;
            let name = name.clone();
            match reader.next_line() {
                Ok(None) => {
                    self.current = None;
                    continue;
                }
                Err(error) => {
                    self.current = None;
                    return Some(Err(InputError {
                        input: name,
                        opening: false,
                        error,
                    }));
                }
                Ok(Some(len)) => {
                    self.number += 1;
                    let Some(text) = line_text(&reader.buf, len) else {
                        continue;
                    };
                    let raw = String::from_utf8_lossy(trim_bytes(&reader.buf)).into_owned();
                    return Some(Ok(Line {
                        input: name,
                        number: self.number,
                        text,
                        raw,
                    }));
                }
            }
        }
    }
}

/// Count the lines of finite sources that will yield records (for the progress bar's total).
/// Returns `None` when stdin is among the sources, since it can be endless.
pub fn count_lines(sources: &[Source]) -> Option<u64> {
    let mut total = 0;
    for source in sources {
        match source {
            Source::Stdin => return None,
            Source::Url(_) => total += 1,
            Source::File(p) => {
                let mut reader = LineReader::new(Box::new(File::open(p).ok()?));
                while let Ok(Some(len)) = reader.next_line() {
                    total += u64::from(line_text(&reader.buf, len).is_some());
                }
            }
        }
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(data: &[u8]) -> Vec<(u64, Result<String, LineError>)> {
        let mut lines = Lines::from_reader("t", Box::new(io::Cursor::new(data.to_vec())));
        let mut out = vec![];
        while let Some(Ok(l)) = lines.next_line() {
            out.push((l.number, l.text));
        }
        out
    }

    #[test]
    fn a_url_with_its_colon_missing_is_pointed_at() {
        let missing = |input: &str| {
            let error = io::Error::from(io::ErrorKind::NotFound);
            InputError::open(&Arc::from(input), error).to_string()
        };
        for (input, meant) in [
            ("http//host/", "did you mean http://host/?"),
            ("https:/host/a", "did you mean https://host/a?"),
            ("HTTP//h", "did you mean http://h?"),
        ] {
            let message = missing(input);
            assert!(message.contains(meant), "{input}: {message}");
        }
        let file = missing("urls.txt");
        assert!(file.contains("write http://urls.txt"), "{file}");
        assert!(missing("http//").contains("write http://http//"));
    }

    #[test]
    fn trims_and_skips() {
        let got =
            lines_of(b"\xEF\xBB\xBFhttp://a/\r\n\n  # comment\n\thttp://b/  \r\n#x\nc.example");
        assert_eq!(
            got,
            vec![
                (1, Ok("http://a/".to_string())),
                (4, Ok("http://b/".to_string())),
                (6, Ok("c.example".to_string())),
            ]
        );
    }

    #[test]
    fn reports_bad_bytes_and_long_lines() {
        let mut data = b"http://a/\xff\n".to_vec();
        data.extend(std::iter::repeat_n(b'a', MAX_LINE + 10));
        data.extend(b"\nhttp://ok/\n");
        let got = lines_of(&data);
        assert_eq!(got[0], (1, Err(LineError::NotUtf8)));
        assert_eq!(got[1], (2, Err(LineError::TooLong(MAX_LINE as u64 + 10))));
        assert_eq!(got[2], (3, Ok("http://ok/".to_string())));
    }

    #[test]
    fn numbers_arguments_by_position() {
        let mut lines = Lines::new(vec![
            Source::Url("http://a/".into()),
            Source::Url("http://b/".into()),
        ]);
        let a = lines.next_line().unwrap().unwrap();
        let b = lines.next_line().unwrap().unwrap();
        assert_eq!(
            (&*a.input, a.number, &*b.input, b.number),
            ("arg", 1, "arg", 2)
        );
        assert!(lines.next_line().is_none());
    }

    #[test]
    fn classifies_arguments() {
        assert_eq!(Source::from_arg("-"), Source::Stdin);
        assert_eq!(Source::from_arg("http://x"), Source::Url("http://x".into()));
        let typos = [
            "urls.tx",
            "urls.txt.bak",
            "links.old",
            "sitemap.xml",
            "URLS.TXT",
        ];
        for file in ["urls.txt", "list", "dir/urls.csv", "a:b", "x:80a/y", ""]
            .iter()
            .chain(&typos)
        {
            assert_eq!(
                Source::from_arg(file),
                Source::File((*file).into()),
                "{file}"
            );
        }
        for url in [
            "example.com/path",
            "example.com",
            "localhost:8080",
            "127.0.0.1:9/x",
            "a.example:443",
            "sites.txt/index.html",
        ] {
            assert_eq!(Source::from_arg(url), Source::Url(url.into()), "{url}");
        }
    }
}
