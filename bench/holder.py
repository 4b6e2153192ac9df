#!/usr/bin/env python3
"""A server that accepts connections and never answers (W-web, bench/web.py): it takes in
what comes and holds every connection until the client gives up. Over TLS, the client's
ClientHello waits unanswered; over plain http, its request does.
"""
import argparse
import asyncio
import resource
import signal


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.2.1:18997")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    held = set()

    async def hold(reader, writer):
        held.add(writer)
        try:
            while await reader.read(65536):
                pass
        finally:
            held.discard(writer)
            writer.close()

    host, port = args.listen.rsplit(":", 1)
    server = await asyncio.start_server(hold, host, int(port), backlog=4096)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with server:
        await stop


if __name__ == "__main__":
    asyncio.run(main())
