"""Helpers of the peer harness (bench/peers.py and its workload modules): timed runs with
peak RSS, and URL lists written to files."""
import os
import statistics
import subprocess
import sys
import tempfile
import time

RUN_TIMEOUT = 600  # seconds: every command is bounded


def timed(cmd, stdin_path=None, shell=False):
    """Run a command; return (wall seconds, peak RSS MB, exit code)."""
    wall, rss_mb, code, _ = measured(cmd, stdin_path, shell)
    return wall, rss_mb, code


def measured(cmd, stdin_path=None, shell=False):
    """Run a command; return (wall seconds, peak RSS MB, exit code, CPU seconds: user +
    system)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        full = ["/usr/bin/time", "-f", "%e %M %U %S", "-o", t.name]
        full += ["sh", "-c", cmd] if shell else cmd
        stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
        try:
            start = time.monotonic()
            p = subprocess.run(full, stdin=stdin, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
            wall = time.monotonic() - start
        finally:
            if stdin_path:
                stdin.close()
        fields = t.read().split()
        # A command killed by a signal has a line before the numbers: take the last four.
        rss_mb = int(fields[-3]) / 1024 if len(fields) >= 4 else float("nan")
        cpu = float(fields[-2]) + float(fields[-1]) if len(fields) >= 4 else float("nan")
        if p.returncode != 0:
            shown = cmd if isinstance(cmd, str) else " ".join(map(str, cmd))
            sys.stderr.write(f"  ! exit {p.returncode}: {shown[:120]}\n"
                             f"    {p.stderr.decode(errors='replace')[-300:]}\n")
        return wall, rss_mb, p.returncode, cpu


def in_turns(commands, repeat, run=timed):
    """Run every command of {tool: cmd} `repeat` times, tools taking turns round by round (so
    that a drift of the machine hits them all alike); {tool: [result of run(cmd)]}."""
    runs = {tool: [] for tool in commands}
    for _ in range(repeat):
        for tool, cmd in commands.items():
            runs[tool].append(run(cmd))
    return runs


def write_lines(path, lines):
    with open(path, "w") as f:
        for line in lines:
            f.write(line + "\n")


def summarize(name, runs, urls, c, ideal):
    """Rows of a workload from {tool: [measured(...) results]}: median wall time (and CPU),
    peak RSS, exit codes, and wall time as a multiple of octopus's and of `ideal`; each
    printed as it is made."""
    rows = []
    for tool, results in runs.items():
        walls = [r[0] for r in results]
        rss = max(r[1] for r in results)
        codes = [r[2] for r in results]
        cpu = statistics.median(r[3] for r in results)
        med = statistics.median(walls)
        rows.append({"workload": name, "tool": tool, "urls": urls, "concurrency": c,
                     "wall_s": med, "walls": walls, "urls_per_s": urls / med,
                     "ideal_s": ideal, "peak_rss_mb": rss, "cpu_s": cpu, "exit_codes": codes})
        print(f"  {name} {tool}: median {med:.2f}s ({', '.join(f'{w:.2f}' for w in walls)}) "
              f"cpu {cpu:.2f}s rss {rss:.0f} MB exit {codes}", flush=True)
    base = next((r["wall_s"] for r in rows if r["tool"] == "octopus"), None)
    for r in rows:
        r["vs_octopus"] = r["wall_s"] / base if base else None
        r["vs_ideal"] = r["wall_s"] / ideal if ideal else None
    return rows


def servers_cpu(pids):
    """CPU seconds used so far by nginx and dnsmasq (every such process: only the harness's
    run here) and by the processes `pids`."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        if comm in ("nginx", "dnsmasq") or int(pid) in pids:
            fields = stat[stat.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])
    return total / tick
