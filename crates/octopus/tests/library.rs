//! The library API against a real loopback server: the handler contract (one call per
//! enqueue, the cache, panics survived, enqueue from handlers, `wait_timeout`), what a
//! response carries, the limiter, the pull form, stopping, and typed build errors.

mod common;
use common::*;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use octopus::{Error, ErrorKind, Octopus, Response, Setting};

/// Every response handed to a handler, by URL.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Response>>>);

impl Seen {
    fn handler(&self) -> impl FnOnce(&Response) + Send + 'static {
        let seen = self.clone();
        move |r: &Response| seen.0.lock().unwrap().push(r.clone())
    }

    fn all(&self) -> Vec<Response> {
        self.0.lock().unwrap().clone()
    }

    fn by_url(&self) -> HashMap<String, Vec<Response>> {
        let mut map: HashMap<String, Vec<Response>> = HashMap::new();
        for r in self.all() {
            map.entry(r.url().to_string()).or_default().push(r);
        }
        map
    }
}

#[test]
fn each_enqueue_gets_one_call_and_repeats_come_from_the_cache() {
    let s = server();
    let otto = builder()
        .concurrency(4)
        .cache_ttl(Duration::from_secs(10))
        .build()
        .unwrap();
    let seen = Seen::default();
    for path in ["/a", "/a", "/b", "/a"] {
        otto.enqueue(s.url(path), seen.handler());
    }
    otto.wait();
    let by_url = seen.by_url();
    assert_eq!(by_url[&s.url("/a")].len(), 3);
    assert_eq!(by_url[&s.url("/b")].len(), 1);
    assert_eq!(s.hits("/a"), 1, "repeats never reached the server");
    let fetched = by_url[&s.url("/a")].iter().filter(|r| !r.cached()).count();
    assert_eq!(fetched, 1);
    assert!(by_url[&s.url("/a")].iter().all(|r| r.status() == Some(200)));
    assert_eq!(otto.stats().pending, 0);
}

#[test]
fn a_response_carries_status_headers_body_and_how_it_went() {
    let s = server();
    let otto = builder().build().unwrap();
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", l.local_addr().unwrap())
    };
    let seen = Seen::default();
    for url in [s.url("/html"), s.url("/redirect/2"), refused.clone()] {
        otto.enqueue(url, seen.handler());
    }
    otto.enqueue("ftp://files.example/x", seen.handler());
    otto.wait();
    let by_url = seen.by_url();

    let page = &by_url[&s.url("/html")][0];
    assert_eq!((page.status(), page.ok()), (Some(200), true));
    assert_eq!(page.header("content-type"), Some("text/html"));
    assert_eq!(page.content_type(), Some("text/html"));
    assert!(
        page.text()
            .unwrap()
            .contains("<title>Octopus test page</title>")
    );
    assert_eq!(page.bytes(), page.body().len() as u64);
    assert_eq!(
        (page.attempts(), page.cached(), page.error()),
        (1, false, None)
    );

    let moved = &by_url[&s.url("/redirect/2")][0];
    assert_eq!(moved.redirects(), 2);
    assert_eq!(moved.final_url(), Some(s.url("/redirect/0").as_str()));
    assert_eq!(moved.text(), Some("arrived\n"));

    let down = &by_url[&refused][0];
    assert_eq!(down.status(), None);
    assert_eq!(down.error().map(|f| f.kind()), Some(ErrorKind::Connect));
    assert!(!down.ok());
    assert!(down.error().unwrap().to_string().starts_with("connect: "));

    let invalid = &by_url["ftp://files.example/x"][0];
    assert_eq!(
        invalid.error().map(|f| f.kind()),
        Some(ErrorKind::InvalidUrl)
    );
    assert_eq!(invalid.attempts(), 0);
}

#[test]
fn without_bodies_only_their_size_is_kept() {
    let s = server();
    let otto = builder()
        .keep_bodies(false)
        .keep_headers(false)
        .build()
        .unwrap();
    let seen = Seen::default();
    otto.enqueue(s.url("/bytes/5000"), seen.handler());
    otto.wait();
    let r = &seen.all()[0];
    assert_eq!((r.bytes(), r.body().len()), (5000, 0));
    assert!(r.headers().is_empty());
    assert_eq!(r.content_type(), Some("application/octet-stream"));
}

