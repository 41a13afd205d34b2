"""The local Dagster instance of ``creative-assets run`` (``$DAGSTER_HOME``, default
``var/dagster_home``): its configuration, and the runs of earlier invocations that died.

The CLI executes runs in its own process (``execute_in_process``), so no daemon watches them: if
that process is killed, the run stays STARTED. Every run the CLI starts is tagged with the host,
the process id and the process's start time; at its next start the CLI marks each such run of
this host whose process is gone as failed (a reused pid is told apart by its start time).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import dagster as dg

from creative_assets.dagster_compat import mark_run_failed
from creative_assets.run_tags import HOST_TAG, LAUNCHER_TAG, PID_START_TAG, PID_TAG

CONFIG_HEADER = "# Local instance: SQLite storage under this folder (see README)."
#: names the storage class in configurations this project wrote (older ones lack it: upgraded)
STORAGE_CLASS = "PooledSqliteStorage"


def storage_yaml(home: Path) -> str:
    """The ``storage`` block of an instance in ``home`` (also the benchmark's instances)."""
    return f"""# Dagster's SQLite storage in this folder (history/, schedules/: the default layout), its event log
# keeping each database's connection open instead of opening one per event (dagster_compat.py).
storage:
  custom:
    module: creative_assets.dagster_compat
    class: {STORAGE_CLASS}
    config:
      base_dir: {json.dumps(str(home.resolve()))}
"""


def local_config(home: Path) -> str:
    """The local ``dagster.yaml``: SQLite storage in ``home`` (the files of Dagster's default), run
    monitoring and run retries."""
    return f"""{CONFIG_HEADER} Written by creative-assets.
{storage_yaml(home)}# Run monitoring marks runs whose process died as failed (when dagster-daemon or `dagster dev`
# runs); run retries relaunch such runs from their failed steps (see the top-level dagster.yaml).
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  cancel_timeout_seconds: 180
  poll_interval_seconds: 60
run_retries:
  enabled: true
  max_retries: 0
  retry_on_asset_or_op_failure: false
telemetry:
  enabled: false
"""


#: statuses of a run that some process should still be executing
ACTIVE = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def write_local_config(home: Path) -> Path:
    """Write the local ``dagster.yaml`` unless the user wrote their own; upgrade one an older
    version of this project wrote (it lacked run monitoring and run retries, or named Dagster's
    default storage: the same files, so its runs and events stay). Written atomically."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    text = local_config(home)
    if not config.exists() or (config.read_text().startswith(CONFIG_HEADER) and config.read_text() != text):
        partial = config.with_name(f".{config.name}.{os.getpid()}.tmp")
        partial.write_text(text)
        os.replace(partial, config)
    return config


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), '' where unknown."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def cli_run_tags() -> dict[str, str]:
    """Tags identifying this process as the executor of a run."""
    pid = os.getpid()
    return {
        LAUNCHER_TAG: "cli",
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(pid),
        PID_START_TAG: _start_time(pid),
    }


def _alive(pid: int, start: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return not start or not _start_time(pid) or _start_time(pid) == start


def may_have_runs(home: Path) -> bool:
    """False only when ``home`` is the local SQLite instance this project configures and it has
    no run storage yet: it holds no run to reap, and opening it would create its databases (a
    brief the preflight refuses must leave no instance behind). A configuration the user wrote
    (Postgres, another folder, ...) may hold runs: True."""
    config = home / "dagster.yaml"
    if not config.exists() or not config.read_text().startswith(CONFIG_HEADER):
        return True
    return (home / "history" / "runs.db").exists()


def fail_dead_cli_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark as failed every active run started by ``creative-assets run`` on this host whose
    process is gone. Returns their run ids."""
    host = socket.gethostname()
    records = instance.get_run_records(
        filters=dg.RunsFilter(statuses=ACTIVE, tags={LAUNCHER_TAG: "cli", HOST_TAG: host})
    )
    failed = []
    for record in records:
        run = record.dagster_run
        try:
            pid = int(run.tags.get(PID_TAG, ""))
        except ValueError:
            continue
        if pid == os.getpid() or _alive(pid, run.tags.get(PID_START_TAG, "")):
            continue
        mark_run_failed(
            instance,
            run,
            f"the creative-assets run process (pid {pid} on {host}) that executed this run is gone; "
            "marked failed at the next start of creative-assets run",
        )
        failed.append(run.run_id)
    return failed
