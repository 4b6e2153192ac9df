//! `octopus crawl` against the test server's site (`/site/N`) and crawl trap
//! (`/calendar/N`): records with depth, parent and links, robots.txt honoured or ignored,
//! the summary, the exit status, and the refused options.

mod common;
use common::*;

use serde_json::json;

#[test]
fn a_crawl_prints_each_page_once_with_where_it_was_found() {
    let s = server();
    s.set_robots(200, "User-agent: *\nDisallow: /private/\n");
    let out = octopus()
        .args(["crawl", "--json", "-c", "8"])
        .arg(s.url("/site/0"))
        .output()
        .unwrap();
    let records = records(&out);
    assert_eq!(records.len(), 31, "15 pages, 15 images, one broken link");
    let find = |path: &str| {
        records
            .iter()
            .find(|r| r["url"] == s.url(path))
            .unwrap_or_else(|| panic!("no record for {path}"))
            .clone()
    };
    let seed = find("/site/0");
    assert_eq!(
        (seed["depth"].as_u64(), seed["parent"].is_null()),
        (Some(0), true)
    );
    assert_eq!(
        seed["links"], 7,
        "2 pages, private, broken, away, image, form"
    );
    let deep = find("/site/4");
    assert_eq!(deep["depth"], 2);
    assert_eq!(deep["parent"], s.url("/site/1"));
    assert_eq!(find("/status/404")["status"], 404);
    assert_eq!(s.hits("/private/0"), 0);
    // With --json, fetch's summary line, with the crawl's counts.
    let summary = json_summary(&out);
    assert_eq!(
        (&summary["ok"], &summary["failed"]),
        (&json!(30), &json!(1))
    );
    assert_eq!(
        summary["crawl"],
        json!({"pages": 31, "disallowed": 15, "robots_failed": 0, "out_of_scope": 2,
               "too_deep": 0, "over_limit": 0, "external": 0, "robots": 1, "sitemaps": 0,
               "crawl_delays": 0, "requeued": 0})
    );
    assert_eq!(out.status.code(), Some(1), "a broken link is a failure");
}

#[test]
fn depth_pages_and_robots_can_be_changed() {
    let s = server();
    s.set_robots(200, "User-agent: *\nDisallow: /\n");
    let out = octopus()
        .args([
            "crawl",
            "--ignore-robots",
            "--depth",
            "1000",
            "--max-pages",
            "12",
            "--stats",
        ])
        .arg(s.url("/calendar/0"))
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 12, "{text}");
    assert!(
        text.lines()
            .all(|l| l.starts_with("200 ") && l.contains(" depth=")),
        "{text}"
    );
    assert!(
        text.contains(&format!("from={}", s.url("/calendar/0"))),
        "{text}"
    );
    assert!(stderr(&out).contains("robots.txt ignored (--ignore-robots)"));
    let told = stderr(&out);
    assert!(
        told.contains("[octopus] latency of 12 responses: p50 "),
        "{told}"
    );
    assert!(told.contains("[octopus] statuses: 200: 12"), "{told}");
    assert_eq!(s.hits("/robots.txt"), 0);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn what_crawl_does_not_take_is_said_at_once() {
    let s = server();
    for flags in [
        &["--keep-order", "10"][..],
        &["--shard", "1/2"][..],
        &["--exclude", "(bad"][..],
    ] {
        let out = octopus()
            .arg("crawl")
            .args(flags)
            .arg(s.url("/site/0"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        assert!(stderr(&out).starts_with("octopus: "), "{flags:?}");
    }
    assert_eq!(s.hits("/site/0"), 0);
}

/// The records of a JSON Lines file, and the distinct URLs among them.
fn records_and_urls(path: &std::path::Path) -> (usize, usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut urls: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["url"].to_string())
        .collect();
    let records = urls.len();
    urls.sort();
    urls.dedup();
    (records, urls.len())
}

#[test]
fn a_crawl_killed_at_random_moments_and_resumed_records_every_page_once() {
    let s = server();
    let dir = Dir::new("crawl-kill");
    let out_file = dir.0.join("out.jsonl");
    let out_arg = out_file.display().to_string();
    let args = [
        "crawl", "--json", "-q", "-c", "4", "--depth", "1000", "--resume", "-o", &out_arg,
    ];
    let seed_url = s.url("/web/0");
    let with_seed: Vec<&str> = args.iter().copied().chain([seed_url.as_str()]).collect();
    let Kills { seed, count: kills } = kill_at_random_moments(&with_seed, 20, 150, || {});
    let out = octopus().args(args).arg(s.url("/web/0")).output().unwrap();
    assert!(out.status.success(), "seed {seed}: {}", stderr(&out));
    let text = std::fs::read_to_string(&out_file).unwrap();
    assert_eq!(
        records_and_urls(&out_file),
        (1000, 1000),
        "seed {seed}, {kills} kills: every page recorded, once"
    );
    assert!(
        kills > 0,
        "the crawl was interrupted at least once (seed {seed})"
    );
    // Resumed once more: nothing is left to fetch.
    let requests = s.requests();
    let out = octopus().args(args).arg(s.url("/web/0")).output().unwrap();
    assert!(out.status.success());
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), text);
    assert_eq!(s.requests(), requests, "nothing is fetched");
}

