//! Faults and leaks: misbehaving servers, refused redirects, credentials across hosts,
//! name-resolution failure, empty inputs.

mod common;
use common::*;

#[test]
fn credentials_are_not_sent_to_another_host_after_a_redirect() {
    let first = server();
    let other = server();
    let target = other.url("/echo/landed");
    let out = octopus()
        .args([
            first.url(&format!("/redirect-to?url={target}")),
            "-H".into(),
            "Authorization: Bearer SECRET-A".into(),
            "-H".into(),
            "Cookie: session=SECRET-C".into(),
            "-H".into(),
            "Proxy-Authorization: Basic SECRET-P".into(),
            "-H".into(),
            "X-Other: kept".into(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seen = other
        .last_request("/echo/landed")
        .expect("the redirect was followed");
    assert!(
        !seen.contains("SECRET"),
        "credentials leaked to another host:\n{seen}"
    );
    assert!(seen.to_lowercase().contains("x-other: kept"), "{seen}");
    let asked = first
        .last_request(&format!("/redirect-to?url={target}"))
        .unwrap();
    assert!(
        asked.contains("SECRET-A"),
        "the first host got them: {asked}"
    );
}

#[test]
fn misbehaving_servers_give_the_right_error_kinds() {
    let s = server();
    let cases = [
        ("/loop", "too_many_redirects"),
        ("/redirect-to?url=ftp://files.example/x", "redirect"),
        ("/redirect-to?url=file:///etc/passwd", "redirect"),
        ("/reset", "io"),
        ("/garbage", "protocol"),
        ("/stall", "timeout"),
        ("/trickle/100", "timeout"),
        ("/bytes/5000", "body_too_large"),
    ];
    let urls: Vec<String> = cases.iter().map(|(p, _)| s.url(p)).collect();
    let out = octopus()
        .args(["--json", "--timeout", "1s", "--max-body", "1k", "-c", "8"])
        .write_stdin(urls.join("\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let recs = records(&out);
    assert_eq!(recs.len(), cases.len(), "every fault ends as a record");
    for (line, (path, kind)) in cases.iter().enumerate() {
        let r = record_for_line(&recs, line as u64 + 1);
        assert_eq!(r["error"]["kind"], *kind, "{path}: {r}");
    }
    assert_eq!(
        s.hits("/loop"),
        11,
        "the first request and 10 redirects, no more"
    );
    let summary = json_summary(&out);
    assert_eq!(summary["failed"], cases.len() as u64);
}

#[test]
#[cfg_attr(
    not(has_netns),
    ignore = "unshare -rn (an empty network namespace in a user namespace) is not allowed here"
)]
fn a_name_that_does_not_resolve_is_a_dns_error() {
    // A network namespace with no network, in a user namespace (no root needed): the
    // lookup fails at once, nothing leaves the machine.
    let bin = env!("CARGO_BIN_EXE_octopus");
    let out = std::process::Command::new("unshare")
        .args(["-rn", bin, "--json", "http://nothing.invalid/"])
        .output()
        .expect("unshare(1) from util-linux");
    let rec: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("unshare -rn failed: {}", stderr(&out)));
    assert_eq!(rec["error"]["kind"], "dns", "{rec}");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
#[cfg_attr(
    not(has_netns),
    ignore = "unshare -rn (an empty network namespace in a user namespace) is not allowed here"
)]
fn a_name_server_that_cannot_be_reached_is_said_so_for_every_name() {
    // No loopback in the namespace: the name server cannot be sent a query. Before, each
    // lookup tried again in a loop until the deadline and said `timeout`. The deadline is
    // far away: the records come at once, or the test waits for it.
    let bin = env!("CARGO_BIN_EXE_octopus");
    let names = [
        "http://a.example/",
        "http://b.example/",
        "http://c.example/",
        "http://d.example/",
    ];
    let out = std::process::Command::new("unshare")
        .args([
            "-rn",
            bin,
            "--json",
            "-q",
            "--timeout",
            "120s",
            "--dns-server",
            "127.0.0.1:9",
        ])
        .args(names)
        .output()
        .expect("unshare(1) from util-linux");
    let records = records(&out);
    assert_eq!(records.len(), names.len(), "{}", stderr(&out));
    for rec in &records {
        assert_eq!(rec["error"]["kind"], "dns", "{rec}");
        let message = rec["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("name server 127.0.0.1:9 cannot be reached ("),
            "{message}"
        );
    }
}

#[test]
fn empty_inputs_and_comment_only_inputs_are_fine() {
    for input in ["", "# only\n# comments\n\n   \n"] {
        let out = octopus().arg("--json").write_stdin(input).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{input:?}");
        assert!(out.stdout.is_empty());
        let summary = json_summary(&out);
        assert_eq!(
            (summary["urls"].as_u64(), summary["not_fetched"].as_u64()),
            (Some(0), Some(0))
        );
    }
}

#[test]
fn header_values_cannot_smuggle_lines() {
    let out = octopus()
        .args(["-H", "X-A: ok\r\nInjected: 1", "http://127.0.0.1:9/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--header"), "{}", stderr(&out));
}
