"""The original's ``Cache``: responses by URL, each kept for ``expiration_in_seconds``.

``Octopus(cache=True)`` keeps one as ``response_cache``: ``enqueue`` answers from it at once,
on the caller's thread, as the original did. The engine has a cache of its own as well,
which also makes repeats of a URL being fetched wait for that fetch.
"""

import threading
import time


class Cache:
    """Responses by URL: ``put(url, response)``, then ``get(url)`` gives it back until it
    expires (``None`` after, or when never put). Safe to use from many threads."""

    def __init__(self, expiration_in_seconds):
        self.responses = {}
        self.expiration_in_seconds = expiration_in_seconds
        self._lock = threading.Lock()

    def put(self, url, response):
        expires = time.monotonic() + self.expiration_in_seconds
        with self._lock:
            self.responses[url] = {"response": response, "expires": expires}

    def get(self, url):
        with self._lock:
            data = self.responses.get(url)
            if data is None:
                return None
            if data["expires"] <= time.monotonic():
                del self.responses[url]
                return None
            return data["response"]
