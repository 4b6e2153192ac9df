"""octopus: fetch many URLs concurrently on octopus's Rust engine.

The original octopus-http's API (``Octopus``, ``TornadoOctopus``, ``enqueue``, ``wait``,
handlers called with ``(url, response)``, limiters in ``octopus.limiter``) and a bulk
iterator, ``fetch_all``, and ``fetch_queue`` (with ``Queue``) for one URL list shared by many
processes through Redis; ``crawl`` for a crawl from seeds, alone or shared through Redis. The requests run on the engine's threads without the GIL;
handlers run with it, one at a time.
"""

from octopus._octopus import Queue
from octopus.core import Octopus, ResponseError, TimeoutError, fetch_all, fetch_queue
from octopus.crawl import Crawl, Page, crawl
from octopus.model import Response
from octopus.tornado_core import TornadoOctopus

__all__ = ["Crawl", "Octopus", "Page", "Queue", "Response", "ResponseError", "TimeoutError",
           "TornadoOctopus", "crawl", "fetch_all", "fetch_queue"]
