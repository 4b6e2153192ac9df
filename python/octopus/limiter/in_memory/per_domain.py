"""The original's in-process per-domain limiter, applied by the engine as prefix limits."""

import logging
from collections import defaultdict

from octopus.limiter import Limiter as BaseLimiter


class Limiter(BaseLimiter):
    """``Limiter({"http://a.com": 2}, {"http://b.com": 5})``: at most that many requests in
    flight to URLs starting with each prefix (the first that matches; a URL that matches
    none is not limited).

    The engine applies the limits itself, in Rust; ``acquire``/``release`` and
    ``domain_count`` are for code that drives the limiter by hand, and do not see the
    engine's requests.
    """

    def __init__(self, *domains, limiter_miss_timeout_ms=None):
        super().__init__(limiter_miss_timeout_ms=limiter_miss_timeout_ms)
        self.update_domain_definitions(*domains)

    def update_domain_definitions(self, *domains):
        """Replace the limits (each argument a dict of prefix to limit)."""
        self.domains = domains
        self.domain_count = defaultdict(int)

    def get_domain_from_url(self, url):
        """The prefix that limits ``url``, or ``None``."""
        for domain in self.domains:
            for prefix in domain:
                if url.startswith(prefix):
                    return prefix
        return None

    def get_domain_limit(self, url):
        """The limit on ``url``'s prefix (0 when none matches)."""
        prefix = self.get_domain_from_url(url)
        return 0 if prefix is None else self._limit_of(prefix)

    def _limit_of(self, prefix):
        for domain in self.domains:
            if prefix in domain:
                return domain[prefix]
        return 0

    def _prefix_of(self, url, doing):
        """The prefix that limits ``url``; ``None``, logged as the original did, when none
        does (``doing``: ``acquire`` or ``release``)."""
        prefix = self.get_domain_from_url(url)
        if prefix is None:
            logging.info("Tried to %s lock to a domain that was not specified in the "
                         "limiter (%s)." % (doing, url))
        return prefix

    def acquire(self, url):
        """Take a slot of ``url``'s prefix if one is free; true when taken (or when no
        prefix limits it)."""
        prefix = self._prefix_of(url, "acquire")
        if prefix is None:
            return True
        if self.domain_count[prefix] < self._limit_of(prefix):
            self.domain_count[prefix] += 1
            return True
        return False

    def release(self, url):
        """Give back the slot ``acquire`` took for ``url``."""
        prefix = self._prefix_of(url, "release")
        if prefix is None:
            return
        self.domain_count[prefix] -= 1

    def limits(self):
        """``(prefix, n)`` pairs, in order."""
        return [(prefix, int(n)) for domain in self.domains for prefix, n in domain.items()]

    def engine_settings(self):
        return {"limits": self.limits()}