#[test]
fn a_panicking_handler_loses_nothing_else() {
    let s = server();
    let otto = builder().concurrency(2).build().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    for i in 0..20 {
        let calls = Arc::clone(&calls);
        otto.enqueue(s.url(&format!("/p/{i}")), move |_: &Response| {
            calls.fetch_add(1, Ordering::SeqCst);
            if i % 2 == 0 {
                panic!("handler {i} fails on purpose");
            }
        });
    }
    otto.wait();
    assert_eq!(calls.load(Ordering::SeqCst), 20);
    assert_eq!(otto.stats().handler_panics, 10);
    // The workers are still there.
    let seen = Seen::default();
    otto.enqueue(s.url("/after"), seen.handler());
    otto.wait();
    assert_eq!(seen.all()[0].status(), Some(200));
}

#[test]
fn handlers_can_enqueue_more_urls() {
    // A crawler: each page at depth < 3 enqueues two children.
    fn visit(otto: &Octopus, base: String, path: String, depth: u32, seen: Seen) {
        let child = otto.clone();
        otto.enqueue(format!("{base}{path}"), move |r: &Response| {
            seen.0.lock().unwrap().push(r.clone());
            if depth < 3 {
                for k in 0..2 {
                    let path = format!("{path}/{k}");
                    visit(&child, base.clone(), path, depth + 1, seen.clone());
                }
            }
        });
    }
    let s = server();
    let otto = builder().concurrency(3).build().unwrap();
    let seen = Seen::default();
    visit(&otto, s.url(""), "/crawl".into(), 0, seen.clone());
    otto.wait();
    assert_eq!(seen.all().len(), 1 + 2 + 4 + 8);
    assert_eq!(s.requests(), 15);
}

#[test]
fn wait_timeout_says_whether_everything_is_done() {
    let s = server();
    let otto = builder().build().unwrap();
    otto.enqueue(s.url("/delay/400"), |_: &Response| {});
    assert!(!otto.wait_timeout(Duration::from_millis(1)));
    assert!(otto.wait_timeout(Duration::from_secs(30)));
    assert!(otto.wait_timeout(Duration::ZERO), "nothing left");
}

#[test]
fn wait_inside_a_handler_returns_at_once() {
    let s = server();
    let otto = builder().build().unwrap();
    let inner = otto.clone();
    let returned = Arc::new(AtomicUsize::new(0));
    let flag = Arc::clone(&returned);
    otto.enqueue(s.url("/w"), move |_: &Response| {
        inner.wait();
        assert!(!inner.wait_timeout(Duration::from_secs(60)));
        flag.fetch_add(1, Ordering::SeqCst);
    });
    otto.wait();
    assert_eq!(returned.load(Ordering::SeqCst), 1);
}

#[test]
fn urls_can_come_from_many_threads() {
    let s = server();
    let otto = builder().concurrency(8).build().unwrap();
    let seen = Seen::default();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let (otto, seen, s) = (otto.clone(), seen.clone(), &s);
            scope.spawn(move || {
                for i in 0..50 {
                    otto.enqueue(s.url(&format!("/t/{t}/{i}")), seen.handler());
                }
            });
        }
    });
    otto.wait();
    assert_eq!(seen.all().len(), 200);
    assert_eq!(s.requests(), 200);
}

#[test]
fn the_prefix_limiter_bounds_requests_in_flight() {
    let s = server();
    let otto = builder()
        .concurrency(10)
        .limit(&s.url("/"), 2)
        .build()
        .unwrap();
    let seen = Seen::default();
    for i in 0..20 {
        otto.enqueue(s.url(&format!("/delay/30/{i}")), seen.handler());
    }
    otto.wait();
    assert_eq!(seen.all().len(), 20);
    let max = s.max_in_flight(&s.addr().to_string());
    assert!((1..=2).contains(&max), "{max} in flight at once");
    assert!(seen.all().iter().any(|r| !r.waited().is_zero()));
}

#[test]
fn fetch_all_answers_every_request_and_takes_them_lazily() {
    let s = server();
    let otto = builder().concurrency(2).lookahead(3).build().unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    let base = s.url("/pull");
    let urls = (0..300).map(move |i| {
        counter.fetch_add(1, Ordering::SeqCst);
        format!("{base}/{i}")
    });
    let mut read = 0;
    let mut most_ahead = 0;
    for r in otto.fetch_all(urls).unwrap() {
        assert_eq!(r.status(), Some(200));
        read += 1;
        most_ahead = most_ahead.max(pulled.load(Ordering::SeqCst) - read);
    }
    assert_eq!(read, 300);
    // Taken ahead: at most the window (look-ahead 3 + concurrency 2), plus one being read.
    assert!(
        most_ahead <= 6,
        "{most_ahead} requests taken ahead of the responses"
    );
}

