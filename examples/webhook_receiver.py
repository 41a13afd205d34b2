"""A minimal receiver of creative-assets lifecycle notifications (standard library only).

    CREATIVE_ASSETS_WEBHOOK_SECRET=... python examples/webhook_receiver.py 8090

It verifies the ``X-Creative-Assets-Signature`` header (``t=<unix time>,v1=<hex>``: HMAC-SHA256 with
the shared secret over ``"<t>." + raw body``), refuses requests older than five minutes, and
de-duplicates on the body's ``idempotency_key`` (a delivery whose answer was lost is sent again).
Answer 2xx quickly; anything else is retried with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300


def verify(secret: str, header: str, body: bytes, now: float | None = None) -> bool:
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > TOLERANCE_SECONDS:
        return False  # too old (or from the future): a replayed request
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", ""))


def make_server(
    secret: str, port: int = 0, on_event: Callable[[dict], None] = print, host: str = "127.0.0.1"
) -> ThreadingHTTPServer:
    seen: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))  # the raw bytes
            if not verify(secret, self.headers.get("X-Creative-Assets-Signature", ""), body):
                self.send_response(401)
                self.end_headers()
                return
            event = json.loads(body)
            if event["idempotency_key"] not in seen:  # keep this set in a database in production
                seen.add(event["idempotency_key"])
                on_event(event)
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return ThreadingHTTPServer((host, port), Handler)


if __name__ == "__main__":
    server = make_server(
        os.environ["CREATIVE_ASSETS_WEBHOOK_SECRET"],
        int(sys.argv[1]) if len(sys.argv) > 1 else 8090,
        on_event=lambda e: print(e["type"], e["summary"], flush=True),
    )
    server.serve_forever()
