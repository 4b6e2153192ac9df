"""Peer: aiohttp, one session, a semaphore of CONCURRENCY (the usual asyncio answer).

Usage: python aiohttp_peer.py URLS_FILE CONCURRENCY. Prints `ok failed`.
"""
import asyncio
import sys

import aiohttp


async def run(urls, concurrency):
    statuses = []
    limit = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        async def one(url):
            async with limit:
                try:
                    async with session.get(url) as response:
                        await response.read()
                        statuses.append(response.status)
                except Exception:
                    statuses.append(599)
        await asyncio.gather(*(one(url) for url in urls))
    return statuses


def main():
    with open(sys.argv[1]) as f:
        urls = [line.strip() for line in f if line.strip()]
    statuses = asyncio.run(run(urls, int(sys.argv[2])))
    ok = sum(1 for s in statuses if s < 400)
    print(ok, len(statuses) - ok)


if __name__ == "__main__":
    main()
