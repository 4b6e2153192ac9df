"""Real servers on 127.0.0.1 for the package's tests.

An HTTP server (Python's own, one thread per connection): `/ok`, `/status/N`,
`/delay/MS/…`, `/redirect` (302 to `/ok`), `/cookie` (sets two cookies), `/slow/…` (100 ms,
counting how many are served at once), `/site/N` (a site of `SITE_PAGES` HTML pages, page N
linking to pages 2N+1 and 2N+2), and `/echo…` for any method (the request as JSON: method,
path, headers, body). And a `redis-server` of its own on a free port, for the
Redis limiter's tests (skipped, saying why, where there is no redis-server or redis-py).
The proxy variables of the environment are removed for every test (traffic stays on
loopback; the proxy tests set their own).
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

#: Pages of the `/site/N` site.
SITE_PAGES = 40

PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
              "ALL_PROXY", "no_proxy", "NO_PROXY")


@pytest.fixture(autouse=True)
def no_proxy_from_the_environment(monkeypatch):
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)


class Server:
    def __init__(self):
        self.lock = threading.Lock()
        self.hits = {}
        self.now = 0
        self.most = 0
        self.connections = 0
        handler = _handler(self)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, path):
        return self.base + path

    def hit(self, path):
        with self.lock:
            self.hits[path] = self.hits.get(path, 0) + 1

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(server):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def setup(self):
            super().setup()
            with server.lock:
                server.connections += 1
            # The head and the body go out as two writes: without this, each answer
            # waits for the client's delayed ACK.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def answer(self, status, body=b"ok", headers=(), kind="text/plain"):
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def echo(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            said = {"method": self.command, "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body.decode("latin-1")}
            self.answer(200, json.dumps(said).encode())

        def do_POST(self):
            server.hit(self.path)
            self.echo()

        do_PUT = do_DELETE = do_PATCH = do_POST

        def do_GET(self):
            path = self.path
            server.hit(path)
            # Asked as a proxy is (absolute-form): answered as the origin would.
            if path.startswith("http://"):
                path = "/" + path.split("/", 3)[-1]
            parts = path.strip("/").split("/")
            if parts[0].startswith("echo"):
                self.echo()
            elif parts[0] == "status":
                self.answer(int(parts[1]), f"status {parts[1]}".encode())
            elif parts[0] == "delay":
                time.sleep(int(parts[1]) / 1000)
                self.answer(200)
            elif parts[0] == "redirect":
                self.answer(302, b"", [("Location", "/ok")])
            elif parts[0] == "cookie":
                self.answer(200, "héllo".encode(), [("Set-Cookie", "a=1; Path=/"),
                                                    ("Set-Cookie", "b=two")])
            elif parts[0] == "site" and len(parts) == 2 and parts[1].isdigit():
                n = int(parts[1])
                links = "".join(f'<a href="/site/{m}">{m}</a>'
                                for m in (2 * n + 1, 2 * n + 2) if m < SITE_PAGES)
                self.answer(200, f"<html><body>{links}</body></html>".encode(), kind="text/html")
            elif parts[0] == "slow":
                with server.lock:
                    server.now += 1
                    server.most = max(server.most, server.now)
                time.sleep(0.1)
                with server.lock:
                    server.now -= 1
                self.answer(200)
            else:
                self.answer(200)

    return Handler


@pytest.fixture
def server():
    s = Server()
    yield s
    s.stop()


class Redis:
    """A redis-server of its own on a free loopback port, nothing saved to disk."""

    def __init__(self):
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="octopus-redis-")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                time.sleep(0.025)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def closed_url():
    """A URL on 127.0.0.1 that nothing listens on (connection refused)."""
    return f"http://127.0.0.1:{_free_port()}/"


@pytest.fixture(scope="session")
def redis_server():
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server on PATH (the Debian package redis-server)")
    r = Redis()
    yield r
    r.stop()


@pytest.fixture
def redis_client(redis_server):
    redis = pytest.importorskip("redis", reason="redis-py is not installed (pip install redis)")
    client = redis.Redis(host="127.0.0.1", port=redis_server.port, db=0)
    client.flushall()
    yield client
    client.close()
