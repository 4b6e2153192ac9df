"""The original's ``Octopus`` on octopus's engine, and ``fetch_all``."""

import copy
import threading
import urllib.request
from typing import Any, Callable, Iterable, Iterator, Optional

from octopus import _octopus
from octopus._kwargs import request_of
from octopus.cache import Cache
from octopus.model import Response


class TimeoutError(RuntimeError):  # noqa: A001 - the original's name
    """``wait`` ran out of time with URLs not done (the original's exception)."""


class ResponseError:
    """The original's stand-in for a response that never came. octopus hands handlers a
    ``Response`` with status 599 (or 500 for a timeout) instead; the class stays so that
    code importing it runs."""

    def __init__(self, url, status_code, text, error=None, elapsed=None):
        self.url = url
        self.status_code = status_code
        self.text = text
        self.error = error
        self.headers = {}
        self.cookies = {}
        self.effective_url = url
        self.elapsed = elapsed

    def close(self):
        pass


def proxy_settings(proxies: Any) -> dict[str, Any]:
    """The engine's proxy settings for requests' ``proxies`` (the environment's as
    ``urllib.request.getproxies()`` reads it, as requests does, when ``None``; a list is a
    pool)."""
    if isinstance(proxies, (list, tuple)):
        return {"proxy_from_env": False, "proxies": [str(p) for p in proxies]}
    if proxies is None:
        proxies = urllib.request.getproxies()
    made: dict[str, Any] = {"proxy_from_env": False}
    names = {"all": "proxy", "http": "http_proxy", "https": "https_proxy",
             "no": "noproxy", "no_proxy": "noproxy"}
    for key, value in proxies.items():
        if "://" in key:
            raise TypeError(f"octopus: per-host proxies are not supported ({key!r}); give "
                            "them by scheme (http, https, all) and no_proxy")
        if key in names and value is not None:
            made[names[key]] = str(value)
    return made


