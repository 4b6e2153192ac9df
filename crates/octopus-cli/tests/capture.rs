//! Keeping what is fetched: headers, body, digests and titles in JSON records, bodies saved
//! under `--output-dir` (layouts, hostile names, links planted in the directory, atomic
//! writes, `--skip-existing`, failures to save), and the same through the library.

mod common;
use common::*;

use sha2::Digest as _;

fn sha256(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn by_url<'a>(recs: &'a [serde_json::Value], url: &str) -> &'a serde_json::Value {
    recs.iter()
        .find(|r| r["url"] == url)
        .unwrap_or_else(|| panic!("no record for {url}: {recs:?}"))
}

#[test]
fn records_carry_headers_bodies_digests_and_titles_when_asked() {
    let s = server();
    let urls = [
        s.url("/html"),
        s.url("/headers/3"),
        s.url("/binary/300"),
        s.url("/gzip"),
    ];
    let out = octopus()
        .args([
            "--json",
            "--include-headers",
            "--include-body",
            "--hash=sha256,md5",
            "--title",
        ])
        .args(&urls)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let recs = records(&out);
    let page = by_url(&recs, &urls[0]);
    assert_eq!(page["title"], "Octopus test page");
    assert_eq!(page["headers"]["content-type"], "text/html");
    let html = page["body"].as_str().unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert_eq!(page["sha256"], sha256(html.as_bytes()));
    assert_eq!(page["md5"].as_str().unwrap().len(), 32);

    let cookies = &by_url(&recs, &urls[1])["headers"]["set-cookie"];
    assert_eq!(
        cookies.as_array().map(Vec::len),
        Some(3),
        "repeats as a list: {cookies}"
    );
    assert!(by_url(&recs, &urls[1]).get("title").is_none(), "not HTML");

    let binary = by_url(&recs, &urls[2]);
    assert!(binary.get("body").is_none());
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(binary["body_base64"].as_str().unwrap())
        .unwrap();
    let served: Vec<u8> = (0..300).map(|i| (i % 256) as u8).collect();
    assert_eq!(bytes, served);
    assert_eq!(binary["sha256"], sha256(&served));
    assert_eq!(by_url(&recs, &urls[3])["body"], "hello\n", "decoded");

    // Asked for nothing: none of these fields.
    let out = octopus().arg("--json").arg(&urls[0]).output().unwrap();
    let plain = &records(&out)[0];
    for field in ["headers", "body", "body_base64", "sha256", "title", "saved"] {
        assert!(plain.get(field).is_none(), "{field} in {plain}");
    }
}

