"""W18: crawl a generated static site of `--crawl-pages` pages (100,000 by default) served by
nginx on 127.0.0.1:18100: octopus crawl against wget2 -r --spider (robots.txt honoured by
both), every tool in the same run.

Each page links to 18 others of the site (spread by a multiplicative step, plus the next
page, so that every page is reachable), 1% of pages to a page that does not exist, one in 10
to a redirect (`/r/N`, 301 to page N), one in 10 to a second host (out of scope), and one in 20
to `/private/…`, which robots.txt disallows (with a `Sitemap:` line). Reported: wall time,
peak RSS, the requests nginx logged during the run (every page once, the broken links once,
robots.txt), and for octopus its records and its summary.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

from harness import measured

PORT = 18100
STEPS = (7, 13, 31, 61, 97, 151, 211, 307, 401, 503, 601, 701, 809, 907, 1009, 1103, 1201)


def links_of(i, n):
    """The site paths page `i` links to."""
    out = [f"/site/p{(i + 1) % n}.html"]
    out += [f"/site/p{(i * s + s) % n}.html" for s in STEPS]
    if i % 100 == 0:
        out.append(f"/site/missing{i}.html")
    if i % 10 == 1:
        out.append(f"/r/{(i * 3) % n}")
    if i % 20 == 2:
        out.append(f"/private/p{i}.html")
    return out


def generate(root, n):
    site = os.path.join(root, "site")
    os.makedirs(site)
    os.makedirs(os.path.join(root, "private"))
    for i in range(n):
        anchors = "".join(f'<a href="{p}">{p}</a>\n' for p in links_of(i, n))
        if i % 10 == 3:
            anchors += f'<a href="http://127.0.1.1:{PORT}/elsewhere/{i}">away</a>\n'
        with open(os.path.join(site, f"p{i}.html"), "w") as f:
            f.write(f"<!doctype html><html><head><title>page {i}</title></head><body>\n"
                    f"{anchors}</body></html>\n")
    with open(os.path.join(root, "robots.txt"), "w") as f:
        f.write(f"User-agent: *\nDisallow: /private/\n"
                f"Sitemap: http://127.0.0.1:{PORT}/sitemap.xml\n")


def nginx_conf(work, root):
    return f"""
worker_processes 2;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  include /etc/nginx/mime.types;
  access_log {work}/access.log;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{PORT} backlog=4096;
    root {root};
    location /r/ {{ rewrite ^/r/(.*)$ /site/p$1.html permanent; }}
  }}
}}
"""


def logged(work):
    try:
        with open(os.path.join(work, "access.log")) as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def crawl(args, _work):
    """W18's rows."""
    n = args.crawl_pages
    # Not under the harness's own directory: nginx's workers (another user) read the site.
    work = tempfile.mkdtemp(prefix="octopus-crawl-")
    os.chmod(work, 0o755)
    root = os.path.join(work, "www")
    generate(root, n)
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(nginx_conf(work, root))
    subprocess.run(["nginx", "-c", conf, "-p", work, "-e", os.path.join(work, "error.log")],
                   check=True)
    time.sleep(0.5)
    seed = f"http://127.0.0.1:{PORT}/site/p0.html"
    # octopus crawl does not take -o yet: its records go to a file through the shell.
    records = os.path.join(work, "records.jsonl")
    tools = {
        "octopus crawl": (f"{args.octopus} crawl --json -c 200 --depth 100000 {seed} "
                          f"> {records} 2> {work}/octopus.err"),
        "wget2 -r --spider": ["wget2", "-q", "--no-config", "-r", "-l", "0", "--spider",
                              "--max-threads=200", "-o", "/dev/null", seed],
    }
    rows = []
    try:
        for tool, cmd in tools.items():
            before = logged(work)
            shell = isinstance(cmd, str)
            wall, rss, code, cpu = measured(cmd, shell=shell)
            time.sleep(0.5)
            requests = logged(work) - before
            row = {"workload": "W18", "tool": tool, "urls": n, "concurrency": 200,
                   "wall_s": wall, "urls_per_s": n / wall, "ideal_s": None,
                   "peak_rss_mb": rss, "cpu_s": cpu, "exit_codes": [code],
                   "server_requests": requests}
            if tool == "octopus crawl":
                with open(records) as f:
                    recs = [json.loads(line) for line in f]
                row["records"] = len(recs)
                row["failed"] = sum(1 for r in recs if not r.get("ok"))
                with open(f"{work}/octopus.err") as f:
                    row["summary"] = f.read().strip()
            print(f"  W18 {tool}: {wall:.2f}s cpu {cpu:.2f}s rss {rss:.0f} MB, nginx saw "
                  f"{requests} requests, exit {code} {row.get('summary', '')}", flush=True)
            rows.append(row)
    finally:
        with open(os.path.join(work, "nginx.pid")) as f:
            os.kill(int(f.read().strip()), 15)
        time.sleep(0.5)
        shutil.rmtree(work, ignore_errors=True)
    return rows
