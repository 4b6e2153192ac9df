//! Requests that wait on no thread, and workers that hand their place over when they block:
//! the concurrency still bounds requests in flight, requests or handlers that block their
//! worker still run as many at once as the concurrency allows (the engine keeps only a few
//! workers running otherwise), and a redirect's next hop waits on no thread either. A gate
//! that opens only when every one of N requests (or handlers) has arrived makes "N at once"
//! a yes-or-no question: with too few workers it never opens, and the test fails at its
//! liveness bound.

mod common;
use common::*;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use octopus::Response;

/// More than the workers the engine lets run at once on any machine these tests run on
/// (twice the cores).
const N: usize = 64;

/// How long a gate waits for everyone before giving up: a liveness bound, not a speed claim.
const LIVENESS: Duration = Duration::from_secs(30);

/// Opens once `n` have arrived; says whether everyone did within the liveness bound. Once
/// a wait has run out, every later arrival is told no at once.
struct Gate {
    /// How many arrived, and whether a wait ran out.
    arrived: Mutex<(usize, bool)>,
    all: Condvar,
    n: usize,
}

impl Gate {
    fn new(n: usize) -> Arc<Gate> {
        Arc::new(Gate {
            arrived: Mutex::new((0, false)),
            all: Condvar::new(),
            n,
        })
    }

    fn pass(&self) -> bool {
        let mut arrived = self.arrived.lock().unwrap();
        arrived.0 += 1;
        self.all.notify_all();
        let (mut arrived, _) = self
            .all
            .wait_timeout_while(arrived, LIVENESS, |(a, broken)| *a < self.n && !*broken)
            .unwrap();
        if arrived.0 < self.n {
            arrived.1 = true;
            self.all.notify_all();
        }
        arrived.0 >= self.n
    }

    /// Wait, without counting as an arrival, until the gate opens; whether it did.
    fn wait_open(&self) -> bool {
        let arrived = self.arrived.lock().unwrap();
        let (arrived, _) = self
            .all
            .wait_timeout_while(arrived, LIVENESS, |(a, broken)| *a < self.n && !*broken)
            .unwrap();
        arrived.0 >= self.n
    }
}

/// A server on loopback: `/hop/…` redirects to `/gate/…`, which answers 200 once `gate`
/// opens (503 if it never does). As a proxy it tunnels to itself (`CONNECT`), and answers
/// a request naming a whole URL by its path.
fn gate_server(gate: Arc<Gate>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let gate = Arc::clone(&gate);
            std::thread::spawn(move || serve(stream, &gate));
        }
    });
    format!("http://{addr}")
}

fn serve(stream: TcpStream, gate: &Gate) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let target = line.split(' ').nth(1).unwrap_or("/");
        // A proxied request names the whole URL.
        let path = match target.strip_prefix("http://") {
            Some(rest) => rest.find('/').map_or("/", |at| &rest[at..]),
            None => target,
        }
        .to_string();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" {
                break;
            }
        }
        if line.starts_with("CONNECT ") {
            // A tunnel to itself: what follows on this connection is served as any other.
            let opened = "HTTP/1.1 200 Connection established\r\n\r\n";
            if out.write_all(opened.as_bytes()).is_err() {
                return;
            }
            continue;
        }
        let answer = match path.strip_prefix("/hop/") {
            Some(rest) => {
                format!("HTTP/1.1 302 Found\r\nLocation: /gate/{rest}\r\nContent-Length: 0\r\n\r\n")
            }
            None if gate.pass() => "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".into(),
            None => "HTTP/1.1 503 Closed\r\nContent-Length: 0\r\n\r\n".into(),
        };
        if out.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// Enqueue `n` requests to `s` whose handlers wait at `gate`: whether each saw it open.
fn gated_handlers(
    otto: &octopus::Octopus,
    s: &Server,
    gate: &Arc<Gate>,
    n: usize,
) -> Arc<Mutex<Vec<bool>>> {
    let passed = Arc::new(Mutex::new(Vec::new()));
    for i in 0..n {
        let (gate, passed) = (Arc::clone(gate), Arc::clone(&passed));
        otto.enqueue(s.url(&format!("/h/{i}")), move |_: &Response| {
            let all = gate.pass();
            passed.lock().unwrap().push(all);
        });
    }
    passed
}

#[test]
fn proxied_requests_run_as_many_as_the_concurrency() {
    // Through a proxy too, every hop waits in the waiting set: all N reach the gate at once.
    let base = gate_server(Gate::new(N));
    let otto = builder()
        .concurrency(N)
        .timeout(LIVENESS * 2)
        .proxy(&base)
        .build()
        .unwrap();
    let statuses = Arc::new(Mutex::new(Vec::new()));
    for i in 0..N {
        let statuses = Arc::clone(&statuses);
        otto.enqueue(format!("{base}/hop/{i}"), move |r: &Response| {
            statuses.lock().unwrap().push(r.status());
        });
    }
    otto.wait();
    let statuses = statuses.lock().unwrap();
    assert_eq!(statuses.len(), N);
    assert!(statuses.iter().all(|s| *s == Some(200)), "{statuses:?}");
}

