"""Operator sensors: drop status documents, lifecycle notifications from review decisions, and the
delivery of every lifecycle notification.

``drop_status_sensor`` follows each accepted drop (creative_assets/drop_status.py) until every unit
of its brief version is selected or blocked: it records the version's runs (ids and statuses) and
units done and blocked in the drop's status document, then marks it ready for review and enqueues
``campaign.ready_for_review``.

``review_notification_sensor`` turns review decisions (the review journal, its own cursor) into
``unit.approved``, ``unit.changes_requested`` and ``unit.delivered`` notifications.

``notification_delivery_sensor`` delivers the outbox (the inbox sensor enqueues ``brief.accepted``
and ``brief.rejected``, the two sensors above the rest) to the sinks subscribed to each type, with
retries and backoff; each outcome is recorded in storage and a delivery that gives up is listed by
``creative-assets status``. No sensor here blocks the pipeline: they only read runs and storage, and
a failing receiver costs the delivery sensor's own tick, nothing else.
"""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg

from creative_assets import drop_status, layout, notifications
from creative_assets.assets.rollup import selection_status
from creative_assets.brief_store import current_brief, unit_fingerprint
from creative_assets.jobs import creative_pipeline
from creative_assets.review.decisions import DamagedEvent, journal_since
from creative_assets.review.delivery import delivered_manifest
from creative_assets.run_tags import CAMPAIGN_TAG, VERSION_TAG
from creative_assets.stage_registry import SELECTED_CREATIVE, UNIT_BRIEF
from creative_assets.stage_store import read_manifest, read_stage
from creative_assets.stages import SelectedCreative
from creative_assets.units import UnitKey
from resources.alerts import AlertRouter
from resources.storage import CreativeStorage

#: drops one status tick looks at (the rest are looked at on the next ticks, oldest first)
DROPS_PER_TICK = 50
DECISIONS_PER_TICK = 500
NOTIFICATIONS_PER_TICK = 100


def unit_outcome(storage: CreativeStorage, record, unit: UnitKey) -> tuple[str, str]:
    """``selected``, ``blocked`` (with the reason) or ``pending`` for a unit of the live version."""
    try:
        selected = read_stage(storage, unit, SELECTED_CREATIVE)
    except FileNotFoundError:
        return "pending", ""
    assert isinstance(selected, SelectedCreative)
    if selected.status == "blocked":
        brief = read_manifest(storage, unit, UNIT_BRIEF)
        fresh = brief is not None and brief["value"].get("input_fingerprint") == unit_fingerprint(
            record, unit
        )
        return ("blocked", selected.blocked_reason or "blocked") if fresh else ("pending", "")
    status, _why = selection_status(storage, record, unit, selected)
    return ("selected", "") if status == "selected" else ("pending", "")


def version_runs(instance: dg.DagsterInstance, campaign: str, version: int) -> list[drop_status.RunInfo]:
    records = instance.get_run_records(
        filters=dg.RunsFilter(
            job_name=creative_pipeline.name, tags={CAMPAIGN_TAG: campaign, VERSION_TAG: str(version)}
        ),
        ascending=True,
    )
    return [
        drop_status.RunInfo(run_id=r.dagster_run.run_id, status=r.dagster_run.status.value) for r in records
    ]


def review_link(alerts: AlertRouter, path: str) -> str | None:
    return f"{alerts.review_url.rstrip('/')}{path}" if alerts.review_url else None


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Keeps each accepted inbox drop's status document current (runs, units done and "
    "blocked) and announces campaign.ready_for_review when every unit is selected or blocked.",
)
def drop_status_sensor(
    context: dg.SensorEvaluationContext, storage: CreativeStorage, alerts: AlertRouter
) -> dg.SensorResult:
    tracked = drop_status.tracked_drops(storage)
    # round robin from the cursor (the last drop looked at), so drops whose runs failed and wait
    # for a retry never starve the ones after them
    start = next((i for i, d in enumerate(tracked) if d > (context.cursor or "")), 0)
    batch = (tracked[start:] + tracked[:start])[:DROPS_PER_TICK]
    ready = 0
    for drop in batch:
        try:
            ready += _follow(context, storage, alerts, drop)
        except Exception:  # one unreadable drop must not stop the others
            context.log.exception(f"could not update the status of drop {drop}")
    summary = f"{len(batch)} of {len(tracked)} tracked drop(s) looked at, {ready} ready for review"
    return dg.SensorResult(skip_reason=summary, cursor=batch[-1] if batch else "")