#[test]
fn stop_cancels_what_has_not_started() {
    let s = server();
    let otto = builder().concurrency(1).build().unwrap();
    let seen = Seen::default();
    let (started, stopped) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let gates = (Arc::clone(&started), Arc::clone(&stopped));
    otto.enqueue(s.url("/first"), move |_: &Response| {
        gates.0.wait();
        gates.1.wait();
    });
    for i in 0..5 {
        otto.enqueue(s.url(&format!("/later/{i}")), seen.handler());
    }
    // The first handler holds the only worker: the others are still waiting.
    started.wait();
    otto.stop();
    otto.enqueue(s.url("/after-stop"), seen.handler());
    stopped.wait();
    otto.wait();
    assert!(otto.is_stopped());
    let all = seen.all();
    assert_eq!(all.len(), 6);
    assert!(
        all.iter()
            .all(|r| r.error().map(|f| f.kind()) == Some(ErrorKind::Cancelled)),
        "{all:?}"
    );
    assert_eq!(s.requests(), 1);
}

#[test]
fn bad_settings_are_typed_errors_naming_the_setting() {
    let setting_of = |b: octopus::Builder| match b.build() {
        Err(Error::Setting { setting, .. }) => setting,
        Err(other) => panic!("not a setting error: {other}"),
        Ok(_) => panic!("accepted"),
    };
    assert_eq!(setting_of(builder().concurrency(0)), Setting::Concurrency);
    assert_eq!(
        setting_of(builder().timeout(Duration::ZERO)),
        Setting::Timeout
    );
    let too_long = Duration::from_secs(400 * 24 * 3600);
    assert_eq!(setting_of(builder().timeout(too_long)), Setting::Timeout);
    assert_eq!(setting_of(builder().rate(1e-30)), Setting::Rate);
    assert_eq!(setting_of(builder().rate(f64::NAN)), Setting::Rate);
    assert_eq!(
        setting_of(builder().header("X-A", "ok\r\nInjected: 1")),
        Setting::Header
    );
    assert_eq!(
        setting_of(builder().method("NOT A METHOD")),
        Setting::Method
    );
    assert_eq!(
        setting_of(builder().ok_status([600..=1000])),
        Setting::OkStatus
    );
    assert_eq!(
        setting_of(builder().retry_on([]).retries(1)),
        Setting::RetryOn
    );
    assert_eq!(setting_of(builder().limit("", 2)), Setting::Limit);
    assert_eq!(setting_of(builder().per_host(0)), Setting::PerHost);
    assert_eq!(
        setting_of(builder().retry_delay(Duration::MAX)),
        Setting::RetryDelay
    );
    // Each setting's own check, as the builder's table declares it.
    let checked = [
        (
            builder().connect_timeout(Duration::ZERO),
            Setting::ConnectTimeout,
        ),
        (builder().cache_ttl(too_long), Setting::CacheTtl),
        (builder().delay(too_long), Setting::Delay),
        (builder().max_retry_wait(too_long), Setting::MaxRetryWait),
        (builder().redis_outage(too_long), Setting::RedisOutage),
        (
            builder().redis_lease(Duration::from_millis(500)),
            Setting::RedisLease,
        ),
        (builder().redis_prefix(""), Setting::RedisPrefix),
        (builder().lookahead(0), Setting::Lookahead),
        (builder().limit("http://a/", 0), Setting::Limit),
        (
            builder().concurrency(octopus::MAX_CONCURRENCY + 1),
            Setting::Concurrency,
        ),
    ];
    for (refused, setting) in checked {
        assert_eq!(setting_of(refused), setting);
    }
    let message = builder().concurrency(0).build().err().unwrap().to_string();
    assert!(message.contains("concurrency"), "{message}");
}

#[test]
fn settings_have_one_kebab_case_name_each() {
    let names: std::collections::BTreeSet<_> = Setting::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(names.len(), Setting::ALL.len(), "{names:?}");
    for name in names {
        let kebab = name.chars().all(|c| c.is_ascii_lowercase() || c == '-');
        assert!(kebab && !name.starts_with('-'), "{name}");
    }
    assert_eq!(Setting::ConnectTimeout.to_string(), "connect-timeout");
}

