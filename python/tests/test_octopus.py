"""The original's API on octopus's engine, against a real server on 127.0.0.1."""

import json
import os
import signal
import sys
import threading

import pytest

import octopus
from octopus import Octopus, TimeoutError, fetch_all
from octopus.limiter.in_memory.per_domain import Limiter


def collect():
    got, lock = [], threading.Lock()

    def handler(url, response):
        with lock:
            got.append((url, response))

    return got, handler


def test_the_readme_example_runs_and_the_repeat_comes_from_the_cache(server):
    otto = Octopus(concurrency=4, auto_start=True, cache=True, expiration_in_seconds=10)
    got, handler = collect()
    for path in ["/a", "/b", "/c"]:
        otto.enqueue(server.url(path), handler)
    otto.wait()
    otto.enqueue(server.url("/a"), handler)  # will come from the cache
    otto.wait()
    assert sorted(url for url, _ in got) == sorted(server.url(p) for p in ["/a", "/a", "/b", "/c"])
    assert all(r.status_code == 200 and r.text == "ok" for _, r in got)
    assert server.hits["/a"] == 1
    assert [r.cached for url, r in got if url.endswith("/a")] == [False, True]


def test_urls_enqueued_before_start_are_fetched_once_started(server):
    otto = Octopus(concurrency=2)
    got, handler = collect()
    otto.enqueue(server.url("/x"), handler)
    assert otto.queue_size == 1 and not otto.is_empty
    with pytest.raises(TimeoutError):
        otto.wait(timeout=0.1)
    otto.start()
    otto.wait()
    assert [r.status_code for _, r in got] == [200]
    assert otto.is_empty and otto.queue_size == 0
    assert (otto.concurrency, otto.auto_start, otto.cache) == (2, False, False)


def test_wait_raises_timeout_error_and_zero_waits_for_ever(server):
    otto = Octopus(auto_start=True, request_timeout_in_seconds=5)
    got, handler = collect()
    otto.enqueue(server.url("/delay/600"), handler)
    with pytest.raises(TimeoutError):
        otto.wait(timeout=0.05)
    otto.wait(timeout=0)
    assert [r.status_code for _, r in got] == [200]


def test_failures_are_responses_599_and_500_for_a_timeout(server, closed_url):
    otto = Octopus(auto_start=True, request_timeout_in_seconds=0.3)
    got, handler = collect()
    otto.enqueue(closed_url, handler)
    otto.enqueue(server.url("/delay/2000"), handler)
    otto.wait()
    by_kind = {r.error_kind: r for _, r in got}
    assert by_kind["connect"].status_code == 599
    assert "refused" in by_kind["connect"].error.lower()
    assert by_kind["timeout"].status_code == 500
    assert by_kind["timeout"].error


def test_a_handler_that_raises_is_reported_and_the_run_goes_on(server, monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: reported.append(info.exc_value))
    otto = Octopus(concurrency=1, auto_start=True)
    got, handler = collect()

    def broken(url, response):
        raise ValueError("handler bug")

    otto.enqueue(server.url("/1"), broken)
    otto.enqueue(server.url("/2"), handler)
    otto.wait()
    assert [r.status_code for _, r in got] == [200]
    assert [str(e) for e in reported] == ["handler bug"]


def test_enqueue_takes_a_method_and_requests_keywords(server):
    otto = Octopus(auto_start=True)
    got, handler = collect()
    otto.enqueue(server.url("/echo/json"), handler, method="POST", json={"q": [1, 2]},
                 params={"page": 2}, headers={"X-Team": "otto"}, cookies={"a": "1"},
                 auth=("user", "pw"))
    otto.enqueue(server.url("/echo/form"), handler, "put", data={"a": "1", "b": "x y"})
    otto.enqueue(server.url("/echo/raw?k=v"), handler, method="PATCH", data=b"\x00raw",
                 params=[("k", "w")])
    otto.enqueue(server.url("/redirect"), handler, allow_redirects=False)
    otto.enqueue(server.url("/delay/2000/hurried"), handler, timeout=0.2)
    otto.wait()
    said = {url.split("/", 3)[3].split("?")[0]: r for url, r in got}
    posted = json.loads(said["echo/json"].text)
    assert posted["method"] == "POST" and posted["path"] == "/echo/json?page=2"
    assert json.loads(posted["body"]) == {"q": [1, 2]}
    assert posted["headers"]["content-type"] == "application/json"
    assert posted["headers"]["x-team"] == "otto" and posted["headers"]["cookie"] == "a=1"
    assert posted["headers"]["authorization"] == "Basic dXNlcjpwdw=="
    form = json.loads(said["echo/form"].text)
    assert (form["method"], form["body"]) == ("PUT", "a=1&b=x+y")
    assert form["headers"]["content-type"] == "application/x-www-form-urlencoded"
    raw = json.loads(said["echo/raw"].text)
    assert (raw["method"], raw["path"], raw["body"]) == ("PATCH", "/echo/raw?k=v&k=w", "\x00raw")
    assert said["redirect"].status_code == 302 and said["redirect"].redirects == 0
    hurried = said["delay/2000/hurried"]
    assert (hurried.status_code, hurried.error_kind) == (500, "timeout")


