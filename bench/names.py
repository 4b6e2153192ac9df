"""W16 and W17 ("names"): https on host names, the web's usual shape, inside a network
namespace the harness makes (loopback only): nginx (TLS, a certificate naming *.hK.test),
dnsmasq answering uN.hK.test with 127.0.1.K, and in front of it a relay (dns_relay.py)
that answers every query 20 ms late and counts them. The namespace's /etc/resolv.conf
(`ip netns exec` mounts /etc/netns/NS/resolv.conf over it) names the relay, so every
tool resolves through it as it would through the system's resolver.

W16: 10,000 distinct names, 100 ms each, c=2000 (ideal 0.6 s: five rounds of 100 ms and
a 20 ms lookup).
W17: 5,000 names x 10 URLs (each name's URLs spread through the list), c=5000 (ideal
1.0 s).

Besides time and memory (and the CPU of octopus and of the servers: nginx, dnsmasq and the
relay), each run reports what the relay was asked (queries, names, the
most queries of one name), the queries the kernel dropped at the relay's socket (UDP
receive-buffer errors), and, for octopus, its failed records by kind.
"""
import collections
import json
import os
import signal
import statistics
import subprocess
import tempfile
import time

from harness import in_turns, measured, servers_cpu, summarize, write_lines
from secure import HOSTS, TLS_PORT

NS = "octopus-bench"
DNS_DELAY = 0.02
WRAP = ["ip", "netns", "exec", NS]


def host(i):
    return f"u{i}.h{1 + i % HOSTS}.test"


class Namespace:
    """The network namespace, its resolv.conf, dnsmasq and the relay."""

    def __init__(self, work, ttl=300, more=()):
        """`ttl`: the answers' TTL; `more`: dnsmasq `--address` rules besides the hosts'."""
        self.stats = os.path.join(work, "dns-stats.json")
        self.dropped = 0
        subprocess.run(["ip", "netns", "add", NS], check=True)
        subprocess.run(["ip", "-n", NS, "link", "set", "lo", "up"], check=True)
        os.makedirs(f"/etc/netns/{NS}", exist_ok=True)
        with open(f"/etc/netns/{NS}/resolv.conf", "w") as f:
            f.write("nameserver 127.0.0.1\n")
        addresses = [f"--address=/h{k}.test/127.0.1.{k}" for k in range(1, HOSTS + 1)]
        addresses += [f"--address={rule}" for rule in more]
        self.dnsmasq = subprocess.Popen(
            [*WRAP, "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
             "--user=root", "--pid-file=", "--port=5300", "--listen-address=127.0.0.1",
             "--bind-interfaces", f"--local-ttl={ttl}", "--dns-forward-max=10000",
             "--cache-size=10000", *addresses])
        relay = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dns_relay.py")
        self.relay = subprocess.Popen(
            [*WRAP, "python3", relay, "--delay", str(DNS_DELAY), "--stats", self.stats])
        time.sleep(0.5)

    def asked(self):
        """What the relay was asked since the last call, and the queries and answers the
        kernel dropped in the namespace since then (UDP receive-buffer errors, at the relay
        or at dnsmasq)."""
        os.kill(self.relay.pid, signal.SIGUSR1)
        time.sleep(0.2)
        with open(self.stats) as f:
            said = json.load(f)
        snmp = subprocess.run([*WRAP, "cat", "/proc/net/snmp"], capture_output=True,
                              text=True).stdout.splitlines()
        udp = [line.split()[1:] for line in snmp if line.startswith("Udp:")]
        total = int(dict(zip(udp[0], udp[1]))["RcvbufErrors"]) if udp else 0
        said["dropped"] = total - self.dropped
        self.dropped = total
        return said

    def stop(self):
        for p in (self.relay, self.dnsmasq):
            p.terminate()
            p.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", NS], check=False)
        subprocess.run(["rm", "-rf", f"/etc/netns/{NS}"], check=False)


