"""A small HTTP server on 127.0.0.1 for the download tests (nothing reaches the network)."""

from __future__ import annotations

import contextlib
import http.server
import threading
from typing import Iterator


class Served:
    """What the server serves and saw: `body` (None: 404), `length` (send a
    Content-Length), `hits` (requests so far), `url`."""

    def __init__(self, body: bytes | None, url: str):
        self.body, self.url, self.length, self.hits = body, url, True, 0


@contextlib.contextmanager
def loopback_server(body: bytes | None, path: str = "/text8.zip") -> Iterator[Served]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            served.hits += 1
            if served.body is None:
                self.send_error(404)
                return
            self.send_response(200)
            if served.length:
                self.send_header("Content-Length", str(len(served.body)))
            self.end_headers()
            self.wfile.write(served.body)

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    served = Served(body, f"http://127.0.0.1:{httpd.server_port}{path}")
    # a short poll interval: shutdown() waits for the loop's next look
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield served
    finally:
        httpd.shutdown()
        httpd.server_close()