def test_what_enqueue_cannot_honour_is_a_type_error_naming_it(server):
    otto = Octopus(auto_start=True)
    with pytest.raises(TypeError, match="files, stream"):
        otto.enqueue(server.url("/"), print, files={"f": b""}, stream=True)
    with pytest.raises(TypeError, match="insecure=True"):
        otto.enqueue(server.url("/"), print, verify=False)
    with pytest.raises(ValueError, match="not an HTTP method"):
        otto.enqueue(server.url("/"), print, method="GE T")
    with pytest.raises(TypeError, match="unexpected setting 'bogus'"):
        Octopus(bogus=1)
    otto.wait()
    assert otto.is_empty


def test_the_response_has_the_originals_fields_and_octopus_own(server):
    otto = Octopus(auto_start=True)
    got, handler = collect()
    otto.enqueue(server.url("/redirect"), handler)
    otto.enqueue(server.url("/cookie"), handler)
    otto.wait()
    responses = {url.rsplit("/", 1)[1]: r for url, r in got}
    redirected = responses["redirect"]
    assert redirected.effective_url == server.url("/ok")
    assert redirected.redirects == 1
    cookie = responses["cookie"]
    assert cookie.cookies == {"a": "1", "b": "two"}
    assert cookie.text == "héllo" and cookie.content == "héllo".encode()
    assert cookie.headers["content-type"] == "text/plain; charset=utf-8"
    assert isinstance(cookie.request_time, float) and cookie.request_time > 0
    assert cookie.error is None and cookie.attempts == 1


def test_the_limiter_bounds_requests_in_flight_per_prefix(server):
    limiter = Limiter({server.url("/slow/"): 1})
    otto = Octopus(concurrency=8, auto_start=True, limiter=limiter)
    got, handler = collect()
    for i in range(6):
        otto.enqueue(server.url(f"/slow/{i}"), handler)
    otto.wait()
    assert len(got) == 6
    assert server.most == 1


