"""The original's ``TornadoOctopus`` on octopus's engine (no tornado, no pycurl)."""

import logging
from typing import Any, Optional

from octopus.core import Octopus


class TornadoOctopus(Octopus):
    """The original's tornado-based client, with its constructor and its behaviour where
    it differed from ``Octopus``: every failure is status 599 with ``text`` ``None``;
    only responses below 399 are cached; a handler that raises is logged
    (``logging.exception``); ``wait(timeout)`` returns when the time is up instead of
    raising. ``connect_timeout_in_seconds`` bounds each connection (its lookup, TCP and
    TLS); ``allow_connection_reuse=False`` sends every request on a new connection
    (``Connection: close``); ``ignore_pycurl`` is kept and means nothing here.

    Requests start as soon as the octopus is started, not only while ``wait`` runs.
    """

    _tornado = True

    def __init__(self, concurrency: int = 10, auto_start: bool = False, cache: bool = False,
                 expiration_in_seconds: float = 30, request_timeout_in_seconds: float = 10,
                 connect_timeout_in_seconds: float = 5, ignore_pycurl: bool = False,
                 limiter: Optional[Any] = None, allow_connection_reuse: bool = True,
                 **settings: Any) -> None:
        self.connect_timeout_in_seconds = connect_timeout_in_seconds
        self.ignore_pycurl = ignore_pycurl
        self.allow_connection_reuse = allow_connection_reuse
        self.last_timeout: Optional[float] = None
        settings.setdefault("connect_timeout", connect_timeout_in_seconds)
        if not allow_connection_reuse:
            settings["headers"] = [*settings.get("headers", []), ("Connection", "close")]
        super().__init__(concurrency=concurrency, auto_start=auto_start, cache=cache,
                         expiration_in_seconds=expiration_in_seconds,
                         request_timeout_in_seconds=request_timeout_in_seconds,
                         limiter=limiter, **settings)

    def _caches(self, response):
        return response.status_code < 399

    def _call(self, handler, url, response):
        try:
            handler(url, response)
        except Exception:
            logging.exception("Error calling callback for %s." % url)

    @property
    def running_urls(self):
        """Requests being fetched now."""
        return self._engine.in_flight

    @property
    def url_queue(self):
        """What was enqueued and waits for ``start()``: ``(url, handler, target_url,
        request_settings)``."""
        return list(self._held)

    @property
    def remaining_requests(self):
        """URLs enqueued whose handler has not returned yet."""
        return self.queue_size

    def wait(self, timeout: float = 10) -> None:
        """Wait until every URL enqueued is done, or ``timeout`` seconds (0: for ever);
        returns either way, as the original did (``is_empty`` tells which)."""
        self.last_timeout = timeout
        if not self._finish(timeout):
            logging.debug("Timeout waiting for the URLs to be fetched.")
