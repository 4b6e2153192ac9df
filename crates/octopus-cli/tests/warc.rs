//! `--warc`: what octopus archives, read back by a real WARC reader. `warcio` (the Python
//! WARC library; `.ci/run` installs it into `.venv`) checks every digest (`warcio check`),
//! indexes the files (`warcio index`) and reads every record (`tests/warc/read.py`). Without
//! warcio these tests say so and skip.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// A Python interpreter with warcio, and the `warcio` command beside it.
struct Warcio {
    python: PathBuf,
    cli: PathBuf,
}

impl Warcio {
    /// `OCTOPUS_PYTHON`, the repository's `.venv`, or `python3` on the PATH: the first that
    /// imports warcio.
    fn find() -> Option<Warcio> {
        // The workspace root, two folders above this crate.
        let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin");
        let candidates = [
            std::env::var_os("OCTOPUS_PYTHON").map(PathBuf::from),
            Some(venv.join("python")),
            Some(PathBuf::from("python3")),
        ];
        let python = candidates.into_iter().flatten().find(|python| {
            Command::new(python)
                .args(["-c", "import warcio"])
                .output()
                .is_ok_and(|o| o.status.success())
        })?;
        let beside = python.parent().map(|dir| dir.join("warcio"));
        let cli = beside
            .filter(|cli| cli.exists())
            .unwrap_or_else(|| PathBuf::from("warcio"));
        Some(Warcio { python, cli })
    }

    /// `warcio check -v`: every digest verified. Its report.
    fn check(&self, file: &Path) -> String {
        let report = succeeded(Command::new(&self.cli).args(["check", "-v"]).arg(file));
        String::from_utf8_lossy(&report).into_owned()
    }

    /// `warcio index` with `fields`: one object per record.
    fn index(&self, file: &Path, fields: &str) -> Vec<Value> {
        json_lines(&succeeded(
            Command::new(&self.cli)
                .args(["index", "-f", fields])
                .arg(file),
        ))
    }

    /// Every record of `files`, as `tests/warc/read.py` reads it.
    fn records(&self, files: &[PathBuf]) -> Vec<Value> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/warc/read.py");
        json_lines(&succeeded(
            Command::new(&self.python).arg(script).args(files),
        ))
    }
}

/// Run `command`, which must succeed: its stdout.
fn succeeded(command: &mut Command) -> Vec<u8> {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn json_lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// warcio (the build found it: without it these tests are ignored, see build.rs).
fn warcio() -> Warcio {
    Warcio::find().expect(
        "warcio not found (python3 -m venv .venv && .venv/bin/pip install warcio, or set \
         OCTOPUS_PYTHON to a Python that has it), though the build found it: rebuild",
    )
}

fn of_type<'a>(records: &'a [Value], kind: &str, target: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r["type"] == kind && r["target"] == target)
        .collect()
}

/// The one response record for `target`, with its request record.
fn exchange<'a>(records: &'a [Value], target: &str) -> (&'a Value, &'a Value) {
    let responses = of_type(records, "response", target);
    let requests = of_type(records, "request", target);
    assert_eq!(
        responses.len(),
        1,
        "one response record for {target}: {records:#?}"
    );
    assert_eq!(requests.len(), 1, "one request record for {target}");
    let (response, request) = (responses[0], requests[0]);
    assert_eq!(request["concurrent"], response["id"], "{target}");
    assert_eq!(response["concurrent"], request["id"], "{target}");
    // The test server listens on 127.0.0.1, reached directly (new and kept connections).
    assert_eq!(request["ip"], "127.0.0.1", "{target}");
    assert_eq!(response["ip"], "127.0.0.1", "{target}");
    (request, response)
}

fn header<'a>(record: &'a Value, name: &str) -> Vec<&'a str> {
    record["http_headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h[0] == name)
        .map(|h| h[1].as_str().unwrap())
        .collect()
}

fn raw(record: &Value) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(record["raw"].as_str().unwrap())
        .unwrap()
}

