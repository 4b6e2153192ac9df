"""W26 and W27 ("one list shared through Redis", `fetch --queue`): 100,000 URLs at 100 ms
over 50 hosts, total concurrency 1,000 (ideal 10 s), against a redis-server on 127.0.0.1
started and stopped here.

W26: one process without a queue, then 1, 2 and 4 processes taking the list through
     `--queue` at the same total concurrency (the first given the list, the others only the
     job): the queue's cost against the single process, Redis's CPU and memory per URL, and
     every line recorded once.
W27: the 4 processes of W26 with `--queue-lease 2s`, one killed with SIGKILL every 3 s and
     started again: URLs lost (must be 0) and recorded twice (at most the killed processes'
     requests in flight, 250 a kill)."""
import collections
import json
import os
import signal
import socket
import statistics
import subprocess
import time

from harness import write_lines
from sharing import REDIS_PORT, redis_server

URLS = 100_000
TOTAL_C = 1000
IDEAL = 10.0


def redis_call(*words):
    """One command to the harness's redis-server; its reply, raw."""
    request = f"*{len(words)}\r\n" + "".join(f"${len(w)}\r\n{w}\r\n" for w in words)
    with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=5) as conn:
        conn.sendall(request.encode())
        time.sleep(0.05)
        return conn.recv(1 << 16).decode(errors="replace")


def redis_cpu(server):
    with open(f"/proc/{server.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_memory():
    for line in redis_call("INFO", "memory").splitlines():
        if line.startswith("used_memory_peak:"):
            return int(line.split(":")[1]) / 1e6
    return float("nan")


def recorded(files):
    """{line: times recorded} over the records of `files`."""
    seen = collections.Counter()
    for path in files:
        if os.path.exists(path):
            with open(path) as f:
                seen.update(json.loads(line)["line"] for line in f)
    return seen


def worker(args, work, job, k, c, list_file, lease=None, extra=()):
    out = os.path.join(work, f"{job}-{k}.jsonl")
    cmd = [args.octopus, "-q", "--json", "-c", str(c), "-o", out, *extra]
    if job != "alone":
        cmd += ["--queue", f"redis://127.0.0.1:{REDIS_PORT}/{job}"]
        if lease:
            cmd += ["--queue-lease", lease]
    if list_file:
        cmd.append(list_file)
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out


def reap(proc):
    """Wait for `proc`: its exit code and peak RSS in MB."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024


def shared_run(args, work, job, processes, list_file):
    """`processes` processes (0: one without a queue) at TOTAL_C between them: wall s,
    exit codes, lines recorded, Redis CPU s."""
    server = redis_server()
    try:
        cpu0 = redis_cpu(server)
        start = time.monotonic()
        if processes == 0:
            started = [worker(args, work, "alone", 0, TOTAL_C, list_file)]
        else:
            c = TOTAL_C // processes
            started = [worker(args, work, job, k, c, list_file if k == 0 else None)
                       for k in range(processes)]
        reaped = [reap(p) for p, _ in started]
        wall = time.monotonic() - start
        codes = [code for code, _ in reaped]
        rss = max(r for _, r in reaped)
        return wall, codes, recorded([out for _, out in started]), redis_cpu(server) - cpu0, \
            redis_memory(), rss
    finally:
        server.kill()
        server.wait()


def w26(args, work, list_file):
    rows = []
    shapes = [0, 1, 2, 4]
    results = {p: [] for p in shapes}
    for round_ in range(args.repeat):
        for p in shapes:
            results[p].append(shared_run(args, work, f"w26-{round_}-{p}", p, list_file))
    alone = statistics.median(r[0] for r in results[0])
    for p in shapes:
        walls = [r[0] for r in results[p]]
        med = statistics.median(walls)
        whole = all(len(r[2]) == URLS and max(r[2].values()) == 1 for r in results[p])
        codes = sorted({c for r in results[p] for c in r[1]})
        cpu = statistics.median(r[3] for r in results[p])
        memory = max(r[4] for r in results[p])
        rss = max(r[5] for r in results[p])
        tool = "octopus, no queue" if p == 0 else f"octopus --queue, {p} processes"
        rows.append({"workload": "W26", "tool": tool, "urls": URLS, "concurrency": TOTAL_C,
                     "wall_s": med, "urls_per_s": URLS / med, "ideal_s": IDEAL,
                     "vs_ideal": med / IDEAL, "vs_octopus": med / alone, "peak_rss_mb": rss,
                     "redis_cpu_us_per_url": cpu / URLS * 1e6, "redis_peak_mb": memory,
                     "every_line_once": whole, "exit_codes": codes})
        print(f"  W26 {tool}: median {med:.2f}s ({', '.join(f'{w:.2f}' for w in walls)}), "
              f"x{med / alone:.3f} of one process, Redis {cpu / URLS * 1e6:.1f} us/URL, "
              f"peak {memory:.1f} MB, every line once: {whole}, exits {codes}", flush=True)
    return rows


def w27(args, work, list_file):
    server = redis_server()
    job, c, lease = "w27", TOTAL_C // 4, "2s"
    try:
        start = time.monotonic()
        live = {k: worker(args, work, job, k, c, list_file, lease) for k in range(4)}
        files = [out for _, out in live.values()]
        kills, n = 0, 4
        while any(p.poll() is None for p, _ in live.values()):
            time.sleep(3)
            if '"over":true' in subprocess.run(
                    [args.octopus, "queue", "status", "--json",
                     f"redis://127.0.0.1:{REDIS_PORT}/{job}"],
                    capture_output=True, text=True).stdout:
                break
            k = kills % 4
            proc, _ = live[k]
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                live[k] = worker(args, work, job, n, c, list_file, lease)
                files.append(live[k][1])
                n += 1
        for proc, _ in live.values():
            proc.wait()
        wall = time.monotonic() - start
    finally:
        server.kill()
        server.wait()
    seen = recorded(files)
    lost = URLS - len(seen)
    twice = sum(1 for v in seen.values() if v > 1)
    print(f"  W27 {kills} kills: {wall:.2f}s, {lost} URLs lost, {twice} recorded twice "
          f"(bound {kills * c})", flush=True)
    return [{"workload": "W27", "tool": f"octopus --queue, 4 processes, {kills} killed",
             "urls": URLS, "concurrency": TOTAL_C, "wall_s": wall, "urls_per_s": URLS / wall,
             "ideal_s": IDEAL, "vs_ideal": wall / IDEAL, "peak_rss_mb": float("nan"), "lost": lost,
             "twice": twice, "twice_bound": kills * c}]


def queued(args, work, which, port):
    list_file = os.path.join(work, "W26.txt")
    write_lines(list_file, (f"http://127.0.1.{1 + i % 50}:{port}/delay/{i}" for i in range(URLS)))
    rows = []
    if "W26" in which:
        rows += w26(args, work, list_file)
    if "W27" in which:
        rows += w27(args, work, list_file)
    return rows
