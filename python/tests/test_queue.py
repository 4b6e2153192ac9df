"""One URL list shared through Redis from Python (``fetch_queue``, ``Queue``), against a
redis-server of the test run's own: two workers share a job, each URL once; the job's
status; a response not yet handled is not marked done."""
import threading

from octopus import Queue, fetch_queue


def job_url(redis_server, name):
    return f"redis://127.0.0.1:{redis_server.port}/{name}"


def test_two_workers_share_one_list_each_url_once(server, redis_server):
    job = job_url(redis_server, "py-two")
    urls = [server.url(f"/p/{i}") for i in range(120)]
    seen: dict[str, list[str]] = {"a": [], "b": []}

    def work(name, given):
        for r in fetch_queue(job, given, concurrency=8, lease=2.0):
            assert r.status_code == 200, r.error
            seen[name].append(r.url)

    threads = [threading.Thread(target=work, args=("a", urls)),
               threading.Thread(target=work, args=("b", None))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    both = seen["a"] + seen["b"]
    assert sorted(both) == sorted(urls), "every URL once, between the two"
    status = Queue(job).status()
    assert (status["added"], status["done"], status["over"]) == (120, 120, True)


def test_a_response_not_yet_handled_is_not_done(server, redis_server):
    job = job_url(redis_server, "py-held")
    queue = Queue(job, lease=2.0)
    assert queue.add([server.url("/x/1"), server.url("/x/2")]) == 2
    queue.complete_input()
    responses = fetch_queue(job, concurrency=1, lease=2.0)
    next(responses)
    # The first is being handled: not done; once the next is asked for, it is.
    assert Queue(job).status()["done"] == 0
    next(responses)
    assert list(responses) == []
    assert Queue(job).status() == {"added": 2, "pending": 0, "done": 2, "dead": 0,
                                   "input_complete": True, "over": True}
