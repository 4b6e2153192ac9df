//! What careful users tripped on: HEAD and empty bodies with a content encoding, stale
//! keep-alive connections, odd `Location`s, oversized heads, dead proxies, password
//! masking, path-only lines, what the text format lets through, scheme-less arguments,
//! and messages that said their kind twice. Each against a real loopback server.

mod common;
use common::*;

fn json(args: &[String]) -> (std::process::Output, Vec<serde_json::Value>) {
    let out = octopus().arg("--json").args(args).output().unwrap();
    let recs = records(&out);
    (out, recs)
}

#[test]
fn head_and_bodiless_statuses_are_not_decoded() {
    let s = server();
    let (out, recs) = json(&["-X".into(), "HEAD".into(), s.url("/gzip"), s.url("/html")]);
    assert_eq!(out.status.code(), Some(0), "{recs:?}");
    assert!(
        recs.iter().all(|r| r["status"] == 200 && r["bytes"] == 0),
        "{recs:?}"
    );

    let (out, recs) = json(&[
        s.url("/empty/204"),
        s.url("/empty/304"),
        "--ok-status".into(),
        "200-399".into(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{recs:?}");
    let statuses: Vec<_> = recs.iter().map(|r| r["status"].as_u64()).collect();
    assert!(
        statuses.contains(&Some(204)) && statuses.contains(&Some(304)),
        "{recs:?}"
    );
}

#[test]
fn a_stale_keep_alive_connection_is_retried_once_on_a_fresh_one() {
    let s = server();
    // One worker: the second request reuses the first one's connection, which the server
    // then drops without answering.
    let (out, recs) = json(&[
        "-c".into(),
        "1".into(),
        s.url("/drop-next"),
        s.url("/after"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let after = recs.iter().find(|r| r["url"] == s.url("/after")).unwrap();
    assert_eq!(after["status"], 200, "{after}");
    assert_eq!(
        after["attempts"], 1,
        "the reconnection is not an attempt: {after}"
    );
    assert_eq!(
        s.hits("/after"),
        2,
        "dropped once, answered on a fresh connection"
    );

    // Not for a method that is not idempotent: POST reports the failure.
    let (_, recs) = json(&[
        "-c".into(),
        "1".into(),
        "-d".into(),
        "x".into(),
        s.url("/drop-next"),
        s.url("/after-post"),
    ]);
    let after = recs
        .iter()
        .find(|r| r["url"] == s.url("/after-post"))
        .unwrap();
    assert_eq!(after["error"]["kind"], "io", "{after}");
}

#[test]
fn locations_with_raw_non_ascii_bytes_are_followed() {
    let s = server();
    let (out, recs) = json(&[s.url("/redirect-raw/utf8"), s.url("/redirect-raw/latin1")]);
    assert_eq!(out.status.code(), Some(0), "{recs:?}");
    let finals: Vec<&str> = recs
        .iter()
        .map(|r| r["final_url"].as_str().unwrap())
        .collect();
    assert!(
        finals.contains(&s.url("/target-%C3%BC").as_str()),
        "{finals:?}"
    );
    assert!(
        finals.contains(&s.url("/target-%FC").as_str()),
        "{finals:?}"
    );
}

#[test]
fn an_empty_location_leaves_the_redirect_as_the_result() {
    let s = server();
    let (_, recs) = json(&[s.url("/redirect-empty")]);
    assert_eq!(recs[0]["status"], 302, "{}", recs[0]);
    assert_eq!(recs[0]["redirects"], 0);
    assert_eq!(s.hits("/redirect-empty"), 1);
}

#[test]
fn oversized_heads_are_protocol_errors_and_long_cookie_lists_are_read() {
    let s = server();
    let (_, recs) = json(&[
        s.url("/big-head/70000"),
        s.url("/headers/150"),
        s.url("/headers/2000"),
    ]);
    let by = |p: &str| recs.iter().find(|r| r["url"] == s.url(p)).unwrap().clone();
    let big = by("/big-head/70000");
    assert_eq!(big["error"]["kind"], "protocol", "{big}");
    assert!(
        big["error"]["message"].as_str().unwrap().contains("head"),
        "{big}"
    );
    // As curl reads them: any number of lines within the 64 KiB head.
    assert_eq!(by("/headers/150")["status"], 200, "{}", by("/headers/150"));
    assert_eq!(by("/headers/2000")["status"], 200);
    let out = octopus()
        .args(["--include-headers", "--json", &s.url("/headers/150")])
        .output()
        .unwrap();
    let record = &records(&out)[0];
    let cookies = record["headers"]["set-cookie"].as_array().map(Vec::len);
    assert_eq!(cookies, Some(150), "{record}");

    // Through a proxy too: plain `http` goes to the proxy on octopus's own exchange.
    let proxied = octopus()
        .args([
            "--json",
            "--include-headers",
            "--proxy",
            &s.url(""),
            "http://octopus.test/headers/150",
        ])
        .output()
        .unwrap();
    let many = &records(&proxied)[0];
    let cookies = many["headers"]["set-cookie"].as_array().map(Vec::len);
    assert_eq!(cookies, Some(150), "{many}");
}

#[test]
fn a_dead_proxy_is_a_proxy_error_naming_it() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let proxy = format!("http://127.0.0.1:{port}");
    let (_, recs) = json(&[
        "--proxy".into(),
        proxy.clone(),
        "http://octopus.test/".into(),
    ]);
    assert_eq!(recs[0]["error"]["kind"], "proxy", "{}", recs[0]);
    let message = recs[0]["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
}

#[test]
fn passwords_are_masked_exactly_wherever_a_url_is_shown() {
    let s = server();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    // Password `o`: the message's other o's stay.
    let (_, recs) = json(&[format!("http://u:o@127.0.0.1:{port}/")]);
    let message = recs[0]["error"]["message"].as_str().unwrap();
    assert!(!message.contains("***n"), "{message}");
    // Credentials that arrive in a redirect's Location are masked too.
    let (out, recs) = json(&[s.url("/redirect-creds"), s.url("/redirect-creds/bad")]);
    let shown = stdout(&out) + &stderr(&out);
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("a:***@"), "{shown}");
    let landed = recs.iter().find(|r| r["status"] == 200).expect("followed");
    assert!(landed["final_url"].as_str().unwrap().ends_with("/landed"));
    let bad = recs.iter().find(|r| r["status"].is_null()).unwrap();
    assert_eq!(bad["error"]["kind"], "redirect", "{bad}");
}

#[test]
fn paths_are_not_urls_and_unsendable_urls_take_no_attempt() {
    let out = octopus()
        .arg("--json")
        .write_stdin("/a/b/c\n../x\n./y\n")
        .output()
        .unwrap();
    let recs = records(&out);
    assert_eq!(recs.len(), 3);
    for r in &recs {
        assert_eq!(r["error"]["kind"], "invalid_url", "{r}");
        assert_eq!(r["attempts"], 0, "{r}");
    }
}

#[test]
fn the_text_format_escapes_what_could_fool_a_terminal_or_awk() {
    let out = octopus()
        .write_stdin("http://h/\x1b]0;pwned\x07 x\nhttp://a b/\rfake 200\n")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 2, "{text:?}");
    for line in text.lines() {
        assert!(!line.chars().any(|c| c.is_control()), "{line:?}");
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields[0], "ERR", "{line:?}");
        assert!(
            fields[3].starts_with("http://"),
            "$4 is the whole URL: {line:?}"
        );
        assert_eq!(fields[4], "invalid_url:", "{line:?}");
    }
}

#[test]
fn scheme_less_url_arguments_are_urls_unless_a_file_is_there() {
    let s = server();
    let bare = format!("{}/bare", s.addr());
    let out = octopus().args(["--json", &bare]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(s.hits("/bare"), 1);

    let out = octopus().arg("missing-list.txt").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("http://"),
        "the error hints at a URL: {}",
        stderr(&out)
    );
}

#[test]
fn error_messages_do_not_repeat_their_kind() {
    let s = server();
    let (_, recs) = json(&[s.url("/garbage"), s.url("/reset")]);
    for r in &recs {
        let kind = r["error"]["kind"].as_str().unwrap();
        let message = r["error"]["message"].as_str().unwrap();
        assert!(
            !message.starts_with(&format!("{kind}:")),
            "{kind}: {message}"
        );
    }
}
