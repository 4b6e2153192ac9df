"""``crawl``: a crawl from seeds on octopus's engine, its pages yielded as they are fetched;
alone, or as one process of a crawl shared through Redis (``queue``)."""

from typing import Any, Iterable, Optional

from octopus import _octopus
from octopus.model import Response


class Page(Response):
    """A page of a crawl: a ``Response`` with ``depth`` (links from a seed: 0 for a seed),
    ``parent`` (the page whose link led here, ``None`` for a seed) and ``external`` (an
    external link checked with ``check_external``: its links are not followed)."""

    def __init__(self, *args: Any, depth: int = 0, parent: Optional[str] = None,
                 external: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.depth = depth
        self.parent = parent
        self.external = external

    def __repr__(self) -> str:
        return f"<Page {self.status_code} {self.url} depth {self.depth}>"


class Crawl:
    """A crawl running (made by ``crawl``): iterate it for its pages; ``summary`` once it
    is over; ``stop()`` to fetch no more."""

    def __init__(self, pages: _octopus.Crawling) -> None:
        self._pages = pages

    def __iter__(self) -> "Crawl":
        return self

    def __next__(self) -> Page:
        r, depth, parent, external = next(self._pages)
        page = Page._from_engine(r)
        page.depth, page.parent, page.external = depth, parent, external
        return page

    @property
    def summary(self) -> Optional[dict[str, Any]]:
        """What the crawl did (``pages``, ``too_deep``, ``out_of_scope``, ``disallowed``,
        ``over_limit``, ``robots``, ``stopped``, for a shared crawl ``taken_over`` and
        ``lost``, …), once the iteration is over; ``None`` before."""
        return self._pages.summary

    def stop(self) -> None:
        """Fetch no more pages: those in flight are still yielded, then the iteration
        ends (``summary["stopped"]`` is true)."""
        self._pages.stop()


def crawl(seeds: Iterable[str], concurrency: int = 16, timeout: float = 10.0, *,
          scope: str = "host", depth: Optional[int] = None, max_pages: Optional[int] = None,
          include: Iterable[str] = (), exclude: Iterable[str] = (), robots: bool = True,
          check_external: bool = False, sitemaps: Iterable[str] = (),
          follow_sitemaps: bool = False, queue: Optional[str] = None,
          lease: Optional[float] = None, **settings: Any) -> Crawl:
    """Crawl from ``seeds`` (URLs), as ``octopus crawl`` does: links followed within
    ``scope`` (``"host"``, ``"domain"``, ``"prefix"`` or ``"any"``) up to ``depth`` links
    from a seed (5 unless told), at most ``max_pages`` pages, URLs matching a pattern of
    ``include`` (if any) and none of ``exclude`` (regular expressions), robots.txt honoured
    unless ``robots`` is false, external links checked with ``check_external``, the pages
    of ``sitemaps`` (URLs) as seeds and, with ``follow_sitemaps``, those robots.txt names.
    Returns a ``Crawl``: iterate it for each page fetched (a ``Page``), ``concurrency`` at
    once; every page is fetched once. The engine's settings as for ``fetch_all`` (``delay``
    spaces requests to a host).

    ``queue`` (``redis://HOST[:PORT]/JOB``): be one process of a crawl shared through
    Redis by any number of processes (as ``octopus crawl --queue``; give each the same
    seeds and settings): each host is fetched by one process at a time, each page by one
    process; a page is marked done when the next is asked for (a process killed while
    handling one has not marked it: another fetches it again), and the iteration ends when
    no process has anything left. ``lease``: seconds a dead process's hosts wait before
    the living take them (30 unless told). Redis lost for longer raises ``ConnectionError``
    (the crawl goes on when started again)."""
    pages = _octopus.Crawling(list(seeds), scope=scope, depth=depth, max_pages=max_pages,
                              include=list(include), exclude=list(exclude), robots=robots,
                              check_external=check_external, sitemaps=list(sitemaps),
                              follow_sitemaps=follow_sitemaps, queue=queue, lease=lease,
                              concurrency=concurrency, timeout=timeout, **settings)
    return Crawl(pages)
