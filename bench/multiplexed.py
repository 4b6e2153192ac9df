"""W24, W25 and W14h2 ("HTTP/2"): requests multiplexed on HTTP/2 connections, against
nginx 1.22's `listen ... ssl http2` (the harness's certificate), every peer in the same run:
octopus (HTTP/2 chosen by ALPN), octopus --http1.1, curl --http2 --parallel (multiplexing)
and wget2 (nghttp2). The connections each tool opened are counted by nginx (stub_status's
"accepts", read before and after each run).

W24: 20,000 URLs to one https host, no latency, c=1000; nginx never sends GOAWAY
     (keepalive_requests 1,000,000).
W25: W24 against nginx's default keepalive_requests (1,000): every connection is told to go
     away after 1,000 requests; every URL must still come back once.
W14h2: W14's shape (20,000 URLs over 50 hosts, 100 ms each, c=2000; ideal 1.0 s) over h2.
"""
import os
import re
import urllib.request

from harness import in_turns, measured, summarize, write_lines

H2_PORT = 18444          # http2, keepalive_requests 1,000,000 (from the http block)
H2_DEFAULT_PORT = 18445  # http2, nginx's default keepalive_requests 1,000
H2C_PORT = 18446         # http2 in clear (prior knowledge)
HOSTS = 50


def nginx_h2_servers(cert, key):
    """nginx's HTTP/2 server blocks."""
    listens = "\n".join(f"    listen 127.0.1.{i}:{H2_PORT} ssl http2 backlog=4096;"
                        for i in range(1, HOSTS + 1))
    common = f"""
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.3;
    ssl_session_cache shared:SSL2:20m;
    location /delay/ {{ echo_sleep 0.1; echo "ok"; }}
    location /missing/ {{ return 404; }}
    location /to/ {{ rewrite ^/to/(.*)$ /delay/$1 redirect; }}
    location /slow/ {{ echo_sleep 2; echo "ok"; }}
    location / {{ return 200 "ok\\n"; }}"""
    return f"""
  server {{
    listen 127.0.0.1:{H2_PORT} ssl http2 backlog=4096;
{listens}
{common}
  }}
  server {{
    listen 127.0.0.1:{H2C_PORT} http2 backlog=4096;
    location / {{ return 200 "ok\\n"; }}
  }}
  server {{
    listen 127.0.0.1:{H2_DEFAULT_PORT} ssl http2 backlog=4096;
    keepalive_requests 1000;
{common}
  }}
"""


def accepted(base):
    """Connections nginx accepted so far (stub_status on the plain port)."""
    with urllib.request.urlopen(f"{base}/nginx-status", timeout=5) as r:
        text = r.read().decode()
    return int(re.search(r"\n\s*(\d+)\s+\d+\s+\d+", text).group(1))


def commands(args, ca, urls_file, curl_cfg, c, peers):
    tools = {"octopus": [args.octopus, "-q", "-c", str(c), "--cacert", ca, urls_file]}
    if args.before:
        tools["octopus (before)"] = [args.before, "-q", "-c", str(c), "--cacert", ca, urls_file]
    tools["octopus --http1.1"] = [args.octopus, "-q", "--http1.1", "-c", str(c), "--cacert", ca,
                                  urls_file]
    wanted = lambda tool: peers and (args.peers is None or tool in args.peers)
    if wanted("curl --http2 --parallel"):
        tools["curl --http2 --parallel"] = [
            "curl", "-s", "--http2", "--parallel", "--parallel-max", str(min(c, 300)),
            "--cacert", ca, "-K", curl_cfg]
    if wanted("wget2"):
        tools["wget2"] = ["wget2", "-q", "--no-config", "--http2", f"--max-threads={c}",
                          "-O", "/dev/null", f"--ca-certificate={ca}", "-i", urls_file]
    return tools


def workload(name, args, work, base, ca, urls, c, ideal, peers=True):
    urls_file = os.path.join(work, f"{name}.txt")
    curl_cfg = os.path.join(work, f"{name}.curl")
    write_lines(urls_file, urls)
    write_lines(curl_cfg, [f'url = "{u}"\noutput = "/dev/null"' for u in urls])

    def counted(cmd):
        before = accepted(base)
        result = measured(cmd)
        return (*result, accepted(base) - before)

    runs = in_turns(commands(args, ca, urls_file, curl_cfg, c, peers), args.repeat, run=counted)
    rows = summarize(name, runs, len(urls), c, ideal)
    for row in rows:
        opened = sorted(r[4] for r in runs[row["tool"]])
        row["connections"] = opened[len(opened) // 2]
        print(f"  {name} {row['tool']}: {row['connections']} connections", flush=True)
    return rows


def multiplexed(args, work, base, ca, which):
    rows = []
    if "W24" in which:
        urls = [f"https://127.0.0.1:{H2_PORT}/n/{i}" for i in range(20000)]
        rows += workload("W24", args, work, base, ca, urls, 1000, None)
    if "W25" in which:
        urls = [f"https://127.0.0.1:{H2_DEFAULT_PORT}/n/{i}" for i in range(20000)]
        rows += workload("W25", args, work, base, ca, urls, 1000, None)
    if "W14h2" in which:
        urls = [f"https://127.0.1.{1 + i % HOSTS}:{H2_PORT}/delay/{i}" for i in range(20000)]
        rows += workload("W14h2", args, work, base, ca, urls, 2000, 1.0, peers=False)
    return rows
