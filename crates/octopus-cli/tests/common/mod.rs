//! Shared helpers for the CLI tests: the built binary with a clean environment, parsing of
//! its JSON Lines output, and scratch directories.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Output, Stdio};

pub use octopus_testserver::Server;

pub mod redis;
#[allow(unused_imports)]
pub use redis::Redis;

/// The `octopus` binary, with proxy variables removed so traffic stays on loopback.
pub fn octopus() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_octopus"));
    for var in PROXY_VARS {
        cmd.env_remove(var);
    }
    cmd
}

const PROXY_VARS: [&str; 8] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// The same, as a plain `std::process::Command` (for tests that signal or pipe it).
pub fn octopus_std() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_octopus"));
    for var in PROXY_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// A loopback server for one test. The test process's open-file limit is raised first (to
/// its hard limit, once): a test's server may hold hundreds of connections while other
/// tests of the same binary run, and the usual soft limit of 1024 would refuse some.
pub fn server() -> Server {
    static RAISED: std::sync::Once = std::sync::Once::new();
    RAISED.call_once(raise_open_files);
    Server::start().expect("test server starts on 127.0.0.1")
}

/// Raise this process's soft open-file limit to its hard limit (allowed without root).
fn raise_open_files() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit with a valid, owned struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// A library builder with no proxy from the environment (traffic stays on loopback).
pub fn builder() -> octopus::Builder {
    octopus::Octopus::builder().proxy_from_env(false)
}

/// Parse stdout as JSON Lines.
pub fn records(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// How many times each `key(record)` was recorded over the JSON Lines files `outs` of
/// `dir` (a file not there yet holds none; a last line still being written, without its
/// newline, is not counted yet); every record must have status 200.
pub fn counted_in_files<K: Ord>(
    dir: &Dir,
    outs: &[&str],
    key: impl Fn(&serde_json::Value) -> K,
) -> std::collections::BTreeMap<K, usize> {
    let mut seen = std::collections::BTreeMap::new();
    for out in outs {
        let text = std::fs::read_to_string(dir.0.join(out)).unwrap_or_default();
        let whole = text.rfind('\n').map_or("", |end| &text[..end]);
        for line in whole.lines() {
            let record: serde_json::Value =
                serde_json::from_str(line).expect("a whole JSON record");
            assert_eq!(record["status"], 200, "{record}");
            *seen.entry(key(&record)).or_insert(0) += 1;
        }
    }
    seen
}

/// The one record for `line` (panics if there is not exactly one).
pub fn record_for_line(records: &[serde_json::Value], line: u64) -> serde_json::Value {
    let found: Vec<_> = records.iter().filter(|r| r["line"] == line).collect();
    assert_eq!(found.len(), 1, "records for line {line}: {found:?}");
    found[0].clone()
}

/// The summary object printed on stderr with `--json`.
pub fn json_summary(output: &Output) -> serde_json::Value {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains("\"type\":\"summary\""))
        .unwrap_or_else(|| panic!("no summary in stderr: {stderr}"));
    serde_json::from_str(line).expect("summary is JSON")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A fresh, empty directory for one test.
pub struct Dir(pub PathBuf);

impl Dir {
    pub fn new(label: &str) -> Dir {
        let path =
            std::env::temp_dir().join(format!("octopus-test-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Dir(path)
    }

    pub fn arg(&self) -> String {
        self.0.display().to_string()
    }

    /// Every file under the directory, relative to it.
    pub fn files(&self) -> Vec<String> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if entry.file_type().unwrap().is_dir() {
                    walk(&path, root, out);
                } else {
                    out.push(path.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.0, &self.0, &mut out);
        out.sort();
        out
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Start octopus with `args` on `input` (stdin then closed); return it with its stdout and
/// the first line it wrote.
pub fn spawn_fed<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    input: &str,
) -> (Child, BufReader<ChildStdout>, String) {
    let mut child = octopus_std()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    (child, stdout, first)
}

/// `n` URLs of the server that answer after 300 ms, one per line.
pub fn slow_input(s: &Server, n: usize) -> String {
    (0..n)
        .map(|i| format!("{}\n", s.url(&format!("/delay/300/{i}"))))
        .collect()
}

/// Kills of a command at random moments: the seed they were drawn from (to say in a failed
/// assertion) and how many runs were killed.
pub struct Kills {
    pub seed: u64,
    pub count: u32,
}

/// Run octopus with `args` up to `rounds` times, each killed with SIGKILL at a random moment
/// 20 to 20 + `spread_ms` ms after it starts, calling `after_kill` after each kill; stop
/// early once a run ends by itself.
pub fn kill_at_random_moments(
    args: &[&str],
    rounds: u32,
    spread_ms: u64,
    mut after_kill: impl FnMut(),
) -> Kills {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut rng = seed | 1;
    let mut count = 0;
    for _round in 0..rounds {
        let mut child = octopus_std().args(args).spawn().unwrap();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(std::time::Duration::from_millis(20 + rng % spread_ms));
        if child.try_wait().unwrap().is_some() {
            break;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        count += 1;
        after_kill();
    }
    Kills { seed, count }
}
