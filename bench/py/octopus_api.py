"""Drive this repository's Python package over a file of URLs (the harness times it).

Usage: python octopus_api.py octopus|fetch_all URLS_FILE CONCURRENCY
`octopus`: the original's API, a handler that stores each status; `fetch_all`: a loop over
the iterator counting statuses. Prints `ok failed`.
"""
import sys

import octopus


def main():
    mode, path, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(path) as f:
        urls = [line.strip() for line in f if line.strip()]
    statuses = []
    if mode == "octopus":
        otto = octopus.Octopus(concurrency=concurrency, auto_start=True,
                               request_timeout_in_seconds=10)
        for url in urls:
            otto.enqueue(url, lambda url, response: statuses.append(response.status_code))
        otto.wait(0)
    else:
        for response in octopus.fetch_all(urls, concurrency=concurrency):
            statuses.append(response.status_code)
    ok = sum(1 for s in statuses if s < 400)
    print(ok, len(statuses) - ok)


if __name__ == "__main__":
    main()
