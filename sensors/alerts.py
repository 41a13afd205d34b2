"""Failure alerts: failed runs and failed ERROR-severity compliance checks, sent through ``alerts``.

``run_failure_alert_sensor`` fires once per failed run of any job of the code location (the pipeline,
the rollup, the UI's implicit asset job and backfills): which units (from the run's partition tags,
``sensors/run_scope.py``), which stage (the failed step = the asset), why (the step's error)
and a link to the run.

``check_failure_alert_sensor`` reports failed ERROR-severity evaluations of the compliance checks on
``final_creatives``, one alert per (run, unit, check) with the findings. It reads each *finished*
run's check evaluations: its cursor is the storage id of the run-status events (success, failure,
cancel) it has handled. That works on every instance storage (SQLite shards check events per run)
and never misses an evaluation, whereas a cursor over the asset-check execution table would skip
rows planned before, but resolved after, a later row. A first tick starts from "now": history is
not replayed.

``tick_failure_alert_sensor`` reports failed schedule and sensor ticks (a nightly tick that fails
because storage is down launches nothing and used to be silent).

No sensor raises because of alerts: sink failures are logged (resources/alerts.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import dagster as dg

from creative_assets.alerts import Alert, cap_alerts, truncate
from creative_assets.assets.compliance_checks import CHECK_SPECS
from creative_assets.dagster_compat import FailedTick, failed_ticks_since
from creative_assets.run_tags import CAMPAIGN_TAG, VERSION_TAG
from resources.alerts import AlertRouter
from sensors.run_scope import ordered_units, parse_unit, run_partitions

#: Dagster's wrappers around the error raised by user code: the alert reports the cause.
WRAPPER_ERRORS = frozenset({"DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError"})
#: Run-status events after which a run's check evaluations are final.
ENDED = (
    dg.DagsterEventType.RUN_SUCCESS,
    dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterEventType.RUN_CANCELED,
)
CHECKED_ASSETS = frozenset(spec.asset_key for spec in CHECK_SPECS)
RUNS_PER_TICK = 50
FINDINGS_PER_ALERT = 20


# --------------------------------------------------------------------------- what a run covered


def scope(tags: Mapping[str, str], partitions: Sequence[str]) -> dict[str, Any]:
    """Campaign, locales, products and units of a run's partitions (a rollup's key is a campaign)."""
    units = [u for u in map(parse_unit, partitions) if u]
    campaign = tags.get(CAMPAIGN_TAG) or (units[0].campaign_id if units else None)
    if not campaign and partitions:  # campaign-partitioned rollup
        campaign = partitions[0]
    return {
        "campaign": campaign,
        "locales": list(dict.fromkeys(u.locale for u in units)),
        "products": list(dict.fromkeys(u.product_id for u in units)),
        "units": [str(u) for u in units],
        "brief_version": tags.get(VERSION_TAG),
    }


# --------------------------------------------------------------------------- why it failed


def error_text(error: Any) -> str:
    """``ClassName: message`` of a SerializableErrorInfo, unwrapping Dagster's user-code wrappers and
    the ``Failure(allow_retries=False)`` that marks an error as not worth retrying (its cause is the
    error to report)."""
    while (error.cls_name in WRAPPER_ERRORS or error.cls_name == "Failure") and error.cause is not None:
        error = error.cause
    message = (error.message or "").strip()
    name = error.cls_name or "Error"
    # messages usually start with the qualified class name: keep the short one
    head, sep, rest = message.partition(": ")
    if sep and head.split(".")[-1] == name:
        message = rest.strip()
    return f"{name}: {message}" if message else name


def failure_details(
    failure_event: dg.DagsterEvent, step_failures: Sequence[dg.DagsterEvent]
) -> tuple[str | None, str]:
    """(stage, error) of a failed run: the failed steps (one per asset) and their errors, or the
    run-level error when no step failed (e.g. the run worker died)."""
    if step_failures:
        stages = list(dict.fromkeys(e.step_key for e in step_failures if e.step_key))
        errors = [error_text(e.event_specific_data.error) for e in step_failures]
        if len(errors) == 1:
            return stages[0] if stages else None, errors[0]
        return ", ".join(stages), "\n".join(
            f"{e.step_key}: {text}" for e, text in zip(step_failures, errors, strict=True)
        )
    error = getattr(failure_event.event_specific_data, "error", None)
    return None, error_text(error) if error is not None else (failure_event.message or "run failed")


def run_failure_alert(
    run: dg.DagsterRun,
    failure_event: dg.DagsterEvent,
    step_failures: Sequence[dg.DagsterEvent],
    ordered_units: Callable[[], Sequence[str]],
    url: str,
    occurred_at: datetime | None = None,
) -> Alert:
    stage, error = failure_details(failure_event, step_failures)
    return Alert(
        kind="run_failure",
        stage=stage,
        error=truncate(error),
        run_id=run.run_id,
        run_url=url,
        job=run.job_name,
        occurred_at=occurred_at or datetime.now(timezone.utc),
        **scope(run.tags, run_partitions(run.tags, ordered_units)),
    )


@dg.run_failure_sensor(
    # no monitored_jobs: every job of this code location, so runs launched from the UI (the implicit
    # asset job __ASSET_JOB) and backfills alert too, not only creative_pipeline and campaign_rollup
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts (webhook, Slack, email, log) when any run of this code location fails (pipeline, "
    "rollup, UI materializations and backfills): campaign, "
    "locales, products, the failed stage, its error and a link to the run.",
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, alerts: AlertRouter) -> None:
    """Sends one alert per failed run of the code location (any job) through the ``alerts``
    resource. A failing sink is logged; the other sinks still get the alert."""
    run = context.dagster_run
    url = alerts.run_url(run.run_id)
    try:
        alert = run_failure_alert(
            run,
            context.failure_event,
            context.get_step_failure_events(),
            ordered_units(context.instance),
            url,
        )
    except Exception as exc:  # details unavailable: still say that the run failed, and where
        context.log.exception("could not gather the failure details; sending a minimal alert")
        alert = Alert(
            kind="run_failure",
            error=f"{context.failure_event.message or 'run failed'} (details unavailable: {exc})",
            run_id=run.run_id,
            run_url=url,
            job=run.job_name,
            campaign=run.tags.get(CAMPAIGN_TAG),
        )
    _send(context, alerts, [alert])


# --------------------------------------------------------------------------- failed checks


def findings_of(evaluation: dg.AssetCheckEvaluation) -> list[str]:
    """The findings listed in the evaluation's metadata (see assets/final_creatives.py), capped."""
    value = evaluation.metadata.get("findings")
    items = [str(f) for f in (getattr(value, "data", None) or [])]
    count_value = evaluation.metadata.get("findings_count")
    total = max(len(items), int(getattr(count_value, "value", 0) or 0))
    shown = items[:FINDINGS_PER_ALERT]
    return shown + ([f"… {total - len(shown)} more (see the run)"] if total > len(shown) else [])


