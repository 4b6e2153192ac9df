"""Helpers of the peer harness (bench/peers.py and its workload modules): timed runs with
peak RSS, and URL lists written to files."""
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
            sys.stderr.write(f"  ! exit {p.returncode}: {' '.join(map(str, cmd))[:120]}\n"
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
