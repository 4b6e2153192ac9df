//! Input forms, record formats, summary and exit codes of `octopus fetch`.

mod common;
use common::*;

use std::io::Write;

#[test]
fn url_arguments_give_text_records_and_exit_0() {
    let s = server();
    let out = octopus()
        .args([s.url("/status/200"), s.url("/bytes/1234")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let bytes_line = lines.iter().find(|l| l.contains("/bytes/1234")).unwrap();
    let fields: Vec<&str> = bytes_line.split(' ').collect();
    assert_eq!(fields[0], "200");
    assert!(fields[1].ends_with("ms"), "{bytes_line}");
    assert_eq!(fields[2], "1234");
    assert_eq!(fields[3], s.url("/bytes/1234"));
    assert!(
        stderr(&out).contains("[octopus] Retrieving 2 urls took"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn fetch_subcommand_and_default_command_are_the_same() {
    let s = server();
    for args in [vec!["fetch".to_string(), s.url("/a")], vec![s.url("/a")]] {
        let out = octopus().args(&args).arg("--json").output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(records(&out).len(), 1);
    }
}

#[test]
fn options_before_the_subcommand_are_the_subcommands() {
    let s = server();
    let page = s.url("/html");
    for args in [
        vec!["--json", "-q", "fetch", &page],
        vec!["-q", "--json", "-c", "2", "fetch", &page],
        vec![
            "--timeout",
            "5s",
            "--json",
            "crawl",
            "-q",
            "--depth",
            "0",
            &page,
        ],
        vec!["-qc", "3", "--json", "crawl", "--depth=0", &page],
    ] {
        let out = octopus().args(&args).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: -q read: {err}");
        let recs = records(&out);
        assert_eq!(recs.len(), 1, "{args:?}: {}", stdout(&out));
        assert_eq!(recs[0]["url"], page.as_str());
    }
    assert_eq!(s.hits("/robots.txt"), 2, "both crawls ran as crawls");
}

#[test]
fn stdin_is_read_when_no_input_is_given_and_with_dash() {
    let s = server();
    let input = format!("{}\n{}\n", s.url("/one"), s.url("/two"));
    for args in [vec![], vec!["-"]] {
        let out = octopus()
            .args(&args)
            .arg("--json")
            .write_stdin(input.clone())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let recs = records(&out);
        assert_eq!(recs.len(), 2);
        assert!(recs.iter().all(|r| r["input"] == "-"));
    }
    assert_eq!(s.hits("/one"), 2);
}

#[test]
fn files_are_streamed_with_blank_lines_comments_bom_and_crlf_skipped() {
    let s = server();
    let mut file = tempfile();
    let host = s.addr().to_string();
    write!(
        file.1,
        "\u{feff}# list of URLs\r\n\r\n  {}  \r\n\t{host}/no-scheme\r\n# done\n\n",
        s.url("/first")
    )
    .unwrap();
    let out = octopus().arg(&file.0).arg("--json").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let recs = records(&out);
    assert_eq!(recs.len(), 2, "{recs:?}");
    assert_eq!(record_for_line(&recs, 3)["url"], s.url("/first"));
    let bare = record_for_line(&recs, 4);
    assert_eq!(
        bare["url"],
        format!("http://{host}/no-scheme"),
        "http:// is added"
    );
    assert_eq!(bare["input"], file.0.display().to_string());
    assert_eq!(s.hits("/no-scheme"), 1);
}

#[test]
fn json_records_follow_the_documented_schema() {
    let s = server();
    let out = octopus()
        .args([s.url("/redirect/2"), "--json".into(), "--no-cache".into()])
        .output()
        .unwrap();
    let recs = records(&out);
    let r = &recs[0];
    let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    for key in [
        "url",
        "final_url",
        "input",
        "line",
        "status",
        "ok",
        "error",
        "bytes",
        "elapsed_ms",
        "redirects",
        "cached",
        "content_type",
    ] {
        assert!(keys.contains(&key), "missing {key} in {r}");
    }
    assert_eq!(r["status"], 200);
    assert_eq!(r["ok"], true);
    assert_eq!(r["error"], serde_json::Value::Null);
    assert_eq!(r["final_url"], s.url("/redirect/0"));
    assert_eq!(r["redirects"], 2);
    assert_eq!(r["line"], 1);
    assert_eq!(r["input"], "arg");
    assert_eq!(r["cached"], false);
    assert_eq!(r["content_type"], "text/plain");
    assert!(r["elapsed_ms"].as_f64().unwrap() >= 0.0);

    let summary = json_summary(&out);
    assert_eq!(summary["urls"], 1);
    assert_eq!(summary["ok"], 1);
    assert_eq!(summary["failed"], 0);
    assert_eq!(summary["not_fetched"], 0);
}

#[test]
fn a_failed_status_exits_1_and_ok_status_widens_success() {
    let s = server();
    let out = octopus()
        .args([s.url("/status/200"), s.url("/status/404")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("404 "), "{}", stdout(&out));
    assert!(stderr(&out).contains("http_status: 1"), "{}", stderr(&out));

    let out = octopus()
        .args([
            s.url("/status/404"),
            "--ok-status".into(),
            "200-299,404".into(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn bad_lines_become_error_records_and_the_run_goes_on() {
    let s = server();
    let mut input = Vec::new();
    input.extend_from_slice(b"ftp://files.example/x\n");
    input.extend_from_slice(b"file:///etc/passwd\n");
    input.extend_from_slice(b"http://\n");
    input.extend_from_slice(b"http://bad\xffbyte/\n");
    input.extend_from_slice(b"http://a b/\n");
    input.extend_from_slice(b"http://u:hunter2@127.0.0.1:99999/\n");
    input.extend(std::iter::repeat_n(b'a', 1_000_000));
    input.push(b'\n');
    input.extend_from_slice(b"http://nul\0byte.example/\n");
    input.extend_from_slice(s.url("/fine").as_bytes());
    input.push(b'\n');
    let out = octopus().arg("--json").write_stdin(input).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let recs = records(&out);
    assert_eq!(recs.len(), 9, "one record per line: {recs:?}");
    for line in 1..=8 {
        let r = record_for_line(&recs, line);
        assert_eq!(r["error"]["kind"], "invalid_url", "line {line}: {r}");
        assert_eq!(r["ok"], false);
        assert_eq!(r["status"], serde_json::Value::Null);
    }
    assert!(
        record_for_line(&recs, 1)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ftp")
    );
    assert!(
        record_for_line(&recs, 4)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("UTF-8")
    );
    assert!(
        record_for_line(&recs, 7)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("long")
    );
    assert!(
        record_for_line(&recs, 8)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("NUL")
    );
    assert_eq!(record_for_line(&recs, 9)["status"], 200);
    let all = stdout(&out) + &stderr(&out);
    assert!(!all.contains("hunter2"), "password leaked: {all}");
    assert!(all.contains("u:***@"));
    assert!(!all.contains("root:"), "a file: URL must never be read");
}

#[test]
fn unreadable_inputs_exit_2_before_anything_is_fetched() {
    let s = server();
    let dir = std::env::temp_dir();
    for bad in ["/definitely/not/here.txt", dir.to_str().unwrap()] {
        let out = octopus().args([&s.url("/x"), bad]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
    }
    assert_eq!(
        s.requests(),
        0,
        "nothing is fetched when an input is unreadable"
    );
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    let cases: [(&[&str], &str); 5] = [
        (&["-c", "0", "http://127.0.0.1:9/"], "concurrency"),
        (&["-c", "-3", "http://127.0.0.1:9/"], "-3"),
        (&["-H", "NoColon", "http://127.0.0.1:9/"], "Name: value"),
        (&["--timeout", "soon", "http://127.0.0.1:9/"], "duration"),
        (
            &["--resolve", "nonsense", "http://127.0.0.1:9/"],
            "HOST:PORT:ADDR",
        ),
    ];
    for (args, needle) in cases {
        let out = octopus().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn help_documents_the_exit_codes() {
    let out = octopus().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    for needle in ["Exit status", "130", "--concurrency", "--json"] {
        assert!(help.contains(needle), "{needle}");
    }
}

#[test]
fn quiet_hides_the_summary_and_no_progress_bar_on_a_pipe() {
    let s = server();
    let out = octopus().args([s.url("/q"), "-q".into()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stderr(&out), "");
    let out = octopus().args([s.url("/q")]).output().unwrap();
    let err = stderr(&out);
    assert_eq!(
        err.lines().count(),
        1,
        "only the summary, no progress bar: {err:?}"
    );
}

#[test]
fn every_line_gets_exactly_one_record_under_concurrency() {
    let s = server();
    let input: String = (0..500)
        .map(|i| format!("{}\n", s.url(&format!("/n/{i}"))))
        .collect();
    let out = octopus()
        .args(["--json", "-c", "64"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let recs = records(&out);
    assert_eq!(recs.len(), 500);
    let mut lines: Vec<u64> = recs.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    lines.sort_unstable();
    assert_eq!(lines, (1..=500).collect::<Vec<_>>());
    let summary = json_summary(&out);
    assert_eq!(summary["urls"], 500);
    assert_eq!(summary["ok"], 500);
}

/// A temporary file (path, handle), removed when dropped.
struct TempFile(std::path::PathBuf, std::fs::File);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn tempfile() -> TempFile {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "octopus-test-{}-{}.txt",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let file = std::fs::File::create(&path).unwrap();
    TempFile(path, file)
}

#[test]
fn a_slow_producer_on_stdin_gets_each_record_before_sending_the_next_line() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let s = server();
    let mut child = octopus_std()
        .args(["--json", "-c", "4"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Liveness guard: if a line were held back, the read below would never return.
    let pid = child.id() as i32;
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if finished
            .recv_timeout(std::time::Duration::from_secs(60))
            .is_err()
        {
            // SAFETY: kill(2) on our child, which has not been waited for yet.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    for i in 0..3 {
        writeln!(stdin, "{}", s.url(&format!("/live/{i}"))).unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let r: serde_json::Value = serde_json::from_str(&line).expect("a record, not EOF");
        assert_eq!(r["line"], i + 1);
    }
    drop(stdin);
    let _ = done.send(());
    watchdog.join().unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn lines_of_unicode_whitespace_are_blank() {
    // Found by the property test: a vertical tab or a no-break space alone is a blank line.
    let out = octopus()
        .arg("--json")
        .write_stdin("\u{b}\t\n\u{a0}\n\u{2003}# comment\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(out.stdout.is_empty());
}

#[test]
fn mistyped_numbers_are_usage_errors_never_panics_or_hangs() {
    let cases: [&[&str]; 7] = [
        &["--timeout", "1e30"],
        &["--timeout", "1e19"],
        &["--rate", "1e-30/s"],
        &["--rate", "1e-19/s"],
        &["--retry-delay", "1e19", "--max-retry-wait", "1e19"],
        &["--delay", "99999999999999999999y"],
        &["--cache-ttl", "400d"],
    ];
    for args in cases {
        let out = octopus()
            .args(args)
            .arg("http://127.0.0.1:9/")
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            err.contains(args[0]),
            "the message names the flag: {args:?}: {err}"
        );
    }
}

#[test]
fn the_text_time_is_the_fetch_not_the_waits() {
    let s = server();
    // At one start a second, the later lines wait about a second each for the rate.
    let urls: Vec<String> = (0..3).map(|i| s.url(&format!("/rated/{i}"))).collect();
    let out = octopus()
        .args(["-q", "--rate", "1/s"])
        .args(&urls)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let waited_line = text
        .lines()
        .find(|l| l.contains(" waited="))
        .unwrap_or_else(|| panic!("no line waited: {text}"));
    let ms = |field: &str| -> u64 {
        field
            .trim_start_matches("waited=")
            .trim_end_matches("ms")
            .parse()
            .unwrap_or_else(|_| panic!("{field} in {waited_line}"))
    };
    let fields: Vec<&str> = waited_line.split(' ').collect();
    let waited = fields.iter().find(|f| f.starts_with("waited=")).unwrap();
    // The time column is the exchange's, and the wait is its own field: a wait of about a
    // second is not in a loopback fetch's time.
    assert!(ms(fields[1]) < ms(waited), "{waited_line}");
}

#[test]
fn one_url_is_one_url_in_the_summary() {
    let s = server();
    let out = octopus().arg(s.url("/a")).output().unwrap();
    let err = stderr(&out);
    assert!(err.contains("[octopus] Retrieving 1 url took"), "{err}");
}

#[test]
fn usage_errors_say_what_to_write() {
    let s = server();
    let dir = Dir::new("usage-words");
    let file = dir.0.join("urls.txt");
    std::fs::write(&file, s.url("/a") + "\n").unwrap();
    let fails = |args: &[&str]| {
        let out = octopus().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        stderr(&out)
    };
    let err = fails(&["--timeout", "abc", &s.url("/a")]);
    assert!(err.contains("write it as 10s"), "{err}");
    let err = fails(&["--output-dir", &file.display().to_string(), &s.url("/a")]);
    assert!(err.contains("is a file, not a directory"), "{err}");
    let err = fails(&["fecth", &file.display().to_string()]);
    assert!(err.contains("did you mean the command `fetch`"), "{err}");
    let err = fails(&["carwl", &s.url("/a")]);
    assert!(err.contains("did you mean the command `crawl`"), "{err}");
    let err = fails(&["http//127.0.0.1/a"]);
    assert!(err.contains("did you mean http://127.0.0.1/a?"), "{err}");
    assert_eq!(s.hits("/a"), 0, "nothing fetched");
}

#[test]
fn status_classes_like_2xx_are_understood() {
    let s = server();
    let out = octopus()
        .args(["-q", "--json", "--match-status", "4xx"])
        .args([s.url("/status/200"), s.url("/status/404")])
        .output()
        .unwrap();
    let recs = records(&out);
    assert_eq!(recs.len(), 1, "{}", stdout(&out));
    assert_eq!(recs[0]["status"], 404);
}

#[test]
fn a_mistyped_file_name_is_a_missing_file_not_a_host() {
    for typo in ["urls.tx", "urls.txt.bak"] {
        let out = octopus().arg(typo).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{typo}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(&format!("write http://{typo}")), "{err}");
        assert!(stdout(&out).is_empty(), "nothing fetched: {}", stdout(&out));
    }
}

#[test]
fn other_tools_flags_and_negative_durations_get_a_precise_hint() {
    for (args, expected) in [
        (&["--max-time", "5"][..], "--timeout"),
        (&["--threads", "50"][..], "--concurrency"),
        (&["--delay", "-1s"][..], "cannot be negative"),
        (&["--delay=-1s"][..], "cannot be negative"),
        (&["-c", "-5"][..], "must be positive"),
        (&["--retries", "-2"][..], "cannot be negative"),
        (&["--parallel"][..], "-c/--concurrency N"),
        (&["--recursive"][..], "octopus crawl"),
    ] {
        let out = octopus()
            .args(args)
            .arg("http://127.0.0.1:9/")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains(expected) && !err.contains("-- -1"),
            "{args:?}: {err}"
        );
    }
}
