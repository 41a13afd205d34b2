"""Dead runs are detected and failed work is retried (issue 11, items 3 and 4)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import dagster as dg
import pytest
import yaml

from creative_assets.cli import main
from creative_assets.jobs import creative_pipeline, transient_retry_policy, unit_stages
from creative_assets.local_instance import CONFIG_HEADER, write_local_config
from creative_assets.run_tags import LAUNCHER_TAG, RUN_RETRY_TAGS
from creative_assets.stage_store import read_stage
from creative_assets.units import UnitKey
from creative_assets_tests.helpers import EXAMPLES, REPO
from creative_assets_tests.pipeline_helpers import pipeline_resources, register, run_range, small_brief
from resources.providers import OfflineImageProvider
from resources.storage import LocalCreativeStorage


class BrokenImageProvider(OfflineImageProvider):
    """A bug, not an outage: retrying cannot help."""

    def draw(self, *args, **kwargs):
        raise ValueError("the prompt template is invalid")


def test_every_shipped_instance_config_enables_run_monitoring_and_run_retries(tmp_path):
    production = yaml.safe_load((REPO / "dagster.yaml").read_text())
    assert production["run_monitoring"]["enabled"] is True
    assert production["run_retries"]["enabled"] is True
    assert production["run_retries"]["retry_on_asset_or_op_failure"] is False
    helm = yaml.safe_load((REPO / "deploy" / "helm" / "values.yaml").read_text())["dagsterDaemon"]
    assert helm["runMonitoring"]["enabled"] is True and helm["runRetries"]["enabled"] is True
    assert helm["runRetries"]["retryOnAssetOrOpFailure"] is False
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
    # a crash while the upgrade is written leaves the old file whole (it is replaced in one rename)
    older = tmp_path / "older"
    older.mkdir()
    (older / "dagster.yaml").write_text(f"{CONFIG_HEADER}\ntelemetry:\n  enabled: false\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("creative_assets.local_instance.os.replace", _crash)
        with pytest.raises(OSError, match="crashed"):
            write_local_config(older)
    assert (older / "dagster.yaml").read_text() == f"{CONFIG_HEADER}\ntelemetry:\n  enabled: false\n"
    write_local_config(older)  # the next start writes it
    assert "PooledSqliteStorage" in (older / "dagster.yaml").read_text()
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
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "cli.out"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "creative_assets.cli", "run", str(brief), "--out", str(tmp_path / "out")],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 180
        # the CLI creates its (fresh) instance once the brief passed validation: open it only after
        # the CLI has registered the units in it, never while its SQLite schema is being created
        while "creative units" not in log.read_text() or not _active_cli_runs(home):
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


# --------------------------------------------------------------------------- retries


class FlakyStorage(LocalCreativeStorage):
    """Local storage whose writes under ``flaky`` fail ``fail_writes`` times (storage unreachable)."""

    state: ClassVar[dict] = {}

    def write_bytes(self, key, data, content_type=None):
        if self.state.get("flaky", "\0") in key and self.state.get("fail_writes", 0) > 0:
            self.state["fail_writes"] -= 1
            raise ConnectionError(f"storage unreachable while writing {key}")
        return super().write_bytes(key, data, content_type)


def _fast_retry_defs(storage, **overrides) -> dg.Definitions:
    job = dg.define_asset_job(
        "creative_pipeline",
        selection=dg.AssetSelection.assets(*unit_stages),
        executor_def=dg.in_process_executor,
        run_tags=RUN_RETRY_TAGS,
        op_retry_policy=transient_retry_policy(retries=3, delay=0.05),
    )
    return dg.Definitions(
        assets=[*unit_stages], jobs=[job], resources={**pipeline_resources(storage), **overrides}
    )


def _retries(result) -> list[str]:
    return [e.step_key for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]


def test_transient_failures_are_retried_with_backoff_and_deterministic_ones_are_not(tmp_path, monkeypatch):
    monkeypatch.delenv("CREATIVE_ASSETS_STEP_RETRIES")  # the suite turns step retries off (conftest)
    policy = transient_retry_policy()
    assert policy.max_retries == 5 and policy.delay == 15 and policy.backoff == dg.Backoff.EXPONENTIAL
    assert policy.jitter == dg.Jitter.PLUS_MINUS
    assert creative_pipeline.run_tags["dagster/max_retries"] == "3"
    assert creative_pipeline.run_tags["dagster/retry_strategy"] == "FROM_FAILURE"
    assert creative_pipeline.run_tags["dagster/retry_on_asset_or_op_failure"] == "false"

    # storage down for two writes of image_candidates: the step is retried and the run succeeds
    storage = FlakyStorage(root=str(tmp_path / "storage"))
    FlakyStorage.state = {"flaky": "/image_candidates/", "fail_writes": 2}
    brief = small_brief(tmp_path, locales=("en-US",), candidates=1)
    with dg.instance_for_test() as instance:
        keys = register(storage, brief, instance)
        result = run_range(_fast_retry_defs(storage), instance, keys[0], keys[-1], raise_on_error=False)
        assert result.success
        assert _retries(result) == ["image_candidates", "image_candidates"]
        assert result.dagster_run.tags["dagster/max_retries"] == "3"

    # a deterministic error in the asset (not a storage, network or provider hiccup): no retry
    FlakyStorage.state = {}
    with dg.instance_for_test() as instance:
        other = FlakyStorage(root=str(tmp_path / "other"))
        keys = register(other, brief, instance)
        defs = _fast_retry_defs(other, image_provider=BrokenImageProvider())
        result = run_range(defs, instance, keys[0], keys[-1], raise_on_error=False)
        assert not result.success and not _retries(result)
        failure = next(e for e in result.all_events if e.is_step_failure)
        assert "ValueError: the prompt template is invalid" in str(failure.step_failure_data.error.message)


def test_a_blocking_compliance_error_is_not_retried(tmp_path):
    source = EXAMPLES / "compliance-demo-2026" / "brief.yaml"
    data = yaml.safe_load(source.read_text())
    data.update(locales=["en-GB"], candidates=1, aspect_ratios=["1:1"])
    data["localized_messages"] = {}
    brief = tmp_path / "brief.yaml"
    brief.write_text(yaml.safe_dump(data))
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    import sensors.recovery as recovery

    def tick(cursor):
        with dg.build_sensor_context(instance=instance, cursor=cursor) as context:
            return recovery.run_recovery_sensor(context)

    with dg.instance_for_test() as instance:
        # the health claim would be refused by the preflight; skipped, it blocks on the final pixels
        keys = register(storage, brief, instance, preflight=False)
        cursor = tick(None).cursor
        result = run_range(_fast_retry_defs(storage), instance, keys[0], keys[-1], raise_on_error=False)
        # contained (issue 13): the blocking ERROR blocks its unit and the run succeeds, once
        assert result.success
        selections = [read_stage(storage, UnitKey.parse(k), "selected_creative") for k in keys]
        blocked = [s for s in selections if s.status == "blocked"]
        assert blocked and all(s.files == {} for s in blocked)
        assert all("copy_terms" in s.blocked_reason and "cure" in s.blocked_reason for s in blocked)
        assert not _retries(result), "the same seed gives the same ERROR: retrying is waste"
        # nothing re-runs it: no run failure for Dagster's run retries or the recovery sensor to act on
        assert result.dagster_run.tags["dagster/max_retries"] == "3"  # run retries are on for this job
        assert instance.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.SUCCESS
        assert recovery.recovery_request(instance, instance.get_run_by_id(result.run_id)) is None
        assert not tick(cursor).run_requests
        assert [r.run_id for r in instance.get_runs()] == [result.run_id]


# --------------------------------------------------------------------------- dead-run recovery


def test_runs_that_died_and_were_not_relaunched_are_recovered_once(monkeypatch):
    """The soak found it: a code server killed under its runs is also down when Dagster's run-retry
    daemon tries to relaunch them, and Dagster gives up. The recovery sensor relaunches them."""
    from dagster._core.utils import make_new_run_id

    import sensors.recovery as recovery

    monkeypatch.setattr(recovery, "GRACE_SECONDS", 0.0)

    @dg.op
    def boom():
        raise ValueError("a real step failure")

    @dg.job(name="creative_pipeline")
    def failing():
        boom()

    range_tags = {
        "dagster/asset_partition_range_start": "c-1.en-US.p",
        "dagster/asset_partition_range_end": "c-1.de-DE.p",
        "creative_assets/campaign": "c-1",
        "dagster/max_retries": "3",
    }

    def dead_run(**extra) -> str:
        run = dg.DagsterRun(
            job_name="creative_pipeline",
            run_id=make_new_run_id(),
            status=dg.DagsterRunStatus.STARTED,
            tags={**range_tags, **extra},
        )
        instance.add_run(run)
        instance.report_run_failed(run, message="marked failed by run monitoring")  # the worker died
        return run.run_id

    def tick(cursor):
        with dg.build_sensor_context(instance=instance, cursor=cursor) as context:
            return recovery.run_recovery_sensor(context)

    with dg.instance_for_test() as instance:
        cursor = tick(None).cursor
        died = dead_run()
        dead_run(**{"dagster/auto_retry_run_id": "x"})  # Dagster relaunched this one itself
        dead_run(**{"creative_assets/recovery_number": "3"})  # recovered too often already
        failing.execute_in_process(instance=instance, raise_on_error=False, tags=range_tags)  # steps failed
        result = tick(cursor)
        (request,) = result.run_requests
        assert request.run_key == f"recover:{died}" and request.job_name == "creative_pipeline"
        assert {k: request.tags[k] for k in range_tags} == range_tags
        assert request.tags["creative_assets/root_run_id"] == died
        assert request.tags["creative_assets/recovery_number"] == "1"
        assert not tick(result.cursor).run_requests, "each failure is handled once"


def _crash(*_args, **_kwargs):
    raise OSError("crashed")
