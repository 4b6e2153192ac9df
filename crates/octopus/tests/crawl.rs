//! `Crawl` against the test server's site (`/site/N`: a tree of 15 pages, each with a
//! private link, a broken one, one out of scope, an image and a form) and its crawl trap
//! (`/calendar/N`): what is fetched, once each, with its depth and parent; robots.txt
//! allowed, disallowed, missing and failing; depth, page limit, patterns, forms.

mod common;
use common::*;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use octopus::{Crawl, Error, Scope};

/// Each URL fetched: its status, depth and parent.
type Fetched = Arc<Mutex<HashMap<String, (Option<u16>, u32, Option<String>)>>>;

fn crawl(s: &Server, crawl: Crawl, seed: &str) -> (octopus::CrawlSummary, Fetched) {
    let fetched: Fetched = Arc::default();
    let seen = Arc::clone(&fetched);
    let summary = crawl
        .run([s.url(seed)], move |response, visit| {
            let entry = (
                response.status(),
                visit.depth(),
                visit.parent().map(str::to_string),
            );
            let before = seen
                .lock()
                .unwrap()
                .insert(response.url().to_string(), entry);
            assert!(before.is_none(), "{} fetched twice", response.url());
        })
        .unwrap();
    (summary, fetched)
}

fn site() -> Crawl {
    Crawl::new(builder().concurrency(8))
}

#[test]
fn a_site_is_crawled_once_each_within_scope_and_robots() {
    let s = server();
    s.set_robots(200, "User-agent: *\nDisallow: /private/\n");
    let (summary, fetched) = crawl(&s, site(), "/site/0");
    let fetched = fetched.lock().unwrap();
    let pages = (0..15).map(|n| format!("/site/{n}"));
    let images = (0..15).map(|n| format!("/img/{n}.png"));
    let mut expected: Vec<String> = pages.chain(images).map(|p| s.url(&p)).collect();
    expected.push(s.url("/status/404"));
    let mut got: Vec<String> = fetched.keys().cloned().collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    assert_eq!(summary.pages, 31);
    assert_eq!(summary.disallowed, 15, "every /private/N");
    assert_eq!(summary.out_of_scope, 15, "the link away, on every page");
    assert_eq!(summary.robots, 1);
    assert_eq!(s.hits("/robots.txt"), 1);
    assert_eq!(s.hits("/private/0"), 0);
    assert_eq!(s.hits("/search"), 0, "forms are not followed");
    assert_eq!(s.hits("/site/1"), 1, "the fragment dropped: one fetch");
    assert_eq!(fetched[&s.url("/site/0")], (Some(200), 0, None));
    assert_eq!(
        fetched[&s.url("/site/4")],
        (Some(200), 2, Some(s.url("/site/1")))
    );
    assert_eq!(fetched[&s.url("/status/404")].0, Some(404));
}

#[test]
fn depth_and_the_page_limit_bound_a_crawl_trap() {
    let s = server();
    let (summary, fetched) = crawl(&s, site().depth(7), "/calendar/0");
    assert_eq!(
        fetched.lock().unwrap().len(),
        8,
        "the seed and 7 links deep"
    );
    assert_eq!(summary.too_deep, 1);
    let (summary, fetched) = crawl(&s, site().depth(1_000).max_pages(20), "/calendar/100");
    assert_eq!(fetched.lock().unwrap().len(), 20);
    assert_eq!(summary.over_limit, 1);
    let (_, fetched) = crawl(&s, site().depth(1), "/site/0");
    let mut got: Vec<String> = fetched.lock().unwrap().keys().cloned().collect();
    got.sort();
    // No robots.txt on this server: /private/0 is fetched.
    let paths = [
        "/img/0.png",
        "/private/0",
        "/site/0",
        "/site/1",
        "/site/2",
        "/status/404",
    ];
    assert_eq!(got, paths.map(|p| s.url(p)));
}

#[test]
fn robots_txt_missing_allows_all_and_failing_disallows_all() {
    let missing = server();
    let (_, fetched) = crawl(&missing, site().depth(1), "/site/0");
    assert!(
        fetched
            .lock()
            .unwrap()
            .contains_key(&missing.url("/private/0"))
    );
    let failing = server();
    failing.set_robots(503, "down");
    let (summary, fetched) = crawl(&failing, site(), "/site/0");
    assert!(fetched.lock().unwrap().is_empty());
    assert_eq!(summary.disallowed, 1, "the seed itself");
    let ignored = server();
    ignored.set_robots(200, "User-agent: *\nDisallow: /\n");
    let (summary, _) = crawl(&ignored, site().robots(false).depth(1), "/site/0");
    assert_eq!(ignored.hits("/robots.txt"), 0);
    assert_eq!(summary.pages, 6);
}

#[test]
fn robots_rules_for_octopus_are_the_ones_honoured() {
    let s = server();
    s.set_robots(
        200,
        "User-agent: *\nDisallow: /\n\nUser-agent: octopus\nDisallow: /img/\n",
    );
    let (summary, fetched) = crawl(&s, site().depth(1), "/site/0");
    let fetched = fetched.lock().unwrap();
    assert!(fetched.contains_key(&s.url("/site/1")));
    assert!(
        fetched.contains_key(&s.url("/private/0")),
        "the `*` group is not ours"
    );
    assert_eq!(s.hits("/img/0.png"), 0);
    assert_eq!(summary.disallowed, 1, "/img/0.png");
}

#[test]
fn patterns_scopes_and_forms_change_what_is_followed() {
    let s = server();
    let (_, fetched) = crawl(
        &s,
        site().exclude(r"/img/").exclude("404").include("/site/"),
        "/site/0",
    );
    assert_eq!(fetched.lock().unwrap().len(), 15, "the pages only");
    let forms = server();
    crawl(&forms, site().depth(1).follow_forms(true), "/site/0");
    assert_eq!(forms.hits("/search"), 1);
    let prefix = server();
    let (_, fetched) = crawl(&prefix, site().scope(Scope::Prefix), "/site/0");
    assert!(fetched.lock().unwrap().keys().all(|u| u.contains("/site/")));
    let bad = Crawl::new(builder())
        .include("(unclosed")
        .run(["http://127.0.0.1/"], |_, _| {});
    assert!(matches!(bad, Err(Error::Pattern { .. })), "{bad:?}");
}
