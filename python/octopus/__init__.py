"""octopus: fetch many URLs concurrently on octopus's Rust engine.

The original octopus-http's API (``Octopus``, ``TornadoOctopus``, ``enqueue``, ``wait``,
handlers called with ``(url, response)``, limiters in ``octopus.limiter``) and a bulk
iterator, ``fetch_all``. The requests run on the engine's threads without the GIL;
handlers run with it, one at a time.
"""

from octopus.core import Octopus, ResponseError, TimeoutError, fetch_all
from octopus.model import Response
from octopus.tornado_core import TornadoOctopus

__all__ = ["Octopus", "Response", "ResponseError", "TimeoutError", "TornadoOctopus",
           "fetch_all"]
