"""``creative-assets run`` executes a brief's runs on two processes at once (creative_assets/run_pool.py):
the bytes are those of one run after another, and a worker that dies loses nothing."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from creative_assets.cli import main
from creative_assets.local_instance import write_local_config
from creative_assets.run_tags import BATCH_TAG, PID_TAG
from creative_assets.settings import FIRST_BATCH_ENV, PARALLEL_RUNS_ENV
from creative_assets_tests.pipeline_helpers import comparable, small_brief
from creative_assets_tests.test_parallel_units import stored_files


@pytest.fixture
def campaign(tmp_path) -> Path:
    return small_brief(tmp_path, locales=("en-US", "ar-AE"), candidates=1)  # 4 units


def run_cli(tmp: Path, brief: Path, slots: int, monkeypatch) -> tuple[int, Path, list[dg.DagsterRun]]:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp / "home"))
    monkeypatch.setenv(PARALLEL_RUNS_ENV, str(slots))
    monkeypatch.setenv(FIRST_BATCH_ENV, "1")
    code = main(["run", str(brief), "--out", str(tmp / "out")])
    with dg.DagsterInstance.get() as instance:
        runs = [r for r in instance.get_runs() if BATCH_TAG in r.tags]
    return code, tmp / "out", runs


def test_two_runs_at_once_write_the_same_bytes_as_one_after_another(tmp_path, campaign, monkeypatch, capsys):
    code, serial_root, serial_runs = run_cli(tmp_path / "serial", campaign, 1, monkeypatch)
    assert code == 0
    code, parallel_root, parallel_runs = run_cli(tmp_path / "parallel", campaign, 2, monkeypatch)
    assert code == 0
    printed = capsys.readouterr().out
    # one process: the lead run, then the other three units; two: the lead, then one run per process
    assert len(serial_runs) == 2 and {r.tags[PID_TAG] for r in serial_runs} == {str(os.getpid())}
    assert len(parallel_runs) == 3 and "(worker 1)" in printed
    pids = {r.tags[PID_TAG] for r in parallel_runs}
    assert len(pids) == 2 and str(os.getpid()) in pids  # this process and a worker executed runs
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in serial_runs + parallel_runs)
    serial = comparable(stored_files(serial_root), str(serial_root).lstrip("/"))
    parallel = comparable(stored_files(parallel_root), str(parallel_root).lstrip("/"))
    assert sorted(serial) == sorted(parallel)
    differing = [k for k in serial if serial[k] != parallel[k]]
    assert not differing, f"{len(differing)} file(s) differ, e.g. {differing[:5]}"
    assert sum(k.endswith(".png") for k in serial) >= 4 * 3  # the creatives themselves are compared


def test_a_worker_killed_mid_run_fails_its_run_and_the_next_run_builds_its_units(
    tmp_path, campaign, monkeypatch, capsys
):
    home = tmp_path / "home"
    killed: list[str] = []
    # the instance's databases exist before the watcher below opens it: two processes creating a
    # fresh SQLite instance at the same moment race inside Dagster (not what this test is about)
    write_local_config(home)
    dg.DagsterInstance.from_config(str(home)).dispose()

    def kill_the_worker() -> None:
        """SIGKILL the first run executed by another process than this one, once it has started."""
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not killed:
            time.sleep(0.2)
            with dg.DagsterInstance.from_config(str(home)) as instance:
                for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
                    pid = int(run.tags.get(PID_TAG, "0"))
                    if pid and pid != os.getpid():
                        os.kill(pid, signal.SIGKILL)
                        killed.append(run.run_id)
                        return

    killer = threading.Thread(target=kill_the_worker, daemon=True)
    killer.start()
    code, out, runs = run_cli(tmp_path, campaign, 2, monkeypatch)
    killer.join(timeout=5)
    printed = capsys.readouterr()
    assert killed, "no worker run was seen to kill"
    assert code == 1
    assert "the worker process executing this run died" in printed.err
    by_id = {r.run_id: r for r in runs}
    assert by_id[killed[0]].status == dg.DagsterRunStatus.FAILURE  # marked failed at once, not left STARTED
    assert [r.status for r in runs].count(dg.DagsterRunStatus.SUCCESS) == 2  # the other slot went on
    # the summary table: the dead run's units not built, every other unit selected
    statuses = [
        line.split()[1] for line in printed.out.splitlines() if line.startswith("summer-splash-2026.")
    ]
    assert len(statuses) == 4 and set(statuses) <= {"selected", "not_built"}
    assert 1 <= statuses.count("not_built") <= 2, statuses  # the killed run held one or two units
    # nothing lost: the next run builds what the dead worker did not
    code, out, runs = run_cli(tmp_path, campaign, 2, monkeypatch)
    assert code == 0
    assert len({p.parents[3] for p in out.glob("campaigns/*/*/*/selected_creative/gen/*/*.png")}) == 4
