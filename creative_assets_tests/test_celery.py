"""Steps on real Celery workers: Redis from Debian's redis-server, two worker processes on loopback,
creatives on S3 (a moto server), the instance on PostgreSQL (Debian's binaries).

A batch of 2 units (2 candidates x 3 ratios at 540 px, the benchmark's small sizes) runs through
``creative-assets run`` with ``CREATIVE_ASSETS_EXECUTOR=celery``; the same batch runs in process as
the reference. Then a pool process and a whole worker are SIGKILLed in the middle of steps and the
run still completes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import dagster as dg
import pytest
from dagster_aws.s3 import S3Resource

from bench.campaign import SMALL_SIZES, write_campaign
from creative_assets.queues import stage_queue
from creative_assets.stage_registry import STAGE_NAMES
from creative_assets_tests.celery_workers import CeleryWorkers
from creative_assets_tests.helpers import REPO
from creative_assets_tests.pipeline_helpers import (
    comparable,
    pipeline_defs,
    register,
    run_range,
    session_test_ca,
)
from creative_assets_tests.redis_server import RedisServer
from creative_assets_tests.s3_server import ACCESS
from resources.storage import S3CreativeStorage

pytestmark = [pytest.mark.postgres, pytest.mark.celery]

UNITS = 2
#: short, so the whole-worker kill below is redelivered within the test, yet well above any step here:
#: a step that outlives it is redelivered while it runs and runs twice (the rule the production
#: default, 7200 s, keeps). The campaign has no motion (videos are tested in test_motion_pipeline and
#: in the executor-agnostic step code); its slowest step takes a few seconds on a 2-core machine.
VISIBILITY_S = 30
STAGES = STAGE_NAMES  # step key = asset key = stage (stage_registry)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, s3_endpoint, postgres_server):
    """Redis, a bucket, a Postgres database and two workers; the environment the CLI run gets."""
    tmp = tmp_path_factory.mktemp("celery")
    bucket = f"celery-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_endpoint, **ACCESS).create_bucket(Bucket=bucket)
    home = tmp / "dagster_home"
    home.mkdir()
    pg_url = postgres_server.create_database(f"celery_{uuid.uuid4().hex[:8]}")
    (home / "dagster.yaml").write_text(
        f"storage:\n  postgres:\n    postgres_url: {json.dumps(pg_url)}\ntelemetry:\n  enabled: false\n"
    )
    redis = RedisServer()
    redis.start()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CREATIVE_ASSETS_", "OPENAI_"))},
        "CREATIVE_ASSETS_EXECUTOR": "celery",
        "CREATIVE_ASSETS_CELERY_BROKER_URL": redis.url,
        "CREATIVE_ASSETS_CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_S),
        # one batch of both units on the workers (no one-unit lead run): what the kill test interrupts
        "CREATIVE_ASSETS_FIRST_BATCH_UNITS": "0",
        "CREATIVE_ASSETS_PARALLEL_RUNS": "1",  # and one run at a time, not one run per unit
        # the workers sign finals with the test CA the in-process reference signs with
        "CREATIVE_ASSETS_C2PA_TEST_CA": session_test_ca(),
        "CREATIVE_ASSETS_STORAGE": "s3",
        "CREATIVE_ASSETS_BUCKET": bucket,
        "CREATIVE_ASSETS_PREFIX": "celery",
        "CREATIVE_ASSETS_S3_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "DAGSTER_HOME": str(home),
    }
    env.pop("PYTHONPATH", None)
    workers = CeleryWorkers(env, tmp)
    try:
        # both serve the image and default queues (either can take over the other's steps);
        # only w2 serves the provider queue
        workers.start("w1", "image,dagster")
        workers.start("w2", "image,provider,dagster")
        workers.wait_ready()
        brief = write_campaign(tmp / "brief", UNITS, candidates=2, sizes=SMALL_SIZES, motion=False)
        yield {"env": env, "workers": workers, "bucket": bucket, "home": home, "brief": brief, "tmp": tmp}
    finally:
        workers.stop_all()
        redis.stop()


@pytest.fixture
def cli_run(stack):
    """Start ``creative-assets run`` of the brief (all units in one run, celery executor); every
    process started is killed at the end of the test, whatever happened."""
    started: list[subprocess.Popen] = []

    def start() -> tuple[subprocess.Popen, Path]:
        proc, log = start_cli_run(stack)
        started.append(proc)
        return proc, log

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def start_cli_run(stack) -> tuple[subprocess.Popen, Path]:
    """``creative-assets run`` of the brief, all units in one run, with the celery executor."""
    cmd = [sys.executable, "-m", "creative_assets.cli", "run", str(stack["brief"]), "--units-per-run", "24"]
    env = {**stack["env"], "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore"}
    log = stack["tmp"] / f"cli-{uuid.uuid4().hex[:6]}.log"
    with log.open("wb") as out:
        return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT), log


def finish(stack, proc, log: Path, timeout: float = 300) -> None:
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        code = "timeout"
    if code != 0:
        workers = stack["workers"]
        pytest.fail(
            f"creative-assets run exited {code}:\n{log.read_text()[-4000:]}\n"
            + "\n".join(workers.tail(n) for n in workers.procs)
        )


def objects(stack, prefix: str) -> dict[str, bytes]:
    client = boto3.client("s3", endpoint_url=stack["env"]["CREATIVE_ASSETS_S3_ENDPOINT_URL"], **ACCESS)
    out = {}
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=stack["bucket"], Prefix=prefix)
    for page in pages:
        for o in page.get("Contents", []):
            out[o["Key"][len(prefix) :]] = client.get_object(Bucket=stack["bucket"], Key=o["Key"])[
                "Body"
            ].read()
    return out


def pipeline_runs(instance) -> list:
    runs = instance.get_runs(filters=dg.RunsFilter(job_name="creative_pipeline"))
    return sorted(runs, key=lambda r: instance.get_run_record_by_id(r.run_id).create_timestamp)


def engine_messages(instance, run_id: str, text: str) -> list:
    """Engine events of a run whose message contains ``text`` (the worker's are prefixed
    ``[CeleryExecutor]``)."""
    return [
        e
        for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
        if text in (e.user_message or e.dagster_event.message or "")
    ]


@pytest.fixture(scope="module")
def reference(stack, s3_endpoint, tmp_path_factory, monkeypatch_module):
    """The same batch through the in-process executor (the quick start's path), other prefix."""
    monkeypatch_module.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch_module.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    storage = S3CreativeStorage(
        s3=S3Resource(endpoint_url=s3_endpoint, region_name="us-east-1"),
        bucket=stack["bucket"],
        prefix="inproc",
    )
    with dg.instance_for_test() as instance:
        keys = register(storage, stack["brief"], instance)
        assert run_range(pipeline_defs(storage), instance, keys[0], keys[-1]).success
    return comparable(objects(stack, "inproc/campaigns/"), "inproc")


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_batch_on_celery_workers_matches_in_process_and_ran_in_the_workers(stack, reference, cli_run):
    proc, log = cli_run()
    finish(stack, proc, log)
    cli_pid = proc.pid

    celery_out = comparable(objects(stack, "celery/campaigns/"), "celery")
    images = [k for k in reference if k.endswith((".png", ".jpg"))]
    assert len(images) >= UNITS * 3 * 2 * 3  # raw, branded, final: 2 candidates x 3 ratios per unit
    # the signed finals and selections, and their placement exports (signed too: /export/)
    stills = [k for k in images if "/final_creatives/" in k or "/selected_creative/" in k]
    finals = [k for k in stills if "/export/" not in k]
    exports = [k for k in stills if "/export/" in k]
    assert len(finals) == len(exports) == UNITS * 3 * 3  # 2 candidates + the pick, x 3 ratios
    assert all("content" in reference[k] for k in finals + exports)  # all signed
    assert sorted(celery_out) == sorted(reference)
    differing = [k for k in reference if celery_out[k] != reference[k]]
    assert not differing, f"celery outputs differ from in-process: {differing[:10]}"

    workers = stack["workers"]
    worker_pids = {name: workers.pids(name) for name in workers.procs}
    hosts = {workers.hostnames[name]: name for name in workers.procs}
    with dg.DagsterInstance.from_config(str(stack["home"])) as instance:
        (run,) = pipeline_runs(instance)
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.SUCCESS
        keys = sorted(instance.get_dynamic_partitions("creative_units"))
        assert len(keys) == UNITS
        # every unit of every stage was materialized in a worker's pool process, never in the run's
        for asset in STAGES:
            for key in keys:
                (record,) = instance.fetch_materializations(
                    dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[key]), limit=1
                ).records
                meta = record.asset_materialization.metadata
                host = meta["celery_worker"].value
                assert host in hosts, (asset, key, host)
                pid = meta["executor_pid"].value
                assert pid in worker_pids[hosts[host]], (asset, pid, worker_pids)
                assert pid not in (os.getpid(), cli_pid)
        # each step went to the queue its kind of work calls for
        submitted = engine_messages(instance, run.run_id, "Submitting celery task for step")
        queues = {e.step_key: e.user_message.rsplit('"', 2)[-2] for e in submitted}
        assert queues == {step: stage_queue(step) for step in STAGES}
        assert set(queues.values()) == {"image", "dagster"}
        executed = engine_messages(instance, run.run_id, "Executing steps")
        assert {e.step_key for e in executed} == set(STAGES)


