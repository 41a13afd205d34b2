"""The brief inbox sensor and the campaign rollup sensor.

``brief_inbox_sensor`` ingests briefs dropped under the inbox prefix of the ``storage`` resource (an
S3 bucket in production, a local folder by default; the same code runs both), adds the dynamic
partitions of every unit, and requests batched runs for the units that are new or whose inputs
changed.

Crash safety: an accepted brief leaves a *pending marker* (``_inbox/pending/<campaign>-vNNNN.json``)
before the original leaves the inbox. Every tick emits the runs of every marker that is still there,
with run keys derived from campaign, version and unit range (so Dagster never launches them twice),
and records the emitted markers in the cursor. The daemon commits the cursor together with the run
requests, so the *next* tick knows those requests are durable and deletes the markers. A tick that
dies half-way leaves its markers for the next tick; nothing is lost and nothing runs twice.
"""

import contextlib
import json
import time

import dagster as dg

from creative_assets.inbox import Accepted, Deferred, Rejected, inbox_briefs, ingest_brief
from creative_assets.jobs import CAMPAIGN_TAG, VERSION_TAG, campaign_rollup, creative_pipeline, range_tags
from creative_assets.partitions import campaigns, contiguous_batches, creative_units
from resources.brand_kits import BrandKitLibrary
from resources.inbox import BriefInbox
from resources.storage import CreativeStorage, display_key

PENDING_PREFIX = "_inbox/pending"


def _marker_key(campaign_id: str, version: int) -> str:
    return f"{PENDING_PREFIX}/{campaign_id}-v{version:04d}.json"


@dg.sensor(
    jobs=[creative_pipeline, campaign_rollup],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Ingests briefs dropped under the inbox prefix: valid ones become partitions and runs, "
    "invalid ones move to the rejected prefix beside an error report.",
)
def brief_inbox_sensor(
    context: dg.SensorEvaluationContext,
    storage: CreativeStorage,
    inbox: BriefInbox,
    brand_kits: BrandKitLibrary,
) -> dg.SensorResult:
    # 1. markers whose run requests the last committed tick emitted are durable now: drop them
    for key in json.loads(context.cursor or "[]"):
        storage.delete(key)

    # 2. ingest new briefs, bounded per tick
    started = time.monotonic()
    kits_root = brand_kits.root_path()
    accepted = rejected = 0
    for key in inbox_briefs(storage, inbox.prefix, inbox.max_briefs_per_tick):
        if time.monotonic() - started > inbox.tick_budget_seconds:
            context.log.info("tick budget used; the remaining briefs wait for the next tick")
            break
        try:
            outcome = ingest_brief(
                storage, key, inbox.prefix, inbox.rejected_prefix, kits_root, inbox.upload_grace_seconds
            )
        except FileNotFoundError:
            continue  # removed while we were listing
        except Exception:  # a storage hiccup must not stop the sensor: retry next tick
            # (never storage.uri(key) here: it re-checks the key, and an odd key must not crash the tick)
            context.log.exception(f"could not ingest {display_key(key)}; it stays in the inbox")
            continue
        if isinstance(outcome, Deferred):
            context.log.info(f"{outcome.key}: waiting for {', '.join(outcome.missing)} (still uploading?)")
            continue
        if isinstance(outcome, Rejected):
            rejected += 1
            context.log.warning(
                f"rejected {display_key(outcome.key)}: {len(outcome.problems)} problem(s); "
                f"see {storage.uri(outcome.report_key)}"
            )
            continue
        accepted += 1
        _note_accepted(context, storage, outcome)

    # 3. emit partitions and runs for every pending marker (new or left by an interrupted tick)
    markers = list(storage.list_keys(PENDING_PREFIX))
    result = _requests_for(context, storage, markers, inbox.units_per_run)
    if not result["markers"] and not accepted and not rejected:
        return dg.SensorResult(skip_reason="no new briefs", cursor="[]")
    return dg.SensorResult(
        run_requests=result["runs"],
        dynamic_partitions_requests=result["partitions"],
        cursor=json.dumps(result["markers"]),
    )


