//! What octopus sends and how it reads answers: methods, headers, bodies, redirects,
//! decoding, limits, deadlines, proxies and `--resolve`, against a real loopback server.

mod common;
use common::*;

#[test]
fn method_headers_body_and_user_agent_are_sent() {
    let s = server();
    let out = octopus()
        .args([
            s.url("/echo/get"),
            "-H".into(),
            "X-Token: abc123".into(),
            "-H".into(),
            "Accept: text/plain".into(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seen = s.last_request("/echo/get").unwrap();
    assert!(seen.starts_with("GET /echo/get HTTP/1.1"), "{seen}");
    assert!(seen.to_lowercase().contains("x-token: abc123"), "{seen}");
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        seen.to_lowercase()
            .contains(&format!("user-agent: octopus/{version}")),
        "{seen}"
    );

    octopus()
        .args([
            s.url("/echo/post"),
            "-d".into(),
            "a=1&b=2".into(),
            "-A".into(),
            "probe/1".into(),
        ])
        .assert()
        .success();
    let seen = s.last_request("/echo/post").unwrap();
    assert!(
        seen.starts_with("POST /echo/post"),
        "-d implies POST: {seen}"
    );
    assert!(seen.ends_with("a=1&b=2"), "{seen}");
    assert!(
        seen.to_lowercase().contains("user-agent: probe/1"),
        "{seen}"
    );
    assert!(
        seen.to_lowercase()
            .contains("content-type: application/x-www-form-urlencoded")
    );

    let body_file = std::env::temp_dir().join(format!("octopus-body-{}", std::process::id()));
    std::fs::write(&body_file, b"{\"from\":\"file\"}").unwrap();
    octopus()
        .args([
            s.url("/echo/put"),
            "-X".into(),
            "put".into(),
            "-d".into(),
            format!("@{}", body_file.display()),
        ])
        .assert()
        .success();
    let _ = std::fs::remove_file(&body_file);
    let seen = s.last_request("/echo/put").unwrap();
    assert!(seen.starts_with("PUT /echo/put"), "{seen}");
    assert!(seen.ends_with("{\"from\":\"file\"}"), "{seen}");
}

#[test]
fn redirects_are_followed_and_limited() {
    let s = server();
    let out = octopus()
        .args([s.url("/redirect/3"), "--json".into()])
        .output()
        .unwrap();
    let r = &records(&out)[0];
    assert_eq!(
        (r["status"].as_u64(), r["redirects"].as_u64()),
        (Some(200), Some(3))
    );
    assert_eq!(r["final_url"], s.url("/redirect/0"));

    let out = octopus()
        .args([
            s.url("/redirect/3"),
            "--json".into(),
            "--max-redirects".into(),
            "2".into(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(records(&out)[0]["error"]["kind"], "too_many_redirects");

    let out = octopus()
        .args([
            s.url("/redirect/3"),
            "--json".into(),
            "--max-redirects".into(),
            "0".into(),
        ])
        .output()
        .unwrap();
    let r = &records(&out)[0];
    assert_eq!(r["status"], 302, "with redirects off the 3xx is the result");
    assert_eq!(
        out.status.code(),
        Some(0),
        "302 is inside the default --ok-status 200-399"
    );
}

#[test]
fn gzip_bodies_are_decoded() {
    let s = server();
    let out = octopus()
        .args([s.url("/gzip"), "--json".into()])
        .output()
        .unwrap();
    let r = &records(&out)[0];
    assert_eq!(r["status"], 200);
    assert_eq!(r["bytes"], 6, "decoded `hello\\n`: {r}");
}

#[test]
fn bodies_past_max_body_are_errors() {
    let s = server();
    let out = octopus()
        .args([
            s.url("/bytes/5000"),
            s.url("/bytes/100"),
            "--json".into(),
            "--max-body".into(),
            "1k".into(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let recs = records(&out);
    let big = recs
        .iter()
        .find(|r| r["url"] == s.url("/bytes/5000"))
        .unwrap();
    assert_eq!(big["error"]["kind"], "body_too_large", "{big}");
    let small = recs
        .iter()
        .find(|r| r["url"] == s.url("/bytes/100"))
        .unwrap();
    assert_eq!(small["bytes"], 100);
}

#[test]
fn a_stalled_server_times_out() {
    let s = server();
    let out = octopus()
        .args([
            s.url("/stall"),
            "--json".into(),
            "--timeout".into(),
            "500ms".into(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r = &records(&out)[0];
    assert_eq!(r["error"]["kind"], "timeout", "{r}");
    assert_eq!(
        r["error"]["message"],
        "deadline passed (timeout) waiting for the response head"
    );
}

#[test]
fn the_timeout_is_a_deadline_for_the_whole_body() {
    // The server sends a byte every 200 ms: each read succeeds, only an absolute deadline
    // can stop it before the 100 bytes (20 s) are through.
    let s = server();
    let out = octopus()
        .args([
            s.url("/trickle/100"),
            "--json".into(),
            "--timeout".into(),
            "1s".into(),
        ])
        .output()
        .unwrap();
    let r = &records(&out)[0];
    assert_eq!(r["error"]["kind"], "timeout", "{r}");
    assert_eq!(
        r["error"]["message"],
        "deadline passed (timeout) reading the body"
    );
}

#[test]
fn an_upload_the_server_never_reads_times_out() {
    // The server takes the connection and reads nothing: once the socket buffers are full
    // (a few MB on loopback), sending waits for room, and the deadline must end the wait.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || {
        let held = listener.accept();
        std::thread::sleep(std::time::Duration::from_secs(3));
        drop(held);
    });
    let dir = Dir::new("upload");
    let file = dir.0.join("big");
    std::fs::write(&file, vec![b'x'; 64 << 20]).unwrap();
    let out = octopus()
        .args([
            format!("http://127.0.0.1:{port}/upload"),
            "--json".into(),
            "--timeout".into(),
            "1s".into(),
            "-d".into(),
            format!("@{}", file.display()),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = &records(&out)[0];
    assert_eq!(r["error"]["kind"], "timeout", "{r}");
    assert_eq!(
        r["error"]["message"],
        "deadline passed (timeout) sending the request"
    );
    holder.join().unwrap();
}

#[test]
fn connection_refused_is_a_connect_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = octopus()
        .args([format!("http://127.0.0.1:{port}/"), "--json".into()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(records(&out)[0]["error"]["kind"], "connect");
}

#[test]
fn garbage_answers_are_protocol_errors() {
    let s = server();
    let out = octopus()
        .args([s.url("/garbage"), "--json".into()])
        .output()
        .unwrap();
    assert_eq!(records(&out)[0]["error"]["kind"], "protocol");
}

#[test]
fn resolve_sends_a_name_to_a_chosen_address() {
    let s = server();
    let port = s.addr().port();
    let out = octopus()
        .args([
            format!("http://octopus.test:{port}/resolved"),
            "--resolve".into(),
            format!("octopus.test:{port}:127.0.0.1"),
            "--json".into(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(s.hits("/resolved"), 1);
    let seen = s.last_request("/resolved").unwrap();
    assert!(
        seen.to_lowercase()
            .contains(&format!("host: octopus.test:{port}")),
        "{seen}"
    );
}

#[test]
fn proxies_from_the_flag_and_the_environment_are_used() {
    // The loopback server plays the proxy: a plain `http` URL is asked of it in
    // absolute-form, as curl and wget ask a proxy (never tunnelled with CONNECT, which
    // squid's stock configuration refuses for port 80), and it answers as the origin would.
    // The name is never resolved here.
    let proxy = server();
    octopus()
        .args(["http://octopus.test/via-flag", "--proxy", &proxy.url("")])
        .assert()
        .success();
    assert_eq!(proxy.hits("octopus.test:80"), 0, "no CONNECT");
    assert_eq!(proxy.hits("/via-flag"), 1);
    let seen = proxy.last_request("/via-flag").unwrap();
    assert!(
        seen.starts_with("GET http://octopus.test/via-flag HTTP/1.1\r\n")
            && seen.contains("host: octopus.test\r\n"),
        "{seen}"
    );

    octopus()
        .arg("http://octopus.test/via-env")
        .env("http_proxy", proxy.url(""))
        .assert()
        .success();
    assert_eq!(proxy.hits("/via-env"), 1);

    // -p/--proxy-tunnel (curl's): tunnelled with CONNECT, as a tunnel-only proxy needs.
    octopus()
        .args([
            "-p",
            "--proxy",
            &proxy.url(""),
            "http://octopus.test/tunnelled",
        ])
        .assert()
        .success();
    assert_eq!(proxy.hits("octopus.test:80"), 1, "one CONNECT");
    assert_eq!(proxy.hits("/tunnelled"), 1);

    let direct = server();
    let port = direct.addr().port();
    octopus()
        .arg(direct.url("/not-proxied"))
        .env("http_proxy", proxy.url(""))
        .env("NO_PROXY", "127.0.0.1")
        .assert()
        .success();
    assert_eq!(
        direct.hits("/not-proxied"),
        1,
        "NO_PROXY is honoured (port {port})"
    );
}

#[test]
fn the_environment_is_read_as_curl_reads_it_and_flags_override_it() {
    let (origin, proxy) = (server(), server());
    let socks = octopus_testserver::SocksProxy::start().unwrap();
    // httpoxy: the uppercase HTTP_PROXY is never read (a CGI program gets it from a
    // request's `Proxy:` header).
    octopus()
        .arg(origin.url("/upper"))
        .env("HTTP_PROXY", proxy.url(""))
        .assert()
        .success();
    assert_eq!((origin.hits("/upper"), proxy.hits("/upper")), (1, 0));
    // all_proxy reaches a SOCKS proxy; --noproxy and --proxy '' send requests directly.
    octopus()
        .arg(origin.url("/all"))
        .env("ALL_PROXY", socks.url("socks5h", None))
        .assert()
        .success();
    assert_eq!(socks.asked(), [format!("socks5 {}", origin.addr())]);
    for (args, path) in [
        (["--noproxy", "*"], "/noproxy"),
        (["--proxy", ""], "/empty"),
        (["-x", ""], "/short"),
    ] {
        octopus()
            .args(args)
            .arg(origin.url(path))
            .env("http_proxy", proxy.url(""))
            .assert()
            .success();
        assert_eq!((origin.hits(path), proxy.hits(path)), (1, 0), "{args:?}");
    }
    // A proxy variable that is not a proxy URL is a usage error naming it.
    let bad = octopus()
        .arg(origin.url("/bad"))
        .env("https_proxy", "ftp://user:secret@p.test")
        .assert()
        .code(2);
    let said = String::from_utf8_lossy(&bad.get_output().stderr).into_owned();
    assert!(said.contains("https_proxy=ftp://user:***@p.test"), "{said}");
    assert!(!said.contains("secret"), "{said}");
}

/// The request `server` saw for `path`, lower-cased, after fetching `url` with `args`
/// (through `proxy` when given, in absolute-form).
fn sent(server: &Server, path: &str, url: &str, args: &[&str], proxy: Option<&Server>) -> String {
    let mut cmd = octopus();
    cmd.args(args).arg(url);
    if let Some(proxy) = proxy {
        cmd.args(["--proxy", &proxy.url("")]);
    }
    cmd.assert().success();
    let seen = server.last_request(path);
    seen.unwrap_or_else(|| panic!("{path} not requested"))
        .to_lowercase()
}

#[test]
fn credentials_in_a_url_are_percent_decoded() {
    use base64::Engine as _;
    let s = server();
    let basic = base64::engine::general_purpose::STANDARD.encode("us@er:p:ss");
    let expected = format!("authorization: basic {}", basic.to_lowercase());
    let direct = s
        .url("/echo/creds")
        .replace("http://", "http://us%40er:p%3Ass@");
    let seen = sent(&s, "/echo/creds", &direct, &[], None);
    assert!(seen.contains(&expected), "{seen}");
    let proxied = "http://us%40er:p%3Ass@octopus.test/echo/proxied-creds";
    let seen = sent(&s, "/echo/proxied-creds", proxied, &[], Some(&s));
    assert!(seen.contains(&expected), "through a proxy: {seen}");
}

#[test]
fn a_post_turned_into_a_get_by_a_redirect_drops_its_body_headers() {
    let s = server();
    let url = s.url("/redirect-to?url=/echo/after-post");
    let seen = sent(&s, "/echo/after-post", &url, &["-d", "a=1"], None);
    assert!(seen.starts_with("get /echo/after-post"), "{seen}");
    for header in ["content-type:", "content-length:"] {
        assert!(!seen.contains(header), "{header} in {seen}");
    }
}

#[test]
fn an_empty_body_says_its_length() {
    let s = server();
    let seen = sent(&s, "/echo/empty", &s.url("/echo/empty"), &["-d", ""], None);
    assert!(seen.starts_with("post /echo/empty"), "{seen}");
    assert!(seen.contains("content-length: 0\r\n"), "{seen}");
    let proxied = "http://octopus.test/echo/empty-proxied";
    let seen = sent(&s, "/echo/empty-proxied", proxied, &["-d", ""], Some(&s));
    assert!(
        seen.contains("content-length: 0\r\n"),
        "through a proxy: {seen}"
    );
}

#[test]
fn names_are_asked_of_the_dns_server_given() {
    let s = server();
    let dns = octopus_testserver::DnsServer::start().unwrap();
    dns.add("site.test", "127.0.0.1".parse().unwrap());
    let port = s.addr().port();
    let out = octopus()
        .args(["--json", "--dns-server", &dns.addr().to_string()])
        .arg(format!("http://site.test:{port}/a"))
        .arg(format!("http://site.test:{port}/b"))
        .arg(format!("http://missing.test:{port}/"))
        .output()
        .unwrap();
    let recs = records(&out);
    let by_url = |u: &str| {
        recs.iter()
            .find(|r| r["url"].as_str().unwrap().contains(u))
            .unwrap()
    };
    assert_eq!(by_url("/a")["status"], 200, "{}", stderr(&out));
    assert_eq!(by_url("/b")["status"], 200);
    let missing = by_url("missing.test");
    assert_eq!(missing["error"]["kind"], "dns");
    assert_eq!(missing["error"]["message"], "no such host (NXDOMAIN)");
    assert_eq!(dns.queries("site.test"), 2, "one lookup for both URLs");
}

#[test]
fn a_pool_of_proxies_from_flags_and_a_file_names_the_proxy_in_each_record() {
    let origin = server();
    let (one, two) = (
        octopus_testserver::ForwardProxy::start().unwrap(),
        octopus_testserver::ForwardProxy::start().unwrap(),
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let dir = Dir::new("proxy-file");
    let file = dir.0.join("proxies.txt");
    std::fs::write(
        &file,
        format!("# the pool\n{}\n\n{dead}\n", two.url(Some("u:secret"))),
    )
    .unwrap();
    let urls: Vec<String> = (0..12)
        .map(|i| origin.url(&format!("/pooled/{i}")))
        .collect();
    let output = octopus()
        .args(["--json", "--proxy", &one.url(None), "--proxy-file"])
        .arg(&file)
        .args(&urls)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let seen: Vec<String> = records(&output)
        .iter()
        .map(|r| r["proxy"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(seen.len(), 12);
    assert!(
        seen.iter()
            .all(|p| *p == one.url(None) || *p == two.url(None)),
        "{seen:?}"
    );
    let summary = json_summary(&output);
    let proxies = summary["proxies"].as_array().expect("per proxy");
    assert_eq!(proxies.len(), 3);
    assert_eq!(proxies[2]["proxy"], dead.as_str());
    assert!(proxies[2]["set_aside"].as_u64() >= Some(1), "{summary}");
    assert!(!stderr(&output).contains("secret"));
    let empty = dir.0.join("empty.txt");
    std::fs::write(&empty, "# nothing\n").unwrap();
    octopus()
        .arg("--proxy-file")
        .arg(&empty)
        .arg(origin.url("/x"))
        .assert()
        .code(2);
}

#[test]
fn a_crawl_through_a_pool_counts_each_proxy_too() {
    let origin = server();
    let (one, two) = (
        octopus_testserver::ForwardProxy::start().unwrap(),
        octopus_testserver::ForwardProxy::start().unwrap(),
    );
    let output = octopus()
        .args(["crawl", "--json", "--ignore-robots", "--depth", "1"])
        .args(["--proxy", &one.url(None), "--proxy", &two.url(None)])
        .arg(origin.url("/web/1"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary = json_summary(&output);
    let proxies = summary["proxies"].as_array().expect("per proxy");
    let requests: u64 = proxies.iter().filter_map(|p| p["requests"].as_u64()).sum();
    assert_eq!(requests, summary["urls"].as_u64().unwrap(), "{summary}");
    assert!(records(&output).iter().all(|r| r["proxy"].is_string()));
}

#[test]
fn records_say_their_http_version_and_the_summary_counts_connections() {
    let s = server();
    let output = octopus()
        .args([
            "--json",
            "-c",
            "1",
            &s.url("/a"),
            &s.url("/b"),
            &s.url("/c"),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(records(&output).iter().all(|r| r["http_version"] == "1.1"));
    let summary = json_summary(&output);
    assert_eq!(summary["connections"], 1, "{summary}");
    assert_eq!(summary["exchanges"], 3, "{summary}");
    let text = octopus()
        .args(["-c", "1", &s.url("/d"), &s.url("/e")])
        .output()
        .unwrap();
    assert!(
        stderr(&text).contains("connections: 1 (2.0 requests each)"),
        "{}",
        stderr(&text)
    );
}

#[test]
fn http2_prior_knowledge_shares_one_connection_and_records_say_2() {
    let s = octopus_testserver::H2Server::start_h2c(Default::default()).unwrap();
    let urls: Vec<String> = (0..300).map(|i| s.url(&format!("/delay/20?{i}"))).collect();
    let output = octopus()
        .args(["--json", "-c", "50", "--http2-prior-knowledge"])
        .args(&urls)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let records = records(&output);
    assert_eq!(records.len(), 300);
    assert!(
        records
            .iter()
            .all(|r| r["http_version"] == "2" && r["status"] == 200)
    );
    let summary = json_summary(&output);
    assert_eq!(summary["connections"], 1, "{summary}");
    assert_eq!(summary["exchanges"], 300, "{summary}");
    assert_eq!(s.connections(), 1);
}

#[test]
fn http1_1_and_http2_prior_knowledge_are_curls_flags() {
    // An HTTP/1.1 server whose ALPN would agree to h2 if offered: --http1.1 must not offer it.
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let key = cert.signing_key.serialize_der();
    let alpn: &[&[u8]] = &[b"h2", b"http/1.1"];
    let config = octopus_testserver::tls_config(vec![cert.cert.der().clone()], key, alpn);
    let secure = octopus_testserver::Server::start_tls(config).unwrap();
    let output = octopus()
        .args(["--json", "-k", "--http1.1", &secure.url("/a")])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(records(&output)[0]["http_version"], "1.1");
    assert_eq!(secure.alpn_agreed(), [Some(b"http/1.1".to_vec())]);
    let s = server();
    let clash = octopus()
        .args(["--http1.1", "--http2-prior-knowledge", &s.url("/a")])
        .output()
        .unwrap();
    assert_eq!(clash.status.code(), Some(2), "{}", stderr(&clash));
}

#[test]
fn a_run_short_of_descriptors_closes_idle_connections_and_loses_nothing() {
    // 60 origins (names of one h2c server), each connection idle between its requests.
    // The child holds 100 of its 200 descriptors before octopus starts, so octopus's
    // budget of idle connections (sized for 200) outgrows what is left. Before idle HTTP/2
    // connections were counted in the budget and a request short of descriptors closed
    // idle ones and went again, about 400 of the 600 failed with "Too many open files".
    use std::os::unix::process::CommandExt;
    let s = octopus_testserver::H2Server::start_h2c(Default::default()).unwrap();
    let port = s.addr().port();
    let names: Vec<String> = (0..60).map(|i| format!("n{i}.test")).collect();
    let mut cmd = octopus_std();
    cmd.args(["--json", "-c", "20", "--http2-prior-knowledge"]);
    for name in &names {
        cmd.args(["--resolve", &format!("{name}:{port}:127.0.0.1")]);
    }
    for i in 0..600 {
        cmd.arg(format!("http://{}:{port}/n/{i}", names[i % 60]));
    }
    // SAFETY: setrlimit and open with valid arguments, in the child before it runs
    // octopus; the descriptors opened are inherited (no close-on-exec).
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 200,
                rlim_max: 200,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            for _ in 0..100 {
                if libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let output = cmd.output().unwrap();
    let records = records(&output);
    let failed: Vec<_> = records.iter().filter(|r| r["status"] != 200).collect();
    assert!(
        failed.is_empty(),
        "{} failed: {:?}",
        failed.len(),
        failed.first()
    );
    assert_eq!(records.len(), 600);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}
