"""The original's in-process per-domain limiter, as octopus's prefix limits."""


class Limiter:
    """``Limiter({"http://a.com/": 2}, {"http://b.com/": 5})``: at most that many
    requests in flight to URLs starting with each prefix (the first that matches; a URL
    that matches none is not limited). ``subscribe_to_lock_miss`` keeps its handlers,
    but the engine does not call them yet."""

    def __init__(self, *domains, limiter_miss_timeout_ms=None):
        self.domains = domains
        self.limiter_miss_timeout_ms = limiter_miss_timeout_ms
        self.lock_miss_handlers = []

    def subscribe_to_lock_miss(self, handler):
        self.lock_miss_handlers.append(handler)

    def limits(self):
        """``(prefix, n)`` pairs, in order."""
        return [(prefix, int(n)) for domain in self.domains for prefix, n in domain.items()]
