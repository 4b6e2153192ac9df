"""The behaviour the original octopus-http's own test suite (heynemann/octopus, `tests/`,
65 tests) checks, on this package, against servers on 127.0.0.1 (the original's tests
fetched twitter.com and friends). Each test names the original tests it stands for; the
README's "From Python" section lists those that look at the original's internals and why
they differ here.
"""

import logging
import threading
import time
from unittest import mock

import pytest

from octopus import Octopus, TimeoutError, TornadoOctopus
from octopus.cache import Cache
from octopus.limiter import Limiter as BaseLimiter
from octopus.limiter.in_memory.per_domain import Limiter as InMemoryLimiter
from octopus.model import Response


class Collected:
    def __init__(self):
        self.by_url, self.lock = {}, threading.Lock()

    def __call__(self, url, response):
        with self.lock:
            self.by_url[url] = response


# test_cache.py: can_create_cache, get_returns_none_if_not_put, get_returns_none_if_expired,
# can_get_after_put.
def test_the_cache_keeps_a_response_until_it_expires():
    cache = Cache(expiration_in_seconds=45)
    assert cache.expiration_in_seconds == 45 and cache.responses == {}
    assert cache.get("http://a.test/") is None
    cache.put("http://a.test/", "response")
    assert cache.get("http://a.test/") == "response"
    short = Cache(expiration_in_seconds=0.05)
    short.put("http://a.test/", "response")
    time.sleep(0.1)
    assert short.get("http://a.test/") is None
    assert "http://a.test/" not in short.responses


# test_model.py: can_create_response.
def test_a_response_is_made_with_the_originals_fields():
    r = Response(url="http://a.test", status_code=200, headers={"Accept": "*/*"},
                 cookies={"k": "v"}, text="body", effective_url="http://a.test/",
                 error="some error", request_time=10.24)
    assert (r.url, r.status_code, r.headers, r.cookies) == (
        "http://a.test", 200, {"Accept": "*/*"}, {"k": "v"})
    assert (r.text, r.effective_url, r.error, r.request_time) == (
        "body", "http://a.test/", "some error", 10.24)


# limiter/test_base_limiter.py: can_subscribe, can_get_lock_miss (has_bus: see README).
def test_a_limiter_calls_its_lock_miss_handlers():
    limiter = BaseLimiter()
    seen = []
    assert not limiter.has_lock_miss_handlers()
    limiter.subscribe_to_lock_miss(seen.append)
    assert limiter.has_lock_miss_handlers()
    limiter.publish_lock_miss("some-url")
    assert seen == ["some-url"] and limiter.limiter_miss_timeout_ms == 500


# limiter/in_memory/test_per_domain.py: all 8.
def test_the_in_memory_limiter_counts_by_hand():
    limiter = InMemoryLimiter({"http://g1.test": 10}, {"http://ge.test": 10})
    assert limiter.domains[0]["http://g1.test"] == 10
    assert limiter.acquire("http://g1.test/economia/")
    assert limiter.domain_count["http://g1.test"] == 1
    assert limiter.get_domain_from_url("http://g1.test/economia/") == "http://g1.test"
    assert limiter.get_domain_limit("http://g1.test/economia/") == 10
    assert limiter.get_domain_limit("http://other.test") == 0
    limiter.release("http://g1.test/economia/")
    assert limiter.domain_count["http://g1.test"] == 0
    one = InMemoryLimiter({"http://g1.test": 1})
    assert one.acquire("http://g1.test/a") and not one.acquire("http://g1.test/b")
    with mock.patch.object(logging, "info") as info:
        assert one.acquire("http://other.test/x")
        one.release("http://other.test/y")
    assert [c.args[0] for c in info.call_args_list] == [
        "Tried to acquire lock to a domain that was not specified in the limiter "
        "(http://other.test/x).",
        "Tried to release lock to a domain that was not specified in the limiter "
        "(http://other.test/y)."]
    assert set(one.domain_count) == {"http://g1.test"}


