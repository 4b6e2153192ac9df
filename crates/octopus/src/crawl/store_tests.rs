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
