"""W9 ("scale"): cost per URL from 64 to 10,000 requests in flight. URLs spread over 50
loopback hosts (127.0.1.1-50), 100 ms each, ten URLs per slot, so the ideal is 1.0 s at
every concurrency; a single-host variant at c=5000; wget2 at the same concurrencies in the
same run. Reports wall time, CPU (user + system) per URL, and peak RSS per request in
flight."""
import os
import statistics

from harness import in_turns, measured, write_lines

HOSTS = 50
PER_SLOT = 10
# wget2 at 10,000 threads took 254 s for the 100,000 URLs (2026-11-26, 311 s of CPU): one
# run of it is longer than the rest of W9 together, so it runs up to this concurrency.
WGET2_MAX_C = 5000


def urls_for(port, c, hosts):
    return [f"http://127.0.1.{1 + i % hosts}:{port}/delay/{i}" if hosts > 1
            else f"http://127.0.0.1:{port}/delay/{i}" for i in range(c * PER_SLOT)]


def commands(args, urls_file, c):
    tools = {"octopus": [args.octopus, "-q", "-c", str(c), urls_file]}
    if args.before:
        tools["octopus (before)"] = [args.before, "-q", "-c", str(c), urls_file]
    if (args.peers is None or "wget2" in args.peers) and c <= WGET2_MAX_C:
        tools["wget2"] = ["wget2", "-q", "--no-config", f"--max-threads={c}", "-O", "/dev/null",
                          "-i", urls_file]
    return tools


def scale(args, work, port, concurrencies=(64, 2000, 5000, 10000), single_host=(5000,)):
    cases = [(c, HOSTS) for c in concurrencies] + [(c, 1) for c in single_host]
    rows = []
    for c, hosts in cases:
        urls = urls_for(port, c, hosts)
        urls_file = os.path.join(work, f"W9-{c}-{hosts}.txt")
        write_lines(urls_file, urls)
        tools = commands(args, urls_file, c)
        runs = in_turns(tools, args.repeat, run=measured)
        for tool, results in runs.items():
            walls = [r[0] for r in results]
            med = statistics.median(walls)
            rss = max(r[1] for r in results)
            cpu = statistics.median(r[3] for r in results)
            where = f"{hosts} hosts" if hosts > 1 else "1 host"
            rows.append({"workload": "W9", "tool": f"{tool} ({where})", "urls": len(urls),
                         "concurrency": c, "wall_s": med, "walls": walls,
                         "urls_per_s": len(urls) / med, "ideal_s": 1.0, "vs_ideal": med,
                         "peak_rss_mb": rss, "cpu_s": cpu,
                         "cpu_us_per_url": cpu / len(urls) * 1e6,
                         "rss_kb_per_slot": rss * 1024 / c,
                         "exit_codes": [r[2] for r in results]})
            print(f"  W9 c={c} {where} {tool}: median {med:.2f}s "
                  f"({', '.join(f'{w:.2f}' for w in walls)}) cpu {cpu:.2f}s "
                  f"({cpu / len(urls) * 1e6:.0f} us/URL) rss {rss:.0f} MB "
                  f"({rss * 1024 / c:.0f} KB/slot)", flush=True)
        os.remove(urls_file)
    by_case = {}
    for r in rows:
        by_case.setdefault((r["concurrency"], r["tool"].split(" (")[1]), []).append(r)
    for group in by_case.values():
        base = next((r["wall_s"] for r in group if r["tool"].startswith("octopus (")), None)
        for r in group:
            r["vs_octopus"] = r["wall_s"] / base if base else None
    return rows