# test_octopus.py: can_create_octopus, has_default_concurrency, queue_is_empty,
# can_enqueue_url.
def test_an_octopus_has_the_originals_defaults_and_counts_what_waits():
    otto = Octopus()
    assert (otto.concurrency, otto.auto_start, otto.cache) == (10, False, False)
    assert otto.request_timeout_in_seconds == 5 and otto.is_empty
    assert Octopus(concurrency=20).concurrency == 20
    otto.enqueue("http://127.0.0.1:9/", None)
    assert otto.queue_size == 1


# test_octopus.py: can_get_after_started, can_get_with_auto_start, can_wait,
# wait_returns_automatically_when_empty, can_handle_more_urls_concurrently.
@pytest.mark.parametrize("auto_start", [False, True])
def test_an_octopus_fetches_many_urls_once_started(server, auto_start):
    otto = Octopus(concurrency=4, auto_start=auto_start)
    got = Collected()
    urls = [server.url(f"/page/{i}") for i in range(4)]
    for url in urls:
        otto.enqueue(url, got)
    if not auto_start:
        otto.start()
    otto.wait(0)  # 0: for ever
    assert sorted(got.by_url) == sorted(urls)
    assert all(r.status_code == 200 for r in got.by_url.values())
    otto.wait(5)  # nothing left: returns at once
    assert otto.is_empty


# test_octopus.py: times_out_on_wait (the original's message was empty: see README).
def test_wait_raises_the_originals_timeout_error(server):
    otto = Octopus(concurrency=1, auto_start=True)
    otto.enqueue(server.url("/delay/1000/x"), lambda url, response: None)
    with pytest.raises(TimeoutError, match="1 URLs not done after 0.1 s"):
        otto.wait(0.1)
    otto.wait(0)


# test_octopus.py: can_handle_cached_responses, can_handle_cached_responses_when_not_cached.
def test_the_response_cache_answers_enqueue_at_once(server):
    otto = Octopus(concurrency=1, cache=True)
    planted = mock.Mock(status_code=200, body="whatever")
    otto.response_cache.put(server.url("/planted"), planted)
    got = Collected()
    otto.enqueue(server.url("/planted"), got)
    assert got.by_url[server.url("/planted")] is planted  # on this thread, before start
    calls = []
    for _ in range(4):
        otto.enqueue(server.url("/twice"), lambda url, r: calls.append(r))
    otto.start()
    otto.wait(5)
    assert [r.status_code for r in calls] == [200] * 4
    assert server.hits["/twice"] == 1 and "/planted" not in server.hits


# test_octopus.py: can_handle_invalid_urls, can_handle_timeouts (the original's messages
# were requests'; see README).
def test_octopus_failures_are_599_and_timeouts_500(server, closed_url):
    otto = Octopus(concurrency=2, auto_start=True, request_timeout_in_seconds=0.2)
    got = Collected()
    refused, slow = closed_url, server.url("/delay/2000/t")
    otto.enqueue(refused, got)
    otto.enqueue(slow, got)
    otto.wait(5)
    failed, timed_out = got.by_url[refused], got.by_url[slow]
    assert failed.status_code == 599 and failed.error_kind == "connect"
    assert failed.text and failed.error == failed.text
    assert timed_out.status_code == 500 and timed_out.error_kind == "timeout"
    assert timed_out.error == timed_out.text and "timeout" in timed_out.text


# test_octopus_limited.py: should_not_get_more_than_one_url_for_same_domain_concurrently,
# should_call_limiter_miss_twice (both limiters: see test_limiters.py for Redis).
def test_an_in_memory_limited_octopus_calls_lock_miss_for_each_url_held(server):
    slow = server.url("/slow/")
    limiter = InMemoryLimiter({slow + "g1": 1}, {slow + "ge": 1})
    missed = set()
    limiter.subscribe_to_lock_miss(missed.add)
    otto = Octopus(concurrency=10, auto_start=True, limiter=limiter)
    got = Collected()
    for path in ["g1/a", "g1/b", "ge/a", "ge/b"]:
        otto.enqueue(slow + path, got)
    otto.wait()
    assert len(got.by_url) == 4 and server.most <= 2
    assert len(missed) == 2 and {u.rsplit("/", 2)[1] for u in missed} == {"g1", "ge"}