def test_many_threads_enqueue_at_once(server):
    otto = Octopus(concurrency=16, auto_start=True)
    got, handler = collect()

    def enqueue_some(t):
        for i in range(50):
            otto.enqueue(server.url(f"/t{t}/{i}"), handler)

    threads = [threading.Thread(target=enqueue_some, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    otto.wait(timeout=0)
    assert len(got) == 400
    assert len({url for url, _ in got}) == 400


def test_fetch_all_yields_every_response_reading_urls_lazily(server):
    taken = []

    def urls():
        for i in range(300):
            taken.append(i)
            yield server.url(f"/n/{i}")

    statuses = [r.status_code for r in fetch_all(urls(), concurrency=32)]
    assert statuses == [200] * 300
    assert len(taken) == 300


def test_ctrl_c_during_wait_raises_keyboard_interrupt(server):
    # A shell starts a background job with SIGINT ignored, and Python keeps it so: give
    # Ctrl-C its usual meaning for this test.
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        ctrl_c_during_wait(server)
    finally:
        signal.signal(signal.SIGINT, before)


def ctrl_c_during_wait(server):
    otto = Octopus(concurrency=4, auto_start=True, request_timeout_in_seconds=2)
    got, handler = collect()
    for i in range(4):
        otto.enqueue(server.url(f"/delay/30000/{i}"), handler)
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        otto.wait(timeout=0)
    # Raised while the requests were still out: a wait that did not look for signals
    # returns only once all four are done (their 2 s timeout), and Python raises then.
    assert len(got) < 4
    otto.wait(timeout=0)
    assert sorted(r.error_kind for _, r in got) == ["timeout"] * 4


def test_the_package_is_imported_as_the_original_is():
    assert octopus.Octopus is Octopus
    assert issubclass(octopus.TimeoutError, RuntimeError)


def test_many_octopuses_one_after_another(server):
    # Each engine's workers keep a Python thread state while they live; those of engines
    # dropped are freed by the next one made (python/src/lib.rs, `free_ended`).
    import gc
    statuses = []
    for i in range(30):
        otto = Octopus(concurrency=4, auto_start=True)
        for j in range(5):
            otto.enqueue(server.url(f"/many/{i}/{j}"), lambda url, r: statuses.append(r.status_code))
        otto.wait()
        del otto
        gc.collect()
    assert statuses == [200] * 150


def test_every_setting_of_the_library_is_an_engine_keyword(tmp_path, monkeypatch):
    from octopus import _octopus

    monkeypatch.chdir(tmp_path)  # examples that are files land here
    names = [name for name, _ in _octopus.settings()]
    assert {"concurrency", "timeout", "connect_timeout", "insecure", "retries",
            "max_redirects", "header", "limit", "redis", "warc", "output_dir"} <= set(names)
    for name, takes in _octopus.settings():
        assert takes, name
        example = _octopus.setting_example(name)
        try:
            engine = _octopus.Engine(**{name: example})
        except ValueError:
            # Taken, then refused by its check (a Redis that does not answer, PEM that is
            # not a certificate): reached all the same.
            continue
        engine.stop()
    with pytest.raises(TypeError, match="unexpected setting 'bogus'"):
        _octopus.Engine(bogus=1)
    with pytest.raises(ValueError, match="timeout 'soon': takes a number of seconds"):
        _octopus.Engine(timeout="soon")


def test_a_responses_body_and_headers_are_made_once(server):
    from octopus import _octopus

    engine = _octopus.Engine(concurrency=2)
    got = list(engine.fetch_all([server.url("/")]))
    assert len(got) == 1
    r = got[0]
    assert r.content is r.content is r.body
    assert r.headers is r.headers
    assert isinstance(r.headers, dict) and isinstance(r.header_list, list)


def test_proxies_in_requests_shape_and_the_environment_as_requests_reads_it(server,
                                                                             monkeypatch):
    got, handler = collect()
    otto = Octopus(concurrency=2, auto_start=True, proxies={"http": server.base})
    otto.enqueue("http://octopus.test/ok", handler)
    otto.wait()
    assert [r.status_code for _, r in got] == [200], got[0][1].error
    assert server.hits["http://octopus.test/ok"] == 1
    assert got[0][1].proxy == server.base and got[0][1].http_version in ("1.0", "1.1")
    # requests reads HTTP_PROXY (uppercase) too, and NO_PROXY.
    for var in ("http_proxy", "https_proxy", "all_proxy", "ALL_PROXY", "HTTPS_PROXY",
                "no_proxy", "NO_PROXY", "REQUEST_METHOD"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.base)
    got, handler = collect()
    otto = Octopus(concurrency=2, auto_start=True)
    otto.enqueue("http://octopus.test/env", handler)
    otto.wait()
    assert [r.status_code for _, r in got] == [200]
    assert server.hits["http://octopus.test/env"] == 1
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    got, handler = collect()
    otto = Octopus(concurrency=2, auto_start=True)
    otto.enqueue(server.url("/direct"), handler)
    otto.wait()
    assert server.hits["/direct"] == 1
    with pytest.raises(TypeError, match="per-host proxies"):
        Octopus(proxies={"http://a.test": server.base})
    # A list is a pool.
    got, handler = collect()
    otto = Octopus(concurrency=2, auto_start=True, proxies=[server.base, server.base])
    otto.enqueue("http://octopus.test/pool", handler)
    otto.wait()
    assert [r.status_code for _, r in got] == [200]
    assert server.hits["http://octopus.test/pool"] == 1


def test_http_version_is_a_setting_as_curls_flags_name_it(server):
    got, handler = collect()
    otto = Octopus(concurrency=2, auto_start=True, http_version="1.1")
    otto.enqueue(server.url("/ok"), handler)
    otto.wait()
    assert [(r.status_code, r.http_version) for _, r in got] == [(200, "1.1")]
    with pytest.raises(ValueError, match="auto, 1.1 or 2-prior-knowledge"):
        Octopus(http_version="3")
