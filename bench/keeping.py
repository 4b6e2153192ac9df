"""Workloads of what users keep: W10 (download a list to disk) and W11 (archive a list into
a WARC file), octopus against the tools people use for them."""
import os
import shutil
import statistics
import subprocess
import sys

from harness import timed, write_lines

# W10 ("download a list"): this many files of this size, served by nginx from disk.
W10_FILES = 2000
W10_SIZE = 64 * 1024
# W11 ("archive a list"): this many URLs at 100 ms into a WARC file.
W11_URLS = 2000


def download_list(args, work, base):
    """W10: W10_FILES files of W10_SIZE bytes each saved to a fresh directory, c=64:
    wget2 -i, curl --parallel --remote-name-all, aria2c -i, octopus --output-dir. Wall time
    and peak RSS; every run checks that every file arrived whole."""
    urls = [f"{base}/files/f{i}.bin" for i in range(W10_FILES)]
    urls_file = os.path.join(work, "W10.txt")
    write_lines(urls_file, urls)
    curl_cfg = os.path.join(work, "W10.curl")
    write_lines(curl_cfg, [f'url = "{u}"' for u in urls])
    out = os.path.join(work, "W10-out")
    c = 64
    tools = {
        "octopus --output-dir": ([args.octopus, "-q", "-c", str(c), "--output-dir", out, urls_file], False),
        "wget2 -i": (f"wget2 -q --no-config --max-threads={c} -x -P {out} -i {urls_file}", True),
        "curl --parallel": (f"curl -s --parallel --parallel-max {c} --create-dirs --output-dir {out} "
                            f"--remote-name-all -K {curl_cfg}", True),
        "aria2c -i": (f"aria2c -q -j {c} --auto-file-renaming=false -d {out} -i {urls_file}", True),
    }
    runs = {tool: [] for tool in tools}
    for _ in range(args.repeat):
        for tool, (cmd, shell) in tools.items():
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
            runs[tool].append(timed(cmd, shell=shell))
            saved = [os.path.join(d, f) for d, _, fs in os.walk(out) for f in fs]
            whole = sum(1 for p in saved if os.path.getsize(p) == W10_SIZE)
            if whole != W10_FILES:
                sys.stderr.write(f"  ! W10 {tool}: {whole} of {W10_FILES} files whole\n")
    shutil.rmtree(out, ignore_errors=True)
    rows = []
    for tool, results in runs.items():
        walls = [w for w, _, _ in results]
        med = statistics.median(walls)
        rss = max(r for _, r, _ in results)
        rows.append({"workload": "W10", "tool": tool, "urls": W10_FILES, "concurrency": c,
                     "wall_s": med, "urls_per_s": W10_FILES / med, "ideal_s": None,
                     "peak_rss_mb": rss})
        print(f"  W10 {tool}: median {med:.2f}s ({', '.join(f'{w:.2f}' for w in walls)}) "
              f"rss {rss:.0f} MB", flush=True)
    base_wall = rows[0]["wall_s"]
    for r in rows:
        r["vs_octopus"] = r["wall_s"] / base_wall
    return rows


def archive_list(args, work, base):
    """W11: W11_URLS URLs at 100 ms latency into a WARC file: wget --warc-file (one
    connection at a time; run once, it takes minutes) and octopus --warc -c 200. Wall time,
    peak RSS, and whether warcio check accepts each file."""
    urls = [f"{base}/delay/w11-{i}" for i in range(W11_URLS)]
    urls_file = os.path.join(work, "W11.txt")
    write_lines(urls_file, urls)
    out = os.path.join(work, "W11")
    tools = {
        "octopus --warc": ([args.octopus, "-q", "-c", "200", "--warc", f"{out}.warc.gz", urls_file],
                           False, args.repeat, f"{out}.warc.gz"),
        "wget --warc-file": (f"cd {work} && wget -q --no-config --delete-after --warc-file={out} "
                             f"-i {urls_file}", True, 1, f"{out}.warc.gz"),
    }
    rows = []
    for tool, (cmd, shell, repeat, warc) in tools.items():
        results, checks = [], []
        for _ in range(repeat):
            if os.path.exists(warc):
                os.remove(warc)
            results.append(timed(cmd, shell=shell))
            check = subprocess.run([args.warcio, "check", warc], capture_output=True, timeout=600)
            checks.append(check.returncode == 0)
        walls = [w for w, _, _ in results]
        med = statistics.median(walls)
        rss = max(r for _, r, _ in results)
        verdict = "warcio check ok" if all(checks) else "warcio check FAILED"
        rows.append({"workload": "W11", "tool": f"{tool} ({verdict})", "urls": W11_URLS,
                     "concurrency": 200 if tool.startswith("octopus") else 1, "wall_s": med,
                     "urls_per_s": W11_URLS / med, "ideal_s": None, "peak_rss_mb": rss})
        print(f"  W11 {tool}: median {med:.2f}s ({', '.join(f'{w:.2f}' for w in walls)}) "
              f"rss {rss:.0f} MB, {verdict}", flush=True)
    for r in rows:
        r["vs_octopus"] = r["wall_s"] / rows[0]["wall_s"]
    return rows
