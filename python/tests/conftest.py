"""A real HTTP server on 127.0.0.1 for the package's tests (Python's own, one thread per
connection): `/ok`, `/status/N`, `/delay/MS/…`, `/redirect` (302 to `/ok`), `/cookie`
(sets two cookies), `/slow/…` (100 ms, counting how many are served at once)."""

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Server:
    def __init__(self):
        self.lock = threading.Lock()
        self.hits = {}
        self.now = 0
        self.most = 0
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
            # The head and the body go out as two writes: without this, each answer
            # waits for the client's delayed ACK.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def answer(self, status, body=b"ok", headers=()):
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path = self.path
            server.hit(path)
            parts = path.strip("/").split("/")
            if parts[0] == "status":
                self.answer(int(parts[1]), f"status {parts[1]}".encode())
            elif parts[0] == "delay":
                time.sleep(int(parts[1]) / 1000)
                self.answer(200)
            elif parts[0] == "redirect":
                self.answer(302, b"", [("Location", "/ok")])
            elif parts[0] == "cookie":
                self.answer(200, "héllo".encode(), [("Set-Cookie", "a=1; Path=/"),
                                                    ("Set-Cookie", "b=two")])
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
