//! The store's unit tests: the seen-set, the frontier, a continued crawl, the report.
use super::*;
use crate::crawl::BrokenLink;

#[test]
fn the_seen_set_is_exact_and_the_frontier_in_order() {
    let mut store = Store::temporary().expect("a store");
    let admit = |s: &mut Store, url: &str| s.admit(url, 1, None, false).expect("admitted");
    store.limits(Some(3), 5);
    assert_eq!(admit(&mut store, "http://a/1"), Admitted::Queued);
    assert_eq!(admit(&mut store, "http://a/2"), Admitted::Queued);
    assert_eq!(admit(&mut store, "http://a/1"), Admitted::Seen);
    assert_eq!(admit(&mut store, "http://a/3"), Admitted::Queued);
    assert_eq!(admit(&mut store, "http://a/4"), Admitted::OverLimit);
    assert_eq!(admit(&mut store, "http://a/4"), Admitted::Seen);
    let taken = store.take(2).expect("taken");
    let urls: Vec<&str> = taken.iter().map(|e| e.url.as_str()).collect();
    assert_eq!(urls, ["http://a/1", "http://a/2"]);
    let rest = store.take(10).expect("taken");
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].url, "http://a/3");
    assert!(store.take(10).expect("taken").is_empty());
}

#[test]
fn a_continued_crawl_fetches_what_was_not_handled_or_not_recorded() {
    let dir = tempfile::tempdir().expect("a directory");
    let path = dir.path().join("state");
    {
        let mut store = Store::open(&path).expect("a store");
        for url in ["http://a/1", "http://a/2", "http://a/3"] {
            store.admit(url, 0, None, false).expect("admitted");
        }
        let taken = store.take(3).expect("taken");
        store.done(taken[0].id, None).expect("done");
        store.done(taken[1].id, None).expect("done");
        store.commit().expect("committed");
        // Stopped here: page 3 was in flight.
    }
    let mut store = Store::open(&path).expect("continued");
    let lost = store
        .requeue_unrecorded(&|url| url != "http://a/2")
        .expect("requeued");
    assert_eq!(lost, 1);
    let urls: Vec<String> = store
        .take(10)
        .expect("taken")
        .into_iter()
        .map(|e| e.url)
        .collect();
    assert_eq!(urls, ["http://a/2", "http://a/3"]);
    assert_eq!(
        store.admit("http://a/1", 1, None, false).expect("admitted"),
        Admitted::Seen
    );
}

#[test]
fn the_report_names_every_page_linking_to_a_failed_url() {
    let mut store = Store::temporary().expect("a store");
    for url in ["http://a/1", "http://a/2", "http://gone/", "http://a/404"] {
        store.admit(url, 0, None, false).expect("admitted");
    }
    let taken = store.take(4).expect("taken");
    let [one, two, gone, missing] = [0, 1, 2, 3].map(|i| taken[i].id);
    for (page, target) in [
        (one, "http://gone/"),
        (one, "http://a/404"),
        (two, "http://gone/"),
    ] {
        store.link(page, target).expect("linked");
    }
    store.link(two, "http://a/1").expect("linked");
    let refused = Failed {
        status: None,
        error: Some("connect"),
    };
    store.done(gone, Some(refused)).expect("done");
    let not_found = Failed {
        status: Some(404),
        error: None,
    };
    store.done(missing, Some(not_found)).expect("done");
    store.done(one, None).expect("done");
    store.done(two, None).expect("done");
    let mut report = Vec::new();
    store
        .broken(&mut |page, links| report.push((page.to_string(), links)))
        .expect("reported");
    let link = |url: &str, status, error: Option<&str>| BrokenLink {
        url: url.to_string(),
        status,
        error: error.map(str::to_string),
    };
    assert_eq!(
        report,
        [
            (
                "http://a/1".to_string(),
                vec![
                    link("http://gone/", None, Some("connect")),
                    link("http://a/404", Some(404), None)
                ]
            ),
            (
                "http://a/2".to_string(),
                vec![link("http://gone/", None, Some("connect"))]
            ),
        ]
    );
}

