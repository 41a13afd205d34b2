"""The review app under hostile requests (issue 21): bodies are limited before they are read, on every
route, and sign-in throttling is per account and address with backoff (OWASP), so one guesser does
not lock out everyone behind the same proxy.

The HTTP tests run the real ``creative-assets review`` command (uvicorn) on a loopback port and
measure its memory from /proc."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from creative_assets.identity.store import IdentityStore
from creative_assets_tests.helpers import REPO

PASSWORD = "limits-test-password-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("review_limits")
    port = _free_port()
    url = f"sqlite:///{tmp / 'identity.sqlite'}"
    store = IdentityStore.open(url)
    for login in ("mallory@example.com", "ana@example.com"):
        store.add_user(login, password=PASSWORD)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CREATIVE_ASSETS_IDENTITY_DB_URL": url,
        "DAGSTER_HOME": str(tmp / "home"),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "creative_assets.cli",
            "review",
            "--out",
            str(tmp / "storage"),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("review app did not start") from None
                time.sleep(0.2)
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _status_of(sock: socket.socket) -> int:
    sock.settimeout(10)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1])


def _send_quietly(sock: socket.socket, data: bytes) -> bool:
    try:
        sock.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


def test_huge_declared_body_is_refused_before_it_is_read(server):
    port, pid = server
    before = _rss_kib(pid)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        head = (
            "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {512 * 1024 * 1024}\r\n\r\n"
        )
        sock.sendall(head.encode())
        _send_quietly(sock, b"login=a&password=" + b"x" * (1 << 20))  # far less than announced
        started = time.monotonic()
        assert _status_of(sock) == 413
        assert time.monotonic() - started < 5  # answered without waiting for the rest
    assert _rss_kib(pid) - before < 30_000


def test_chunked_body_is_cut_off_at_the_limit(server):
    port, pid = server
    before = _rss_kib(pid)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"x" * 65536
        sent = 0
        while sent < 64 * 1024 * 1024 and _send_quietly(sock, b"%x\r\n%s\r\n" % (len(chunk), chunk)):
            sent += len(chunk)
            sock.settimeout(0)
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break  # the server answered already
            except (BlockingIOError, ConnectionResetError):
                pass
            finally:
                sock.settimeout(None)
        assert _status_of(sock) == 413
        assert sent < 64 * 1024 * 1024, "the server kept reading"
    assert _rss_kib(pid) - before < 30_000


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/logout"),
        ("POST", "/units/summer-splash-2026.en-US.citrus/approve"),
        ("POST", "/units/summer-splash-2026.en-US.citrus/request-changes"),
        ("GET", "/"),
        ("GET", "/healthz"),
        ("POST", "/no-such-route"),
    ],
)
def test_every_route_limits_the_body(server, method, path):
    port, _pid = server
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10000000\r\n\r\n".encode()
        )
        assert _status_of(sock) == 413


def _login(port: int, login: str, password: str):
    data = urllib.parse.urlencode({"login": login, "password": password}).encode()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(f"http://127.0.0.1:{port}/login", data=data, timeout=10) as r:
            return r.status, r.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers


def test_one_guesser_does_not_lock_out_the_office(server):
    port, _pid = server
    codes = [_login(port, "mallory@example.com", f"guess-{i}-xxxxxxx")[0] for i in range(10)]
    assert codes[:4] == [401] * 4 and set(codes[4:]) == {429}  # 3 free, then exponential backoff
    code, headers = _login(port, "mallory@example.com", PASSWORD)
    assert code == 429 and int(headers["Retry-After"]) >= 1  # this pair waits, even with the password
    assert _login(port, "ana@example.com", PASSWORD)[0] == 303  # a colleague behind the same address does not
    assert _login(port, "  MALLORY@example.com ", "guess")[0] == 429  # the account is the folded name
