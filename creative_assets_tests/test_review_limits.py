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

from creative_assets.review.throttle import LoginThrottle, ThrottlePolicy
from creative_assets_tests.helpers import REPO

TOKEN = "limits-test-review-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("review_limits")
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CREATIVE_ASSETS_REVIEW_TOKEN": TOKEN,
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
        _send_quietly(sock, b"name=a&token=" + b"x" * (1 << 20))  # far less than announced
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


def _login(port: int, name: str, token: str):
    data = urllib.parse.urlencode({"name": name, "token": token}).encode()

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
    codes = [_login(port, "Mallory", f"guess-{i}")[0] for i in range(10)]
    assert codes == [401] * 10
    code, headers = _login(port, "Mallory", TOKEN)
    assert code == 429 and int(headers["Retry-After"]) >= 1  # this pair waits, even with the token
    assert _login(port, "Ana Reviewer", TOKEN)[0] == 303  # a colleague behind the same address does not
    assert _login(port, "  mallory ", "guess")[0] == 429  # the account is the folded name


# -- the policy, on a fake clock ------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_and_is_capped():
    clock = Clock()
    t = LoginThrottle(ThrottlePolicy(pair_free=3, base_delay=10, max_delay=60), clock)
    for _ in range(3):
        assert t.retry_after("ana", "1.1.1.1") == 0
        t.failure("ana", "1.1.1.1")
    assert t.retry_after("ana", "1.1.1.1") == 10
    clock.now += 10
    assert t.retry_after("ana", "1.1.1.1") == 0
    t.failure("ana", "1.1.1.1")
    assert t.retry_after("ana", "1.1.1.1") == 20
    for _ in range(5):
        clock.now += 60
        t.failure("ana", "1.1.1.1")
    assert t.retry_after("ana", "1.1.1.1") == 60
    assert t.retry_after("bob", "1.1.1.1") == 0 and t.retry_after("ana", "2.2.2.2") == 0


def test_success_clears_the_pair():
    clock = Clock()
    t = LoginThrottle(ThrottlePolicy(pair_free=3, base_delay=10), clock)
    for _ in range(2):
        t.failure("ana", "1.1.1.1")
    t.success("Ana", "1.1.1.1")
    t.failure("ana", "1.1.1.1")
    assert t.retry_after("ana", "1.1.1.1") == 0


def test_rotating_names_from_one_address_hits_the_address_allowance():
    clock = Clock()
    t = LoginThrottle(ThrottlePolicy(pair_free=10, ip_free=20, base_delay=5), clock)
    for i in range(20):
        t.failure(f"user{i}", "6.6.6.6")
    assert t.ip_retry_after("6.6.6.6") == 5 and t.retry_after("new", "6.6.6.6") == 5
    assert t.retry_after("new", "7.7.7.7") == 0


def test_one_name_from_many_addresses_hits_the_account_allowance():
    clock = Clock()
    t = LoginThrottle(ThrottlePolicy(account_free=5, base_delay=5), clock)
    for i in range(5):
        t.failure("ana", f"10.0.0.{i}")
    assert t.retry_after("ana", "10.0.0.99") == 5
    assert t.retry_after("bob", "10.0.0.99") == 0


def test_counts_are_forgotten_and_memory_is_bounded():
    clock = Clock()
    t = LoginThrottle(ThrottlePolicy(pair_free=1, base_delay=5, forget_after=100, max_tracked=50), clock)
    t.failure("ana", "1.1.1.1")
    clock.now += 101
    assert t.retry_after("ana", "1.1.1.1") == 0
    for i in range(1000):
        t.failure(f"u{i}", f"10.{i}")
    assert len(t) <= 50
