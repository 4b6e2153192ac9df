#!/usr/bin/env python3
"""Peer benchmark: octopus against curl --parallel, wget2, xargs+curl, the original
octopus-http, aria2c (W10, keeping.py), wget --warc-file (W11, keeping.py), and its own
in-process limiter against limits shared through Redis (W12, sharing.py), one list shared
by several processes through Redis (W26, W27, queued.py), one crawl shared through Redis
(W28, shared_crawl.py), `--delay` as the server sees it (W29, spacing.py), every workload
with every peer in the same run, against nginx on 127.0.0.1.

Started by bench/peers.sh (which installs the tools). All traffic goes to 127.0.0.0/8.
Reports median wall time, URLs/s, ratio to octopus, ratio to the ideal time and peak RSS.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from crawl import crawl
from from_python import from_python
from harness import RUN_TIMEOUT, in_turns, measured, summarize, timed, write_lines
from multiplexed import multiplexed, nginx_h2_servers
from names import names
from web import web
from proxies import proxies
from keeping import W10_FILES, W10_SIZE, archive_list, download_list
from scale import scale
from secure import make_pki, nginx_server, secure
from sharing import shared_limits
from queued import queued
from shared_crawl import shared_crawl
from spacing import spacing

PORT = 18090
HOSTS_W6 = 200
ECHO_MODULE = "/usr/lib/nginx/modules/ngx_http_echo_module.so"


def nginx_conf(workdir, tls_server):
    extra = "\n".join(
        f"    listen 127.0.1.{i}:{PORT} backlog=4096;" for i in range(1, HOSTS_W6 + 1)
    )
    return f"""