#[test]
fn handlers_that_block_still_run_as_many_as_the_concurrency() {
    let s = server();
    let otto = builder().concurrency(N).build().unwrap();
    let passed = gated_handlers(&otto, &s, &Gate::new(N), N);
    otto.wait();
    let passed = passed.lock().unwrap();
    assert_eq!(passed.len(), N);
    assert!(
        passed.iter().all(|p| *p),
        "every handler was running at once"
    );
}

#[test]
fn the_concurrency_bounds_requests_waiting_on_no_thread() {
    let s = server();
    let otto = builder().concurrency(5).build().unwrap();
    for i in 0..40 {
        otto.enqueue(s.url(&format!("/delay/100/{i}")), |_: &Response| {});
    }
    otto.wait();
    let peak = s.max_in_flight(&s.addr().to_string());
    assert_eq!(peak, 5, "peak {peak} requests in flight at -c 5");
    assert_eq!(otto.stats().in_flight, 0);
}

#[test]
fn a_redirects_next_hop_waits_on_no_thread() {
    // Half the concurrency's workers are held by handlers that wait at the gate too; the
    // N redirected requests can all reach it at once only if their next hops hold no
    // worker (with a worker each, N + N/2 workers would be needed, over the concurrency).
    let gate = Gate::new(N + N / 2);
    let base = gate_server(Arc::clone(&gate));
    let otto = builder()
        .concurrency(N)
        .timeout(LIVENESS * 2)
        .build()
        .unwrap();
    let answers = meet_at_the_gate(&otto, &gate, |i| format!("{base}/hop/{i}"));
    assert!(answers.iter().all(|a| *a == (Some(200), 1)), "{answers:?}");
}

/// Half the concurrency's workers held by handlers at `gate`, and N requests (to `url(i)`)
/// whose server makes each wait at the same gate (which opens once N + N/2 are there):
/// each request's status and redirects, once every holder saw the gate open.
fn meet_at_the_gate(
    otto: &octopus::Octopus,
    gate: &Arc<Gate>,
    url: impl Fn(usize) -> String,
) -> Vec<(Option<u16>, u32)> {
    let holders = N / 2;
    let s = server();
    let held = gated_handlers(otto, &s, gate, holders);
    let answers = Arc::new(Mutex::new(Vec::new()));
    for i in 0..N {
        let answers = Arc::clone(&answers);
        otto.enqueue(url(i), move |r: &Response| {
            answers.lock().unwrap().push((r.status(), r.redirects()));
        });
    }
    otto.wait();
    let held = held.lock().unwrap();
    assert_eq!(held.len(), holders);
    assert!(held.iter().all(|p| *p), "every holder saw the gate open");
    let answers = answers.lock().unwrap().clone();
    assert_eq!(answers.len(), N);
    answers
}

/// Where a TLS gate server makes each connection wait for the others.
#[derive(Clone, Copy)]
enum At {
    /// Before its handshake (the client has sent its ClientHello).
    Handshake,
    /// Before answering its request.
    Request,
}