#[test]
fn the_broken_link_report_lists_each_page_with_its_failed_links() {
    let s = server();
    s.set_robots(200, "User-agent: *\nDisallow: /private/\n");
    let port = s.addr().port();
    let dir = Dir::new("crawl-report");
    let out_file = dir.0.join("records.jsonl");
    let resolve = format!("away.test:{port}:127.0.0.1");
    let run = |format: &str| {
        octopus()
            .args(["crawl", "--report", "broken", "--check-external", "-c", "8"])
            .args(["--format", format, "--resolve", &resolve, "-o"])
            .arg(&out_file)
            .arg(s.url("/site/0"))
            .output()
            .unwrap()
    };
    let out = run("json");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = records(&out);
    assert_eq!(report.len(), 15, "every page links to /status/404");
    let page = |n: u64| {
        report
            .iter()
            .find(|r| r["page"] == s.url(&format!("/site/{n}")))
            .unwrap_or_else(|| panic!("no report for /site/{n}"))
            .clone()
    };
    let away = format!("http://away.test:{port}/status/410");
    assert_eq!(
        page(2)["broken"],
        serde_json::json!([
            {"url": s.url("/status/404"), "status": 404, "error": null},
            {"url": away, "status": 410, "error": null},
        ])
    );
    assert_eq!(page(1)["broken"].as_array().map(Vec::len), Some(1));
    let records = std::fs::read_to_string(&out_file).unwrap();
    assert_eq!(records.lines().count(), 33, "the records still go to -o");
    assert_eq!(json_summary(&out)["crawl"]["external"], 2);
    let text = run("text");
    assert!(
        stderr(&text).contains("2 external links checked"),
        "{}",
        stderr(&text)
    );
    let text = stdout(&text);
    let expected = format!(
        "{}\n  404 {}\n  410 {away}\n",
        s.url("/site/0"),
        s.url("/status/404")
    );
    assert!(text.starts_with(&expected), "{text}");
}

