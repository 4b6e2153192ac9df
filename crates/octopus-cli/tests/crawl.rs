//! `octopus crawl` against the test server's site (`/site/N`) and crawl trap
//! (`/calendar/N`): records with depth, parent and links, robots.txt honoured or ignored,
//! the summary, the exit status, and the refused options.

mod common;
use common::*;

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
    let stderr = stderr(&out);
    assert!(
        stderr.contains("crawled 31 pages (30 ok, 1 failed)")
            && stderr.contains("15 disallowed by robots.txt, 15 out of scope")
            && stderr.contains("1 robots.txt fetched"),
        "{stderr}"
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
    assert_eq!(s.hits("/robots.txt"), 0);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn what_crawl_does_not_take_yet_is_said_at_once() {
    let s = server();
    for flags in [
        &["--format", "csv"][..],
        &["-o", "out.jsonl"][..],
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