def wait_until_running(instance, before: set[str], step: str, proc, log: Path):
    """(run id, the worker's "Executing steps" event, STEP_START) once ``step`` of the new run is in
    its body (inputs, rendering, checks: seconds)."""
    deadline = time.monotonic() + 240
    while True:
        assert proc.poll() is None, f"the run ended before {step} started:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"{step} never started:\n{log.read_text()[-3000:]}"
        runs = [r for r in pipeline_runs(instance) if r.run_id not in before]
        if runs:
            run_id = runs[0].run_id
            taken = [e for e in engine_messages(instance, run_id, "Executing steps") if e.step_key == step]
            started = [
                e
                for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)
                if e.step_key == step
            ]
            if taken and started:
                return run_id, taken[-1], started[-1]
        time.sleep(0.1)


def attempts_of(instance, run_id: str, step: str) -> list:
    return [e for e in engine_messages(instance, run_id, "Executing steps") if e.step_key == step]


def step_durations(logs: list) -> dict[str, float]:
    """Seconds from each step's last STEP_START to its STEP_SUCCESS."""
    started: dict[str, float] = {}
    took: dict[str, float] = {}
    for e in logs:
        if not e.dagster_event:
            continue
        if e.dagster_event.event_type_value == "STEP_START":
            started[e.step_key] = e.timestamp
        elif e.dagster_event.is_step_success and e.step_key in started:
            took[e.step_key] = e.timestamp - started[e.step_key]
    return took