#[test]
fn builders_start_from_the_defaults() {
    use octopus::defaults;
    let explicit = Octopus::builder()
        .concurrency(defaults::CONCURRENCY)
        .timeout(defaults::TIMEOUT)
        .connect_timeout(defaults::CONNECT_TIMEOUT)
        .max_redirects(defaults::MAX_REDIRECTS)
        .max_body(defaults::MAX_BODY)
        .ok_status(defaults::OK_STATUS.to_vec())
        .cache_size(defaults::CACHE_SIZE)
        .lookahead(defaults::LOOKAHEAD)
        .retries(defaults::RETRIES)
        .retry_on(defaults::RETRY_ON.to_vec())
        .retry_delay(defaults::RETRY_DELAY)
        .max_retry_wait(defaults::MAX_RETRY_WAIT)
        .save_layout(defaults::LAYOUT)
        .shard_by(defaults::SHARD_BY)
        .redis_prefix(defaults::REDIS_PREFIX)
        .redis_lease(defaults::REDIS_LEASE)
        .redis_outage(defaults::REDIS_OUTAGE);
    assert_eq!(explicit, Octopus::builder());
    assert_ne!(Octopus::builder().concurrency(7), Octopus::builder());
}

#[test]
fn handles_and_pulls_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Octopus>();
    send_sync::<Response>();
    send_sync::<Error>();
    send::<octopus::Responses>();
}

#[test]
fn workers_start_as_work_arrives() {
    let s = server();
    let otto = builder().concurrency(1000).build().unwrap();
    let seen = Seen::default();
    otto.enqueue(s.url("/one"), seen.handler());
    otto.wait();
    let started = otto.stats().workers;
    assert!(started <= 2, "one URL started {started} of 1000 workers");
    for i in 0..40 {
        otto.enqueue(s.url(&format!("/delay/20/{i}")), seen.handler());
    }
    otto.wait();
    assert_eq!(seen.all().len(), 41);
    assert!(otto.stats().workers <= 1000);
}

#[test]
fn a_handler_runs_before_its_worker_takes_another_request() {
    // One worker: while A's handler runs, B must not be started (counted in flight): a
    // request taken before a slow handler returns would hold its host's slot, and its
    // place in the delay's spacing, for the handler's whole run.
    let s = server();
    let otto = builder().concurrency(1).build().unwrap();
    let seen_in_flight = Arc::new(Mutex::new(None));
    let (probe, seen) = (otto.clone(), Arc::clone(&seen_in_flight));
    otto.enqueue(s.url("/a"), move |_| {
        *seen.lock().unwrap() = Some(probe.stats().in_flight);
    });
    otto.enqueue(s.url("/b"), |_| {});
    otto.wait();
    assert_eq!(*seen_in_flight.lock().unwrap(), Some(0));
    assert_eq!(s.hits("/b"), 1);
}

#[test]
fn failures_speak_of_the_librarys_settings_not_of_flags() {
    let s = server();
    let otto = builder()
        .timeout(Duration::from_millis(300))
        .max_redirects(1)
        .max_body(10)
        .build()
        .unwrap();
    let paths = ["/stall", "/redirect/3", "/bytes/100"];
    let responses = fetch_paths(&otto, &s, &paths);
    for (path, setting) in paths
        .iter()
        .zip(["(timeout)", "(max-redirects)", "max-body"])
    {
        let failure = responses[*path]
            .error()
            .unwrap_or_else(|| panic!("{path} failed"));
        let message = failure.message();
        assert!(
            message.contains(setting) && !message.contains("--"),
            "{path}: {message}"
        );
    }
}

#[test]
fn a_pull_can_be_read_with_a_bound_on_each_wait() {
    let s = server();
    let otto = builder().build().unwrap();
    let mut responses = otto.fetch_all(vec![s.url("/delay/300/a")]).unwrap();
    // Not there yet after a millisecond: the wait ends, nothing lost.
    assert!(responses.next_timeout(Duration::from_millis(1)).is_none());
    let response = loop {
        if let Some(next) = responses.next_timeout(Duration::from_millis(50)) {
            break next.expect("one response");
        }
    };
    assert_eq!(response.status(), Some(200));
    let end = loop {
        if let Some(next) = responses.next_timeout(Duration::from_millis(50)) {
            break next;
        }
    };
    assert!(end.is_none(), "then the end");
}