/// A TLS server (self-signed certificate) on loopback answering `200 ok` to everything,
/// each connection waiting at `gate` (`at` says when) first; `503` if the gate never
/// opened. Its base URL.
fn tls_gate_server(gate: Arc<Gate>, at: At) -> String {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let key = cert.signing_key.serialize_der();
    let config = octopus_testserver::tls_config(vec![cert.cert.der().clone()], key, &[]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (gate, config) = (Arc::clone(&gate), Arc::clone(&config));
            std::thread::spawn(move || {
                let mut open = matches!(at, At::Request) || gate.pass();
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, stream);
                loop {
                    let mut reader = BufReader::new(&mut tls);
                    let mut line = String::new();
                    let mut lines = 0;
                    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                        line.clear();
                        lines += 1;
                    }
                    if lines == 0 {
                        return;
                    }
                    if matches!(at, At::Request) {
                        open = gate.pass();
                    }
                    let answer: &[u8] = match open {
                        true => b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                        false => b"HTTP/1.1 503 Closed\r\nContent-Length: 0\r\n\r\n",
                    };
                    if tls.write_all(answer).is_err() || tls.flush().is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("https://{addr}")
}

/// Half the concurrency's workers held by handlers at the gate, and N `https` requests to
/// a server that makes each wait at the same gate (`at`): it opens only if the requests
/// wait on no thread there.
fn https_requests_meet_at_the_gate(at: At) {
    let gate = Gate::new(N + N / 2);
    let base = tls_gate_server(Arc::clone(&gate), at);
    let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
    // A name per request: requests to one origin would wait for its first connection
    // (HTTP/2 may carry them all), and only one handshake would be at the gate.
    let mut otto = builder()
        .concurrency(N)
        .timeout(LIVENESS * 2)
        .accept_invalid_certs(true);
    for i in 0..N {
        otto = otto.resolve(&format!("h{i}.gate.test"), port, [127, 0, 0, 1].into());
    }
    let otto = otto.build().unwrap();
    let answers = meet_at_the_gate(&otto, &gate, |i| {
        format!("https://h{i}.gate.test:{port}/{i}")
    });
    assert!(answers.iter().all(|a| *a == (Some(200), 0)), "{answers:?}");
}

#[test]
fn an_https_request_waits_for_its_answer_on_no_thread() {
    https_requests_meet_at_the_gate(At::Request);
}

#[test]
fn an_https_handshake_waits_on_no_thread() {
    https_requests_meet_at_the_gate(At::Handshake);
}

#[test]
fn n_name_lookups_wait_at_once_beside_blocked_handlers() {
    // Each name's first `A` query waits at the gate at the DNS server, with half the
    // concurrency's workers held by handlers there too: the gate opens only if the N
    // lookups wait at once (on no thread, or on workers that handed their place over: this
    // test cannot tell, `a_name_lookup_holds_no_worker_while_its_answer_is_awaited` does).
    // A later query of a name (a retry) does not count again: it is answered once the gate
    // opens.
    let gate = Gate::new(N + N / 2);
    let dns = octopus_testserver::DnsServer::start().unwrap();
    let seen = Arc::new(Mutex::new(std::collections::HashSet::new()));
    let at_the_gate = Arc::clone(&gate);
    dns.before(move |name, kind| match kind {
        "A" if seen.lock().unwrap().insert(name.to_string()) => at_the_gate.pass(),
        "A" => at_the_gate.wait_open(),
        _ => true,
    });
    for i in 0..N {
        dns.add(&format!("n{i}.gate.test"), "127.0.0.1".parse().unwrap());
    }
    let s = server();
    let otto = builder()
        .concurrency(N)
        .dns_concurrency(N)
        .dns_server(dns.addr())
        .timeout(LIVENESS * 2)
        .build()
        .unwrap();
    let port = s.addr().port();
    let holders = N / 2;
    let held = gated_handlers(&otto, &s, &gate, holders);
    let statuses = Arc::new(Mutex::new(Vec::new()));
    for i in 0..N {
        let statuses = Arc::clone(&statuses);
        otto.enqueue(
            format!("http://n{i}.gate.test:{port}/x"),
            move |r: &Response| statuses.lock().unwrap().push(r.status()),
        );
    }
    otto.wait();
    assert!(
        held.lock().unwrap().iter().all(|p| *p),
        "every holder saw the gate open"
    );
    let statuses = statuses.lock().unwrap();
    assert_eq!(statuses.len(), N);
    assert!(statuses.iter().all(|s| *s == Some(200)), "{statuses:?}");
}

#[test]
fn a_name_lookup_holds_no_worker_while_its_answer_is_awaited() {
    // N names whose queries are never answered: each lookup waits for its answer until the
    // request's deadline. Waiting in the set, a few workers run; resumed at once after it
    // began, each lookup held a worker (and the engine started another in its place).
    let dns = octopus_testserver::DnsServer::start().unwrap();
    dns.before(|_, _| false);
    let otto = builder()
        .concurrency(N)
        .dns_concurrency(N)
        .dns_server(dns.addr())
        .timeout(LIVENESS)
        .build()
        .unwrap();
    let urls = (0..N).map(|i| format!("http://n{i}.silent.test/"));
    assert_few_workers_while_all_wait(&otto, urls, "lookups");
}

#[test]
fn a_connect_waits_on_no_thread() {
    // N requests to a listener that answers no SYN (its queue is full): each connect waits
    // until the connect timeout. With a worker each, N workers would be running while they
    // wait; waiting in the set, a few.
    let (port, _hole) = unanswered_port();
    let otto = builder()
        .concurrency(N)
        .connect_timeout(LIVENESS)
        .timeout(LIVENESS * 2)
        .build()
        .unwrap();
    let urls = (0..N).map(|i| format!("http://127.0.0.2:{port}/{i}"));
    assert_few_workers_while_all_wait(&otto, urls, "connects");
}

/// Enqueue the N `urls` (each waits long: the liveness bound), wait until all are in
/// flight, and check that fewer than N/2 workers run meanwhile (with a worker each, N
/// would); then stop.
fn assert_few_workers_while_all_wait(
    otto: &octopus::Octopus,
    urls: impl Iterator<Item = String>,
    what: &str,
) {
    for url in urls {
        otto.enqueue(url, |_: &Response| {});
    }
    let started = std::time::Instant::now();
    while otto.stats().in_flight < N && started.elapsed() < LIVENESS {
        std::thread::sleep(Duration::from_millis(10));
    }
    let stats = otto.stats();
    otto.stop();
    assert_eq!(stats.in_flight, N, "every request started");
    assert!(
        stats.workers < N / 2,
        "{} workers for {N} {what} under way",
        stats.workers
    );
}
