"""Limiters: how many requests may be in flight to the URLs under each prefix.

``octopus.limiter.in_memory.per_domain.Limiter`` holds the limits in this process;
``octopus.limiter.redis.per_domain.Limiter`` shares them through Redis with every process
(and every ``octopus fetch --redis``) that names the same server. Either way the engine
applies them itself; ``acquire``/``release`` are there for code that drives a limiter by
hand, as the original's did.
"""

import logging


class Limiter:
    """What every limiter has: lock-miss handlers, called with a URL a limit held back."""

    def __init__(self, limiter_miss_timeout_ms=None):
        self.limiter_miss_timeout_ms = (
            500 if limiter_miss_timeout_ms is None else limiter_miss_timeout_ms)
        self._lock_miss_handlers = []

    def subscribe_to_lock_miss(self, callback):
        """Call ``callback(url)`` for each URL a limit holds back (see ``Octopus``)."""
        self._lock_miss_handlers.append(callback)

    def has_lock_miss_handlers(self):
        """Whether any handler is subscribed."""
        return bool(self._lock_miss_handlers)

    def publish_lock_miss(self, url):
        """Tell every subscribed handler that ``url`` was held back; a handler that
        raises is logged and the others are still called."""
        for handler in list(self._lock_miss_handlers):
            try:
                handler(url)
            except Exception:
                logging.exception("Error calling lock miss handler for %s.", url)

    def engine_settings(self):
        """The engine settings that apply this limiter (none for the base)."""
        return {}
