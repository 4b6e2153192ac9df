"""W1py, W2py, W3py: octopus from Python (this repository's package, `python/`) against
Python's usual answers for bulk fetching, in the same run, against nginx on 127.0.0.1:
the original octopus-http (W1py), aiohttp with a semaphore, requests on a thread pool, and
octopus's CLI as the reference. The scripts are in bench/py/; the package, aiohttp and
requests live in a virtualenv of their own (`--py-ours`, made by peers.sh), apart from the
original's (same import name)."""
import os

from harness import in_turns, measured, summarize, write_lines

HERE = os.path.dirname(os.path.abspath(__file__))


def _script(name):
    return os.path.join(HERE, "py", name)


def from_python(args, work, base, w):
    """The Python workloads named in `w`; their rows."""
    py = args.py_ours
    tools = {
        "octopus": lambda f, c: [args.octopus, "-q", "-c", str(c), f],
        "octopus.Octopus (Python)": lambda f, c: [py, _script("octopus_api.py"), "octopus", f,
                                                  str(c)],
        "octopus.fetch_all (Python)": lambda f, c: [py, _script("octopus_api.py"), "fetch_all",
                                                    f, str(c)],
        "octopus-http (original)": lambda f, c: [args.python, args.original, f, str(c)],
        "aiohttp + semaphore": lambda f, c: [py, _script("aiohttp_peer.py"), f, str(c)],
        "requests + thread pool": lambda f, c: [py, _script("requests_peer.py"), f, str(c)],
    }
    plans = [
        # W1 from Python: 2,000 URLs, 100 ms each, 200 at a time.
        ("W1py", [f"{base}/delay/{i}" for i in range(2000)], 200, 1.0, list(tools)),
        # W2's memory from Python: 10,000 URLs, 100 ms each, 1,000 at a time.
        ("W2py", [f"{base}/delay/{i}" for i in range(10000)], 1000, 1.0,
         ["octopus", "octopus.Octopus (Python)", "octopus.fetch_all (Python)",
          "aiohttp + semaphore"]),
        # W3 from Python: 20,000 URLs, no latency, 64 at a time (the original: 30 s; left out).
        ("W3py", [f"{base}/n/{i}" for i in range(20000)], 64, None,
         ["octopus", "octopus.Octopus (Python)", "octopus.fetch_all (Python)",
          "aiohttp + semaphore", "requests + thread pool"]),
    ]
    rows = []
    for name, urls, c, ideal, names in plans:
        if name not in w:
            continue
        urls_file = os.path.join(work, f"{name}.txt")
        write_lines(urls_file, urls)
        commands = {tool: tools[tool](urls_file, c) for tool in names}
        runs = in_turns(commands, args.repeat, run=measured)
        rows += summarize(name, runs, len(urls), c, ideal)
    return rows
