"""Loopback servers that record what alert sinks send: HTTP (webhooks) and SMTP (email).

Both listen on 127.0.0.1 on a free port, serve from a daemon thread and keep what they received in
memory. The SMTP server speaks just enough ESMTP for ``smtplib``: EHLO/HELO, AUTH PLAIN/LOGIN,
MAIL FROM, RCPT TO, DATA, RSET, NOOP, QUIT.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


class HttpRecorder:
    """``POST``s are recorded; a path listed in ``statuses`` answers with that status (e.g. 500);
    ``script[path]`` lists statuses answered first, one per request (e.g. ``[500]``: fail once)."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.statuses: dict[str, int] = {}
        self.script: dict[str, list[int]] = {}
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                recorder.requests.append(Request(self.path, dict(self.headers.items()), body))
                queued = recorder.script.get(self.path)
                status = queued.pop(0) if queued else recorder.statuses.get(self.path, 200)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 400 else b"failure")

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def on(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def __enter__(self) -> HttpRecorder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    data: bytes
    auth: tuple[str, str] | None = None

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]

    @property
    def body(self) -> str:
        return self.message.get_content()


@dataclass
class _Session:
    sender: str = ""
    recipients: list[str] = field(default_factory=list)
    auth: tuple[str, str] | None = None


class SmtpRecorder:
    """A tiny ESMTP server recording each delivered message (no TLS: use security "none")."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        recorder = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")
                self.wfile.flush()

            def readline(self) -> str:
                return self.rfile.readline().decode("utf-8", "replace").rstrip("\r\n")

            def handle(self) -> None:
                session = _Session()
                self.reply("220 localhost test ESMTP")
                while line := self.rfile.readline():
                    command = line.decode("utf-8", "replace").rstrip("\r\n")
                    verb, _, arg = command.partition(" ")
                    verb = verb.upper()
                    if verb == "EHLO":
                        self.reply("250-localhost")
                        self.reply("250-AUTH PLAIN LOGIN")
                        self.reply("250 8BITMIME")
                    elif verb == "HELO":
                        self.reply("250 localhost")
                    elif verb == "AUTH":
                        session.auth = self.authenticate(arg)
                        self.reply("235 2.7.0 Authentication successful")
                    elif verb == "MAIL":
                        session = _Session(sender=_address(arg), auth=session.auth)
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        session.recipients.append(_address(arg))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        recorder.mails.append(
                            Mail(session.sender, session.recipients, self.read_data(), session.auth)
                        )
                        self.reply("250 OK queued")
                    elif verb in ("RSET", "NOOP"):
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 Bye")
                        return
                    else:
                        self.reply("502 Command not implemented")

            def authenticate(self, arg: str) -> tuple[str, str]:
                mechanism, _, initial = arg.partition(" ")
                if mechanism.upper() == "PLAIN":
                    if not initial:
                        self.reply("334 ")
                        initial = self.readline()
                    _, user, password = base64.b64decode(initial).decode().split("\0")
                    return user, password
                self.reply("334 VXNlcm5hbWU6")  # LOGIN: "Username:"
                user = base64.b64decode(initial or self.readline()).decode()
                self.reply("334 UGFzc3dvcmQ6")  # "Password:"
                return user, base64.b64decode(self.readline()).decode()

            def read_data(self) -> bytes:
                lines = []
                while True:
                    raw = self.rfile.readline()
                    if raw in (b".\r\n", b".\n", b""):
                        return b"".join(lines)
                    lines.append(raw[1:] if raw.startswith(b"..") else raw)  # dot-unstuffing

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def __enter__(self) -> SmtpRecorder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _address(arg: str) -> str:
    """``FROM:<a@b> SIZE=12`` -> ``a@b``."""
    return arg.partition(":")[2].strip().split(" ")[0].strip("<>")


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
