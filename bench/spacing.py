"""W29 ("--delay as the server sees it"): `octopus crawl --delay 100ms` over a small site on
20 loopback ports (a binary tree of pages on each), each request's arrival stamped by the
kernel when its bytes were received (`SO_TIMESTAMPNS`, nanoseconds; nginx's log has
milliseconds of its loop's cached clock, and a server thread's own clock is as late as its
wake-up): one process on an idle machine, one beside two busy loops (a worker descheduled
between deciding a request and sending it), and 3 processes sharing the crawl through
Redis (`--queue`: hosts handed from one process to another). Reported: the smallest gap
between two requests to one port, its 1st percentile and its median, against the delay.
`python3 spacing.py OCTOPUS` runs it alone (for a before/after pair of binaries)."""
import os
import selectors
import socket
import struct
import subprocess
import sys
import tempfile
import time

from queued import reap
from sharing import REDIS_PORT, redis_server

PORTS = list(range(18301, 18321))
PAGES = 200  # per port: page n links to 2n+1 and 2n+2
DELAY_MS = 100
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def serve(log_path):
    """The site: every request line logged with the kernel's receive time of its bytes."""
    sel = selectors.DefaultSelector()
    for port in PORTS:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(128)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, (None, port))
    log = open(log_path, "w", buffering=1)
    pending = {}
    while True:
        for key, _ in sel.select():
            conn, port = key.data
            if conn is None:
                c, _ = key.fileobj.accept()
                c.setblocking(False)
                c.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                sel.register(c, selectors.EVENT_READ, (c, port))
                pending[c] = b""
                continue
            try:
                data, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(16))
            except (BlockingIOError, ConnectionResetError):
                continue
            if not data:
                sel.unregister(conn)
                conn.close()
                pending.pop(conn, None)
                continue
            at = time.time()
            for level, kind, raw in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", raw[:16])
                    at = sec + nsec / 1e9
            buf = pending[conn] + data
            while b"\r\n\r\n" in buf:
                head, buf = buf.split(b"\r\n\r\n", 1)
                path = head.split(b" ")[1].decode()
                log.write(f"{at:.6f} {port} {path}\n")
                conn.sendall(answer(path))
            pending[conn] = buf


def answer(path):
    if path.startswith("/p/"):
        n = int(path[3:])
        links = "".join(f'<a href="/p/{m}">x</a>' for m in (2 * n + 1, 2 * n + 2) if m < PAGES)
        body, status, kind = f"<html><body>{links}</body></html>".encode(), b"200 OK", b"text/html"
    else:
        body, status, kind = b"", b"404 Not Found", b"text/plain"
    return (b"HTTP/1.1 " + status + b"\r\nContent-Type: " + kind + b"\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)


def gaps_ms(log_path, since):
    """Gaps between consecutive requests to each port (robots.txt left out), in ms."""
    by_port = {}
    with open(log_path) as f:
        for k, line in enumerate(f):
            if k < since:
                continue
            at, port, path = line.split()
            if path != "/robots.txt":
                by_port.setdefault(port, []).append(float(at))
    return sorted((b - a) * 1000 for times in by_port.values() for a, b in zip(times, times[1:]))


def crawl_once(octopus, log_path, hogs=0, processes=1):
    """One crawl of the site (by `processes` processes sharing it through Redis when more
    than one), beside `hogs` busy loops: its row."""
    since = sum(1 for _ in open(log_path))
    busy = [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(hogs)]
    redis = redis_server() if processes > 1 else None
    try:
        cmd = [octopus, "crawl", "-q", "--delay", f"{DELAY_MS}ms", "--depth", "6"]
        if redis:
            cmd += ["--queue", f"redis://127.0.0.1:{REDIS_PORT}/w29", "--queue-lease", "3s"]
        cmd += [f"http://127.0.0.1:{p}/p/0" for p in PORTS]
        start = time.monotonic()
        procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(processes)]
        codes = [reap(p)[0] for p in procs]
        wall = time.monotonic() - start
    finally:
        for p in busy + ([redis] if redis else []):
            p.kill()
            p.wait()
    gaps = gaps_ms(log_path, since)
    shape = (f"{processes} processes sharing it (--queue)" if processes > 1
             else f"beside {hogs} busy loops" if hogs else "(idle machine)")
    return {"workload": "W29", "tool": f"octopus crawl --delay {DELAY_MS}ms {shape}",
            "urls": len(gaps) + len(PORTS), "concurrency": len(PORTS), "wall_s": wall,
            "urls_per_s": (len(gaps) + len(PORTS)) / wall, "peak_rss_mb": float("nan"),
            "exit_codes": codes, "delay_ms": DELAY_MS,
            "min_gap_ms": gaps[0] if gaps else float("nan"),
            "p1_gap_ms": gaps[len(gaps) // 100] if gaps else float("nan"),
            "median_gap_ms": gaps[len(gaps) // 2] if gaps else float("nan")}


def spacing(args, _work):
    """W29's rows."""
    return rows_for(args.octopus)


def rows_for(octopus):
    work = tempfile.mkdtemp(prefix="octopus-w29-")
    log = os.path.join(work, "arrivals.log")
    open(log, "w").close()
    server = subprocess.Popen([sys.executable, __file__, "--serve", log])
    try:
        time.sleep(0.5)
        rows = [crawl_once(octopus, log), crawl_once(octopus, log, hogs=2),
                crawl_once(octopus, log, processes=3)]
        for r in rows:
            shown = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}
            print(f"  {shown}", flush=True)
        return rows
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    if sys.argv[1] == "--serve":
        serve(sys.argv[2])
    else:
        rows_for(sys.argv[1])
