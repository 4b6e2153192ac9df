"""Drive the original octopus-http (threaded `Octopus`) over a file of URLs.

Usage: python original_octopus.py URLS_FILE CONCURRENCY [cache]
Prints `ok failed` counts on stdout; the harness times the whole process.
"""
import sys

from octopus import Octopus


def main():
    path, concurrency = sys.argv[1], int(sys.argv[2])
    cache = len(sys.argv) > 3 and sys.argv[3] == "cache"
    counts = {"ok": 0, "failed": 0}

    def handle(url, response):
        counts["ok" if response.status_code < 400 else "failed"] += 1

    otto = Octopus(concurrency=concurrency, auto_start=True, cache=cache,
                   request_timeout_in_seconds=10)
    with open(path) as f:
        for line in f:
            url = line.strip()
            if url:
                otto.enqueue(url, handle)
    otto.wait(0)
    print(counts["ok"], counts["failed"])


if __name__ == "__main__":
    main()