def failures(args, ca, urls_file, c):
    """One more run of octopus, keeping its records: its failed records by kind."""
    out = urls_file + ".jsonl"
    subprocess.run([*WRAP, args.octopus, "-q", "-c", str(c), "--cacert", ca, "--json", "-o",
                    out, urls_file], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kinds = collections.Counter()
    with open(out) as f:
        for line in f:
            record = json.loads(line)
            if not record["ok"]:
                kinds[(record.get("error") or {}).get("kind", f"status {record['status']}")] += 1
    return dict(kinds)


def workload(name, args, work, ns, ca, urls, c, ideal):
    https_file = os.path.join(work, f"{name}.txt")
    http_file = os.path.join(work, f"{name}-http.txt")
    curl_cfg = os.path.join(work, f"{name}.curl")
    write_lines(https_file, urls)
    write_lines(http_file, (u.replace("https://", "http://").replace(f":{TLS_PORT}/", ":18090/")
                            for u in urls))
    write_lines(curl_cfg, [f'url = "{u}"\noutput = "/dev/null"' for u in urls])
    ours = {"octopus": [args.octopus, "-q", "-c", str(c), "--cacert", ca, https_file],
            "octopus, plain http": [args.octopus, "-q", "-c", str(c), http_file]}
    if args.before:
        ours["octopus (before)"] = [args.before, "-q", "-c", str(c), "--cacert", ca, https_file]
    peers = {}
    wanted = lambda tool: args.peers is None or tool in args.peers
    if wanted("curl --parallel"):
        peers["curl --parallel"] = ["curl", "-s", "--parallel", "--parallel-max",
                                    str(min(c, 300)), "--cacert", ca, "-K", curl_cfg]
    if wanted("wget2"):
        peers["wget2"] = ["wget2", "-q", "--no-config", f"--max-threads={c}", "-O", "/dev/null",
                          f"--ca-certificate={ca}", "-i", https_file]
    asked = {}
    ns.asked()

    servers = {}

    def run(tool_cmd):
        tool, cmd = tool_cmd
        before = servers_cpu({ns.relay.pid})
        result = measured([*WRAP, *cmd])
        spent = servers_cpu({ns.relay.pid}) - before
        servers.setdefault(tool, []).append(spent)
        said = ns.asked()
        asked.setdefault(tool, []).append(said)
        print(f"    {name} {tool}: {result[0]:.2f}s cpu {result[3]:.2f}s, servers' cpu "
              f"{spent:.2f}s; DNS {said}", flush=True)
        return result

    # Peers take minutes here (wget2 over 3): they run once, octopus `--repeat` times.
    runs = in_turns({t: (t, cmd) for t, cmd in ours.items()}, args.repeat, run=run)
    runs.update(in_turns({t: (t, cmd) for t, cmd in peers.items()}, 1, run=run))
    rows = summarize(name, runs, len(urls), c, ideal)
    for row in rows:
        row["dns"] = asked.get(row["tool"])
        row["servers_cpu_s"] = statistics.median(servers.get(row["tool"]) or [float("nan")])
        print(f"  {name} {row['tool']}: servers' cpu (nginx, dnsmasq, the relay) median "
              f"{row['servers_cpu_s']:.2f}s", flush=True)
    kinds = failures(args, ca, https_file, c)
    print(f"  {name} octopus failed records by kind: {kinds or 'none'}", flush=True)
    for row in rows:
        if row["tool"] == "octopus":
            row["failed_by_kind"] = kinds
    return rows


def names(args, work, which, nginx_class):
    """W16 and W17 (those in `which`), inside the namespace, with their own nginx."""
    ns = Namespace(work)
    nginx = None
    try:
        nginx = nginx_class(wrap=WRAP, dns_names=[f"*.h{k}.test" for k in range(1, HOSTS + 1)])
        rows = []
        if "W16" in which:
            urls = [f"https://{host(i)}:{TLS_PORT}/delay/{i}" for i in range(10000)]
            rows += workload("W16", args, work, ns, nginx.ca, urls, 2000, 0.6)
        if "W17" in which:
            urls = [f"https://{host(i % 5000)}:{TLS_PORT}/delay/{i}" for i in range(50000)]
            rows += workload("W17", args, work, ns, nginx.ca, urls, 5000, 1.0)
        return rows
    finally:
        if nginx:
            nginx.stop()
        ns.stop()