def is_alerting(evaluation: dg.AssetCheckEvaluation) -> bool:
    return (
        not evaluation.passed
        and evaluation.severity == dg.AssetCheckSeverity.ERROR
        and evaluation.asset_key in CHECKED_ASSETS
    )


def check_failure_alert(
    evaluation: dg.AssetCheckEvaluation, run: dg.DagsterRun, url: str, occurred_at: datetime
) -> Alert:
    partitions = [evaluation.partition] if evaluation.partition else []
    return Alert(
        kind="check_failure",
        stage=evaluation.asset_key.to_user_string(),
        check=evaluation.check_name,
        error=truncate(evaluation.description or "check failed"),
        findings=findings_of(evaluation),
        run_id=run.run_id,
        run_url=url,
        job=run.job_name,
        occurred_at=occurred_at,
        **scope(run.tags, partitions),
    )


def check_alerts_for_run(instance: dg.DagsterInstance, run_id: str, router: AlertRouter) -> list[Alert]:
    """One alert per (unit, check) whose latest evaluation in the run failed at ERROR severity."""
    run = instance.get_run_by_id(run_id)
    if run is None:
        return []
    latest: dict[tuple[str | None, str], tuple[dg.AssetCheckEvaluation, float]] = {}
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        latest[(evaluation.partition, evaluation.check_name)] = (evaluation, record.event_log_entry.timestamp)
    url = router.run_url(run_id)
    alerts = [
        check_failure_alert(evaluation, run, url, datetime.fromtimestamp(ts, timezone.utc))
        for evaluation, ts in latest.values()
        if is_alerting(evaluation)
    ]
    return cap_alerts(alerts, router.max_check_alerts_per_run)


