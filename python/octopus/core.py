"""The original's ``Octopus`` on octopus's engine, and ``fetch_all``."""

import threading

from octopus import _octopus
from octopus.model import Response


class TimeoutError(RuntimeError):  # noqa: A001 - the original's name
    """``wait`` ran out of time with URLs not done (the original's exception)."""


class Octopus:
    """Fetch URLs concurrently, calling ``handler(url, response)`` once for each.

    The original's constructor: ``concurrency`` requests in flight at once;
    ``auto_start`` starts at once (else ``start()`` does; URLs enqueued before wait);
    ``cache`` keeps responses for ``expiration_in_seconds`` (a repeat inside it never
    reaches the network, and repeats of a URL being fetched wait for it);
    ``request_timeout_in_seconds`` bounds each whole request; ``limiter`` (an
    ``octopus.limiter.in_memory.per_domain.Limiter``) bounds requests in flight per URL
    prefix.
    """

    def __init__(self, concurrency=10, auto_start=False, cache=False,
                 expiration_in_seconds=30, request_timeout_in_seconds=5, limiter=None):
        self.concurrency = concurrency
        self.auto_start = auto_start
        self.cache = cache
        self.expiration_in_seconds = expiration_in_seconds
        self.request_timeout_in_seconds = request_timeout_in_seconds
        self.limiter = limiter
        self._engine = None
        self._held = []
        self._lock = threading.Lock()
        if auto_start:
            self.start()

    def start(self):
        """Start fetching (what was enqueued before first)."""
        with self._lock:
            if self._engine is None:
                self._engine = _octopus.Engine(
                    concurrency=self.concurrency,
                    timeout=self.request_timeout_in_seconds,
                    cache_ttl=self.expiration_in_seconds if self.cache else None,
                    limits=self.limiter.limits() if self.limiter is not None else [],
                )
            held, self._held = self._held, []
        for url, handler in held:
            self._engine.enqueue(url, _callback(url, handler))

    def enqueue(self, url, handler, method="GET", **kw):
        """Fetch ``url`` and call ``handler(url, response)`` once, on one of the engine's
        threads. Only ``GET`` without keyword arguments is taken so far: anything else is
        a ``TypeError`` that names it."""
        if str(method).upper() != "GET":
            raise TypeError(f"octopus: enqueue() sends GET only so far, not {method!r}")
        if kw:
            names = ", ".join(sorted(kw))
            raise TypeError(f"octopus: enqueue() takes no keyword arguments so far ({names})")
        with self._lock:
            if self._engine is None:
                self._held.append((url, handler))
                return
        self._engine.enqueue(url, _callback(url, handler))

    @property
    def queue_size(self):
        """URLs enqueued whose handler has not returned yet."""
        held = len(self._held)
        return held + (self._engine.pending if self._engine is not None else 0)

    @property
    def is_empty(self):
        """Whether every URL enqueued is done."""
        return self.queue_size == 0

    def wait(self, timeout=10):
        """Wait until every URL enqueued is done, at most ``timeout`` seconds (0: for
        ever); ``TimeoutError`` when some are not. The GIL is released meanwhile; Ctrl-C
        stops the run and raises ``KeyboardInterrupt``."""
        if self._engine is None:
            if self._held:
                raise TimeoutError("octopus: not started (call start(), or auto_start=True)")
            return
        done = self._engine.wait(timeout if timeout and timeout > 0 else None)
        if not done:
            raise TimeoutError(f"octopus: {self.queue_size} URLs not done after {timeout} s")


def _callback(url, handler):
    def call(engine_response):
        handler(url, Response._from_engine(engine_response))
    return call


def fetch_all(urls, concurrency=64, timeout=10.0, connect_timeout=None, cache_ttl=None,
              per_host=None, rate=None, retries=0, insecure=False, limits=()):
    """Fetch every URL of ``urls`` (any iterable of strings, read lazily), ``concurrency``
    at once, and yield their ``Response``s as they complete. Memory stays bounded however
    many URLs there are. Seconds are numbers; ``limits`` are ``(url_prefix, n)`` pairs."""
    engine = _octopus.Engine(concurrency=concurrency, timeout=timeout,
                             connect_timeout=connect_timeout, cache_ttl=cache_ttl,
                             per_host=per_host, rate=rate, retries=retries,
                             insecure=insecure, limits=list(limits))
    for r in engine.fetch_all(urls):
        yield Response._from_engine(r)
