"""A throwaway Redis server for tests, started from Debian's ``redis-server`` binary.

    server = RedisServer()
    url = server.start()        # redis://127.0.0.1:<port>/0
    server.stop()               # SIGTERM (then SIGKILL), temporary folder removed

Loopback only, a free port, no persistence (its data is thrown away), its own temporary folder.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

INSTALL_HINT = (
    "redis-server was not found on PATH or in /usr/bin. Install it with `apt-get install redis-server` "
    "(scripts/test.sh does this via scripts/bootstrap.sh when run as root on Debian/Ubuntu)."
)


class RedisUnavailable(RuntimeError):
    """The redis-server binary is not installed."""


def find_redis_server() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if not found:
        raise RedisUnavailable(INSTALL_HINT)
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    def __init__(self, startup_timeout: float = 20.0):
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self.folder: Path | None = None
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the Redis server is not running")
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_file(self) -> Path:
        assert self.folder is not None
        return self.folder / "redis.log"

    def start(self) -> str:
        if self.proc is not None:
            return self.url
        binary = find_redis_server()
        self.folder = Path(tempfile.mkdtemp(prefix="ca-redis-"))
        atexit.register(self.stop)
        for attempt in range(3):
            self.port = _free_port()
            args = [
                binary,
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--dir", str(self.folder),
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--protected-mode", "yes",
                "--logfile", str(self.log_file),
            ]  # fmt: skip
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            try:
                self._wait_until_ready()
                return self.url
            except RuntimeError:
                self._terminate()
                if attempt == 2:
                    self.stop()
                    raise
        raise AssertionError("unreachable")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited ({self.proc.returncode}):\n{self._log_tail()}")
            if self.ping():
                return
            time.sleep(0.05)
        raise RuntimeError(
            f"redis-server did not answer PING in {self.startup_timeout:.0f}s\n{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError, AssertionError):
            return "\n".join(self.log_file.read_text().splitlines()[-lines:])
        return ""

    def _terminate(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        """Stop the server and remove its folder. Safe to call more than once."""
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        self._terminate()
        self.port = None
        folder, self.folder = self.folder, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
