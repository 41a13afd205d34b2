"""Deployment settings: the one module that reads the process environment (README "Configuration").

Every other module asks here: typed, bounded getters with the variable's name in the error. Values
a resource needs at run time (paths, bucket, credentials) stay Dagster ``EnvVar``s in the resources'
config (``resources/env.py`` decides which are set), so they are never baked in at load time; what
is read here is what must be known when the code location loads (which implementation, batch size,
retries, the nightly cron). Pure: no Dagster, no resources.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

#: units per run: UI backfills (BackfillPolicy), sensors, the nightly schedule, the CLI, the benchmark
DEFAULT_UNITS_PER_RUN = 24
UNITS_PER_RUN_ENV = "CREATIVE_ASSETS_UNITS_PER_RUN"


def project_root() -> Path:
    """The repository root for an editable install, else the current directory."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").is_file() else Path.cwd()


def default_storage_root() -> str:
    return str(project_root() / "var" / "storage")


def default_credentials_dir() -> str:
    """Where `creative-assets credentials init` puts the test CA."""
    return str(project_root() / "var" / "credentials")


#: the Dagster UI that links to runs point at (alerts, notifications, review app, ``status``)
UI_URL_ENV = "CREATIVE_ASSETS_UI_URL"
DEFAULT_UI_URL = "http://localhost:3000"


def dagster_ui_url() -> str:
    return get(UI_URL_ENV, DEFAULT_UI_URL)


def default_dagster_home() -> str:
    return str(project_root() / "var" / "dagster_home")


def environment() -> Mapping[str, str]:
    """The process environment, for parsers that take a mapping (identity, alerts, budget) so their
    tests can pass their own."""
    return os.environ


def get(name: str, default: str = "") -> str:
    """A variable's value, stripped; ``default`` when it is unset or blank."""
    return os.environ.get(name, "").strip() or default


def is_set(name: str) -> bool:
    return bool(os.environ.get(name))


def override(name: str, value: str) -> None:
    """Set a variable for this process (the CLI's ``--out`` points the definitions at a folder)."""
    os.environ[name] = value


def choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower() or default
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(allowed)}")
    return value


def flag(name: str, default: bool) -> bool:
    """``0``/``false``/``no``/``off`` are false, anything else set is true."""
    raw = get(name).lower()
    return default if not raw else raw not in ("0", "false", "no", "off")


def int_setting(name: str, default: int, low: int, high: int) -> int:
    """A bounded integer setting. (Not an ``EnvVar``: pydantic would check the bounds against the
    unresolved placeholder and refuse any value at load time.)"""
    return _bounded(name, default, low, high, int, "a whole number")


def float_setting(name: str, default: float, low: float, high: float) -> float:
    return _bounded(name, default, low, high, float, "a number")


def _bounded(name: str, default, low, high, parse, kind: str):
    raw = get(name)
    if not raw:
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not {kind}") from None
    if not low <= value <= high:
        raise ValueError(f"{name}={value} is outside {low}..{high}")
    return value


def units_per_run() -> int:
    """Units batched into one run (``CREATIVE_ASSETS_UNITS_PER_RUN``, default 24)."""
    return int_setting(UNITS_PER_RUN_ENV, DEFAULT_UNITS_PER_RUN, 1, 500)


#: threads a batched step spreads its CPU-heavy per-unit work over (drawing, rendering, checks)
CPU_WORKERS_ENV = "CREATIVE_ASSETS_CPU_WORKERS"


def cores() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def cpu_workers() -> int:
    """Worker threads per batched CPU-bound step (``CREATIVE_ASSETS_CPU_WORKERS``; default: the cores
    this process may use, at most 8). Pillow, NumPy and OpenCV release the GIL in their pixel loops,
    so threads use every core; 1 turns it off (Celery deployments with one worker per core)."""
    return int_setting(CPU_WORKERS_ENV, min(cores(), 8), 1, 64)


@contextlib.contextmanager
def cores_shared_by(processes: int) -> Iterator[int]:
    """While ``processes`` processes execute runs at once (run_pool), each one's CPU-bound steps use
    its share of the cores (at least 1 thread), unless ``CREATIVE_ASSETS_CPU_WORKERS`` is set: two
    runs of one thread each beat two of two threads on two cores (docs/BENCHMARKS.md). Set for this
    process and the workers it spawns meanwhile; yields the threads per process."""
    if is_set(CPU_WORKERS_ENV) or processes <= 1:
        yield cpu_workers()
        return
    share = max(1, min(cores(), 8) // processes)
    os.environ[CPU_WORKERS_ENV] = str(share)
    try:
        yield share
    finally:
        os.environ.pop(CPU_WORKERS_ENV, None)


#: runs of one ``creative-assets run`` executing at once, each in its own process (run_pool)
PARALLEL_RUNS_ENV = "CREATIVE_ASSETS_PARALLEL_RUNS"
DEFAULT_PARALLEL_RUNS = 2


def parallel_runs() -> int:
    """Runs ``creative-assets run`` executes at once (``CREATIVE_ASSETS_PARALLEL_RUNS``, default 2;
    1: one after the other in its own process). Each extra one is a worker process with its own
    GIL; a brief's units are cut into a multiple of this many runs so every process has work."""
    return int_setting(PARALLEL_RUNS_ENV, DEFAULT_PARALLEL_RUNS, 1, 16)


#: a new brief's (or brief version's) first run: this many units, so its first creatives appear in
#: seconds; the rest follow in full batches (0: no lead batch)
FIRST_BATCH_ENV = "CREATIVE_ASSETS_FIRST_BATCH_UNITS"
DEFAULT_FIRST_BATCH_UNITS = 1


def first_batch_units() -> int:
    """Units in a new brief's lead run (``CREATIVE_ASSETS_FIRST_BATCH_UNITS``, default 1; 0 = none)."""
    return int_setting(FIRST_BATCH_ENV, DEFAULT_FIRST_BATCH_UNITS, 0, 500)


#: seconds between brief-inbox sensor ticks; ``creative-assets ui`` (the local profile) uses a short one
INBOX_TICK_ENV = "CREATIVE_ASSETS_INBOX_TICK_SECONDS"
DEFAULT_INBOX_TICK_SECONDS = 30
LOCAL_INBOX_TICK_SECONDS = 5


def inbox_tick_seconds() -> int:
    """``CREATIVE_ASSETS_INBOX_TICK_SECONDS`` (default 30): how often the inbox sensor looks."""
    return int_setting(INBOX_TICK_ENV, DEFAULT_INBOX_TICK_SECONDS, 1, 3600)


def dagster_home() -> str:
    """``DAGSTER_HOME``, defaulting (and set for this process) to ``var/dagster_home``."""
    return os.environ.setdefault("DAGSTER_HOME", default_dagster_home())