#[test]
fn a_sitemap_given_seeds_the_crawl() {
    let s = server();
    let out = octopus()
        .args([
            "crawl",
            "--json",
            "--depth",
            "0",
            "--ignore-robots",
            "--sitemap",
        ])
        .arg(s.url("/sitemap.xml"))
        .arg(s.url("/site/0"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut urls: Vec<String> = records(&out)
        .iter()
        .map(|r| r["url"].as_str().unwrap().to_string())
        .collect();
    urls.sort();
    let expected = ["/calendar/1000", "/calendar/2000?a=1&b=2", "/site/0"];
    assert_eq!(urls, expected.map(|p| s.url(p)));
    assert_eq!(json_summary(&out)["crawl"]["sitemaps"], 1);
    let bad = octopus()
        .args(["crawl", "--sitemap", "not a url"])
        .arg(s.url("/site/0"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("--sitemap not a url: not a URL"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn csv_records_and_the_csv_report_read_back() {
    let s = server();
    s.set_robots(200, "User-agent: *\nDisallow: /private/\n");
    let run = |extra: &[&str]| {
        octopus()
            .args(["crawl", "--format", "csv", "-c", "8", "--depth", "1"])
            .args(extra)
            .arg(s.url("/site/0"))
            .output()
            .unwrap()
    };
    let out = run(&[]);
    let mut reader = csv::Reader::from_reader(&out.stdout[..]);
    let headers = reader.headers().unwrap().clone();
    let tail: Vec<&str> = headers.iter().skip(headers.len() - 3).collect();
    assert_eq!(tail, ["depth", "parent", "links"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(
        rows.len(),
        5,
        "the seed, 2 pages, the image, the broken link"
    );
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let seed = rows
        .iter()
        .find(|r| r[column("url")] == s.url("/site/0"))
        .unwrap();
    assert_eq!((&seed[column("depth")], &seed[column("parent")]), ("0", ""));
    assert_eq!(&seed[column("links")], "7");
    let one = rows
        .iter()
        .find(|r| r[column("url")] == s.url("/site/1"))
        .unwrap();
    assert_eq!(one[column("parent")], s.url("/site/0"));
    let report = run(&["--report", "broken"]);
    let mut reader = csv::Reader::from_reader(&report.stdout[..]);
    assert_eq!(
        reader.headers().unwrap(),
        vec!["page", "url", "status", "error"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    // Every page fetched that links to the broken URL: the seed, and the pages at depth
    // 1 (their links are too deep to follow, but this one was checked).
    let pages: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    let expected = ["/site/0", "/site/1", "/site/2"].map(|p| s.url(p));
    assert_eq!(pages, expected);
    for row in &rows {
        assert_eq!(
            row.iter().skip(1).collect::<Vec<_>>(),
            [s.url("/status/404").as_str(), "404", ""]
        );
    }
}

#[test]
fn ctrl_c_stops_a_crawl_and_resume_finishes_it() {
    let s = server();
    let dir = Dir::new("crawl-interrupt");
    let out_file = dir.0.join("out.jsonl");
    let out_arg = out_file.display().to_string();
    let seed = s.url("/web/0");
    let args = [
        "crawl", "--json", "-c", "2", "--depth", "1000", "--resume", "-o", &out_arg, &seed,
    ];
    let child = octopus_std()
        .args(args)
        .args(["--rate", "50/s"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let recorded = || {
        std::fs::read_to_string(&out_file)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    // The crawl has begun (a guard against a hang, not a speed: 60 s for 5 pages).
    for _ in 0..6000 {
        if recorded() >= 5 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let stopped = child.wait_with_output().unwrap();
    let told = stderr(&stopped);
    assert_eq!(stopped.status.code(), Some(130), "{told}");
    assert!(
        told.contains("octopus: stopping: the pages in flight finish"),
        "{told}"
    );
    assert_eq!(json_summary(&stopped)["stopped"], "interrupted", "{told}");
    let at_stop = recorded();
    assert!(at_stop < 1000, "stopped before the end: {at_stop}");
    let out = octopus().args(args).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(records_and_urls(&out_file), (1000, 1000), "each page once");
    assert_eq!(
        s.hits("/web/0"),
        1,
        "what the stopped crawl recorded is not fetched again"
    );
}

#[test]
fn a_link_to_a_host_whose_robots_txt_fails_is_broken_and_fails_the_run() {
    let s = server();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}/page", closed.local_addr().unwrap());
    drop(closed);
    let seed = s.url(&format!("/links/0?{gone}"));
    let out = octopus()
        .args([
            "crawl", "--json", "--scope", "any", "--depth", "1", "--report", "broken",
        ])
        .arg(&seed)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = records(&out);
    assert_eq!(
        report,
        [json!({"page": seed, "broken": [{"url": gone, "status": null, "error": "connect"}]})]
    );
    assert_eq!(json_summary(&out)["crawl"]["robots_failed"], 1);
}

#[test]
fn robots_txts_sitemaps_are_read_only_with_follow_sitemaps() {
    let s = server();
    s.set_robots(200, &format!("Sitemap: {}\n", s.url("/sitemap.xml")));
    let crawl = |extra: &[&str]| {
        let out = octopus()
            .args(["crawl", "--json", "-q", "--depth", "1"])
            .args(extra)
            .arg(s.url("/html"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let urls: Vec<String> = records(&out)
            .iter()
            .map(|r| r["url"].as_str().unwrap().to_string())
            .collect();
        urls
    };
    assert!(!crawl(&[]).contains(&s.url("/calendar/1000")));
    assert_eq!(s.hits("/sitemap.xml"), 0);
    let followed = crawl(&["--follow-sitemaps"]);
    assert!(followed.contains(&s.url("/calendar/1000")), "{followed:?}");
}

#[test]
fn a_crawl_over_http2_finds_the_same_pages() {
    let s = octopus_testserver::H2Server::start_h2c(Default::default()).unwrap();
    let out = octopus()
        .args(["crawl", "--json", "-c", "8", "--http2-prior-knowledge"])
        .arg(s.url("/site/0"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "one broken link: {}",
        stderr(&out)
    );
    let records = records(&out);
    // No robots.txt here (404): the private pages are crawled too.
    assert_eq!(
        records.len(),
        46,
        "15 pages, 15 private, 15 images, one broken link"
    );
    assert!(
        records.iter().all(|r| r["http_version"] == "2"),
        "{records:?}"
    );
    assert!(s.connections() <= 2, "{} connections", s.connections());
}
