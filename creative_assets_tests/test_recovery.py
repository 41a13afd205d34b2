"""Dead runs are detected and failed work is retried (issue 11, items 3 and 4)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import yaml

from creative_assets.cli import main
from creative_assets.local_instance import CONFIG_HEADER, LAUNCHER_TAG, write_local_config
from creative_assets_tests.helpers import REPO
from creative_assets_tests.pipeline_helpers import small_brief


def test_every_shipped_instance_config_enables_run_monitoring_and_run_retries(tmp_path):
    production = yaml.safe_load((REPO / "dagster.yaml").read_text())
    assert production["run_monitoring"]["enabled"] is True
    assert production["run_retries"]["enabled"] is True
    assert production["run_retries"]["retry_on_asset_or_op_failure"] is False
    # the local instance the CLI (and the quick start) writes, loaded by Dagster itself
    home = tmp_path / "home"
    write_local_config(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.run_monitoring_enabled and instance.run_retries_enabled
        assert instance.run_retries_max_retries == 0  # per run: the jobs' dagster/max_retries tag
    # a config an older version wrote is upgraded; one the user wrote is left alone
    old = tmp_path / "old"
    old.mkdir()
    (old / "dagster.yaml").write_text(f"{CONFIG_HEADER}\ntelemetry:\n  enabled: false\n")
    write_local_config(old)
    assert "run_monitoring" in (old / "dagster.yaml").read_text()
    own = tmp_path / "own"
    own.mkdir()
    (own / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    write_local_config(own)
    assert (own / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"


def _active_cli_runs(home: Path) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return [
            r
            for r in instance.get_runs(filters=dg.RunsFilter(tags={LAUNCHER_TAG: "cli"}))
            if r.status == dg.DagsterRunStatus.STARTED
        ]


def test_creative_assets_run_fails_its_own_dead_runs_at_its_next_start(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    brief = small_brief(tmp_path, locales=("en-US", "de-DE"), candidates=2)
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "creative_assets.cli", "run", str(brief), "--out", str(tmp_path / "out")],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while not (home / "history" / "runs.db").exists() or not _active_cli_runs(home):
            assert proc.poll() is None, "the run finished before it could be killed"
            assert time.monotonic() < deadline, "no run started"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)  # kill -9 in the middle of the run
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    (dead,) = _active_cli_runs(home)
    assert dead.status == dg.DagsterRunStatus.STARTED, "nobody else notices the run is dead"

    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert main(["run", str(tmp_path / "no-such-brief.yaml")]) == 2  # reaps first, then validates
    assert f"run {dead.run_id}" in capsys.readouterr().out
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.get_run_by_id(dead.run_id)
        assert run.status == dg.DagsterRunStatus.FAILURE
        (failure,) = instance.fetch_run_status_changes(dg.DagsterEventType.RUN_FAILURE, limit=5).records
        assert "is gone" in failure.event_log_entry.dagster_event.message
