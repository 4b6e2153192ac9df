"""W18-W20: crawl a generated static site served by nginx on 127.0.0.1, every tool in the
same run.

- W18: `--crawl-pages` pages (100,000), no latency, `-c 200`: octopus crawl against
  wget2 -r --spider (robots.txt honoured by both).
- W19: `--crawl-pages-w19` pages (10,000) served 50 ms late (the echo module sleeps before
  an internal redirect to the file), octopus with `--per-host 8` against wget2 with 8
  threads; the ideal is the requests that wait, 8 at a time.
- W20: `--crawl-pages-w20` pages (1,000,000): octopus alone, killed with SIGKILL once a
  random share (20-80%) of the pages is recorded, then `--resume`d to the end; every page
  must be recorded exactly once and memory stay flat (peak RSS of each run against W18's).

Each page links to 18 others of the site (spread by a multiplicative step, plus the next
page, so that every page is reachable), 1% of pages to a page that does not exist, one in 10
to a redirect (`/r/N`, 301 to page N), one in 10 to a second host (out of scope), and one in 20
to `/private/…`, which robots.txt disallows; robots.txt names a sitemap listing every 1000th
page. nginx sends no ETag: wget2 takes pages with the same ETag (nginx's is the file's time
and size, alike for generated pages) as the same page and stops scanning them.

Checked for octopus: the pages recorded (a record's URL, or where its redirects ended) are
exactly the reachable allowed set, and the failures exactly the missing pages linked.
"""
import json
import os
import random
import shutil
import subprocess
import tempfile
import time

from harness import measured

PORT = 18100
LATE_PORT = 18101
LATENCY = 0.05
STEPS = (7, 13, 31, 61, 97, 151, 211, 307, 401, 503, 601, 701, 809, 907, 1009, 1103, 1201)
ECHO_MODULE = "/usr/lib/nginx/modules/ngx_http_echo_module.so"


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


def generate(root, n, port):
    site = os.path.join(root, "site")
    os.makedirs(site)
    os.makedirs(os.path.join(root, "private"))
    for i in range(n):
        anchors = "".join(f'<a href="{p}">{p}</a>\n' for p in links_of(i, n))
        if i % 10 == 3:
            anchors += f'<a href="http://127.0.1.1:{port}/elsewhere/{i}">away</a>\n'
        with open(os.path.join(site, f"p{i}.html"), "w") as f:
            f.write(f"<!doctype html><html><head><title>page {i}</title></head><body>\n"
                    f"{anchors}</body></html>\n")
    with open(os.path.join(root, "robots.txt"), "w") as f:
        f.write(f"User-agent: *\nDisallow: /private/\n"
                f"Sitemap: http://127.0.0.1:{port}/sitemap.xml\n")
    with open(os.path.join(root, "sitemap.xml"), "w") as f:
        locs = "".join(f"<url><loc>http://127.0.0.1:{port}/site/p{i}.html</loc></url>"
                       for i in range(0, n, 1000))
        f.write(f'<?xml version="1.0"?><urlset>{locs}</urlset>\n')


def expected(n):
    """What a crawl of the site from page 0 records: the pages, the redirects, the missing
    pages linked (paths)."""
    pages = {f"/site/p{i}.html" for i in range(n)}
    redirects = {f"/r/{(i * 3) % n}" for i in range(n) if i % 10 == 1}
    missing = {f"/site/missing{i}.html" for i in range(0, n, 100)}
    return pages, redirects, missing


def nginx_main(work, http):
    """An nginx configuration for a generated site: `http` inside its http block."""
    return f"""
load_module {ECHO_MODULE};
worker_processes 2;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  include /etc/nginx/mime.types;
  keepalive_requests 1000000;
  etag off;
{http}
}}
"""


def nginx_conf(work, root, port, late):
    site = (f"location /site/ {{ default_type text/html; echo_sleep {LATENCY}; "
            f"echo_exec /files$uri; }}\n    location /files/ {{ internal; alias {root}/; }}"
            if late else "")
    return nginx_main(work, f"""  access_log {work}/access.log;
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    root {root};
    location /r/ {{ rewrite ^/r/(.*)$ /site/p$1.html permanent; }}
    {site}
  }}""")


class Site:
    """A generated site of `n` pages served by nginx on `port` (late: 50 ms per page)."""

    def __init__(self, n, port, late=False):
        # Not under the harness's own directory: nginx's workers (another user) read it.
        self.work = tempfile.mkdtemp(prefix="octopus-crawl-")
        os.chmod(self.work, 0o755)
        self.root = os.path.join(self.work, "www")
        self.n = n
        self.seed = f"http://127.0.0.1:{port}/site/p0.html"
        generate(self.root, n, port)
        conf = os.path.join(self.work, "nginx.conf")
        with open(conf, "w") as f:
            f.write(nginx_conf(self.work, self.root, port, late))
        subprocess.run(["nginx", "-c", conf, "-p", self.work, "-e",
                        os.path.join(self.work, "error.log")], check=True)
        time.sleep(0.5)

    def logged(self):
        try:
            with open(os.path.join(self.work, "access.log")) as f:
                return sum(1 for _ in f)
        except FileNotFoundError:
            return 0

    def stop(self):
        with open(os.path.join(self.work, "nginx.pid")) as f:
            os.kill(int(f.read().strip()), 15)
        time.sleep(0.5)
        shutil.rmtree(self.work, ignore_errors=True)