#[test]
#[cfg_attr(
    not(has_warcio),
    ignore = "warcio not found: python3 -m venv .venv && .venv/bin/pip install warcio (.ci/run does), then rebuild"
)]
fn a_list_is_archived_with_every_exchange_once_and_readers_accept_it() {
    let warcio = warcio();
    let s = server();
    let dir = Dir::new("warc-list");
    let file = dir.0.join("crawl.warc.gz");
    let urls = [
        s.url("/html"),
        s.url("/gzip"),
        s.url("/brotli"),
        s.url("/redirect/2"),
        s.url("/chunked/5000"),
        s.url("/status/404"),
        s.url("/bytes/3000000"),
        s.url("/html"),
        "http://127.0.0.1:1/refused".to_string(),
    ];
    let out = octopus()
        .args(["--json", "--hash=sha256", "--warc"])
        .arg(&file)
        .args(&urls)
        .output()
        .unwrap();
    let recs = records(&out);
    assert_eq!(recs.len(), urls.len(), "{}", stderr(&out));

    let report = warcio.check(&file);
    assert!(!report.contains("invalid"), "{report}");
    let archived = warcio.records(std::slice::from_ref(&file));
    assert_eq!(
        archived[0]["type"], "warcinfo",
        "the file starts with warcinfo"
    );
    let info = archived[0]["info"].as_str().unwrap();
    assert!(info.contains("software: octopus/"), "{info}");
    assert!(
        info.contains("Transfer-Encoding"),
        "the warcinfo says what was changed: {info}"
    );

    // Every exchange once, redirect hops included; the cache's repeat and the refused
    // connection write nothing.
    let redirect = |n| s.url(&format!("/redirect/{n}"));
    let targets = [
        s.url("/html"),
        s.url("/gzip"),
        s.url("/brotli"),
        redirect(2),
        redirect(1),
        redirect(0),
        s.url("/chunked/5000"),
        s.url("/status/404"),
        s.url("/bytes/3000000"),
    ];
    assert_eq!(archived.len(), 1 + 2 * targets.len(), "{archived:#?}");
    for target in &targets {
        exchange(&archived, target);
    }
    let status = |t: &str| exchange(&archived, t).1["status"].clone();
    assert_eq!(status(&redirect(2)), "302");
    assert_eq!(status(&redirect(0)), "200");
    assert_eq!(status(&s.url("/status/404")), "404");

    // The gzip body stays encoded in the archive and decompresses to what was served, while
    // the record counts and hashes the decoded body.
    let (_, gz) = exchange(&archived, &s.url("/gzip"));
    assert_eq!(&raw(gz)[..2], &[0x1f, 0x8b]);
    assert_eq!(gz["gunzipped"], "hello\n");
    assert_eq!(header(gz, "content-encoding"), ["gzip"]);
    let gz_rec = recs.iter().find(|r| r["url"] == s.url("/gzip")).unwrap();
    assert_eq!(gz_rec["bytes"], 6);
    assert_eq!(
        gz_rec["sha256"],
        "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    );
    let (_, br) = exchange(&archived, &s.url("/brotli"));
    assert_eq!(header(br, "content-encoding"), ["br"]);
    assert_ne!(raw(br), b"hello\n", "brotli stays encoded");

    // Chunked transfer coding removed, the length said.
    let (_, chunked) = exchange(&archived, &s.url("/chunked/5000"));
    assert_eq!(raw(chunked), vec![b'x'; 5000]);
    assert_eq!(header(chunked, "content-length"), ["5000"]);
    assert!(header(chunked, "transfer-encoding").is_empty());

    // A body larger than what is held in memory comes out whole.
    let (_, big) = exchange(&archived, &s.url("/bytes/3000000"));
    assert_eq!(raw(big).len(), 3_000_000);

    // Records say where their response went: the offsets warcio's index gives.
    let index = warcio.index(&file, "offset,warc-type,warc-target-uri");
    for rec in recs.iter().filter(|r| r["status"].is_number()) {
        let url = rec["url"].as_str().unwrap();
        let final_url = rec["final_url"].as_str().unwrap();
        assert_eq!(rec["warc"]["file"], file.display().to_string(), "{url}");
        let at = index
            .iter()
            .find(|i| i["warc-type"] == "response" && i["warc-target-uri"] == final_url)
            .unwrap();
        assert_eq!(
            rec["warc"]["offset"].to_string(),
            at["offset"].as_str().unwrap(),
            "{url}"
        );
    }
    let refused = recs.iter().find(|r| r["url"] == urls[8]).unwrap();
    assert!(
        refused.get("warc").is_none(),
        "no response, no record: {refused}"
    );
}

#[test]
#[cfg_attr(
    not(has_warcio),
    ignore = "warcio not found: python3 -m venv .venv && .venv/bin/pip install warcio (.ci/run does), then rebuild"
)]
fn a_body_cut_by_max_body_is_marked_truncated() {
    let warcio = warcio();
    let s = server();
    let dir = Dir::new("warc-truncated");
    let file = dir.0.join("cut.warc.gz");
    let out = octopus()
        .args(["--json", "--max-body", "1k", "--warc"])
        .arg(&file)
        .arg(s.url("/bytes/50000"))
        .output()
        .unwrap();
    assert_eq!(records(&out)[0]["error"]["kind"], "body_too_large");
    warcio.check(&file);
    let archived = warcio.records(std::slice::from_ref(&file));
    let (_, response) = exchange(&archived, &s.url("/bytes/50000"));
    assert_eq!(response["truncated"], "length");
    let kept = raw(response).len();
    assert!((1024..50_000).contains(&kept), "{kept} bytes kept");
}