def died_mid_step(logs: list, step: str, first: float, second: float) -> set[str]:
    """Event types of ``step`` between its first and second attempt."""
    return {
        e.dagster_event.event_type_value
        for e in logs
        if e.step_key == step and e.dagster_event and first <= e.timestamp < second
    }


def test_killed_pool_process_and_killed_worker_are_redelivered_and_the_run_completes(
    stack, reference, cli_run
):
    """Two failures in one run: the pool process running ``image_candidates`` is SIGKILLed (an OOM
    kill: its task is requeued at once, task_reject_on_worker_lost), then the whole worker running
    ``final_creatives`` (a lost node: the task waits out the visibility timeout and goes to the other
    worker). Both steps run again and the run succeeds with the same bytes."""
    workers = stack["workers"]
    with dg.DagsterInstance.from_config(str(stack["home"])) as instance:
        before = {r.run_id for r in pipeline_runs(instance)}
        proc, log = cli_run()

        # 1. the pool process, from the STEP_START event's pid
        run_id, _, started = wait_until_running(instance, before, "image_candidates", proc, log)
        pool_pid = started.dagster_event.pid
        owner = next(n for n in workers.procs if pool_pid in workers.pids(n))
        assert pool_pid != workers.procs[owner].pid, "the step should run in a pool process"
        os.kill(pool_pid, signal.SIGKILL)
        pool_killed_at = time.time()

        # 2. the whole worker (main and pool processes) that takes final_creatives
        _, taken, _ = wait_until_running(instance, before, "final_creatives", proc, log)
        host = taken.dagster_event.engine_event_data.metadata["Celery worker"].value
        victim = next(n for n, h in workers.hostnames.items() if h == host)
        workers.kill(victim)
        killed_at = time.time()
        survivor = next(n for n in workers.procs if n != victim)
        finish(stack, proc, log, timeout=VISIBILITY_S * 4 + 240)

        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
        logs = instance.all_logs(run_id)

        first, second = attempts_of(instance, run_id, "image_candidates")
        assert second.timestamp - pool_killed_at < VISIBILITY_S * 0.5, "a lost pool process requeues at once"
        types = died_mid_step(logs, "image_candidates", first.timestamp, second.timestamp)
        assert "STEP_START" in types and "STEP_SUCCESS" not in types and "STEP_OUTPUT" not in types, types

        attempts = attempts_of(instance, run_id, "final_creatives")
        hosts = [a.dagster_event.engine_event_data.metadata["Celery worker"].value for a in attempts]
        # the killed worker started the step; the broker redelivered it to the survivor
        assert hosts == [workers.hostnames[victim], workers.hostnames[survivor]], hosts
        first, second = attempts[0].timestamp, attempts[1].timestamp
        assert second - killed_at >= VISIBILITY_S * 0.5, "redelivered before the visibility timeout?"
        types = died_mid_step(logs, "final_creatives", first, second)
        assert "STEP_START" in types, types  # the first attempt was under way ...
        assert "STEP_SUCCESS" not in types and "STEP_OUTPUT" not in types, types  # ... and died mid-step

        successes = [e for e in logs if e.dagster_event and e.dagster_event.is_step_success]
        # the precondition of "once": no step outlived the visibility timeout (it would be redelivered
        # while running and run twice, by design of the Redis transport, not a fault of the kills)
        durations = step_durations(logs)
        print("step durations (s):", {k: round(v, 1) for k, v in durations.items()})
        assert max(durations.values()) < VISIBILITY_S * 0.75, durations
        assert sorted(e.step_key for e in successes) == sorted(STAGES)  # each step succeeded once
        for key in sorted(instance.get_dynamic_partitions("creative_units")):
            (record,) = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey("final_creatives"), asset_partitions=[key]),
                limit=1,
            ).records
            assert record.run_id == run_id
            assert record.asset_materialization.metadata["celery_worker"].value == workers.hostnames[survivor]

    # the re-run wrote the same bytes again (manifests name the new run)
    out = objects(stack, "celery/campaigns/")
    manifests = [json.loads(v) for k, v in out.items() if k.endswith("final_creatives/manifest.json")]
    assert manifests and all(m["run_id"] == run_id for m in manifests)
    assert comparable(out, "celery") == reference
