"""Peer: requests on a thread pool of CONCURRENCY, one Session per thread (kept
connections), the usual threaded answer.

Usage: python requests_peer.py URLS_FILE CONCURRENCY. Prints `ok failed`.
"""
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

local = threading.local()


def fetch(url):
    session = getattr(local, "session", None)
    if session is None:
        session = local.session = requests.Session()
    try:
        return session.get(url, timeout=10).status_code
    except requests.RequestException:
        return 599


def main():
    with open(sys.argv[1]) as f:
        urls = [line.strip() for line in f if line.strip()]
    with ThreadPoolExecutor(max_workers=int(sys.argv[2])) as pool:
        statuses = list(pool.map(fetch, urls))
    ok = sum(1 for s in statuses if s < 400)
    print(ok, len(statuses) - ok)


if __name__ == "__main__":
    main()