#[test]
#[cfg_attr(
    not(has_warcio),
    ignore = "warcio not found: python3 -m venv .venv && .venv/bin/pip install warcio (.ci/run does), then rebuild"
)]
fn a_plain_warc_name_writes_uncompressed_and_runs_append() {
    let warcio = warcio();
    let s = server();
    let dir = Dir::new("warc-plain");
    let file = dir.0.join("plain.warc");
    for path in ["/a", "/b"] {
        octopus()
            .arg("--warc")
            .arg(&file)
            .arg(s.url(path))
            .assert()
            .success();
    }
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"WARC/1.1\r\nWARC-Type: warcinfo\r\n"));
    warcio.check(&file);
    let archived = warcio.records(std::slice::from_ref(&file));
    let types: Vec<&str> = archived
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "warcinfo", "request", "response", "warcinfo", "request", "response"
        ],
        "the second run appended to the first's file"
    );
    exchange(&archived, &s.url("/a"));
    exchange(&archived, &s.url("/b"));
}

#[test]
#[cfg_attr(
    not(has_warcio),
    ignore = "warcio not found: python3 -m venv .venv && .venv/bin/pip install warcio (.ci/run does), then rebuild"
)]
fn warc_max_size_rotates_to_numbered_files_each_readable() {
    let warcio = warcio();
    let s = server();
    let dir = Dir::new("warc-rotate");
    let urls: Vec<String> = (0..6)
        .map(|i| s.url(&format!("/binary/4000?{i}")))
        .collect();
    // Smaller than any exchange: each file holds its warcinfo and one exchange.
    octopus()
        .args(["-c", "2", "--warc-max-size", "100", "--warc"])
        .arg(dir.0.join("crawl.warc.gz"))
        .args(&urls)
        .assert()
        .success();
    let files: Vec<PathBuf> = dir.files().iter().map(|f| dir.0.join(f)).collect();
    assert_eq!(files.len(), urls.len(), "{files:?}");
    for (n, file) in files.iter().enumerate() {
        assert!(file.ends_with(format!("crawl-{n:05}.warc.gz")), "{files:?}");
        warcio.check(file);
    }
    let archived = warcio.records(&files);
    for file in &files {
        let first = archived
            .iter()
            .find(|r| r["file"] == file.display().to_string());
        assert_eq!(
            first.unwrap()["type"],
            "warcinfo",
            "{file:?} starts with warcinfo"
        );
    }
    for url in &urls {
        exchange(&archived, url);
    }
}

#[test]
fn the_library_says_where_each_response_went() {
    let s = server();
    let dir = Dir::new("warc-library");
    let file = dir.0.join("lib.warc.gz");
    let octopus = octopus::Octopus::builder().warc(&file).build().unwrap();
    let responses: Vec<_> = octopus
        .fetch_all([s.url("/a"), s.url("/b")])
        .unwrap()
        .collect();
    let mut offsets: Vec<u64> = responses
        .iter()
        .map(|r| {
            let at = r.warc().expect("archived");
            assert_eq!(at.file(), file);
            at.offset()
        })
        .collect();
    offsets.sort();
    assert!(offsets[0] > 0 && offsets[0] < offsets[1], "{offsets:?}");

    let err = octopus::Octopus::builder()
        .warc_max_size(1000)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("warc-max-size"), "{err}");
    let err = octopus::Octopus::builder()
        .warc(dir.0.join("no/such/dir/x.warc.gz"))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("warc"), "{err}");
}

#[test]
#[cfg_attr(
    not(has_warcio),
    ignore = "warcio not found: python3 -m venv .venv && .venv/bin/pip install warcio (.ci/run does), then rebuild"
)]
fn an_interrupted_run_leaves_a_readable_archive_of_what_it_reported() {
    use std::io::Read;
    let warcio = warcio();
    let s = server();
    let dir = Dir::new("warc-interrupted");
    let file = dir.0.join("stopped.warc.gz");
    let args = ["--json", "-c", "2", "--warc", file.to_str().unwrap()];
    let (mut child, mut stdout, first) = spawn_fed(&args, &slow_input(&s, 40));
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130));
    warcio.check(&file);
    let archived = warcio.records(std::slice::from_ref(&file));
    let reported: Vec<Value> = std::iter::once(first.as_str())
        .chain(rest.lines())
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &Value| r["status"] == 200)
        .collect();
    assert!(
        !reported.is_empty() && reported.len() < 40,
        "{}",
        reported.len()
    );
    for record in &reported {
        exchange(&archived, record["url"].as_str().unwrap());
    }
}

