"""W21-W23 ("proxies"): octopus through Debian's squid, against nginx on loopback, every peer
in the same run.

W21: 2,000 URLs x 100 ms, c=200, plain http through squid with its stock configuration
     (/etc/squid/squid.conf: localhost allowed, CONNECT to port 443 only), beside octopus
     direct, `curl --parallel -x` and wget2 with the proxy set. Ideal 1.0 s.
W22: W14's shape (20,000 https URLs over 50 hosts, 100 ms, c=2000) through squid's CONNECT,
     beside octopus direct; the stock configuration plus the harness's TLS port among
     `SSL_ports` (nginx serves TLS on 18443, not 443) and file descriptors for 2,000
     tunnels. The most threads octopus ran is sampled from /proc.
W23: 20,000 URLs x 100 ms, c=200, over a pool of 8 squids (each the stock configuration on
     its own port), two of them killed 1 s into the run: the URLs lost (no record), the
     URLs that failed, and how many records name a proxy.
"""
import json
import os
import shutil
import signal
import subprocess
import threading
import time

from harness import RUN_TIMEOUT, in_turns, measured, summarize, write_lines

STOCK = "/etc/squid/squid.conf"
SQUID_PORT = 3128
POOL_PORTS = range(13128, 13136)


class Squid:
    """One squid, in the foreground (-N), on `port` with the stock configuration plus
    `extra` lines; its logs and pid file under `directory`."""

    def __init__(self, directory, port, extra=()):
        with open(STOCK) as f:
            stock = f.read()
        conf = os.path.join(directory, f"squid-{port}.conf")
        own = [f"http_port 127.0.0.1:{port}",
               f"pid_filename {directory}/squid-{port}.pid",
               f"cache_log {directory}/squid-{port}-cache.log",
               "access_log none",
               "cache deny all",
               f"coredump_dir {directory}",
               "shutdown_lifetime 0 seconds",
               *extra]
        body = "\n".join(line for line in stock.splitlines()
                         if not line.strip().startswith("http_port"))
        with open(conf, "w") as f:
            f.write(body + "\n" + "\n".join(own) + "\n")
        subprocess.run(["squid", "-z", "-N", "-f", conf], capture_output=True, timeout=60)
        self.process = subprocess.Popen(["squid", "-N", "-f", conf], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            probe = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                    "-x", self.url, "http://127.0.0.1:18090/n/probe"],
                                   capture_output=True, text=True)
            if probe.stdout == "200":
                return
            time.sleep(0.2)
        raise RuntimeError(f"squid on {port} did not start")

    def kill(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


def threads_of(cmd):
    """Run `cmd`, sampling its thread count; (measured(...) result, the most threads)."""
    most = [0]
    result = {}

    def run():
        result["m"] = measured(cmd)

    runner = threading.Thread(target=run)
    runner.start()
    while runner.is_alive():
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() != "octopus":
                        continue
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("Threads:"):
                            most[0] = max(most[0], int(line.split()[1]))
            except OSError:
                continue
        time.sleep(0.05)
    runner.join()
    return result["m"], most[0]


def w21(args, work, base):
    urls = [f"{base}/delay/{i}" for i in range(2000)]
    urls_file, curl_cfg = os.path.join(work, "W21.txt"), os.path.join(work, "W21.curl")
    write_lines(urls_file, urls)
    write_lines(curl_cfg, [f'url = "{u}"\noutput = "/dev/null"' for u in urls])
    proxy = f"http://127.0.0.1:{SQUID_PORT}"
    tools = {"octopus": [args.octopus, "-q", "-c", "200", "--proxy", proxy, urls_file]}
    if args.before:
        tools["octopus (before)"] = [args.before, "-q", "-c", "200", "--proxy", proxy, urls_file]
    tools["octopus, direct"] = [args.octopus, "-q", "-c", "200", urls_file]
    tools["curl --parallel -x"] = ["curl", "-s", "--parallel", "--parallel-max", "200", "-x",
                                   proxy, "-K", curl_cfg]
    tools["wget2"] = ["wget2", "-q", "--no-config", "--max-threads=200", "-O", "/dev/null",
                      f"--http-proxy={proxy}", "-i", urls_file]
    runs = in_turns(tools, args.repeat, run=measured)
    return summarize("W21", runs, len(urls), 200, 1.0)


def w22(args, work, ca):
    from secure import HOSTS, TLS_PORT
    urls = [f"https://127.0.1.{1 + i % HOSTS}:{TLS_PORT}/delay/{i}" for i in range(20000)]
    urls_file = os.path.join(work, "W22.txt")
    write_lines(urls_file, urls)
    proxy = f"http://127.0.0.1:{SQUID_PORT + 1}"
    squid = Squid(work, SQUID_PORT + 1, [f"acl SSL_ports port {TLS_PORT}",
                                         "max_filedescriptors 65536"])
    try:
        tools = {"octopus": [args.octopus, "-q", "-c", "2000", "--cacert", ca, "--proxy", proxy,
                             urls_file],
                 "octopus, direct": [args.octopus, "-q", "-c", "2000", "--cacert", ca, urls_file]}
        if args.before:
            tools["octopus (before)"] = [args.before, "-q", "-c", "2000", "--cacert", ca,
                                         "--proxy", proxy, urls_file]
        runs, most = {tool: [] for tool in tools}, {tool: 0 for tool in tools}
        for _ in range(args.repeat):
            for tool, cmd in tools.items():
                result, threads = threads_of(cmd)
                runs[tool].append(result)
                most[tool] = max(most[tool], threads)
        rows = summarize("W22", runs, len(urls), 2000, 1.0)
        for row in rows:
            row["threads"] = most[row["tool"]]
            print(f"  W22 {row['tool']}: at most {row['threads']} threads", flush=True)
        return rows
    finally:
        squid.kill()


def w23(args, work, base):
    urls = [f"{base}/delay/{i}" for i in range(20000)]
    urls_file, records = os.path.join(work, "W23.txt"), os.path.join(work, "W23.jsonl")
    write_lines(urls_file, urls)
    pool = [Squid(work, port) for port in POOL_PORTS]
    rows = []
    try:
        for round_ in range(args.repeat):
            alive = [s for s in pool if s.process.poll() is None]
            if len(alive) < len(pool):
                for s in pool:
                    s.kill()
                pool = [Squid(work, port) for port in POOL_PORTS]
            cmd = [args.octopus, "--json", "-c", "200", "--retries", "2",
                   *[arg for s in pool for arg in ("--proxy", s.url)], urls_file]
            start = time.monotonic()
            summary_file = os.path.join(work, "W23.summary")
            with open(records, "w") as out, open(summary_file, "w") as err:
                p = subprocess.Popen(cmd, stdout=out, stderr=err)
                time.sleep(1.0)
                pool[0].kill()
                pool[5].kill()
                p.wait(timeout=RUN_TIMEOUT)
            wall = time.monotonic() - start
            seen, ok, named = set(), 0, 0
            with open(records) as f:
                for line in f:
                    r = json.loads(line)
                    seen.add(r["url"])
                    ok += r["ok"]
                    named += "proxy" in r
            lost = len(set(urls) - seen)
            summary = {}
            with open(summary_file) as f:
                for line in f:
                    if '"type":"summary"' in line:
                        summary = json.loads(line)
            pool_use = [(u["requests"], u["failures"], u["set_aside"])
                        for u in summary.get("proxies", [])]
            retried = summary.get("retried", 0)
            row = {"workload": "W23", "tool": "octopus (8 squids, 2 killed)", "urls": len(urls),
                   "concurrency": 200, "wall_s": wall, "urls_per_s": len(urls) / wall,
                   "ideal_s": 10.0, "peak_rss_mb": float("nan"), "lost": lost,
                   "failed": len(seen) - ok, "named": named, "exit": p.returncode,
                   "retried": retried, "pool": pool_use}
            print(f"  W23 round {round_ + 1}: {wall:.2f}s, {lost} lost, {len(seen) - ok} failed, "
                  f"{retried} retried, {named} records name their proxy, exit {p.returncode}; "
                  f"per proxy (requests, failures, set aside): {pool_use}", flush=True)
            rows.append(row)
    finally:
        for s in pool:
            s.kill()
    return rows


def proxies(args, work, base, ca, which):
    """The rows of W21-W23 that `which` names; squid on 3128 for W21 (stock)."""
    if not shutil.which("squid"):
        print("  W21-W23 skipped: no squid (apt-get install squid)", flush=True)
        return []
    rows = []
    if "W21" in which:
        squid = Squid(work, SQUID_PORT)
        try:
            rows += w21(args, work, base)
        finally:
            squid.kill()
    if "W22" in which:
        rows += w22(args, work, ca)
    if "W23" in which:
        rows += w23(args, work, base)
    return rows
