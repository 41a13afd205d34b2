"""The review decision sensor: review decisions become Dagster events, revision requests become runs.

The review app (creative_assets/review/app.py) writes every decision to the review journal in
storage (``reviews/_journal/``). Each tick this sensor reads the journal after its cursor and

* records every decision as an ``AssetObservation`` of ``selected_creative`` on the unit's partition
  (who, what, when, which creative version), so the audit trail is in the asset's history in the UI;
* requests a run of the creative pipeline for every unit with a revision request that has not been
  generated yet (one run per contiguous range of such units, run key = the decision ids, so a
  replayed tick never launches twice).

The cursor is the last journal key read; it is committed with the run requests.
"""

import dagster as dg

from creative_assets.jobs import creative_pipeline
from creative_assets.partitions import creative_units
from creative_assets.review.decisions import DamagedEvent, ReviewEvent, journal_since, review_state
from creative_assets.run_requests import unit_run_requests
from creative_assets.run_tags import REVISION_TAG, TRIGGER_TAG
from creative_assets.stage_store import read_stage
from creative_assets.units import UnitKey
from resources.storage import CreativeStorage

MAX_EVENTS_PER_TICK = 500


def decision_observation(event: ReviewEvent, event_uri: str) -> dg.AssetObservation:
    metadata = {
        "review_action": event.action,
        "reviewer": event.actor,
        "decided_at": event.at,
        "decision_id": event.id,
        "content_hash": event.content_hash,
        "revision": event.revision,
        "decision": dg.MetadataValue.path(event_uri),
    }
    if event.candidate is not None:
        metadata["candidate"] = event.candidate + 1
    if event.stage:
        metadata["approval_stage"] = event.stage
    if event.actor_login:
        metadata["reviewer_account"] = event.actor_login
    if event.comment:
        metadata["comment"] = event.comment
    if event.delivered:
        metadata["delivered"] = dg.MetadataValue.json(event.delivered)
    if event.withdraws:
        metadata["withdraws"] = event.withdraws
    return dg.AssetObservation(asset_key="selected_creative", partition=event.unit, metadata=metadata)


def generated_revision(storage: CreativeStorage, unit: UnitKey) -> int:
    try:
        return read_stage(storage, unit, "unit_brief").revision
    except FileNotFoundError:
        return -1


@dg.sensor(
    jobs=[creative_pipeline],
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records review decisions (approve, request changes, withdrawals) as observations of "
    "selected_creative and regenerates units whose reviewers requested changes.",
)
def review_decision_sensor(context: dg.SensorEvaluationContext, storage: CreativeStorage) -> dg.SensorResult:
    entries = journal_since(storage, context.cursor or None, MAX_EVENTS_PER_TICK)
    if not entries:
        return dg.SensorResult(skip_reason="no new review decisions")
    known = set(context.instance.get_dynamic_partitions(creative_units.name))
    observations, requested = [], {}
    for key, event in entries:
        if isinstance(event, DamagedEvent):
            context.log.error(f"{event}; skipped (the unit's own events/ copy is authoritative)")
            continue
        if event.unit not in known:
            context.log.warning(
                f"decision {event.id} is about {event.unit}, which is not a partition; skipped"
            )
            continue
        observations.append(decision_observation(event, storage.uri(key)))
        if event.action == "request_changes":
            requested.setdefault(event.unit, []).append(event.id)
    pending = {}
    for unit_key, ids in requested.items():
        unit = UnitKey.parse(unit_key)
        wanted = review_state(storage, unit).revision_requested
        if wanted > generated_revision(storage, unit):
            pending[unit_key] = (wanted, ids)
    ordered = context.instance.get_dynamic_partitions(creative_units.name)

    def decision_ids(units) -> list[str]:
        return sorted(i for u in units for i in pending[u][1])

    runs = unit_run_requests(
        ordered,
        list(pending),
        lambda batch: "revision:" + ":".join(decision_ids(batch.units)),
        {TRIGGER_TAG: "review"},
        lambda units: {REVISION_TAG: ",".join(decision_ids(units))[:200]},
    )
    context.log.info(f"{len(observations)} decision(s) recorded, {len(runs)} revision run(s) requested")
    return dg.SensorResult(run_requests=runs, asset_events=observations, cursor=entries[-1][0])