#[test]
fn saved_bytes_are_the_served_bytes_decoded_in_the_mirror_layout() {
    let s = server();
    let dir = Dir::new("mirror");
    let site = format!("127.0.0.1_{}", s.addr().port());
    let out = octopus()
        .args(["--json", "--output-dir", &dir.arg()])
        .args([
            s.url("/bytes/5000"),
            s.url("/gzip"),
            s.url("/brotli"),
            s.url("/dir/"),
            s.url("/status/404"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "the 404: {}", stderr(&out));
    let recs = records(&out);
    let read = |p: &str| std::fs::read(dir.0.join(p)).unwrap();
    assert_eq!(read(&format!("{site}/bytes/5000")), vec![b'x'; 5000]);
    assert_eq!(read(&format!("{site}/gzip")), b"hello\n");
    assert_eq!(read(&format!("{site}/brotli")), b"hello\n");
    assert_eq!(read(&format!("{site}/dir/index.html")), b"ok\n");
    let gzip = by_url(&recs, &s.url("/gzip"));
    assert_eq!(gzip["saved"], format!("{site}/gzip"));
    assert_eq!(gzip["layout"], "mirror");
    assert!(
        by_url(&recs, &s.url("/status/404")).get("saved").is_none(),
        "not OK"
    );
    assert_eq!(dir.files().len(), 4, "{:?}", dir.files());

    // A redirect is saved under the URL as given; HEAD and 304 save nothing.
    let out = octopus()
        .args(["--json", "--output-dir", &dir.arg()])
        .args([s.url("/redirect/1"), s.url("/empty/304")])
        .output()
        .unwrap();
    let recs = records(&out);
    assert_eq!(
        by_url(&recs, &s.url("/redirect/1"))["saved"],
        format!("{site}/redirect/1")
    );
    assert!(by_url(&recs, &s.url("/empty/304")).get("saved").is_none());
    let head = octopus()
        .args(["--json", "-X", "HEAD", "--output-dir", &dir.arg()])
        .arg(s.url("/head-only"))
        .output()
        .unwrap();
    assert!(records(&head)[0].get("saved").is_none());

    // --save-all saves the 404 too; the text line shows where.
    let out = octopus()
        .args(["--output-dir", &dir.arg(), "--save-all"])
        .arg(s.url("/status/404"))
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains(&format!("saved={site}/status/404")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn hostile_names_land_inside_the_directory_distinct_and_predictable() {
    let s = server();
    let dir = Dir::new("hostile");
    let long = "n".repeat(400);
    let paths = [
        "/..%2f..%2fescaped".to_string(),
        "/%2e%2e/up".to_string(),
        "/a/%2F/b".to_string(),
        format!("/{long}"),
        format!("/{long}x"),
        "/ctl%0A%1B%07".to_string(),
        "/a".to_string(),
        "/a/b".to_string(),
        "/q?x=1".to_string(),
        "/q?x=2".to_string(),
        "/q?x=1/../../../etc".to_string(),
    ];
    let urls: Vec<String> = paths.iter().map(|p| s.url(p)).collect();
    let out = octopus()
        .args(["--json", "-c", "1", "--output-dir", &dir.arg()])
        .args(&urls)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let recs = records(&out);
    let root = dir.0.canonicalize().unwrap();
    let mut saved = Vec::new();
    for (line, url) in urls.iter().enumerate() {
        let record = record_for_line(&recs, line as u64 + 1);
        let path = record["saved"].as_str().unwrap().to_string();
        let full = dir.0.join(&path).canonicalize().unwrap();
        assert!(full.starts_with(&root), "{url} -> {path}");
        assert!(
            !path
                .split('/')
                .any(|c| c == ".." || c == "." || c.is_empty()),
            "{path}"
        );
        assert!(!path.chars().any(char::is_control), "{path:?}");
        saved.push(path);
    }
    let mut distinct = saved.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), saved.len(), "{saved:?}");
    assert!(saved.iter().all(|p| p.split('/').all(|c| c.len() <= 255)));
    // `/a` then `/a/b`: the file `a` became `a/index.html` beside `a/b`.
    let site = format!("127.0.0.1_{}", s.addr().port());
    let files = dir.files();
    assert!(files.contains(&format!("{site}/a/index.html")), "{files:?}");
    assert!(files.contains(&format!("{site}/a/b")), "{files:?}");
    assert!(!std::env::temp_dir().join("escaped").exists());
}

#[test]
fn a_symlink_planted_in_the_directory_is_never_followed() {
    let s = server();
    let dir = Dir::new("planted");
    let outside = Dir::new("outside");
    let site = format!("127.0.0.1_{}", s.addr().port());
    std::os::unix::fs::symlink(&outside.0, dir.0.join(&site)).unwrap();
    let out = octopus()
        .args(["--json", "--output-dir", &dir.arg()])
        .arg(s.url("/into/link"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r = &records(&out)[0];
    assert_eq!(r["error"]["kind"], "save", "{r}");
    assert_eq!(
        r["status"], 200,
        "the response came; saving it did not: {r}"
    );
    assert!(outside.files().is_empty(), "{:?}", outside.files());

    // A link where the file goes is replaced, not written through.
    std::fs::remove_file(dir.0.join(&site)).unwrap();
    std::fs::create_dir(dir.0.join(&site)).unwrap();
    let target = outside.0.join("victim");
    std::fs::write(&target, b"untouched").unwrap();
    std::os::unix::fs::symlink(&target, dir.0.join(&site).join("file")).unwrap();
    let out = octopus()
        .args(["--output-dir", &dir.arg()])
        .arg(s.url("/file"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read(&target).unwrap(), b"untouched");
    assert_eq!(
        std::fs::read(dir.0.join(&site).join("file")).unwrap(),
        b"ok\n"
    );
}

#[test]
fn an_interrupted_download_leaves_no_file_under_its_final_name() {
    let s = server();
    let dir = Dir::new("interrupted");
    // A body that can never be read whole within the timeout.
    let out = octopus()
        .args(["--json", "--timeout", "500ms", "--output-dir", &dir.arg()])
        .arg(s.url("/trickle/100"))
        .output()
        .unwrap();
    assert_eq!(records(&out)[0]["error"]["kind"], "timeout");
    assert!(dir.files().is_empty(), "{:?}", dir.files());

    // Killed outright mid-body: at most a `.part` file remains, never the final name.
    let mut child = octopus_std()
        .args(["--output-dir", &dir.arg()])
        .arg(s.url("/trickle/50"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while dir.files().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let files = dir.files();
    assert!(
        files
            .iter()
            .all(|f| f.rsplit('/').next().unwrap().ends_with(".part")),
        "{files:?}"
    );
}

#[test]
fn skip_existing_does_not_fetch_again_and_says_so() {
    let s = server();
    let dir = Dir::new("skip");
    let args = ["--json", "--output-dir", &dir.arg(), "--skip-existing"];
    octopus().args(args).arg(s.url("/once")).assert().success();
    let out = octopus().args(args).arg(s.url("/once")).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let r = &records(&out)[0];
    assert_eq!(
        (r["skipped"].as_bool(), r["ok"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(r["status"], serde_json::Value::Null);
    assert_eq!(r["attempts"], 0);
    assert_eq!(s.hits("/once"), 1);
    assert_eq!(json_summary(&out)["skipped"], 1);
    let text = octopus()
        .args(["--output-dir", &dir.arg(), "--skip-existing"])
        .arg(s.url("/once"))
        .output()
        .unwrap();
    assert!(stdout(&text).starts_with("SKIP "), "{}", stdout(&text));
}

#[test]
fn the_hash_layout_stores_each_content_once() {
    let s = server();
    let dir = Dir::new("hash");
    let out = octopus()
        .args(["--json", "--output-dir", &dir.arg(), "--layout", "hash"])
        .args([s.url("/bytes/10"), s.url("/bytes/10?again"), s.url("/gzip")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let recs = records(&out);
    let xs = sha256(&[b'x'; 10]);
    let expected = format!("{}/{xs}.body", &xs[..2]);
    assert_eq!(by_url(&recs, &s.url("/bytes/10"))["saved"], expected);
    assert_eq!(by_url(&recs, &s.url("/bytes/10?again"))["saved"], expected);
    assert_eq!(by_url(&recs, &s.url("/gzip"))["layout"], "hash");
    assert_eq!(dir.files().len(), 2, "{:?}", dir.files());
    let skip = octopus()
        .args([
            "--output-dir",
            &dir.arg(),
            "--layout",
            "hash",
            "--skip-existing",
        ])
        .arg(s.url("/x"))
        .output()
        .unwrap();
    assert_eq!(
        skip.status.code(),
        Some(2),
        "skip-existing needs the mirror layout"
    );
}

#[test]
fn failures_to_save_are_records_and_said_once() {
    let s = server();
    let dir = Dir::new("unsavable");
    // A path longer than any file system takes.
    let deep: String = (0..60)
        .map(|i| format!("/{i}{}", "d".repeat(100)))
        .collect();
    let urls = [s.url(&format!("{deep}/one")), s.url(&format!("{deep}/two"))];
    let out = octopus()
        .args(["--json", "--output-dir", &dir.arg()])
        .args(&urls)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let recs = records(&out);
    assert!(
        recs.iter().all(|r| r["error"]["kind"] == "save"),
        "{recs:?}"
    );
    assert_eq!(
        stderr(&out).matches("octopus: cannot save").count(),
        1,
        "{}",
        stderr(&out)
    );
    assert_eq!(json_summary(&out)["failed_by_kind"]["save"], 2);
}

#[test]
fn a_repeat_from_the_cache_is_not_written_twice() {
    let s = server();
    let dir = Dir::new("repeat");
    let url = s.url("/repeat");
    let out = octopus()
        .args(["--json", "-c", "1", "--output-dir", &dir.arg()])
        .args([&url, &url])
        .output()
        .unwrap();
    let recs = records(&out);
    assert_eq!(s.hits("/repeat"), 1);
    assert_eq!(recs[0]["saved"], recs[1]["saved"], "both name the one file");
    assert_eq!(recs.iter().filter(|r| r["cached"] == true).count(), 1);
    assert_eq!(dir.files().len(), 1);
}

#[test]
fn the_library_keeps_and_saves_what_it_is_asked_for() {
    use octopus::{Hash, Layout};
    let s = server();
    let dir = Dir::new("library");
    let otto = builder()
        .hashes([Hash::Sha256])
        .titles(true)
        .save_to(&dir.0)
        .save_layout(Layout::Mirror)
        .build()
        .unwrap();
    let got = std::sync::Arc::new(std::sync::Mutex::new(None));
    let slot = std::sync::Arc::clone(&got);
    otto.enqueue(s.url("/html"), move |r: &octopus::Response| {
        *slot.lock().unwrap() = Some(r.clone());
    });
    otto.wait();
    let r = got.lock().unwrap().take().unwrap();
    assert_eq!(r.title(), Some("Octopus test page"));
    assert_eq!(r.hash(Hash::Sha256), Some(sha256(r.body()).as_str()));
    let saved = r.saved().unwrap();
    assert_eq!(saved.layout(), Layout::Mirror);
    assert_eq!(std::fs::read(dir.0.join(saved.path())).unwrap(), r.body());
}

#[test]
fn text_records_show_digests_and_titles_when_asked() {
    let s = server();
    let out = octopus()
        .args(["-q", "--title", "--hash=sha256,md5"])
        .arg(s.url("/html"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line = stdout(&out);
    let fields: Vec<&str> = line.trim_end().split(' ').collect();
    assert!(
        fields
            .iter()
            .any(|f| f.starts_with("sha256=") && f.len() == 7 + 64),
        "{line}"
    );
    assert!(fields.iter().any(|f| f.starts_with("md5=")), "{line}");
    // The title's spaces are percent-encoded: awk's fields stay put.
    assert_eq!(
        fields.last(),
        Some(&"title=Octopus%20test%20page"),
        "{line}"
    );
}

#[test]
fn hash_without_a_value_does_not_eat_the_next_argument() {
    let s = server();
    let dir = Dir::new("hash-input");
    let list = dir.0.join("urls.txt");
    std::fs::write(&list, s.url("/html") + "\n").unwrap();
    let out = octopus()
        .args(["--json", "--title", "--hash"])
        .arg(&list)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let recs = records(&out);
    assert_eq!(recs.len(), 1);
    assert!(recs[0]["sha256"].is_string(), "{}", recs[0]);
}