# test_tornado_octopus.py: can_create_tornado_otto, ..._with_custom_values,
# can_get_queue_info.
def test_a_tornado_octopus_has_the_originals_settings():
    otto = TornadoOctopus()
    assert (otto.concurrency, otto.auto_start, otto.cache) == (10, False, False)
    assert isinstance(otto.response_cache, Cache)
    assert otto.response_cache.expiration_in_seconds == 30
    assert (otto.request_timeout_in_seconds, otto.connect_timeout_in_seconds) == (10, 5)
    assert not otto.ignore_pycurl and otto.running_urls == 0 and otto.url_queue == []
    assert otto.queue_size == 0 and otto.is_empty
    custom = TornadoOctopus(concurrency=20, auto_start=True, cache=True,
                            expiration_in_seconds=60, request_timeout_in_seconds=20,
                            connect_timeout_in_seconds=10, ignore_pycurl=True)
    assert (custom.concurrency, custom.auto_start, custom.cache) == (20, True, True)
    assert custom.response_cache.expiration_in_seconds == 60
    assert (custom.request_timeout_in_seconds, custom.connect_timeout_in_seconds) == (20, 10)
    assert custom.ignore_pycurl


# test_tornado_octopus.py: can_enqueue_url (what waits for start), can_enqueue_and_get_from_
# cache, can_enqueue_and_get_when_cache_miss, can_get_many_urls, can_wait_when_no_urls.
def test_a_tornado_octopus_fetches_and_caches_below_399(server):
    waiting = TornadoOctopus()
    waiting.enqueue(server.url("/"), None, method="GET", headers={"X": "1"})
    assert len(waiting.url_queue) == 1
    otto = TornadoOctopus(cache=True, auto_start=True)
    planted = mock.Mock()
    otto.response_cache.put(server.url("/planted"), planted)
    got = Collected()
    otto.enqueue(server.url("/planted"), got)
    assert got.by_url[server.url("/planted")] is planted and otto.url_queue == []
    for path in ["/ok", "/status/404", "/p/1", "/p/2"]:
        otto.enqueue(server.url(path), got)
    otto.wait(5)
    assert got.by_url[server.url("/status/404")].error == "HTTP 404: Not Found"
    assert got.by_url[server.url("/ok")].error is None
    assert otto.response_cache.get(server.url("/ok")) is not None
    assert otto.response_cache.get(server.url("/status/404")) is None
    otto.wait()  # nothing left: returns at once


# test_tornado_octopus.py: can_handle_invalid_urls, can_handle_timeouts,
# can_handle_exception.
def test_tornado_failures_are_599_without_text_and_handler_errors_are_logged(server, closed_url):
    otto = TornadoOctopus(concurrency=4, auto_start=True, request_timeout_in_seconds=0.2)
    got = Collected()
    refused, slow = closed_url, server.url("/delay/2000/t")
    otto.enqueue(refused, got)
    otto.enqueue(slow, got)
    with mock.patch.object(logging, "exception") as logged:
        otto.enqueue(server.url("/raises"), lambda url, r: 1 / 0)
        otto.wait(5)
    for url in (refused, slow):
        assert got.by_url[url].status_code == 599
        assert got.by_url[url].text is None and got.by_url[url].error
    logged.assert_called_once_with(f"Error calling callback for {server.url('/raises')}.")


# test_tornado_octopus.py: can_handle_wait_timeout, can_wait_when_urls_and_timeout (the
# wait ends when the time is up; the original stopped its IOLoop).
def test_a_tornado_wait_returns_when_its_time_is_up(server):
    otto = TornadoOctopus(auto_start=True)
    otto.enqueue(server.url("/delay/1000/w"), lambda url, r: None)
    otto.wait(0.1)
    assert not otto.is_empty and otto.last_timeout == 0.1
    otto.wait(0)
    assert otto.is_empty


def test_a_tornado_octopus_without_connection_reuse_opens_one_per_request(server):
    otto = TornadoOctopus(concurrency=1, auto_start=True, allow_connection_reuse=False)
    for i in range(5):
        otto.enqueue(server.url(f"/fresh/{i}"), lambda url, r: None)
    otto.wait(5)
    assert server.connections == 5
    reused = TornadoOctopus(concurrency=1, auto_start=True)
    for i in range(5):
        reused.enqueue(server.url(f"/kept/{i}"), lambda url, r: None)
    reused.wait(5)
    assert server.connections == 6