def check(records_path, n):
    """What octopus's records say against the site: {records, failed, each_once, exact_set,
    broken_exact}."""
    urls, covered, failed = [], set(), set()
    with open(records_path) as f:
        for line in f:
            r = json.loads(line)
            path = "/" + r["url"].split("/", 3)[3]
            urls.append(path)
            covered.add(path)
            if r.get("final_url"):
                covered.add("/" + r["final_url"].split("/", 3)[3])
            if not r.get("ok"):
                failed.add(path)
    pages, redirects, missing = expected(n)
    return {"records": len(urls), "failed": len(failed),
            "each_once": len(urls) == len(set(urls)),
            "exact_set": covered == pages | redirects | missing,
            "broken_exact": failed == missing}


def row(workload, tool, n, c, wall, rss, code, cpu, requests, ideal=None, **more):
    r = {"workload": workload, "tool": tool, "urls": n, "concurrency": c, "wall_s": wall,
         "urls_per_s": n / wall, "ideal_s": ideal, "vs_ideal": wall / ideal if ideal else None,
         "peak_rss_mb": rss, "cpu_s": cpu,
         "exit_codes": [code], "server_requests": requests, **more}
    print(f"  {workload} {tool}: {wall:.2f}s cpu {cpu:.2f}s rss {rss:.0f} MB, nginx saw "
          f"{requests} requests, exit {code} "
          f"{ {k: v for k, v in more.items() if k != 'summary'} } {more.get('summary', '')}",
          flush=True)
    return r


def compare(args, workload, site, octopus_flags, wget_threads, ideal=None):
    """octopus crawl and wget2 -r --spider on `site`: their rows."""
    records = os.path.join(site.work, "records.jsonl")
    err = os.path.join(site.work, "octopus.err")
    tools = {
        "octopus crawl": (f"{args.octopus} crawl --json {octopus_flags} --depth 100000 "
                          f"-o {records} {site.seed} 2> {err}"),
        "wget2 -r --spider": ["wget2", "-q", "--no-config", "-r", "-l", "0", "--spider",
                              f"--max-threads={wget_threads}", "-o", "/dev/null", site.seed],
    }
    rows = []
    for tool, cmd in tools.items():
        before = site.logged()
        wall, rss, code, cpu = measured(cmd, shell=isinstance(cmd, str))
        time.sleep(0.5)
        more = {}
        if tool == "octopus crawl":
            more = check(records, site.n)
            with open(err) as f:
                more["summary"] = f.read().strip()
        rows.append(row(workload, tool, site.n, wget_threads, wall, rss, code, cpu,
                        site.logged() - before, ideal, **more))
    return rows


def resumed(args, site, w18_rss):
    """W20: a crawl killed at a random moment, then resumed: its two rows."""
    records = os.path.join(site.work, "records.jsonl")
    cmd = [args.octopus, "crawl", "--json", "-q", "-c", "200", "--depth", "100000",
           "--resume", "-o", records, site.seed]
    share = random.uniform(0.2, 0.8)
    start = time.monotonic()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while child.poll() is None:
        try:
            with open(f"/proc/{child.pid}/status") as f:
                hwm = [l for l in f if l.startswith("VmHWM:")]
            peak = max(peak, int(hwm[0].split()[1]) / 1024) if hwm else peak
            with open(records, "rb") as f:
                done = sum(1 for _ in f)
        except (FileNotFoundError, ProcessLookupError, IndexError):
            done = 0
        if done >= share * site.n:
            child.kill()
            break
        time.sleep(0.2)
    child.wait()
    killed_wall = time.monotonic() - start
    with open(records, "rb") as f:
        at_kill = sum(1 for _ in f)
    before = site.logged()
    wall, rss, code, cpu = measured(cmd)
    result = check(records, site.n)
    flat = max(peak, rss) <= 1.5 * w18_rss if w18_rss else None
    return [
        row("W20", "octopus crawl, killed", site.n, 200, killed_wall, peak, -9, float("nan"),
            before, records_at_kill=at_kill, share=round(share, 2)),
        row("W20", "octopus crawl --resume", site.n, 200, wall, rss, code, cpu,
            site.logged() - before, **result, flat_vs_w18=flat),
    ]


def crawl(args, _work, workloads):
    """The rows of the crawl workloads asked for (W18, W19, W20)."""
    rows = []
    w18_rss = None
    if "W18" in workloads or "W20" in workloads:
        site = Site(args.crawl_pages, PORT)
        try:
            w18 = compare(args, "W18", site, "-c 200", 200)
            w18_rss = w18[0]["peak_rss_mb"]
            rows += w18 if "W18" in workloads else []
        finally:
            site.stop()
    if "W19" in workloads:
        site = Site(args.crawl_pages_w19, LATE_PORT, late=True)
        try:
            pages, redirects, missing = expected(site.n)
            # Each page, missing page and redirect's target is served 50 ms late, 8 at once.
            ideal = (len(pages) + len(missing) + len(redirects)) * LATENCY / 8
            rows += compare(args, "W19", site, "-c 200 --per-host 8", 8, ideal)
        finally:
            site.stop()
    if "W20" in workloads:
        site = Site(args.crawl_pages_w20, PORT)
        try:
            rows += resumed(args, site, w18_rss)
        finally:
            site.stop()
    return rows
