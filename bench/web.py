"""W-web ("the web's whole shape", issue 36): everything users bring at once, in one list,
inside W16's network namespace (loopback only; names through the relay, 20 ms late):

- 200,000 URLs over 20,000 names (uN.hK.test on 50 addresses, each name's 10 URLs spread
  through the list), `-c 5000 --timeout 10s`;
- by name, in turns of a hundred names: https to nginx's TLS port (HTTP/1.1; 3 turns of 5),
  https to its `ssl http2` port (1 of 5), plain http (1 of 5);
- by URL: 100 ms pages, redirects (302 to a 100 ms page), 404s; by name (1 in 100 each):
  2 s pages, a port nobody listens on (refused: `connect`), names that do not exist
  (NXDOMAIN: `dns`), and a server that accepts and never answers (bench/holder.py:
  `timeout`, at the connect timeout over https, at `--timeout` over http).

It runs once with answers that cannot be kept (TTL 0) and once with TTL 300. Each run of
octopus writes its records (`--json -o`), and every URL's record is checked against the
class it must have (ok, 404, connect, dns, timeout): a URL in another class is a false
failure. A request's overrun is its `elapsed_ms` past its 10 s `--timeout`, for those that
ended at it; `elapsed_ms` runs from the line being taken, so the net overrun takes away
the wait for a slot before the request started, estimated by its neighbours in the list.
The run's floor is the larger of the latency-bound ideal (the URLs' own durations over
the concurrency, or the longest) and the CPU floor (octopus's CPU plus the servers'
(nginx, dnsmasq, the relay, the holder) over the cores), both from the same run; beside
it, the floor with the list's tail (`tail_floor`: the CPU floor spread over the list, plus
each URL's own duration). curl --parallel runs once per TTL, cut off after
`--web-curl-cap` seconds (default 300): the records it wrote by then are counted.
"""
import bisect
import collections
import heapq
import json
import os
import statistics
import subprocess
import time

from harness import in_turns, measured, servers_cpu, write_lines
from multiplexed import H2_PORT
from names import DNS_DELAY, WRAP, Namespace
from secure import HOSTS, TLS_PORT

PLAIN_PORT = 18090
DEAD_PORT = 18999
HOLDER = ("127.0.2.1", 18997)
NAMES = 20_000
URLS = 200_000
C = 5000
TIMEOUT = 10.0
CONNECT_TIMEOUT = 5.0  # octopus's default
SLOW = 2.0
PAGE = 0.1
# A hundred names' scheme and port, in turns of five.
SCHEMES = [("https", TLS_PORT)] * 3 + [("https", H2_PORT), ("http", PLAIN_PORT)]