def parse_cursor(cursor: str | None) -> dict[str, str]:
    """Run-status event type -> fetch cursor ("" = from the start); a missing type is uninitialised."""
    try:
        data = json.loads(cursor or "{}")
    except ValueError:
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def finished_runs(
    instance: dg.DagsterInstance, cursor: Mapping[str, str]
) -> tuple[list[str], dict[str, str]]:
    """Runs that ended since ``cursor`` (at most RUNS_PER_TICK per status), and the next cursor.
    An uninitialised status starts at its latest event: history is not replayed."""
    run_ids: list[str] = []
    advanced = dict(cursor)
    for event_type in ENDED:
        key = event_type.value
        if key not in cursor:
            advanced[key] = instance.fetch_run_status_changes(event_type, limit=1).cursor or ""
            continue
        result = instance.fetch_run_status_changes(
            event_type, limit=RUNS_PER_TICK, cursor=cursor[key] or None, ascending=True
        )
        run_ids += [r.event_log_entry.run_id for r in result.records]
        advanced[key] = result.cursor or cursor[key]
    return list(dict.fromkeys(run_ids)), advanced


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts (webhook, Slack, email, log) on failed ERROR-severity compliance checks: one per "
    "run, unit and check, with the findings and a link to the run.",
)
def check_failure_alert_sensor(context: dg.SensorEvaluationContext, alerts: AlertRouter) -> dg.SensorResult:
    """After each run ends, sends one alert per unit and compliance check that failed at ERROR severity
    (capped per run; the rest folded into a summary) through the ``alerts`` resource."""
    run_ids, cursor = finished_runs(context.instance, parse_cursor(context.cursor))
    pending: list[Alert] = []
    for run_id in run_ids:
        try:
            pending += check_alerts_for_run(context.instance, run_id, alerts)
        except Exception:  # one unreadable run must not block the others
            context.log.exception(f"could not read the check evaluations of run {run_id}")
    _send(context, alerts, pending)
    summary = f"{len(pending)} check alert(s) for {len(run_ids)} finished run(s)"
    return dg.SensorResult(cursor=json.dumps(cursor, sort_keys=True), skip_reason=summary)


def _send(context: Any, router: AlertRouter, pending: list[Alert]) -> None:
    """Deliver, never raising: sink failures are already contained; anything else is logged."""
    if not pending:
        return
    try:
        router.send_all(pending, context.log)
    except Exception:
        context.log.exception(f"alert delivery failed unexpectedly ({len(pending)} alert(s))")


# --------------------------------------------------------------------------- failed ticks


#: a schedule or sensor that keeps failing (e.g. every inbox tick while storage is down) is alerted
#: on its first failure and then at most once per this many seconds, with the count meanwhile
TICK_ALERT_EVERY_SECONDS = 3600.0


def tick_failure_alert(tick: FailedTick, url: str, failures: int = 1) -> Alert:
    again = f" ({failures} failed ticks since the last alert)" if failures > 1 else ""
    return Alert(
        kind="tick_failure",
        stage=tick.name,
        job=tick.kind,
        error=truncate(tick.error + again),
        run_id=f"tick {tick.tick_id}",
        run_url=url,
        occurred_at=datetime.fromtimestamp(tick.timestamp, tz=timezone.utc),
    )


def _tick_cursor(cursor: str | None) -> tuple[float, dict[str, float], dict[str, int]]:
    """(last tick time handled, name -> last alert time, name -> failures not alerted yet)."""
    try:
        data = json.loads(cursor or "")
    except ValueError:
        data = None
    if isinstance(data, (int, float)):
        return float(data), {}, {}
    if not isinstance(data, dict):
        return time.time(), {}, {}
    return float(data.get("after", time.time())), dict(data.get("alerted", {})), dict(data.get("held", {}))


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts (webhook, Slack, email, log) when a schedule or sensor tick fails, e.g. the "
    "nightly regeneration while storage is down: such a tick launches nothing and was silent.",
)
def tick_failure_alert_sensor(context: dg.SensorEvaluationContext, alerts: AlertRouter) -> dg.SensorResult:
    """Failed ticks of every schedule and sensor of the instance (its own included: a failure of
    this sensor is reported by its next tick): the first failure of each at once, then at most one
    alert per ``TICK_ALERT_EVERY_SECONDS`` carrying the count. The first tick starts at "now":
    history is not replayed."""
    if context.cursor is None:
        cursor = {"after": time.time(), "alerted": {}, "held": {}}
        return dg.SensorResult(
            skip_reason="started: reports tick failures from now on", cursor=json.dumps(cursor)
        )
    after, alerted, held = _tick_cursor(context.cursor)
    failed = list(failed_ticks_since(context.instance, after))
    url = f"{alerts.ui_url.rstrip('/')}/automation"  # the UI's list of schedules and sensors
    latest: dict[str, FailedTick] = {}
    for tick in failed:
        held[tick.name] = held.get(tick.name, 0) + 1
        latest[tick.name] = tick
    pending = []
    now = time.time()
    for name, tick in latest.items():
        if now - alerted.get(name, 0.0) >= TICK_ALERT_EVERY_SECONDS:
            pending.append(tick_failure_alert(tick, url, held.pop(name)))
            alerted[name] = now
    _send(context, alerts, pending)
    cursor = {"after": max([after, *(t.timestamp for t in failed)]), "alerted": alerted, "held": held}
    return dg.SensorResult(
        cursor=json.dumps(cursor, sort_keys=True),
        skip_reason=f"{len(failed)} failed tick(s), {len(pending)} alert(s) sent",
    )
