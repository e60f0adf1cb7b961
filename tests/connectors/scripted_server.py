"""A tiny real HTTP server answering with scripted responses, for the HTTP layer's tests.

Each test queues (status, headers, body) answers and reads back the requests received,
so the client's behaviour is checked over a real socket without a platform behind it.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ScriptedServer:
    def __init__(self):
        self.answers: list[tuple[int, dict, bytes, float]] = []
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with server._lock:
                    server.requests.append(
                        {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                    )
                    status, headers, payload, delay = server.answers.pop(0) if server.answers else (200, {}, b"{}", 0)
                if delay:
                    threading.Event().wait(delay)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def answer(self, status: int = 200, body=None, *, headers: dict | None = None, delay: float = 0.0):
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            payload = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            payload = (body or "").encode() if isinstance(body, str) or body is None else body
        self.answers.append((status, headers, payload, delay))

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
