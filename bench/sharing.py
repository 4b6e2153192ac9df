"""W12 ("shared limits"): the W1 shape (2000 URLs at 100 ms, c=200) with a per-host limit
that does not bind (--per-host 1000), kept by the in-process limiter and by the same limit
shared through Redis (a redis-server on 127.0.0.1 started and stopped here). What the two
Redis round trips per request cost. Goal: under 10% slower."""
import os
import socket
import statistics
import subprocess
import time

from harness import in_turns, write_lines

REDIS_PORT = 18092


def redis_server():
    server = subprocess.Popen(
        ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"], stdout=subprocess.DEVNULL)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return server
        except OSError:
            time.sleep(0.025)
    server.kill()
    raise RuntimeError("redis-server did not start")


def shared_limits(args, work, base):
    urls = [f"{base}/delay/w12-{i}" for i in range(2000)]
    urls_file = os.path.join(work, "W12.txt")
    write_lines(urls_file, urls)
    local = [args.octopus, "-q", "-c", "200", "--per-host", "1000", urls_file]
    shared = local[:-1] + ["--redis", f"redis://127.0.0.1:{REDIS_PORT}/0", urls_file]
    tools = {"octopus --per-host (in-process)": local, "octopus --per-host --redis": shared}
    server = redis_server()
    try:
        runs = in_turns(tools, args.repeat)
    finally:
        server.kill()
        server.wait()
    rows = []
    for tool, results in runs.items():
        walls = [w for w, _, _ in results]
        med = statistics.median(walls)
        rss = max(r for _, r, _ in results)
        rows.append({"workload": "W12", "tool": tool, "urls": len(urls), "concurrency": 200,
                     "wall_s": med, "urls_per_s": len(urls) / med, "ideal_s": 1.0,
                     "peak_rss_mb": rss, "vs_ideal": med / 1.0})
        print(f"  W12 {tool}: median {med:.2f}s ({', '.join(f'{w:.2f}' for w in walls)}) "
              f"rss {rss:.0f} MB", flush=True)
    for r in rows:
        r["vs_octopus"] = r["wall_s"] / rows[0]["wall_s"]
    return rows
