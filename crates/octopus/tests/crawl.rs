//! `Crawl` against the test server's site (`/site/N`: a tree of 15 pages, each with a
//! private link, a broken one, one out of scope, an image and a form) and its crawl trap
//! (`/calendar/N`): what is fetched, once each, with its depth and parent; robots.txt
//! allowed, disallowed, missing and failing; depth, page limit, patterns, forms.

mod common;
use common::*;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use octopus::{BrokenLink, Crawl, Error, Scope};

/// Each page with broken links, and those.
type Report = Vec<(String, Vec<BrokenLink>)>;

/// Each URL fetched: its status, depth and parent.
type Fetched = Arc<Mutex<HashMap<String, (Option<u16>, u32, Option<String>)>>>;

fn crawl(s: &Server, crawl: Crawl, seed: &str) -> (octopus::CrawlSummary, Fetched) {
    crawl_from(s, crawl, &[seed])
}

fn crawl_from(s: &Server, crawl: Crawl, seeds: &[&str]) -> (octopus::CrawlSummary, Fetched) {
    let fetched: Fetched = Arc::default();
    let seen = Arc::clone(&fetched);
    let seeds: Vec<String> = seeds.iter().map(|seed| s.url(seed)).collect();
    let summary = crawl
        .run(seeds, move |response, visit| {
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

/// Settings under which `away.test` (the site's second host) is this server.
fn away_resolved(s: &Server) -> octopus::Builder {
    let loopback = std::net::Ipv4Addr::LOCALHOST.into();
    builder()
        .concurrency(8)
        .resolve("away.test", s.addr().port(), loopback)
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
    assert_eq!(
        summary.out_of_scope, 2,
        "the two URLs away, each once however many pages link to them"
    );
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
    let (summary, fetched) = crawl(&s, site().depth(1), "/site/0");
    assert_eq!(
        summary.too_deep, 8,
        "/site/3-6, /img/1-2 and /private/1-2, each once (/status/404 is at depth 1)"
    );
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
        site()
            .exclude(r"/img/")
            .exclude(r"/status/404$")
            .include("/site/"),
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

#[test]
fn a_redirects_target_is_seen_and_not_fetched_again() {
    let s = server();
    // One URL at a time: /site/6 queues /site/13; the redirect then reaches it while it
    // waits in the frontier.
    let crawl = site().window(1).depth(1);
    let seeds = ["/site/6", "/redirect-to?url=/site/13"];
    let (summary, fetched) = crawl_from(&s, crawl, &seeds);
    let fetched = fetched.lock().unwrap();
    assert_eq!(s.hits("/site/13"), 1, "through the redirect only");
    assert!(fetched.contains_key(&s.url("/redirect-to?url=/site/13")));
    assert!(!fetched.contains_key(&s.url("/site/13")));
    assert!(fetched.contains_key(&s.url("/site/14")));
    assert_eq!(summary.pages as usize, fetched.len());
}

#[test]
fn external_links_are_checked_once_head_then_get_and_never_followed() {
    let s = server();
    s.set_robots(200, "User-agent: *\nDisallow: /private/\n");
    let port = s.addr().port();
    let builder = away_resolved(&s);
    let (summary, fetched) = crawl(&s, Crawl::new(builder).check_external(true), "/site/0");
    let fetched = fetched.lock().unwrap();
    let away = |path: &str| format!("http://away.test:{port}{path}");
    assert_eq!(fetched[&away("/html")].0, Some(200));
    assert_eq!(fetched[&away("/status/410")].0, Some(410));
    assert_eq!(
        summary.external, 2,
        "each once, however many pages link there"
    );
    assert_eq!(summary.out_of_scope, 0);
    assert_eq!(s.hits("/html"), 1, "HEAD answered: no GET");
    assert_eq!(s.hits("/status/410"), 2, "HEAD failed: GET");
    assert_eq!(summary.pages, 33);
}

#[test]
fn a_crawl_with_a_state_file_continues_what_was_not_recorded() {
    let s = server();
    s.set_robots(200, "User-agent: *\nDisallow: /private/\n");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("crawl.state");
    let (first, fetched) = crawl(&s, site().state(&state), "/site/0");
    assert_eq!(first.pages, 31);
    assert_eq!(fetched.lock().unwrap().len(), 31);
    // Continued, with the record of /site/3 lost: only /site/3 is fetched again (its links
    // were admitted with it, and are seen).
    let lost = s.url("/site/3");
    let kept = move |url: &str| url != lost;
    let (again, fetched) = crawl(&s, site().state(&state).recorded(kept), "/site/0");
    let fetched: Vec<String> = fetched.lock().unwrap().keys().cloned().collect();
    assert_eq!(fetched, [s.url("/site/3")]);
    assert_eq!((again.pages, again.requeued), (1, 1));
    assert_eq!(s.hits("/site/3"), 2);
    assert_eq!(s.hits("/site/0"), 1, "the seed is seen");
    // Continued once more: nothing is left.
    let (done, _) = crawl(&s, site().state(&state), "/site/0");
    assert_eq!(done.pages, 0);
}

#[test]
fn a_state_file_that_is_not_one_and_a_shard_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("not-sqlite");
    std::fs::write(
        &state,
        b"just some text, long enough to not be a database header....",
    )
    .unwrap();
    let s = server();
    let result = site().state(&state).run([s.url("/site/0")], |_, _| {});
    assert!(
        matches!(result, Err(Error::CrawlState { .. })),
        "{result:?}"
    );
    let sharded = Crawl::new(builder().shard(1, 2)).run([s.url("/site/0")], |_, _| {});
    assert!(matches!(sharded, Err(Error::Setting { .. })), "{sharded:?}");
    assert_eq!(s.hits("/site/0"), 0);
}

#[test]
fn broken_links_are_reported_under_every_page_that_links_to_them() {
    let s = server();
    s.set_robots(200, "User-agent: *\nDisallow: /private/\n");
    let port = s.addr().port();
    let builder = away_resolved(&s);
    let report: Arc<Mutex<Report>> = Arc::default();
    let into = Arc::clone(&report);
    let crawl = Crawl::new(builder)
        .check_external(true)
        .broken_links(move |page, links| into.lock().unwrap().push((page.to_string(), links)));
    crawl.run([s.url("/site/0")], |_, _| {}).unwrap();
    let report = report.lock().unwrap();
    assert_eq!(report.len(), 15, "every page links to /status/404");
    for (page, links) in report.iter() {
        let n: u64 = page.rsplit('/').next().unwrap().parse().unwrap();
        let mut expected = vec![(s.url("/status/404"), Some(404))];
        if n % 2 == 0 {
            expected.push((format!("http://away.test:{port}/status/410"), Some(410)));
        }
        let got: Vec<(String, Option<u16>)> =
            links.iter().map(|l| (l.url.clone(), l.status)).collect();
        assert_eq!(got, expected, "{page}");
        assert!(links.iter().all(|l| l.error.is_none()));
    }
}

#[test]
fn sitemaps_given_are_seeds_and_robots_txts_only_when_followed_within_depth_and_scope() {
    let s = server();
    let index = s.url("/sitemap-index.xml");
    s.set_robots(
        200,
        &format!("User-agent: *\nDisallow: /private/\nSitemap: {index}\n"),
    );
    // Not followed unless asked: a crawl of one page is of that page.
    let (summary, fetched) = crawl(&s, site().depth(0), "/site/0");
    assert_eq!(fetched.lock().unwrap().len(), 1);
    assert_eq!((summary.sitemaps, s.hits("/sitemap-index.xml")), (0, 0));
    // Followed: its pages are links of the site's root, one step from it.
    let (summary, fetched) = crawl(&s, site().depth(0).follow_sitemaps(true), "/site/0");
    assert_eq!(fetched.lock().unwrap().len(), 1, "depth 0: the seed only");
    assert_eq!(
        summary.too_deep, 7,
        "/calendar/1000 and 2000 listed; /site/1-2, /private/0, /status/404, /img/0.png linked"
    );
    let (summary, fetched) = crawl(&s, site().depth(1).follow_sitemaps(true), "/site/0");
    let fetched = fetched.lock().unwrap();
    let sitemap = Some(s.url("/sitemap.xml"));
    assert_eq!(fetched[&s.url("/calendar/1000")], (Some(200), 1, sitemap));
    assert!(fetched.contains_key(&s.url("/calendar/2000?a=1&b=2")));
    assert_eq!(
        summary.sitemaps, 2,
        "the index, and the sitemap it names twice"
    );
    assert_eq!(
        summary.out_of_scope, 3,
        "away.test:PORT's /status/410 and /html linked, away.test's /html listed"
    );
    // Given, with robots.txt ignored: seeds, their parent the sitemap.
    let s = server();
    let crawl_given = site()
        .robots(false)
        .depth(0)
        .sitemap(&s.url("/sitemap.xml"));
    let (summary, fetched) = crawl(&s, crawl_given, "/site/0");
    let fetched = fetched.lock().unwrap();
    assert_eq!(fetched.len(), 3);
    let sitemap = Some(s.url("/sitemap.xml"));
    assert_eq!(fetched[&s.url("/calendar/1000")], (Some(200), 0, sitemap));
    assert_eq!((summary.sitemaps, summary.robots), (1, 0));
}

#[test]
fn a_page_found_closer_to_a_seed_gets_its_shortest_depth_and_its_links_followed() {
    let s = server();
    // `/links/MS?HREF` links to HREF. The seed links to a slow page (depth 1) that links to
    // the target, and to a fast chain reaching the target at depth 5. The target links to
    // /status/201: depth 3 by the slow page, 6 by the chain, too deep for a crawl of depth
    // 5 unless the shorter way counts, whichever way is found first.
    let target = "/links/0?/status/201".to_string();
    let slow = format!("/links/400?{target}");
    let chain = (0..4).fold(target.clone(), |inner, _| format!("/links/0?{inner}"));
    let seed = format!("/links/0?{slow},{chain}");
    let (_, fetched) = crawl(&s, site().depth(5).robots(false), &seed);
    let fetched = fetched.lock().unwrap();
    let far = &fetched[&s.url("/status/201")];
    assert_eq!(far.1, 3, "at its shortest distance: {far:?}");
    assert_eq!(far.2, Some(s.url(&target)));
    let depth = fetched[&s.url(&target)].1;
    assert!(depth == 2 || depth == 5, "its depth when fetched: {depth}");
}

#[test]
fn a_crawl_delay_spaces_the_hosts_requests() {
    let s = server();
    s.set_robots(200, "User-agent: *\nCrawl-delay: 0.2\n");
    s.keep_arrivals();
    let (summary, fetched) = crawl(&s, site().depth(3), "/calendar/0");
    assert_eq!(fetched.lock().unwrap().len(), 4);
    assert_eq!(summary.crawl_delays, 1);
    let host = s.addr().to_string();
    let arrivals = s.arrivals(&host);
    assert_eq!(arrivals.len(), 5, "robots.txt, then four pages");
    // A lower bound the engine enforces, not a speed: a slow machine only widens the gaps.
    for pair in arrivals[1..].windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= std::time::Duration::from_millis(195), "{gap:?}");
    }
}

#[test]
fn a_stopped_crawl_keeps_its_frontier_for_the_next() {
    let s = server();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("crawl.state");
    let stop = octopus::CrawlStop::new();
    let stopper = stop.clone();
    let crawl = site().depth(20).state(&state).stop_with(stop);
    let (first, fetched) = {
        let fetched: Fetched = Arc::default();
        let seen = Arc::clone(&fetched);
        let summary = crawl
            .run([s.url("/calendar/0")], move |response, visit| {
                let entry = (response.status(), visit.depth(), None);
                let mut seen = seen.lock().unwrap();
                seen.insert(response.url().to_string(), entry);
                if seen.len() == 3 {
                    stopper.stop();
                }
            })
            .unwrap();
        (summary, fetched)
    };
    assert!(first.stopped);
    let before = fetched.lock().unwrap().len();
    assert!((3..21).contains(&before), "{before}");
    let (rest, fetched) = crawl_from(&s, site().depth(20).state(&state), &["/calendar/0"]);
    assert!(!rest.stopped);
    assert_eq!(
        before + fetched.lock().unwrap().len(),
        21,
        "the seed and 20 links deep, once each"
    );
    assert_eq!(s.hits("/calendar/0"), 1);
}

#[test]
fn a_disallowed_url_does_not_take_a_place_under_the_page_limit() {
    let s = server();
    s.set_robots(200, "User-agent: *\nDisallow: /private/\n");
    let (summary, fetched) = crawl(&s, site().max_pages(6), "/site/0");
    assert_eq!(fetched.lock().unwrap().len(), 6, "{summary:?}");
    assert_eq!(summary.pages, 6);
}

#[test]
fn links_to_a_host_whose_robots_txt_cannot_be_fetched_are_reported_broken() {
    let s = server();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}/page", closed.local_addr().unwrap());
    drop(closed);
    let report: Arc<Mutex<Report>> = Arc::default();
    let into = Arc::clone(&report);
    let crawl = site()
        .scope(Scope::Any)
        .depth(1)
        .broken_links(move |page, links| into.lock().unwrap().push((page.to_string(), links)));
    let seed = s.url(&format!("/links/0?{gone}"));
    let summary = crawl.run([seed.clone()], |_, _| {}).unwrap();
    assert_eq!((summary.robots_failed, summary.disallowed), (1, 0));
    let report = report.lock().unwrap();
    assert_eq!(report.len(), 1, "{report:?}");
    assert_eq!(report[0].0, seed);
    let links: Vec<(&str, Option<u16>, Option<&str>)> = report[0]
        .1
        .iter()
        .map(|l| (l.url.as_str(), l.status, l.error.as_deref()))
        .collect();
    assert_eq!(links, [(gone.as_str(), None, Some("connect"))]);
}

#[test]
fn a_failed_page_only_a_sitemap_lists_is_reported_under_the_sitemap() {
    let s = server();
    let sitemap = s.url("/sitemap.xml?/status/404,/html");
    let report: Arc<Mutex<Report>> = Arc::default();
    let into = Arc::clone(&report);
    let crawl = site()
        .robots(false)
        .depth(0)
        .sitemap(&sitemap)
        .broken_links(move |page, links| into.lock().unwrap().push((page.to_string(), links)));
    crawl.run([s.url("/html")], |_, _| {}).unwrap();
    let report = report.lock().unwrap();
    assert_eq!(report.len(), 1, "{report:?}");
    assert_eq!(report[0].0, sitemap);
    let links: Vec<(&str, Option<u16>)> = report[0]
        .1
        .iter()
        .map(|l| (l.url.as_str(), l.status))
        .collect();
    assert_eq!(links, [(s.url("/status/404").as_str(), Some(404))]);
}