#[test]
fn a_url_found_closer_moves_closer_whatever_its_state() {
    let mut store = Store::temporary().expect("a store");
    store.limits(None, 3);
    let admit =
        |s: &mut Store, url: &str, depth| s.admit(url, depth, None, false).expect("admitted");
    // Waiting: its depth is the closer one when taken.
    assert_eq!(admit(&mut store, "http://a/waiting", 3), Admitted::Queued);
    assert_eq!(admit(&mut store, "http://a/waiting", 1), Admitted::Seen);
    // Too deep, then within the depth: queued.
    assert_eq!(admit(&mut store, "http://a/deep", 4), Admitted::TooDeep);
    assert_eq!(
        admit(&mut store, "http://a/deep", 4),
        Admitted::Seen,
        "once"
    );
    assert_eq!(
        admit(&mut store, "http://a/deep", 2),
        Admitted::NoLongerTooDeep { over: false }
    );
    let taken = store.take(10).expect("taken");
    let depths: Vec<(&str, u32, bool)> = taken
        .iter()
        .map(|e| (e.url.as_str(), e.depth, e.again))
        .collect();
    assert_eq!(
        depths,
        [("http://a/waiting", 1, false), ("http://a/deep", 2, false)]
    );
    // In flight: its links are taken at the closer depth.
    assert_eq!(admit(&mut store, "http://a/waiting", 0), Admitted::Seen);
    assert_eq!(store.closer(taken[0].id), Some(0));
    assert_eq!(store.closer(taken[0].id), None, "told once");
    // Done: fetched again for its links, while the depth leaves room below it.
    store.done(taken[1].id, None).expect("done");
    assert_eq!(admit(&mut store, "http://a/deep", 1), Admitted::Seen);
    let again = store.take(10).expect("taken");
    assert_eq!(again.len(), 1);
    assert!(again[0].again && again[0].depth == 1, "{}", again[0].url);
    store.done(again[0].id, None).expect("done");
    assert_eq!(admit(&mut store, "http://a/deep", 0), Admitted::Seen);
    assert_eq!(store.take(10).expect("taken").len(), 1);
    // Not closer: nothing.
    assert_eq!(admit(&mut store, "http://a/deep", 3), Admitted::Seen);
    assert!(store.take(10).expect("taken").is_empty());
}

#[test]
fn a_disallowed_url_gives_its_place_under_the_limit_to_the_first_over_it() {
    let mut store = Store::temporary().expect("a store");
    store.limits(Some(2), 5);
    let admit = |s: &mut Store, url: &str| s.admit(url, 1, None, false).expect("admitted");
    assert_eq!(admit(&mut store, "http://a/1"), Admitted::Queued);
    assert_eq!(admit(&mut store, "http://a/private"), Admitted::Queued);
    assert_eq!(admit(&mut store, "http://a/3"), Admitted::OverLimit);
    assert_eq!(admit(&mut store, "http://a/4"), Admitted::OverLimit);
    let taken = store.take(10).expect("taken");
    assert_eq!(taken.len(), 2);
    assert!(store.disallowed(taken[1].id, None).expect("disallowed"));
    let next = store.take(10).expect("taken");
    let urls: Vec<&str> = next.iter().map(|e| e.url.as_str()).collect();
    assert_eq!(
        urls,
        ["http://a/3"],
        "the first over the limit, and no more"
    );
}

#[test]
fn out_of_scope_urls_and_sitemaps_are_rows_counted_once() {
    let mut store = Store::temporary().expect("a store");
    assert!(store.out_of_scope("http://b/").expect("kept"));
    assert!(!store.out_of_scope("http://b/").expect("kept"));
    let sitemap = store.sitemap("http://a/sitemap.xml").expect("a row");
    assert_eq!(
        store.sitemap("http://a/sitemap.xml").expect("a row"),
        sitemap
    );
    assert_eq!(
        store
            .admit("http://a/page", 0, Some(sitemap), false)
            .expect("admitted"),
        Admitted::Queued
    );
    let taken = store.take(10).expect("taken");
    assert_eq!(
        taken.len(),
        1,
        "neither the link out nor the sitemap is fetched"
    );
    assert_eq!(taken[0].parent.as_deref(), Some("http://a/sitemap.xml"));
}
