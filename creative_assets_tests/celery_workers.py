"""Real Celery worker processes for tests: ``celery -A creative_assets.celery_app worker``.

Each worker runs in its own session (process group), so a test can kill a whole worker, pool
processes included, the way a node or container dies: ``workers.kill("w1")``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from creative_assets_tests.helpers import REPO


def descendants(pid: int) -> set[int]:
    """PIDs of every live descendant of ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


class CeleryWorkers:
    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env = {**env, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore"}
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}
        self.hostnames: dict[str, str] = {}

    def log(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def start(self, name: str, queues: str, concurrency: int = 1) -> None:
        import socket

        self.hostnames[name] = f"{name}@{socket.gethostname()}"
        cmd = [
            sys.executable, "-m", "celery", "-A", "creative_assets.celery_app", "worker",
            "--queues", queues,
            "--concurrency", str(concurrency),
            "--hostname", self.hostnames[name],
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel", "INFO",
            "--logfile", str(self.log(name)),
        ]  # fmt: skip
        with (self.log_dir / f"{name}.stderr").open("wb") as err:  # the child keeps its own copy
            self.procs[name] = subprocess.Popen(
                cmd, cwd=REPO, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=err, start_new_session=True,
            )  # fmt: skip

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        waiting = set(self.procs)
        while waiting:
            for name in list(waiting):
                proc = self.procs[name]
                if proc.poll() is not None:
                    raise RuntimeError(f"worker {name} exited ({proc.returncode}):\n{self.tail(name)}")
                with contextlib.suppress(OSError):
                    if f"{self.hostnames[name]} ready." in self.log(name).read_text(errors="replace"):
                        waiting.discard(name)
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers {sorted(waiting)} not ready in {timeout:.0f}s:\n" + "\n".join(
                    self.tail(n) for n in waiting
                ))  # fmt: skip
            time.sleep(0.3)

    def tail(self, name: str, chars: int = 3000) -> str:
        text = ""
        for path in (self.log(name), self.log_dir / f"{name}.stderr"):
            with contextlib.suppress(OSError):
                text += f"--- {path.name}\n" + path.read_text(errors="replace")[-chars:]
        return text

    def pids(self, name: str) -> set[int]:
        """The worker's main process and its pool processes."""
        pid = self.procs[name].pid
        return {pid, *descendants(pid)}

    def kill(self, name: str) -> None:
        """SIGKILL the worker's whole process group: no warm shutdown, no chance to ack or requeue."""
        proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            # pool processes left behind by a killed main process
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
