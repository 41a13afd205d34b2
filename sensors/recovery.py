"""Recovery of runs whose process died and that Dagster's run retries could not relaunch.

Run monitoring marks a run whose worker died as failed, and the run-retry daemon relaunches it at
once — through the code server. When the code server itself was what died (a deploy, a restart of
the ``usercode`` container, ``kill -9``), that relaunch fails too and Dagster gives up: the run
stays failed and its units wait for the nightly. ``run_recovery_sensor`` closes that gap: for every
``creative_pipeline`` or ``campaign_rollup`` run that failed *without a step failure* (its process
died: nothing deterministic happened), that Dagster did not relaunch within ``GRACE_SECONDS``, and
whose chain has fewer than ``MAX_RECOVERIES`` recoveries, it requests a fresh run of the same units
with the same tags. A run whose steps failed is never relaunched here (step retries already
handled transient step failures; the rest are deterministic).
"""

from __future__ import annotations

import time

import dagster as dg

from creative_assets.jobs import campaign_rollup, creative_pipeline
from creative_assets.run_tags import (
    MAX_RUN_RETRIES,
    PARTITION_TAG,
    PREFIX,
    RANGE_TAG_PREFIX,
    RECOVERS_TAG,
    RECOVERY_NUMBER_TAG,
    ROOT_RUN_ID_TAG,
    ROOT_TAG,
    RUN_RETRY_TAGS,
)

GRACE_SECONDS = 60.0
MAX_RECOVERIES = MAX_RUN_RETRIES
#: tags a fresh run keeps from the run it replaces (what to build and why); Dagster's own are dropped
KEPT_PREFIXES = (PREFIX, RANGE_TAG_PREFIX, PARTITION_TAG, *RUN_RETRY_TAGS)
JOBS = (creative_pipeline.name, campaign_rollup.name)


def root_run_id(run: dg.DagsterRun) -> str:
    """The first run of a chain of retries and recoveries."""
    return run.tags.get(ROOT_TAG) or run.tags.get(ROOT_RUN_ID_TAG) or run.run_id


def died(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """Failed with no step failure: the process died or never started (not the code's verdict)."""
    steps = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE, limit=1)
    return not steps.records


def recovery_request(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dg.RunRequest | None:
    """A fresh run replacing ``run``, or None if it must not (or need not) be relaunched."""
    if run.job_name not in JOBS or run.status != dg.DagsterRunStatus.FAILURE:
        return None
    if run.tags.get("dagster/auto_retry_run_id"):
        return None  # Dagster's run retries relaunched it
    number = int(run.tags.get(RECOVERY_NUMBER_TAG, "0")) + int(run.tags.get("dagster/retry_number", "0"))
    if number >= MAX_RECOVERIES or not died(instance, run):
        return None
    tags = {k: v for k, v in run.tags.items() if k.startswith(KEPT_PREFIXES)}
    tags.update({RECOVERS_TAG: run.run_id, ROOT_TAG: root_run_id(run), RECOVERY_NUMBER_TAG: str(number + 1)})
    return dg.RunRequest(
        run_key=f"recover:{run.run_id}",
        job_name=run.job_name,
        partition_key=run.tags.get("dagster/partition"),
        tags=tags,
    )


@dg.sensor(
    jobs=[creative_pipeline, campaign_rollup],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Relaunches runs whose process died (e.g. with the code server) when Dagster's run "
    "retries could not: same units, same tags, at most 3 times per run.",
)
def run_recovery_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Cursor: the storage id of the last RUN_FAILURE event handled (the first tick starts at the
    latest one: history is not replayed). Failures younger than
    ``GRACE_SECONDS`` wait for the next tick (Dagster's own retry goes first)."""
    instance = context.instance
    if context.cursor is None:
        latest = instance.fetch_run_status_changes(dg.DagsterEventType.RUN_FAILURE, limit=1).records
        start = latest[0].storage_id if latest else 0
        return dg.SensorResult(skip_reason="started: recovers runs that fail from now on", cursor=str(start))
    after = int(context.cursor or 0)
    result = instance.fetch_run_status_changes(
        dg.RunStatusChangeRecordsFilter(dg.DagsterEventType.RUN_FAILURE, after_storage_id=after),
        limit=200,
        ascending=True,
    )
    runs = []
    now = time.time()
    for record in result.records:
        if now - record.event_log_entry.timestamp < GRACE_SECONDS:
            break  # too fresh: Dagster may still relaunch it; look again next tick
        run = instance.get_run_by_id(record.event_log_entry.run_id)
        request = recovery_request(instance, run) if run else None
        if request is not None:
            context.log.warning(
                f"run {run.run_id} of {run.job_name} died and was not relaunched: recovering it"
            )
            runs.append(request)
        after = record.storage_id
    return dg.SensorResult(
        run_requests=runs, cursor=str(after), skip_reason=None if runs else "no dead runs to recover"
    )