def mix():
    """[(url, expected class, the URL's own duration in seconds)], deterministic."""
    urls = []
    for i in range(URLS):
        n = i % NAMES
        scheme, port = SCHEMES[(n // 100) % len(SCHEMES)]
        name = f"u{n}.h{1 + n % HOSTS}.test"
        special = n % 100
        if special == 42:
            urls.append((f"{scheme}://{name}:{DEAD_PORT}/delay/{i}", "connect", 0.0))
        elif special == 43:
            urls.append((f"{scheme}://u{n}.nowhere.test:{port}/delay/{i}", "dns", DNS_DELAY))
        elif special == 44:
            held = CONNECT_TIMEOUT if scheme == "https" else TIMEOUT
            urls.append((f"{scheme}://u{n}.hold.test:{HOLDER[1]}/delay/{i}", "timeout", held))
        elif special == 45:
            urls.append((f"{scheme}://{name}:{port}/slow/{i}", "ok", SLOW))
        elif i % 10 == 3:
            urls.append((f"{scheme}://{name}:{port}/to/{i}", "ok", PAGE))
        elif i % 10 == 7:
            urls.append((f"{scheme}://{name}:{port}/missing/{i}", "404", 0.0))
        else:
            urls.append((f"{scheme}://{name}:{port}/delay/{i}", "ok", PAGE))
    return urls


def latency_floor(urls, ttl):
    """The latency-bound ideal: the URLs started in their order on `C` slots, each taking
    its own duration (plus a lookup: each URL's at TTL 0, each name's first otherwise), a
    URL starting as soon as a slot is free; when the last one ends."""
    looked_up = set()
    slots = [0.0] * C
    for url, _, duration in urls:
        host = url.split("/")[2]
        if ttl == 0 or host not in looked_up:
            duration += DNS_DELAY
            looked_up.add(host)
        start = heapq.heappop(slots)
        heapq.heappush(slots, start + duration)
    return max(slots)


def tail_floor(urls, cpu_floor):
    """The CPU floor with the list's tail: a URL cannot start before the work of the URLs
    `C` places ahead of it is done (taken as spread evenly over the list: an estimate, not
    a bound), and then takes its own duration; when the last such URL ends. A 10 s timeout
    near the list's end keeps any tool busy after the CPU work is done."""
    n = len(urls)
    return max(cpu_floor * max(0, i - C) / n + duration
               for i, (_, _, duration) in enumerate(urls))


def classify(record):
    if record.get("error"):
        return record["error"]["kind"]
    return "ok" if record["status"] == 200 else str(record["status"])


def checked(records_file, urls):
    """The records against the classes expected: {"records", "false" (by expected → got),
    "missing", "overrun_p99_ms", "overrun_max_ms", "timeouts_by_step"}."""
    seen, wrong, overruns = set(), collections.Counter(), []
    steps, before_start = collections.Counter(), []
    with open(records_file) as f:
        for line in f:
            record = json.loads(line)
            index = record["line"] - 1
            seen.add(index)
            expected, got = urls[index][1], classify(record)
            if got != expected:
                wrong[f"{expected} -> {got}"] += 1
            if record.get("fetch_ms") is not None:
                before_start.append((index, record["elapsed_ms"] - record["fetch_ms"]
                                     - record["waited_ms"]))
            if got == "timeout":
                message = record["error"]["message"]
                steps[message] += 1
                # The request's own deadline: `--timeout` from its start (a connect
                # timeout's clock starts later, at the connect).
                if message.startswith("deadline passed (timeout)"):
                    overruns.append((index, record["elapsed_ms"] - TIMEOUT * 1000))
    # `elapsed_ms` runs from the line being taken, so it holds the wait for a free slot
    # before the request started (its deadline starts then). A failure's record has no
    # `fetch_ms`: that wait is estimated by its neighbours' in the list (the median over
    # the 100 nearest lines that have a `fetch_ms`).
    before_start.sort()
    lines = [line for line, _ in before_start]

    def waited_before(line):
        at = bisect.bisect_left(lines, line)
        near = sorted(w for _, w in before_start[max(0, at - 50):at + 50])
        return near[len(near) // 2] if near else 0.0

    raw = sorted(o for _, o in overruns)
    net = sorted(o - waited_before(line) for line, o in overruns)
    pick = lambda xs, q: xs[min(len(xs) - 1, int(len(xs) * q))] if xs else None
    return {"records": len(seen), "false": dict(wrong), "missing": len(urls) - len(seen),
            "overrun_p99_ms": pick(raw, 0.99), "overrun_max_ms": pick(raw, 1.0),
            "net_overrun_p99_ms": pick(net, 0.99), "net_overrun_max_ms": pick(net, 1.0),
            "timeouts_by_step": dict(steps)}


def run_web(args, work, nginx_class, ttl, urls):
    hold_names = [f"/hold.test/{HOLDER[0]}", "/nowhere.test/"]
    ns = Namespace(work, ttl=ttl, more=hold_names)
    nginx = holder = None
    rows = []
    try:
        nginx = nginx_class(wrap=WRAP, dns_names=[f"*.h{k}.test" for k in range(1, HOSTS + 1)])
        here = os.path.dirname(os.path.abspath(__file__))
        holder = subprocess.Popen([*WRAP, "python3", os.path.join(here, "holder.py"),
                                   "--listen", f"{HOLDER[0]}:{HOLDER[1]}"])
        time.sleep(0.5)
        pids = {ns.relay.pid, holder.pid}
        urls_file = os.path.join(work, f"web-{ttl}.txt")
        write_lines(urls_file, (u for u, _, _ in urls))
        name = f"W-web TTL {ttl}"
        floor_latency = latency_floor(urls, ttl)
        tools = {"octopus": args.octopus}
        if args.before:
            tools["octopus (before)"] = args.before
        results = collections.defaultdict(list)

        def run(tool):
            out = os.path.join(work, f"web-{ttl}-{len(results[tool])}.jsonl")
            cmd = [*WRAP, tools[tool], "-q", "--json", "-o", out, "-c", str(C), "--timeout",
                   f"{TIMEOUT:g}s", "--cacert", nginx.ca, urls_file]
            before = servers_cpu(pids)
            wall, rss, code, cpu = measured(cmd)
            servers = servers_cpu(pids) - before
            check = checked(out, urls)
            os.remove(out)
            cpu_floor = (cpu + servers) / os.cpu_count()
            floor = max(floor_latency, cpu_floor)
            with_tail = max(floor, tail_floor(urls, cpu_floor))
            result = {"wall_s": wall, "cpu_s": cpu, "rss_mb": rss, "exit": code,
                      "servers_cpu_s": servers, "floor_s": floor,
                      "floor_with_tail_s": with_tail, **check}
            results[tool].append(result)
            print(f"    {name} {tool}: {wall:.2f}s cpu {cpu:.2f}s servers {servers:.2f}s "
                  f"floor {floor:.2f}s (with the tail {with_tail:.2f}s) rss {rss:.0f} MB; "
                  f"{check}", flush=True)
            return result

        in_turns({t: t for t in tools}, args.repeat, run=run)
        for tool, runs in results.items():
            walls = [r["wall_s"] for r in runs]
            middle = sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]
            rows.append({"workload": name, "tool": tool, "urls": len(urls), "concurrency": C,
                         "wall_s": statistics.median(walls), "walls": walls,
                         "latency_floor_s": floor_latency,
                         "peak_rss_mb": max(r["rss_mb"] for r in runs), "runs": runs,
                         "vs_floor": middle["wall_s"] / middle["floor_s"],
                         "vs_floor_with_tail": middle["wall_s"] / middle["floor_with_tail_s"],
                         "vs_ideal": middle["wall_s"] / middle["floor_s"],
                         "urls_per_s": len(urls) / statistics.median(walls)})
        if args.peers is None or "curl --parallel" in args.peers:
            rows.append(curl(args, work, nginx.ca, urls, name))
    finally:
        if holder:
            holder.terminate()
            holder.wait(timeout=10)
        if nginx:
            nginx.stop()
        ns.stop()
    return rows


def curl(args, work, ca, urls, name):
    """curl --parallel over the same list, cut off after the cap: the URLs it finished."""
    cfg = os.path.join(work, "web.curl")
    write_lines(cfg, (f'url = "{u}"\noutput = "/dev/null"' for u, _, _ in urls))
    out = os.path.join(work, "web-curl.txt")
    cap = args.web_curl_cap
    script = (f"timeout {cap} curl -s --parallel --parallel-max 300 --max-time {TIMEOUT:g} "
              f"--cacert {ca} -w '%{{http_code}}\\n' -K {cfg} > {out}")
    wall, rss, code, cpu = measured([*WRAP, "sh", "-c", script])
    with open(out) as f:
        done = sum(1 for _ in f)
    print(f"    {name} curl --parallel: {done} of {len(urls)} URLs in {wall:.0f}s "
          f"(cut off at {cap}s: exit {code})", flush=True)
    return {"workload": name, "tool": "curl --parallel", "urls": len(urls), "concurrency": 300,
            "wall_s": wall, "finished": done, "urls_per_s": done / wall, "cut_off": code == 124, "peak_rss_mb": rss,
            "cpu_s": cpu}


def web(args, work, nginx_class):
    """W-web at TTL 0 and at TTL 300."""
    urls = mix()
    rows = []
    for ttl in (0, 300):
        rows += run_web(args, work, nginx_class, ttl, urls)
    return rows
