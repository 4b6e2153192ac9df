"""W28 ("one crawl shared through Redis", `crawl --queue`): W18's site (`--crawl-pages`
pages, robots.txt, redirects, missing pages, a disallowed directory) spread over 50 hosts
(nginx on 50 ports, one root; page i lives on the (i mod 50)th, every link absolute),
crawled with `--delay 20ms` (at least 20 ms between two requests to a host):

- once by one process (`crawl`, no queue): the reference page set;
- then by 3 processes through Redis (`crawl --queue`, `--queue-lease 3s`), one killed with
  SIGKILL once it has recorded `KILL_AT` pages, and started again.

Reported: the shared run's wall against the single process's, whether its page set (the
URLs recorded, and where their redirects ended) is exactly the single process's, pages
recorded twice (only what the killed process had recorded and not yet marked done may be),
the minimum gap between two request starts to one host (from the records: `finished_at -
fetch_ms`; under this load a start can be stamped late, so this says little), Redis's CPU
and peak memory; a lighter run for politeness (3 processes, 5,000 pages, `--delay 100ms`,
the machine not saturated): the smallest gap between two requests to one host as nginx saw
them, against the delay; and the seen-set's size at 1,000,000 URLs (admitted as seeds with
`--max-pages 0`, nothing fetched; the `MEMORY USAGE` of its keys summed, and Redis's
`used_memory` less the held-back list)."""
import collections
import datetime
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from crawl import links_of, nginx_main
from harness import measured
from queued import reap, redis_call, redis_cpu, redis_memory
from sharing import REDIS_PORT, redis_server

BASE_PORT = 18140
HOSTS = 50
DELAY_MS = 20
KILL_AT = 3000
POLITE_PAGES = 5000
POLITE_MS = 100
SEEN_URLS = 1_000_000


def host_of(i):
    return f"http://127.0.0.1:{BASE_PORT + i % HOSTS}"


def generate(root, n):
    """W18's pages (its links, not its external ones), each link absolute on its page's host."""
    site = os.path.join(root, "site")
    os.makedirs(site)
    os.makedirs(os.path.join(root, "private"))
    for i in range(n):
        anchors = []
        for path in links_of(i, n):
            page = path.rsplit("p", 1)[-1].split(".")[0] if "/site/p" in path else None
            number = int(page) if page and page.isdigit() else i
            anchors.append(f'<a href="{host_of(number)}{path}">{path}</a>')
        with open(os.path.join(site, f"p{i}.html"), "w") as f:
            f.write(f"<!doctype html><html><head><title>page {i}</title></head><body>\n"
                    + "\n".join(anchors) + "\n</body></html>\n")
    with open(os.path.join(root, "robots.txt"), "w") as f:
        f.write("User-agent: *\nDisallow: /private/\n")


def nginx_conf(work, root):
    servers = "".join(f"""
  server {{
    listen 127.0.0.1:{BASE_PORT + k} backlog=4096;
    root {root};
    location /r/ {{ rewrite ^/r/(.*)$ /site/p$1.html permanent; }}
  }}""" for k in range(HOSTS))
    return nginx_main(work, f"""  log_format timed '$msec $request_time $server_port $status $request_uri';
  access_log {work}/access.log timed;{servers}""")


def recorded(paths):
    """{URL: times recorded}, and the set of URLs reached (recorded or a redirect's end)."""
    times, reached = collections.Counter(), set()
    for path in paths:
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                times[r["url"]] += 1
                reached.add(r["url"])
                if r.get("final_url"):
                    reached.add(r["final_url"])
    return times, reached


