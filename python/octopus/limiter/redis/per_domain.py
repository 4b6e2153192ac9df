"""The original's Redis per-domain limiter, on octopus's shared limits: every process that
names the same Redis (and key prefix) shares the slots, ``octopus fetch --redis`` too."""

import logging
from urllib.parse import quote

from octopus.limiter.in_memory.per_domain import Limiter as InMemoryLimiter

#: The namespace of the keys, as the engine's (and the command line's) default.
KEY_PREFIX = "octopus"

# Take a slot: leases are members of a sorted set scored by their expiry (ms, Redis's
# clock), as the engine's; expired leases (of a process that died) are dropped first.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return 1
"""


class Limiter(InMemoryLimiter):
    """``Limiter({"http://a.com": 2}, redis=redis.Redis(...), expiration_in_seconds=10)``:
    at most that many requests in flight to URLs under each prefix, counted in Redis
    across every process that uses it.

    ``redis`` is a redis-py client (its connection settings are handed to the engine,
    which keeps connections of its own); ``expiration_in_seconds`` is how long a slot
    outlives a process that died holding it (at least 1); ``key_prefix`` the namespace of
    the keys (``octopus``, as ``octopus fetch --redis``). ``acquire``/``release`` take and
    give back a slot by hand, in the same sets the engine uses.
    """

    def __init__(self, *domains, **kw):
        super().__init__(*domains, limiter_miss_timeout_ms=kw.get("limiter_miss_timeout_ms"))
        if "redis" not in kw:
            raise RuntimeError(
                "You must specify a connection to redis in order to use Redis Limiter.")
        self.redis = kw["redis"]
        self.expiration_in_seconds = float(kw.get("expiration_in_seconds", 10))
        self.key_prefix = kw.get("key_prefix", KEY_PREFIX)

    def key(self, prefix):
        """The sorted set that holds ``prefix``'s slots."""
        return f"{self.key_prefix}:prefix:{prefix}"

    def _lease_ms(self):
        return max(1000, int(self.expiration_in_seconds * 1000))

    def acquire(self, url):
        prefix = self._prefix_of(url, "acquire")
        if prefix is None:
            return True
        taken = self.redis.eval(_ACQUIRE, 1, self.key(prefix), url, self._limit_of(prefix),
                                self._lease_ms())
        if not taken:
            logging.info("Tried to acquire lock for %s but could not." % url)
        return bool(taken)

    def release(self, url):
        prefix = self._prefix_of(url, "release")
        if prefix is None:
            return True
        self.redis.zrem(self.key(prefix), url)

    def engine_settings(self):
        return {
            "limits": self.limits(),
            "redis": redis_url(self.redis),
            "redis_prefix": self.key_prefix,
            "redis_lease": self._lease_ms() / 1000,
        }


def redis_url(client):
    """The ``redis://`` (or ``unix://``) URL of a redis-py client's server."""
    kw = client.connection_pool.connection_kwargs
    db = int(kw.get("db") or 0)
    user, password = kw.get("username"), kw.get("password")
    auth = ""
    if password is not None:
        auth = f"{quote(user or '', safe='')}:{quote(str(password), safe='')}@"
    if kw.get("path"):
        secret = f"&pass={quote(str(password), safe='')}" if password is not None else ""
        return f"unix://{kw['path']}?db={db}{secret}"
    host = kw.get("host", "localhost")
    host = f"[{host}]" if ":" in host else host
    return f"redis://{auth}{host}:{int(kw.get('port', 6379))}/{db}"
