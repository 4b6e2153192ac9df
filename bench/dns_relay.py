#!/usr/bin/env python3
"""A DNS relay for W16 and W17 (bench/names.py): it answers every query `--delay` seconds
late (a resolver's cache miss) by passing it, after the delay, to a real DNS server
(dnsmasq) and its answer back. Its socket keeps the system's default receive buffer, so a
burst larger than that buffer loses queries, as busy resolvers do.

It counts what it was asked: SIGUSR1 writes {"queries", "names", "most_per_name"} as JSON
to `--stats` and starts counting again.
"""
import argparse
import asyncio
import collections
import json
import signal


def question_name(query):
    """The first question's name of a DNS message, lower-cased ('' if it cannot be read)."""
    labels, at = [], 12
    while at < len(query):
        n = query[at]
        if n == 0 or n >= 64:
            break
        labels.append(query[at + 1:at + 1 + n].decode("ascii", "replace").lower())
        at += 1 + n
    return ".".join(labels)


class Relay:
    def __init__(self, delay, stats):
        self.delay, self.stats = delay, stats
        self.down = self.up = None
        self.pending = {}  # id sent upstream -> (client address, client's id)
        self.next_id = 0
        self.counts = collections.Counter()

    def write_stats(self):
        with open(self.stats, "w") as f:
            json.dump({"queries": sum(self.counts.values()), "names": len(self.counts),
                       "most_per_name": max(self.counts.values(), default=0)}, f)
        self.counts.clear()

    def asked(self, data, addr):
        if len(data) < 12:
            return
        self.counts[question_name(data)] += 1
        asyncio.get_running_loop().call_later(self.delay, self.forward, data, addr)

    def forward(self, data, addr):
        for _ in range(65536):
            self.next_id = (self.next_id + 1) & 0xFFFF
            if self.next_id not in self.pending:
                break
        else:
            return  # 65,536 queries outstanding: this one is dropped
        self.pending[self.next_id] = (addr, data[:2])
        self.up.sendto(self.next_id.to_bytes(2, "big") + data[2:])

    def answered(self, data):
        waiting = self.pending.pop(int.from_bytes(data[:2], "big"), None) if len(data) >= 12 else None
        if waiting:
            addr, their_id = waiting
            self.down.sendto(their_id + data[2:], addr)


class Side(asyncio.DatagramProtocol):
    def __init__(self, on_datagram):
        self.on_datagram = on_datagram

    def datagram_received(self, data, addr):
        self.on_datagram(data, addr)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1:53")
    ap.add_argument("--upstream", default="127.0.0.1:5300")
    ap.add_argument("--delay", type=float, default=0.02)
    ap.add_argument("--stats", required=True)
    args = ap.parse_args()
    host, port = args.listen.rsplit(":", 1)
    up_host, up_port = args.upstream.rsplit(":", 1)
    relay = Relay(args.delay, args.stats)
    loop = asyncio.get_running_loop()
    relay.down, _ = await loop.create_datagram_endpoint(
        lambda: Side(relay.asked), local_addr=(host, int(port)))
    relay.up, _ = await loop.create_datagram_endpoint(
        lambda: Side(lambda data, _addr: relay.answered(data)),
        remote_addr=(up_host, int(up_port)))
    loop.add_signal_handler(signal.SIGUSR1, relay.write_stats)
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    await stop


if __name__ == "__main__":
    asyncio.run(main())