load_module {ECHO_MODULE};
worker_processes 2;
worker_rlimit_nofile 65536;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 16384; multi_accept on; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  server {{
    listen 127.0.0.1:{PORT} backlog=4096;
{extra}
    location /delay/ {{ echo_sleep 0.1; echo "ok"; }}
    location /to/ {{ rewrite ^/to/(.*)$ /delay/$1 redirect; }}
    location /missing/ {{ return 404; }}
    location /slow/ {{ echo_sleep 2; echo "ok"; }}
    location /w4/ {{ access_log {workdir}/access.log; echo_sleep 0.1; echo "ok"; }}
    location /files/ {{ root {workdir}/www; }}
    location = /nginx-status {{ stub_status; }}
    location / {{ return 200 "ok\\n"; }}
  }}
{tls_server}
}}
"""


class Nginx:
    """nginx with the harness's configuration, started as `wrap` + its command line (W16
    and W17 start it inside their network namespace), its certificate also naming
    `dns_names`."""

    def __init__(self, wrap=(), dns_names=()):
        self.dir = tempfile.mkdtemp(prefix="octopus-nginx-")
        # nginx's workers run as another user: they must be able to read the files.
        os.chmod(self.dir, 0o755)
        files = os.path.join(self.dir, "www", "files")
        os.makedirs(files)
        chunk = os.urandom(W10_SIZE)
        for i in range(W10_FILES):
            with open(os.path.join(files, f"f{i}.bin"), "wb") as f:
                f.write(chunk)
        self.ca, cert, key = make_pki(self.dir, dns_names)
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(nginx_conf(self.dir, nginx_server(cert, key) + nginx_h2_servers(cert, key)))
        subprocess.run([*wrap, "nginx", "-c", conf, "-p", self.dir, "-e", os.path.join(self.dir, "error.log")],
                       check=True)
        time.sleep(0.5)

    def logged(self):
        try:
            with open(os.path.join(self.dir, "access.log")) as f:
                return sum(1 for _ in f)
        except FileNotFoundError:
            return 0

    def stop(self):
        pid_file = os.path.join(self.dir, "nginx.pid")
        try:
            with open(pid_file) as f:
                os.kill(int(f.read().strip()), 15)
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
        time.sleep(0.5)
        shutil.rmtree(self.dir, ignore_errors=True)


def seen_connections(row):
    """The connections the server saw for a row, when counted (multiplexed.py)."""
    return f"{row['connections']} connections" if "connections" in row else ""


def peer_commands(tool, urls_file, curl_cfg, c, args):
    return {
        "octopus": ([args.octopus, "-q", "-c", str(c), urls_file], False),
        "octopus (before)": ([args.before, "-q", "-c", str(c), urls_file], False),
        "octopus --keep-order": ([args.octopus, "-q", "-c", str(c), "--keep-order", urls_file],
                                 False),
        "curl --parallel": (f"curl -s --parallel --parallel-max {c} -K {curl_cfg}", True),
        "wget2": (f"wget2 -q --no-config --max-threads={c} -O /dev/null -i {urls_file}", True),
        "xargs -P + curl": (f"xargs -P {c} -n 1 curl -s -o /dev/null < {urls_file}", True),
        "octopus-http (original)": ([args.python, args.original, urls_file, str(c)], False),
    }[tool]


def run_workload(name, urls, c, ideal, tools, args, work, extra=None):
    urls_file = os.path.join(work, f"{name}.txt")
    curl_cfg = os.path.join(work, f"{name}.curl")
    write_lines(urls_file, urls)
    write_lines(curl_cfg, [f'url = "{u}"\noutput = "/dev/null"' for u in urls])
    ours = ("octopus", "octopus (before)", "octopus --keep-order")
    tools = [t for t in tools if t in ours or args.peers is None or t in args.peers]
    # Rounds of every tool in turn, so that a drift of the machine hits them all alike.
    commands = {tool: peer_commands(tool, urls_file, curl_cfg, c, args) for tool in tools}
    runs = in_turns(commands, args.repeat, run=lambda cmd: measured(cmd[0], shell=cmd[1]))
    return summarize(name, runs, len(urls), c, ideal)


def head_of_line(args, work, base):
    """W7: 200 URLs for host A limited to 2 in flight, then 2000 for host B, 100 ms each,
    c=200. Times when the last B and the last A record come out (octopus only: the peers
    have no per-host limit)."""
    a = [f"{base}/delay/a{i}" for i in range(200)]
    b = [f"http://127.0.1.1:{PORT}/delay/b{i}" for i in range(2000)]
    urls_file = os.path.join(work, "W7.txt")
    write_lines(urls_file, a + b)
    rows = []
    for _ in range(args.repeat):
        start = time.monotonic()
        p = subprocess.Popen([args.octopus, "-q", "--json", "-c", "200", "--limit", f"{base}/=2",
                              urls_file], stdout=subprocess.PIPE, text=True)
        last = {"a": 0.0, "b": 0.0}
        for line in p.stdout:
            last["b" if "127.0.1.1" in line else "a"] = time.monotonic() - start
        p.wait(timeout=RUN_TIMEOUT)
        rows.append(last)
        print(f"  W7 B done {last['b']:.2f}s, A done {last['a']:.2f}s", flush=True)
    b_done = statistics.median(r["b"] for r in rows)
    a_done = statistics.median(r["a"] for r in rows)
    return [
        {"workload": "W7", "tool": "octopus: the 2000 B URLs", "urls": 2000, "concurrency": 200,
         "wall_s": b_done, "urls_per_s": 2000 / b_done, "ideal_s": 2000 / 198 * 0.1,
         "vs_ideal": b_done / (2000 / 198 * 0.1), "peak_rss_mb": float("nan")},
        {"workload": "W7", "tool": "octopus: the 200 A URLs (2 at a time)", "urls": 200,
         "concurrency": 2, "wall_s": a_done, "urls_per_s": 200 / a_done, "ideal_s": 10.0,
         "vs_ideal": a_done / 10.0, "peak_rss_mb": float("nan")},
    ]


def load_test(args, work, base):
    """W8: 100000 URLs at c=1000: zero errors, and open file descriptors sampled from
    /proc during the run: they must stay bounded (no growth with the URLs done)."""
    urls_file = os.path.join(work, "W8.txt")
    write_lines(urls_file, (f"{base}/n/{i}" for i in range(100_000)))
    start = time.monotonic()
    p = subprocess.Popen([args.octopus, "--json", "-c", "1000", urls_file],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    samples = []
    while p.poll() is None:
        try:
            samples.append(len(os.listdir(f"/proc/{p.pid}/fd")))
        except FileNotFoundError:
            break
        time.sleep(0.1)
    err = p.communicate(timeout=RUN_TIMEOUT)[1]
    wall = time.monotonic() - start
    summary = json.loads(next(l for l in err.splitlines() if '"type":"summary"' in l))
    half = len(samples) // 2
    first, second = max(samples[:half] or [0]), max(samples[half:] or [0])
    print(f"  W8 {wall:.1f}s ok {summary['ok']} failed {summary['failed']} "
          f"fds max first half {first}, second half {second}", flush=True)
    return [{"workload": "W8", "tool": f"octopus (failed {summary['failed']}; fds max {first} "
             f"in the first half, {second} in the second)", "urls": 100_000,
             "concurrency": 1000, "wall_s": wall, "urls_per_s": 100_000 / wall,
             "ideal_s": None, "peak_rss_mb": float("nan")}]


def wrk_rate(url, connections):
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", "-d5s", url],
                         capture_output=True, text=True, timeout=60).stdout
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--octopus", required=True)
    ap.add_argument("--python", required=True)
    ap.add_argument("--original", required=True)
    ap.add_argument("--warcio", default="warcio", help="the warcio command (W11 checks with it)")
    ap.add_argument("--crawl-pages", dest="crawl_pages", type=int, default=100_000,
                    help="pages of W18's generated site")
    ap.add_argument("--crawl-pages-w19", dest="crawl_pages_w19", type=int, default=10_000,
                    help="pages of W19's generated site (served 50 ms late)")
    ap.add_argument("--crawl-pages-w20", dest="crawl_pages_w20", type=int, default=1_000_000,
                    help="pages of W20's generated site (killed and resumed)")
    ap.add_argument("--py-ours", dest="py_ours", default=None,
                    help="the Python of a virtualenv with this repository's package, aiohttp "
                         "and requests (W1py, W2py, W3py)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--peers", default=None, type=lambda v: v.split(","),
                    help="only these peers besides octopus, comma-separated tool names as in "
                         "the table (e.g. 'wget2,curl --parallel'); default: all")
    ap.add_argument("--octopus-before", dest="before", default=None,
                    help="another octopus binary (e.g. built from the previous commit) to run "
                         "beside octopus in W1, W2, W3, W6, W9, W13-W17, W21, W22, W24, W25 and W14h2, for "
                         "before/after "
                         "numbers")
    ap.add_argument("workloads", nargs="*",
                    default=["W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8", "W9", "W10", "W11",
                             "W12", "W13", "W14", "W15", "W16", "W17", "W1py", "W2py",
                             "W3py", "W18", "W19", "W20", "W21", "W22", "W23", "W24", "W25",
                             "W14h2", "W-web", "W26", "W27", "W28", "W29"])
    ap.add_argument("--web-curl-cap", dest="web_curl_cap", type=int, default=300,
                    help="W-web: seconds after which curl --parallel is stopped (its records "
                         "by then are counted)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="octopus-peers-")
    base = f"http://127.0.0.1:{PORT}"
    ours = ["octopus", "octopus (before)"] if args.before else ["octopus"]
    all_tools = ours + ["curl --parallel", "wget2", "xargs -P + curl", "octopus-http (original)"]
    rows, notes = [], {}
    nginx = Nginx()
    try:
        w = set(args.workloads)
        if "W1" in w:
            rows += run_workload("W1", [f"{base}/delay/{i}" for i in range(2000)], 200, 1.0,
                                 all_tools + ["octopus --keep-order"], args, work)
        if "W2" in w:
            rows += run_workload("W2", [f"{base}/delay/{i}" for i in range(10000)], 1000, 1.0,
                                 ours + ["curl --parallel", "wget2", "octopus-http (original)"],
                                 args, work)
        if "W3" in w:
            rows += run_workload("W3", [f"{base}/n/{i}" for i in range(20000)], 64, None,
                                 all_tools + ["octopus --keep-order"], args, work)
            notes["W3 wrk -t2 -c64 req/s"] = wrk_rate(f"{base}/n/1", 64)
        if "W4" in w:
            urls = [f"{base}/w4/site-{(i * 7919) % 13}" for i in range(2000)]
            for tool, cmd in [("octopus", None), ("octopus-http (original)", "cache")]:
                before = nginx.logged()
                urls_file = os.path.join(work, "W4.txt")
                write_lines(urls_file, urls)
                if tool == "octopus":
                    wall, rss, _ = timed([args.octopus, "-q", "-c", "200", urls_file])
                else:
                    wall, rss, _ = timed([args.python, args.original, urls_file, "200", "cache"])
                time.sleep(0.3)
                seen = nginx.logged() - before
                rows.append({"workload": "W4", "tool": tool, "urls": 2000, "concurrency": 200,
                             "wall_s": wall, "urls_per_s": 2000 / wall, "ideal_s": 0.1,
                             "peak_rss_mb": rss, "server_requests": seen})
                print(f"  W4 {tool}: {wall:.2f}s, server saw {seen} requests", flush=True)
        if "W5" in w:
            for n in (250_000, 1_000_000):
                urls_file = os.path.join(work, f"W5-{n}.txt")
                write_lines(urls_file, (f"{base}/n/{i}" for i in range(n)))
                for label, flags in [("cache off", ["--no-cache"]), ("cache on", [])]:
                    wall, rss, _ = timed([args.octopus, "-q", "-c", "64", *flags], stdin_path=urls_file)
                    rows.append({"workload": "W5", "tool": f"octopus ({label}, {n} URLs)",
                                 "urls": n, "concurrency": 64, "wall_s": wall,
                                 "urls_per_s": n / wall, "ideal_s": None, "peak_rss_mb": rss})
                    print(f"  W5 {n} {label}: {wall:.1f}s rss {rss:.0f} MB", flush=True)
                os.remove(urls_file)
        if "W8" in w:
            rows += load_test(args, work, base)
        if "W7" in w:
            rows += head_of_line(args, work, base)
        if "W10" in w:
            rows += download_list(args, work, base)
        if "W11" in w:
            rows += archive_list(args, work, base)
        if "W12" in w:
            rows += shared_limits(args, work, base)
        if "W9" in w:
            rows += scale(args, work, PORT)
        if "W6" in w:
            urls = [f"http://127.0.1.{1 + i % HOSTS_W6}:{PORT}/n/{i}" for i in range(20000)]
            rows += run_workload("W6", urls, 64, None, ours + ["curl --parallel"], args, work)
        if "W13" in w:
            # W9's shape at c=2000 with every URL behind one redirect (302 to /delay/N).
            urls = [f"http://127.0.1.{1 + i % 50}:{PORT}/to/{i}" for i in range(20000)]
            rows += run_workload("W13", urls, 2000, 1.0, ours + ["wget2"], args, work)
        if w & {"W14", "W15"}:
            rows += secure(args, work, nginx.ca, w)
        if w & {"W16", "W17"}:
            rows += names(args, work, w, Nginx)
        if w & {"W24", "W25", "W14h2"}:
            rows += multiplexed(args, work, base, nginx.ca, w)
        if "W-web" in w:
            # Its own nginx, inside the namespace: the harness's is stopped meanwhile (one
            # nginx on the machine, so the servers' CPU is its alone).
            nginx.stop()
            try:
                rows += web(args, work, Nginx)
            finally:
                nginx = Nginx()
        if w & {"W26", "W27"}:
            rows += queued(args, work, w, PORT)
        if "W28" in w:
            rows += shared_crawl(args, work)
        if "W29" in w:
            rows += spacing(args, work)
        if w & {"W21", "W22", "W23"}:
            rows += proxies(args, work, base, nginx.ca, w)
        if {"W18", "W19", "W20"} & set(w):
            rows += crawl(args, work, w)
        if w & {"W1py", "W2py", "W3py"} and args.py_ours:
            rows += from_python(args, work, base, w)
    finally:
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)

    stamp = time.strftime("%Y-%m-%dT%H%M%S")
    with open(os.path.join(args.out, "latest.json"), "w") as f:
        json.dump({"when": stamp, "rows": rows, "notes": notes}, f, indent=1)
    table = ["| workload | tool | URLs | c | median wall s | URLs/s | × octopus | × ideal | peak RSS MB | server saw |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        fmt = lambda v, spec: "–" if v is None else format(v, spec)
        table.append(f"| {r['workload']} | {r['tool']} | {r['urls']} | {r['concurrency']} | "
                     f"{r['wall_s']:.2f} | {r['urls_per_s']:.0f} | {fmt(r.get('vs_octopus'), '.2f')} | "
                     f"{fmt(r.get('vs_ideal'), '.2f')} | {r['peak_rss_mb']:.0f} | "
                     f"{r.get('server_requests', '')}{seen_connections(r)} |")
    webbed = [r for r in rows if r["workload"].startswith("W-web")]
    if webbed:
        table += ["", "| W-web | tool | wall s | floor s | × floor | × floor with the tail | "
                  "CPU s | servers' CPU s | peak RSS MB | false failures | overrun p99 / max ms |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in webbed:
            if "runs" not in r:
                table.append(f"| {r['workload']} | {r['tool']} | {r['wall_s']:.0f} "
                             f"(cut off: {r['cut_off']}) | | | | {r['cpu_s']:.1f} | | "
                             f"{r['peak_rss_mb']:.0f} | {r['finished']} URLs done | |")
                continue
            m = sorted(r["runs"], key=lambda x: x["wall_s"])[len(r["runs"]) // 2]
            wrong = sum(m["false"].values()) + m["missing"]
            table.append(f"| {r['workload']} | {r['tool']} | {m['wall_s']:.2f} | "
                         f"{m['floor_s']:.2f} | {r['vs_floor']:.2f} | "
                         f"{r['vs_floor_with_tail']:.2f} | {m['cpu_s']:.1f} | "
                         f"{m['servers_cpu_s']:.1f} | {r['peak_rss_mb']:.0f} | {wrong} "
                         f"{m['false'] or ''} | {m['overrun_p99_ms']:.0f} / "
                         f"{m['overrun_max_ms']:.0f} (net {m['net_overrun_p99_ms']:.0f} / "
                         f"{m['net_overrun_max_ms']:.0f}) |")
    scaled = [r for r in rows if "cpu_us_per_url" in r]
    if scaled:
        table += ["", "| W9 tool | c | URLs | median wall s | CPU s | CPU µs/URL | peak RSS MB | "
                  "KB per slot |", "|---|---|---|---|---|---|---|---|"]
        table += [f"| {r['tool']} | {r['concurrency']} | {r['urls']} | {r['wall_s']:.2f} | "
                  f"{r['cpu_s']:.2f} | {r['cpu_us_per_url']:.0f} | {r['peak_rss_mb']:.0f} | "
                  f"{r['rss_kb_per_slot']:.0f} |" for r in scaled]
    for k, v in notes.items():
        table.append(f"\n{k}: {v:.0f}")
    text = "\n".join(table)
    with open(os.path.join(args.out, f"{stamp}.md"), "w") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