def _follow(
    context: dg.SensorEvaluationContext, storage: CreativeStorage, alerts: AlertRouter, drop: str
) -> int:
    status = drop_status.read_status(storage, drop)
    if status is None or status.campaign is None or status.version is None:
        storage.delete(layout.tracking_key(drop))
        return 0
    record = current_brief(storage, status.campaign)
    if record is None or record.version != status.version:
        # a newer version replaced this one before it finished: its own drop is followed instead
        newer = f"v{record.version}" if record else "nothing"
        drop_status.write_status(storage, status.moved(status.state, f"superseded by {newer}"))
        storage.delete(layout.tracking_key(drop))
        return 0
    runs = version_runs(context.instance, status.campaign, status.version)
    done, blocked = [], []
    for unit in record.unit_keys():
        outcome, reason = unit_outcome(storage, record, unit)
        if outcome == "selected":
            done.append(str(unit))
        elif outcome == "blocked":
            blocked.append(drop_status.BlockedUnit(unit=str(unit), reason=reason[:600]))
    finished = bool(record.unit_keys()) and len(done) + len(blocked) == len(record.unit_keys())
    note = None
    if finished:
        note = notifications.campaign_ready(
            drop,
            status.campaign,
            status.version,
            done,
            [b.model_dump() for b in blocked],
            review_link(alerts, f"/campaigns/{status.campaign}"),
        )
        notifications.enqueue(storage, note)  # before the status says so: a crash re-enqueues (no-op)
    drop_status.record_progress(storage, status, runs, done, blocked, note.key if note else None)
    if note:
        context.log.info(f"{status.campaign} v{status.version} ready for review (drop {drop})")
    return int(finished)


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Announces review decisions: unit.approved, unit.changes_requested and unit.delivered.",
)
def review_notification_sensor(
    context: dg.SensorEvaluationContext, storage: CreativeStorage, alerts: AlertRouter
) -> dg.SensorResult:
    """Reads the review journal after its cursor (the last journal key); each decision's
    notification key is derived from the decision id, so a replayed tick enqueues nothing new. The
    first tick starts at the end of the journal: history is not announced."""
    if context.cursor is None:
        last = None
        while True:
            page = journal_since(storage, last, DECISIONS_PER_TICK)
            if not page:
                break
            last = page[-1][0]
        return dg.SensorResult(skip_reason="started: announces decisions from now on", cursor=last or "")
    entries = journal_since(storage, context.cursor or None, DECISIONS_PER_TICK)
    if not entries:
        return dg.SensorResult(skip_reason="no new review decisions", cursor=context.cursor)
    queued = 0
    for _key, event in entries:
        if isinstance(event, DamagedEvent):
            continue  # the review decision sensor reports it
        for note in _decision_notes(storage, alerts, event):
            queued += notifications.enqueue(storage, note)
    context.log.info(f"{len(entries)} review decision(s), {queued} notification(s) queued")
    return dg.SensorResult(cursor=entries[-1][0])


def _decision_notes(storage: CreativeStorage, alerts: AlertRouter, event) -> list[notifications.Notification]:
    try:
        unit = UnitKey.parse(event.unit)
    except ValueError:
        return []
    at = datetime.fromisoformat(event.at) if event.at else datetime.now(timezone.utc)
    link = review_link(alerts, f"/units/{event.unit}")
    common = {
        "unit": event.unit,
        "campaign": unit.campaign_id,
        "brief_version": event.brief_version,
        "actor": event.actor,
        "comment": event.comment,
        "at": at,
        "review_url": link,
    }
    extra = {"stage": event.stage, "candidate": None if event.candidate is None else event.candidate + 1}
    if event.action == "request_changes":
        return [
            notifications.unit_decision(
                "unit.changes_requested", event.id, extra={**extra, "revision": event.revision}, **common
            )
        ]
    if event.action != "approve":
        return []
    notes = [notifications.unit_decision("unit.approved", event.id, extra=extra, **common)]
    manifest = delivered_manifest(storage, unit) if event.delivered else None
    if manifest and manifest.get("approval", {}).get("id") == event.id:
        files = sorted(event.delivered.values())
        notes.append(
            notifications.unit_decision("unit.delivered", event.id, extra={**extra, "files": files}, **common)
        )
    return notes


@dg.sensor(
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Delivers lifecycle notifications (brief accepted/rejected, campaign ready for review, "
    "unit approved/changes requested/delivered) to the subscribed sinks, signed, with retries.",
)
def notification_delivery_sensor(
    context: dg.SensorEvaluationContext, storage: CreativeStorage, alerts: AlertRouter
) -> dg.SensorResult:
    try:
        report = alerts.deliver_notifications(storage, context.log, NOTIFICATIONS_PER_TICK)
    except Exception:  # e.g. storage down: the outbox waits for the next tick
        context.log.exception("notification delivery failed; the outbox is retried next tick")
        return dg.SensorResult(skip_reason="delivery failed; retried next tick")
    return dg.SensorResult(
        skip_reason=f"{report.delivered} delivered, {report.failed} failed (retried), "
        f"{report.gave_up} gave up, {report.skipped} already delivered"
    )