class Octopus:
    """Fetch URLs concurrently, calling ``handler(url, response)`` once for each.

    The original's constructor: ``concurrency`` requests in flight at once;
    ``auto_start`` starts at once (else ``start()`` does; URLs enqueued before wait);
    ``cache`` keeps responses for ``expiration_in_seconds`` in ``response_cache`` (a repeat
    inside it never reaches the network, and repeats of a URL being fetched wait for it);
    ``request_timeout_in_seconds`` bounds each whole request; ``limiter`` (from
    ``octopus.limiter``) bounds requests in flight per URL prefix.

    ``proxies`` is in requests' shape (``{"http": URL, "https": URL, "all": URL,
    "no_proxy": "a.test,10.0.0.0/8"}``; ``socks5h://`` and the other schemes octopus
    speaks); without it, the environment as requests reads it (``urllib``'s
    ``getproxies()``: ``HTTP_PROXY`` or ``http_proxy``, but not ``HTTP_PROXY`` in a CGI
    program; ``NO_PROXY``); a list of proxy URLs is a pool requests are spread over.

    Any other keyword is one of the engine's settings, as ``fetch_all`` takes them
    (``per_host``, ``rate``, ``retries``, ``insecure``, ``headers``, …).
    """

    _tornado = False

    def __init__(self, concurrency: int = 10, auto_start: bool = False, cache: bool = False,
                 expiration_in_seconds: float = 30, request_timeout_in_seconds: float = 5,
                 limiter: Optional[Any] = None, proxies: Optional[Any] = None,
                 **settings: Any) -> None:
        self.concurrency = concurrency
        self.auto_start = auto_start
        self.cache = cache
        self.expiration_in_seconds = expiration_in_seconds
        self.response_cache = Cache(expiration_in_seconds=expiration_in_seconds)
        self.request_timeout_in_seconds = request_timeout_in_seconds
        self.limiter = limiter
        self._started = False
        self._held: list[tuple[str, Any, str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self.proxies = proxies
        self._engine = _octopus.Engine(**self._engine_settings(settings))
        if auto_start:
            self.start()

    def _engine_settings(self, settings):
        made = dict(concurrency=self.concurrency, timeout=self.request_timeout_in_seconds,
                    cache_ttl=self.expiration_in_seconds if self.cache else None)
        if self.limiter is not None:
            made.update(self.limiter.engine_settings())
        if not {"proxy", "http_proxy", "https_proxy"} & set(settings):
            made.update(proxy_settings(self.proxies))
        made.update(settings)
        return made

    def start(self) -> None:
        """Start fetching (what was enqueued before first)."""
        with self._lock:
            self._started = True
            held, self._held = self._held, []
        for url, handler, target, shape in held:
            self._send(url, handler, target, shape)

    def enqueue(self, url: str, handler: Optional[Callable[[str, Response], Any]],
                method: str = "GET", **kw: Any) -> None:
        """Fetch ``url`` and call ``handler(url, response)`` once, on one of the engine's
        threads (at once, on this one, when ``cache`` holds its response). ``method`` and
        the keywords are as ``requests`` takes them: ``params``, ``headers``, ``cookies``,
        ``data``, ``json``, ``auth``, ``allow_redirects``, ``timeout``, ``verify=True``;
        anything else is a ``TypeError``. A request with keywords or a method other than
        GET is fetched on its own (never from the cache)."""
        if self.cache:
            cached = self.response_cache.get(url)
            if cached is not None:
                if isinstance(cached, Response):
                    cached = copy.copy(cached)
                    cached.cached = True
                if handler is not None:
                    handler(url, cached)
                return
        # The common case, a GET with no keywords, is sent as the engine's settings say.
        plain = not kw and method == "GET"
        target, shape = (url, {}) if plain else request_of(url, method, kw)
        with self._lock:
            if not self._started:
                self._held.append((url, handler, target, shape))
                return
        self._send(url, handler, target, shape)

    def _send(self, url, handler, target, shape):
        self._engine.enqueue(target, self._callback(url, handler, not shape), **shape)

    def _callback(self, url, handler, cacheable):
        def call(engine_response):
            response = Response._from_engine(engine_response, tornado=self._tornado)
            limiter = self.limiter
            if (limiter is not None and response.waited > 0
                    and limiter.get_domain_from_url(url) is not None):
                limiter.publish_lock_miss(url)
            if self.cache and cacheable and self._caches(response):
                self.response_cache.put(url, response)
            if handler is not None:
                self._call(handler, url, response)
        return call

    def _caches(self, response):
        """Whether a response goes into ``response_cache`` (the original kept them all)."""
        return True

    def _call(self, handler, url, response):
        # What it raises goes to sys.unraisablehook; the run goes on.
        handler(url, response)

    @property
    def queue_size(self) -> int:
        """URLs enqueued whose handler has not returned yet."""
        return len(self._held) + self._engine.pending

    @property
    def is_empty(self) -> bool:
        """Whether every URL enqueued is done."""
        return self.queue_size == 0

    def wait(self, timeout: float = 10) -> None:
        """Wait until every URL enqueued is done, at most ``timeout`` seconds (0: for
        ever); ``TimeoutError`` when some are not. The GIL is released meanwhile; Ctrl-C
        stops the run and raises ``KeyboardInterrupt``."""
        if not self._finish(timeout):
            raise TimeoutError(f"octopus: {self.queue_size} URLs not done after {timeout} s")

    def _finish(self, timeout):
        """Wait as ``wait`` does; whether everything is done."""
        if not self._started:
            return not self._held
        return self._engine.wait(timeout if timeout and timeout > 0 else None)

    def stop(self) -> None:
        """Start nothing more: each URL not started yet is handed to its handler as a
        failure (``error_kind`` ``cancelled``)."""
        self.start()
        self._engine.stop()


def fetch_all(urls: Iterable[str], concurrency: int = 64, timeout: float = 10.0,
              **settings: Any) -> Iterator[Response]:
    """Fetch every URL of ``urls`` (any iterable of strings, read lazily), ``concurrency``
    at once, and yield their ``Response``s as they complete. Memory stays bounded however
    many URLs there are.

    The engine's settings are keywords (seconds as numbers): ``connect_timeout``,
    ``cache_ttl``, ``per_host``, ``rate``, ``delay``, ``retries``, ``max_redirects``,
    ``insecure``, ``user_agent``, ``headers`` and ``limits`` (``(name, value)`` and
    ``(url_prefix, n)`` pairs), ``redis``/``redis_prefix``/``redis_lease`` (limits shared
    through Redis), ``warc`` (archive every exchange to this WARC file) and ``output_dir``
    (save each body there)."""
    engine = _octopus.Engine(concurrency=concurrency, timeout=timeout, **settings)
    for r in engine.fetch_all(urls):
        yield Response._from_engine(r)


def fetch_queue(queue: str, urls: Optional[Iterable[str]] = None, concurrency: int = 64,
                timeout: float = 10.0, lease: Optional[float] = None,
                **settings: Any) -> Iterator[Response]:
    """Take part in the job ``queue`` shared through Redis (``redis://HOST[:PORT]/JOB``, as
    ``octopus fetch --queue``): feed it ``urls`` if given and this process is the first to
    claim the job, then fetch batches of it, ``concurrency`` at once, until the job is over,
    yielding this process's ``Response``s as they complete. Each is marked done when the
    next is asked for (a process killed while handling one has not marked it: another
    process fetches it again). ``lease``: seconds a dead process's batches wait before the
    living take them. The engine's settings as for ``fetch_all``."""
    job = _octopus.Queue(queue, lease)
    if urls is not None:
        feeder = threading.Thread(target=job.feed, args=(urls,), daemon=True,
                                  name="octopus-feeder")
        feeder.start()
    engine = _octopus.Engine(concurrency=concurrency, timeout=timeout, **settings)
    for r in engine.fetch_queue(job):
        yield Response._from_engine(r)