#[test]
#[cfg_attr(
    not(has_warcio),
    ignore = "warcio not found: python3 -m venv .venv && .venv/bin/pip install warcio (.ci/run does), then rebuild"
)]
fn a_body_that_does_not_decode_is_a_protocol_error_and_archived_as_sent() {
    let s = server();
    let dir = Dir::new("warc-bad-gzip");
    let file = dir.0.join("bad.warc");
    let out = octopus()
        .args(["--json", "--warc"])
        .arg(&file)
        .arg(s.url("/bad-gzip"))
        .output()
        .unwrap();
    let rec = &records(&out)[0];
    assert_eq!(rec["error"]["kind"], "protocol", "{rec}");
    let message = rec["error"]["message"].as_str().unwrap();
    assert!(message.contains("gzip decompression failed"), "{message}");
    let archive = std::fs::read(&file).unwrap();
    let archive = String::from_utf8_lossy(&archive);
    assert!(
        archive.contains("\r\n\r\nnot gzip\n\r\n\r\n"),
        "archived as sent: {archive}"
    );
    assert!(!archive.contains("WARC-Truncated:"), "{archive}");
    let warcio = warcio();
    warcio.check(&file);
}

#[test]
#[cfg_attr(
    not(has_warcio),
    ignore = "warcio not found: python3 -m venv .venv && .venv/bin/pip install warcio (.ci/run does), then rebuild"
)]
fn a_crawl_is_archived_each_page_once_and_warcio_reads_it() {
    let warcio = warcio();
    let s = server();
    s.set_robots(200, "User-agent: *\nDisallow: /private/\n");
    let dir = Dir::new("warc-crawl");
    let file = dir.0.join("site.warc.gz");
    let out = octopus()
        .args(["crawl", "--json", "-c", "8", "--warc"])
        .arg(&file)
        .arg(s.url("/site/0"))
        .output()
        .unwrap();
    let recs = records(&out);
    assert_eq!(recs.len(), 31, "{}", stderr(&out));
    let report = warcio.check(&file);
    assert!(!report.contains("invalid"), "{report}");
    let archived = warcio.records(std::slice::from_ref(&file));
    assert_eq!(archived[0]["type"], "warcinfo");
    // Each page's exchange once, and only the pages': robots.txt is fetched by the crawl's
    // other engine, which archives nothing (one writer per file).
    assert_eq!(archived.len(), 1 + 2 * recs.len(), "{archived:#?}");
    for record in &recs {
        let url = record["url"].as_str().unwrap();
        let (_, response) = exchange(&archived, url);
        assert_eq!(response["status"], record["status"].to_string(), "{url}");
        assert_eq!(record["warc"]["file"], file.display().to_string(), "{url}");
    }
    assert!(of_type(&archived, "response", &s.url("/robots.txt")).is_empty());
}

#[test]
#[cfg_attr(
    not(has_warcio),
    ignore = "warcio not found: python3 -m venv .venv && .venv/bin/pip install warcio (.ci/run does), then rebuild"
)]
fn an_http2_exchange_is_archived_in_http_1_1_syntax_saying_its_protocol() {
    let warcio = warcio();
    let s = octopus_testserver::H2Server::start_h2c(Default::default()).unwrap();
    let dir = Dir::new("warc-h2");
    let file = dir.0.join("h2.warc.gz");
    let url = s.url("/bytes/3000");
    let out = octopus()
        .args(["--json", "--http2-prior-knowledge", "--warc"])
        .arg(&file)
        .arg(&url)
        .output()
        .unwrap();
    assert_eq!(records(&out)[0]["http_version"], "2", "{}", stderr(&out));
    warcio.check(&file);
    let archived = warcio.records(std::slice::from_ref(&file));
    let (request, response) = exchange(&archived, &url);
    assert_eq!(
        (request["protocol"].as_str(), response["protocol"].as_str()),
        (Some("h2"), Some("h2"))
    );
    assert_eq!(
        response["statusline"], "HTTP/1.1",
        "HTTP/1.1 syntax, as readers parse it"
    );
    assert_eq!(response["status"], "200");
    assert_eq!(raw(response).len(), 3000);
}
