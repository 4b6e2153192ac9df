"""The Redis per-domain limiter, against a redis-server of the test run's own (the
original's limiter/redis/test_per_domain.py, test_octopus_limited.py and
test_tornado_octopus_limited.py): by hand and applied by the engine, which shares its slots
with the limiter's own `acquire`."""

import logging
import threading
import time
from unittest import mock

import pytest

from octopus import Octopus, TornadoOctopus
from octopus.limiter.redis.per_domain import Limiter as RedisLimiter, redis_url


def test_the_redis_limiter_needs_a_connection():
    with pytest.raises(RuntimeError, match="You must specify a connection to redis"):
        RedisLimiter()


# limiter/redis/test_per_domain.py: all 9.
def test_the_redis_limiter_counts_in_redis_by_hand(redis_client):
    limiter = RedisLimiter({"http://g1.test": 2}, {"http://ge.test": 10}, redis=redis_client,
                           expiration_in_seconds=12)
    assert limiter.redis is redis_client and limiter.expiration_in_seconds == 12
    assert limiter.domains[0]["http://g1.test"] == 2
    assert limiter.get_domain_from_url("http://g1.test/economia/") == "http://g1.test"
    assert limiter.get_domain_limit("http://g1.test/economia/") == 2
    assert limiter.get_domain_limit("http://other.test") == 0
    key = limiter.key("http://g1.test")
    assert key == "octopus:prefix:http://g1.test"
    assert limiter.acquire("http://g1.test/a") and limiter.acquire("http://g1.test/b")
    assert redis_client.zcard(key) == 2
    assert not limiter.acquire("http://g1.test/c")
    limiter.release("http://g1.test/a")
    assert redis_client.zcard(key) == 1
    assert 11 <= redis_client.pttl(key) / 1000 <= 24, "a slot outlives its holder by the expiry"
    with mock.patch.object(logging, "info") as info:
        assert limiter.acquire("http://other.test/x")
        limiter.release("http://other.test/x")
    assert len(info.call_args_list) == 2
    assert redis_client.zcard(limiter.key("http://other.test")) == 0


def test_the_engine_reaches_the_clients_redis(redis_client, redis_server):
    assert redis_url(redis_client) == redis_server.url


# test_octopus_limited.py / test_tornado_octopus_limited.py: the Redis limiter bounds the
# requests in flight; each URL it held back is told to the lock-miss handlers; no slot is
# left taken.
@pytest.mark.parametrize("flavour", [Octopus, TornadoOctopus])
def test_a_redis_limited_octopus_runs_one_at_a_time(server, redis_client, flavour):
    prefix = server.url("/slow/")
    limiter = RedisLimiter({prefix: 1}, redis=redis_client)
    missed = set()
    limiter.subscribe_to_lock_miss(missed.add)
    otto = flavour(concurrency=10, auto_start=True, limiter=limiter)
    got = {}
    for i in range(4):
        otto.enqueue(prefix + str(i), lambda url, r: got.__setitem__(url, r))
    otto.wait(10)
    assert sorted(got) == [prefix + str(i) for i in range(4)]
    assert all(r.status_code == 200 for r in got.values())
    assert server.most == 1
    assert len(missed) == 3, "every URL but the first had to wait"
    assert redis_client.zcard(limiter.key(prefix)) == 0


def test_the_engine_waits_for_a_slot_taken_by_hand(server, redis_client):
    prefix = server.url("/held/")
    released = threading.Event()
    limiter = RedisLimiter({prefix: 1}, redis=redis_client)
    assert limiter.acquire(prefix + "by-hand")
    otto = Octopus(concurrency=4, auto_start=True, limiter=limiter)
    got = []
    otto.enqueue(prefix + "a", lambda url, r: got.append((r, released.is_set())))
    def release():
        time.sleep(0.3)
        released.set()
        limiter.release(prefix + "by-hand")

    threading.Thread(target=release).start()
    otto.wait(10)
    response, after_release = got[0]
    assert response.status_code == 200
    assert after_release, "it started only once the slot was given back"
    assert response.waited > 0
