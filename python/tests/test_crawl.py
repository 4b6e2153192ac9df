"""A crawl from Python (``octopus.crawl``) against the test server's `/site/N` (40 pages, page
N linking to 2N+1 and 2N+2): every page once with its depth and parent, depth and page
limits, the summary, bad keywords; and a crawl shared through a redis-server of the test
run's own: three workers find the one crawl's pages, each once; a page not yet handled is
not done (a worker dropped while handling it leaves it to the next)."""
import threading

import pytest

from octopus import Page, crawl
from conftest import SITE_PAGES


def site(server):
    return {server.url(f"/site/{n}") for n in range(SITE_PAGES)}


def test_a_crawl_yields_every_page_once_with_its_depth_and_parent(server):
    pages = crawl([server.url("/site/0")], concurrency=4, depth=10)
    seen = list(pages)
    assert all(isinstance(p, Page) and p.status_code == 200 for p in seen)
    assert sorted(p.url for p in seen) == sorted(site(server))
    by_url = {p.url: p for p in seen}
    seed, child = by_url[server.url("/site/0")], by_url[server.url("/site/4")]
    assert (seed.depth, seed.parent) == (0, None)
    assert (child.depth, child.parent) == (2, server.url("/site/1"))
    assert '<a href="/site/9">' in child.text
    assert pages.summary["pages"] == SITE_PAGES
    assert pages.summary["stopped"] is False


def test_depth_and_max_pages_bound_it(server):
    shallow = crawl([server.url("/site/0")], depth=2)
    assert sorted(p.url for p in shallow) == sorted(server.url(f"/site/{n}") for n in range(7))
    assert shallow.summary["too_deep"] == 8, "the links of depth 2's pages, not followed"
    few = crawl([server.url("/site/0")], max_pages=5, concurrency=1)
    assert len(list(few)) == 5
    assert few.summary["over_limit"] > 0


def test_bad_keywords_are_refused(server):
    with pytest.raises(ValueError, match="scope"):
        crawl([server.url("/site/0")], scope="planet")
    with pytest.raises(ValueError, match="redis"):
        list(crawl([server.url("/site/0")], queue="http://not-redis/x"))


def job_url(redis_server, name):
    return f"redis://127.0.0.1:{redis_server.port}/{name}"


def test_three_workers_share_one_crawl_each_page_once(server, redis_server):
    job = job_url(redis_server, "py-crawl-three")
    seen: dict[int, list[str]] = {k: [] for k in range(3)}

    def work(k):
        for page in crawl([server.url("/site/0")], concurrency=4, depth=10, queue=job,
                          lease=2.0):
            seen[k].append(page.url)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    together = [url for urls in seen.values() for url in urls]
    assert sorted(together) == sorted(site(server)), "every page once, among the three"


def test_a_page_not_yet_handled_is_not_done(server, redis_server):
    job = job_url(redis_server, "py-crawl-held")
    seed = server.url("/site/0")
    first = crawl([seed], concurrency=1, depth=10, queue=job, lease=2.0)
    assert next(first).url == seed
    # The worker goes away while handling the seed: it was not marked done, so the next
    # worker of the job fetches it (and the rest of the site).
    del first
    again = crawl([seed], concurrency=4, depth=10, queue=job, lease=2.0)
    assert sorted(p.url for p in again) == sorted(site(server))
