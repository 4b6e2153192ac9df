"""Types of ``octopus._octopus``, the engine's extension module (``python/src/lib.rs``)."""

from typing import Any, Callable, Iterable, Iterator, Optional

class Response:
    """What came of one URL, read once from the engine's response."""

    url: str
    final_url: Optional[str]
    status: Optional[int]
    header_list: list[tuple[str, str]]
    error: Optional[str]
    error_kind: Optional[str]
    elapsed: float
    waited: float
    attempts: int
    redirects: int
    cached: bool
    http_version: Optional[str]
    proxy: Optional[str]
    headers: dict[str, str]
    body: bytes
    @property
    def content(self) -> bytes: ...

class Responses(Iterator[Response]):
    """The responses of a ``fetch_all``, as they complete."""

    def __iter__(self) -> "Responses": ...
    def __next__(self) -> Response: ...

class Engine:
    """octopus's engine, its settings fixed when made (see ``octopus.fetch_all``)."""

    def __init__(self, **settings: Any) -> None: ...
    def enqueue(
        self,
        url: str,
        callback: Callable[[Response], Any],
        method: Optional[str] = None,
        headers: list[tuple[str, str]] = ...,
        body: Optional[bytes] = None,
        timeout: Optional[float] = None,
        max_redirects: Optional[int] = None,
    ) -> None: ...
    def wait(self, timeout: Optional[float] = None) -> bool: ...
    def stop(self) -> None: ...
    @property
    def pending(self) -> int: ...
    @property
    def in_flight(self) -> int: ...
    def fetch_all(self, urls: Iterable[str]) -> Responses: ...
    def fetch_queue(self, queue: "Queue") -> Responses: ...

class Queue:
    """A job shared through Redis by many processes (``redis://HOST[:PORT]/JOB``)."""

    def __init__(self, url: str, lease: Optional[float] = None) -> None: ...
    @property
    def job(self) -> str: ...
    def feed(self, urls: Iterable[str]) -> bool: ...
    def add(self, urls: Iterable[str]) -> int: ...
    def complete_input(self) -> None: ...
    def status(self) -> dict[str, Any]: ...
    def stop(self) -> None: ...

class Crawling(Iterator[tuple[Response, int, Optional[str], bool]]):
    """A crawl running: its pages as ``(response, depth, parent, external)``."""

    def __init__(
        self,
        seeds: list[str],
        scope: str = "host",
        depth: Optional[int] = None,
        max_pages: Optional[int] = None,
        include: list[str] = ...,
        exclude: list[str] = ...,
        robots: bool = True,
        check_external: bool = False,
        sitemaps: list[str] = ...,
        follow_sitemaps: bool = False,
        queue: Optional[str] = None,
        lease: Optional[float] = None,
        **settings: Any,
    ) -> None: ...
    def __iter__(self) -> "Crawling": ...
    def __next__(self) -> tuple[Response, int, Optional[str], bool]: ...
    @property
    def summary(self) -> Optional[dict[str, Any]]: ...
    def stop(self) -> None: ...

def settings() -> list[tuple[str, str]]:
    """Every keyword ``Engine`` takes, with what it takes in words."""
    ...

def setting_example(name: str) -> Any:
    """A value the setting ``name`` takes."""
    ...
