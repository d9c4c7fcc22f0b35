"""A real HTTP server on loopback that records every webhook POST (the alert tests' receiver)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """Records ``(arrival time, JSON body)`` of every POST and answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.arrivals: list[float] = []
        self.headers: list[str] = []
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = min(int(self.headers.get("Content-Length", "0")), 1 << 20)
                body = json.loads(self.rfile.read(size))
                received.arrivals.append(time.time())
                received.bodies.append(body)
                received.headers.append(self.headers.get("Content-Type", ""))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/secret"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def first(self, rule: str, subject: str, status: str = "firing", after: float = 0.0) -> float | None:
        """Arrival time of the first ``status`` event of ``rule`` about ``subject`` after ``after``."""
        for at, body in zip(list(self.arrivals), list(self.bodies), strict=False):
            event = (body.get("rule"), body.get("subject"), body.get("status"))
            if event == (rule, subject, status) and at >= after:
                return at
        return None

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
