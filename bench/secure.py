"""W14 and W15 ("https"): the shapes of W9 at c=2000 and W3 over TLS 1.3, against nginx's
TLS server (ECDSA P-256 certificate from a private CA made here with openssl, trusted with
each tool's own flag), with octopus on plain http at the same shape in the same run.

W14: 20,000 URLs over 50 loopback hosts (127.0.1.1-50), 100 ms each, c=2000 (ideal 1.0 s).
W15: 20,000 URLs on one host, no latency, c=64.
"""
import os
import subprocess

from harness import in_turns, measured, summarize, write_lines

TLS_PORT = 18443
HOSTS = 50


def make_pki(directory, dns_names=()):
    """A private CA and a server certificate for 127.0.0.1, 127.0.1.1-50 and `dns_names`,
    in PEM files under `directory`; returns (ca, cert, key) paths."""
    ca_key, ca = os.path.join(directory, "ca-key.pem"), os.path.join(directory, "ca.pem")
    key, csr = os.path.join(directory, "key.pem"), os.path.join(directory, "req.pem")
    cert, ext = os.path.join(directory, "cert.pem"), os.path.join(directory, "san.ext")
    run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True)
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ca_key)
    run("req", "-x509", "-new", "-key", ca_key, "-subj", "/CN=octopus bench CA", "-days", "30",
        "-out", ca)
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
    run("req", "-new", "-key", key, "-subj", "/CN=127.0.0.1", "-out", csr)
    sans = ",".join(["IP:127.0.0.1"] + [f"IP:127.0.1.{i}" for i in range(1, HOSTS + 1)]
                    + [f"DNS:{name}" for name in dns_names])
    with open(ext, "w") as f:
        f.write(f"subjectAltName={sans}\n")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "30",
        "-extfile", ext, "-out", cert)
    # nginx's workers run as another user: they must be able to read the key.
    for path in (cert, key):
        os.chmod(path, 0o644)
    return ca, cert, key


def nginx_server(cert, key):
    """nginx's TLS server block (the same locations as the plain one's)."""
    listens = "\n".join(f"    listen 127.0.1.{i}:{TLS_PORT} ssl backlog=4096;"
                        for i in range(1, HOSTS + 1))
    return f"""
  server {{
    listen 127.0.0.1:{TLS_PORT} ssl backlog=4096;
{listens}
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.3;
    ssl_session_cache shared:SSL:20m;
    ssl_session_tickets on;
    location /delay/ {{ echo_sleep 0.1; echo "ok"; }}
    location /missing/ {{ return 404; }}
    location /to/ {{ rewrite ^/to/(.*)$ /delay/$1 redirect; }}
    location /slow/ {{ echo_sleep 2; echo "ok"; }}
    location / {{ return 200 "ok\\n"; }}
  }}
"""


def commands(args, ca, https_file, http_file, curl_cfg, c):
    tools = {"octopus": [args.octopus, "-q", "-c", str(c), "--cacert", ca, https_file]}
    if args.before:
        tools["octopus (before)"] = [args.before, "-q", "-c", str(c), "--cacert", ca, https_file]
    tools["octopus, plain http"] = [args.octopus, "-q", "-c", str(c), http_file]
    wanted = lambda tool: args.peers is None or tool in args.peers
    if wanted("wget2"):
        tools["wget2"] = ["wget2", "-q", "--no-config", f"--max-threads={c}", "-O", "/dev/null",
                          f"--ca-certificate={ca}", "-i", https_file]
    if wanted("curl --parallel"):
        tools["curl --parallel"] = ["curl", "-s", "--parallel", "--parallel-max", str(min(c, 300)),
                                    "--cacert", ca, "-K", curl_cfg]
    return tools


def workload(name, args, work, ca, urls, c, ideal):
    https_file = os.path.join(work, f"{name}.txt")
    http_file = os.path.join(work, f"{name}-http.txt")
    curl_cfg = os.path.join(work, f"{name}.curl")
    write_lines(https_file, urls)
    write_lines(http_file, (u.replace(f"https://", "http://").replace(f":{TLS_PORT}/", ":18090/")
                            for u in urls))
    write_lines(curl_cfg, [f'url = "{u}"\noutput = "/dev/null"' for u in urls])
    runs = in_turns(commands(args, ca, https_file, http_file, curl_cfg, c), args.repeat,
                    run=measured)
    return summarize(name, runs, len(urls), c, ideal)


def secure(args, work, ca, which):
    rows = []
    if "W14" in which:
        urls = [f"https://127.0.1.{1 + i % HOSTS}:{TLS_PORT}/delay/{i}" for i in range(20000)]
        rows += workload("W14", args, work, ca, urls, 2000, 1.0)
    if "W15" in which:
        urls = [f"https://127.0.0.1:{TLS_PORT}/n/{i}" for i in range(20000)]
        rows += workload("W15", args, work, ca, urls, 64, None)
    return rows