def min_gap_ms(records):
    """The smallest gap between two request starts to one host over the records of the
    files `records` (a record's start: `finished_at - fetch_ms`, ms resolution; a redirect's
    next hop is in its first hop's record, robots.txt in none): the crawl's own requests,
    whichever process sent them. nginx's log cannot say it under load: a busy worker reads
    requests of several connections in one turn, giving them one time."""
    starts = collections.defaultdict(list)
    for path in records:
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                if r.get("fetch_ms") is None:
                    continue
                finished = datetime.datetime.strptime(r["finished_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
                port = r["url"].split("/")[2].rsplit(":", 1)[1]
                starts[port].append(finished.timestamp() * 1000 - r["fetch_ms"])
    gaps = [b - a for times in starts.values()
            for a, b in zip(sorted(times), sorted(times)[1:])]
    return min(gaps) if gaps else float("nan")


def logged_gap_ms(log, since_line):
    """The smallest gap between two request starts to one host that nginx saw (`$msec -
    $request_time`, ms resolution) in its log's lines after `since_line`, robots.txt and a
    redirect's next hop (sent as soon as its 301 arrives) left out: the crawl's own
    requests, whichever process sent them. Meaningful only while nginx is not short of CPU
    (a busy worker reads the requests of several connections in one turn, one time for
    all)."""
    requests = collections.defaultdict(list)
    with open(log) as f:
        for k, line in enumerate(f):
            if k >= since_line:
                msec, took, port, status, uri = line.split()
                requests[port].append((float(msec) - float(took), uri, status))
    gaps = []
    for host in requests.values():
        host.sort()
        started = [start for (start, uri, _), before in zip(host, [None] + host[:-1])
                   if uri != "/robots.txt" and not (before and before[2] == "301")]
        gaps += [b - a for a, b in zip(started, started[1:])]
    return min(gaps) * 1000 if gaps else float("nan")


def polite(args, work, seed, log):
    """3 processes sharing a lighter crawl (POLITE_PAGES pages, `--delay POLITE_MS`), the
    machine not saturated: the smallest gap between two requests to one host as nginx saw
    them, and as the records say."""
    outs = [os.path.join(work, f"w28p-{k}.jsonl") for k in range(3)]
    server = redis_server()
    try:
        logged0 = lines_of(log)
        cmds = [crawl_cmd(args, out, seed, "w28p", delay=POLITE_MS) + ["--max-pages",
                                                                       str(POLITE_PAGES)]
                for out in outs]
        procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for cmd in cmds]
        codes = [reap(p)[0] for p in procs]
        return {"pages": sum(lines_of(o) for o in outs), "exit_codes": codes,
                "delay_ms": POLITE_MS, "min_gap_ms_nginx": logged_gap_ms(log, logged0),
                "min_gap_ms_records": min_gap_ms(outs)}
    finally:
        server.kill()
        server.wait()


def lines_of(path):
    try:
        with open(path, "rb") as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def reaped_cpu(proc):
    """Wait for `proc`: its exit code, CPU seconds (user + system) and peak RSS in MB."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def crawl_cmd(args, out, seed, job=None, delay=DELAY_MS):
    cmd = [args.octopus, "crawl", "--json", "-q", "-c", "200", "--depth", "100000",
           "--scope", "any", "--delay", f"{delay}ms", "-o", out]
    if job:
        cmd += ["--queue", f"redis://127.0.0.1:{REDIS_PORT}/{job}", "--queue-lease", "3s"]
    return cmd + [seed]


def shared(args, work, seed):
    """The 3-process run, one killed and started again: its numbers."""
    outs = [os.path.join(work, f"w28-{k}.jsonl") for k in range(3)]
    server = redis_server()
    try:
        cpu0 = redis_cpu(server)
        start = time.monotonic()
        procs = [subprocess.Popen(crawl_cmd(args, out, seed, "w28"), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for out in outs]
        while lines_of(outs[0]) < KILL_AT and procs[0].poll() is None:
            time.sleep(0.05)
        killed_at = lines_of(outs[0])
        procs[0].send_signal(signal.SIGKILL)
        cpu = reaped_cpu(procs[0])[1]
        procs[0] = subprocess.Popen(crawl_cmd(args, outs[0], seed, "w28"),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        reaped = [reaped_cpu(p) for p in procs]
        wall = time.monotonic() - start
        return {"wall_s": wall, "exit_codes": [code for code, _, _ in reaped],
                "cpu_s": cpu + sum(c for _, c, _ in reaped),
                "peak_rss_mb": max(rss for _, _, rss in reaped), "killed_at": killed_at,
                "redis_cpu_s": redis_cpu(server) - cpu0, "redis_peak_mb": redis_memory(),
                "min_gap_ms": min_gap_ms(outs),
                "records": recorded(outs), "per_process": [lines_of(o) for o in outs]}
    finally:
        server.kill()
        server.wait()


def seen_set_bytes(args, work):
    """Bytes a URL of the seen-set at SEEN_URLS URLs: (keys' MEMORY USAGE, used_memory less
    the held-back list)."""
    urls = os.path.join(work, "seen.txt")
    with open(urls, "w") as f:
        for i in range(SEEN_URLS):
            f.write(f"http://127.0.0.{1 + i % 50}:1/site/p{i}.html?q={i * 7919}\n")
    server = redis_server()
    try:
        before = int(redis_call("INFO", "memory").split("used_memory:")[1].split()[0])
        subprocess.run([args.octopus, "crawl", "-q", "--max-pages", "0", "--depth", "0",
                        "--queue", f"redis://127.0.0.1:{REDIS_PORT}/seen", urls],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        after = int(redis_call("INFO", "memory").split("used_memory:")[1].split()[0])
        held = subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "MEMORY", "USAGE",
                               "octopus:crawl:seen:over"], capture_output=True, text=True)
        keys = subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "--scan", "--pattern",
                               "octopus:crawl:seen:seen:*"], capture_output=True, text=True)
        asks = "".join(f"MEMORY USAGE {k}\n" for k in keys.stdout.split())
        sizes = subprocess.run(["redis-cli", "-p", str(REDIS_PORT)], input=asks,
                               capture_output=True, text=True)
        summed = sum(int(v) for v in sizes.stdout.split() if v.isdigit())
        return summed / SEEN_URLS, (after - before - int(held.stdout.strip() or 0)) / SEEN_URLS
    finally:
        server.kill()
        server.wait()


def shared_crawl(args, _work):
    """W28's rows."""
    work = tempfile.mkdtemp(prefix="octopus-w28-")
    os.chmod(work, 0o755)
    root = os.path.join(work, "www")
    generate(root, args.crawl_pages)
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(nginx_conf(work, root))
    subprocess.run(["nginx", "-c", conf, "-p", work, "-e", os.path.join(work, "error.log")],
                   check=True)
    time.sleep(0.5)
    seed = f"{host_of(0)}/site/p0.html"
    try:
        one = os.path.join(work, "w28-alone.jsonl")
        wall, rss, code, cpu = measured(crawl_cmd(args, one, seed))
        alone_gap = min_gap_ms([one])
        alone_times, alone_set = recorded([one])
        run = shared(args, work, seed)
        times, reached = run.pop("records")
        per_byte, per_used = seen_set_bytes(args, work)
        gaps = polite(args, work, seed, os.path.join(work, "access.log"))
        rows = [
            {"workload": "W28", "tool": "octopus crawl (one process)", "urls": len(alone_times),
             "concurrency": 200, "wall_s": wall, "urls_per_s": len(alone_times) / wall,
             "peak_rss_mb": rss, "cpu_s": cpu, "exit_codes": [code],
             "min_gap_ms": alone_gap},
            {"workload": "W28", "tool": "octopus crawl --queue (3 processes, 1 killed)",
             "urls": len(times), "concurrency": 200, "urls_per_s": len(times) / run["wall_s"],
             "vs_one_process": run["wall_s"] / wall,
             "exact_set": reached == alone_set, "missing": len(alone_set - reached),
             "extra": len(reached - alone_set),
             "twice": sum(1 for n in times.values() if n > 1), **run,
             "seen_set_bytes_per_url": per_byte, "used_memory_per_url": per_used},
            {"workload": "W28", "tool": "politeness: 3 processes, lighter", "urls": gaps["pages"],
             "concurrency": 200, "wall_s": float("nan"), "urls_per_s": float("nan"),
             "peak_rss_mb": float("nan"), **gaps},
        ]
        for r in rows:
            shown = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}
            print(f"  {shown}", flush=True)
        return rows
    finally:
        with open(os.path.join(work, "nginx.pid")) as f:
            os.kill(int(f.read().strip()), signal.SIGTERM)
        time.sleep(0.5)
        shutil.rmtree(work, ignore_errors=True)
