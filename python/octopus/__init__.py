"""octopus: fetch many URLs concurrently on octopus's Rust engine.

The original octopus-http's API (``Octopus``, ``enqueue``, ``wait``, handlers called with
``(url, response)``) and a bulk iterator, ``fetch_all``. The requests run on the engine's
threads without the GIL; handlers run with it, one at a time.
"""

from octopus.core import Octopus, TimeoutError, fetch_all
from octopus.model import Response

__all__ = ["Octopus", "Response", "TimeoutError", "fetch_all"]