def _note_accepted(context: dg.SensorEvaluationContext, storage: CreativeStorage, outcome: Accepted) -> None:
    record = outcome.record
    if not outcome.created:
        context.log.info(f"{outcome.key}: identical to live version v{record.version}; nothing to do")
        return
    if outcome.dropped:
        context.log.warning(
            f"{record.campaign_id} v{record.version} drops {len(outcome.dropped)} unit(s) "
            f"({', '.join(map(str, outcome.dropped))}); their partitions and outputs are kept for audit"
        )
    marker = {
        "campaign_id": record.campaign_id,
        "version": record.version,
        "units": [str(u) for u in record.unit_keys()],
        "changed": [str(u) for u in outcome.changed],
        "source": outcome.key,
    }
    storage.write_text(_marker_key(record.campaign_id, record.version), json.dumps(marker, indent=2))
    context.log.info(
        f"accepted {outcome.key} as {record.campaign_id} v{record.version}: {len(marker['units'])} units, "
        f"{len(marker['changed'])} to (re)build"
    )


def _requests_for(
    context: dg.SensorEvaluationContext, storage: CreativeStorage, markers: list[str], units_per_run: int
) -> dict:
    ordered = list(context.instance.get_dynamic_partitions(creative_units.name))
    known_units = set(ordered)
    known_campaigns = set(context.instance.get_dynamic_partitions(campaigns.name))
    new_units: list[str] = []
    new_campaigns: list[str] = []
    runs: list[dg.RunRequest] = []
    emitted: list[str] = []
    for key in markers:
        try:
            spec = json.loads(storage.read_text(key))
            campaign, version = spec["campaign_id"], int(spec["version"])
            if not isinstance(spec["units"], list) or not isinstance(spec["changed"], list):
                raise TypeError("units and changed must be lists")
        except (ValueError, KeyError, TypeError, FileNotFoundError):
            # one damaged marker must not block every later brief: keep it aside for inspection
            context.log.error(f"pending marker {storage.uri(key)} is unreadable; moved to _inbox/broken/")
            with contextlib.suppress(FileNotFoundError):
                storage.write_bytes(key.replace(PENDING_PREFIX, "_inbox/broken", 1), storage.read_bytes(key))
            storage.delete(key)
            continue
        emitted.append(key)
        for unit in spec["units"]:
            if unit not in known_units:
                known_units.add(unit)
                new_units.append(unit)
                ordered.append(unit)  # added in this order, so ranges stay contiguous
        if campaign not in known_campaigns:
            known_campaigns.add(campaign)
            new_campaigns.append(campaign)
        tags = {CAMPAIGN_TAG: campaign, VERSION_TAG: str(version)}
        for batch in contiguous_batches(ordered, spec["changed"], units_per_run):
            runs.append(
                dg.RunRequest(
                    run_key=f"{campaign}:v{version}:{batch[0]}:{batch[-1]}",
                    job_name=creative_pipeline.name,
                    tags={**tags, **range_tags(batch[0], batch[-1])},
                )
            )
        if not spec["changed"]:  # e.g. a version that only drops units: refresh the summary
            runs.append(
                dg.RunRequest(
                    run_key=f"{campaign}:v{version}:rollup",
                    job_name=campaign_rollup.name,
                    partition_key=campaign,
                    tags=tags,
                )
            )
    partitions = []
    if new_units:
        partitions.append(creative_units.build_add_request(new_units))
    if new_campaigns:
        partitions.append(campaigns.build_add_request(new_campaigns))
    return {"runs": runs, "partitions": partitions, "markers": emitted}


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[creative_pipeline],
    request_job=campaign_rollup,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Refreshes campaign_summary after each successful batch of a campaign's units.",
)
def campaign_rollup_sensor(context: dg.RunStatusSensorContext):
    campaign = context.dagster_run.tags.get(CAMPAIGN_TAG)
    if not campaign:
        return dg.SkipReason("run has no campaign tag (launched by hand): no rollup")
    return dg.RunRequest(run_key=f"rollup:{context.dagster_run.run_id}", partition_key=campaign)
