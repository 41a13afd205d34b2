"""The brief inbox sensor and the campaign rollup sensor.

``brief_inbox_sensor`` ingests briefs dropped under the inbox prefix of the ``storage`` resource (an
S3 bucket in production, a local folder by default; the same code runs both), adds the dynamic
partitions of every unit, and requests batched runs for the units that are new or whose inputs
changed.

Crash safety: an accepted brief leaves a *pending marker* (``_inbox/pending/<campaign>-vNNNN.json``)
*before* its version goes live and before the original leaves the inbox
(``creative_assets/inbox.py``). Every tick emits the partitions and runs of every marker whose
version is live, with run keys derived from campaign, version and unit range (so Dagster never
launches them twice), and records the emitted markers in the cursor. The daemon commits the cursor
together with the run requests, so the *next* tick knows those requests are durable and deletes the
markers. A tick that dies half-way leaves its markers for the next tick; nothing is lost and nothing
runs twice. A marker whose version is not live yet (the process died between the marker and
``current.json``) waits for the brief, which is still in the inbox, to be ingested again.

Throughput: one tick decides up to ``max_briefs_per_tick`` briefs (accepted or rejected) within
``tick_budget_seconds``; briefs waiting for their images do not count. All their partitions go out
in one request per partitioning and their runs in the same ``SensorResult``.
"""

import contextlib
import json
import time
from datetime import datetime, timezone

import dagster as dg

from creative_assets import layout, settings
from creative_assets.brief_store import current_brief
from creative_assets.inbox import (
    Accepted,
    Deferred,
    Rejected,
    clean_accepted_images,
    inbox_briefs,
    ingest_brief,
)
from creative_assets.jobs import campaign_rollup, creative_pipeline
from creative_assets.layout import display_key
from creative_assets.partitions import campaigns, creative_units
from creative_assets.run_requests import unit_run_requests
from creative_assets.run_tags import CAMPAIGN_TAG, VERSION_TAG, pipeline_run_tags
from resources.brand_kits import BrandKitLibrary
from resources.inbox import BriefInbox
from resources.storage import CreativeStorage
from sensors.run_scope import ordered_units, run_campaigns

__all__ = ["brief_inbox_sensor", "campaign_rollup_sensor"]

#: A marker whose version is still not live after this long is set aside (e.g. its brief was
#: replaced in the inbox by one for another campaign), so it cannot wait forever.
STALE_MARKER_SECONDS = 3600.0
#: Seconds between inbox ticks (``CREATIVE_ASSETS_INBOX_TICK_SECONDS``, default 30; 5 under
#: ``creative-assets ui``). Ticks of up to ``max_briefs_per_tick`` (50) briefs each stay under 2 s
#: (docs/BENCHMARKS.md), so a 10 s tick accepts about 300 small briefs per minute.
INBOX_TICK_SECONDS = settings.inbox_tick_seconds()


@dg.sensor(
    jobs=[creative_pipeline, campaign_rollup],
    minimum_interval_seconds=INBOX_TICK_SECONDS,
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

    # 2. ingest new briefs, bounded per tick by briefs decided and by time
    started = time.monotonic()
    kits_root = brand_kits.root_path()
    accepted = rejected = deferred = unchanged = failed = 0
    stopped = ""
    for key in inbox_briefs(storage, inbox.prefix):
        if accepted + rejected + unchanged >= inbox.max_briefs_per_tick:
            stopped = f"{inbox.max_briefs_per_tick} briefs decided"
            break
        if time.monotonic() - started > inbox.tick_budget_seconds:
            stopped = f"tick budget of {inbox.tick_budget_seconds:g}s used"
            break
        try:
            outcome = ingest_brief(
                storage, key, inbox.prefix, inbox.rejected_prefix, kits_root, inbox.upload_grace_seconds
            )
        except FileNotFoundError:
            continue  # removed while we were listing
        except Exception:  # a storage hiccup must not stop the sensor: retry next tick
            failed += 1
            # (never storage.uri(key) here: it re-checks the key, and an odd key must not crash the tick)
            context.log.exception(f"could not ingest {display_key(key)}; it stays in the inbox")
            continue
        if isinstance(outcome, Deferred):
            deferred += 1
            context.log.info(f"{outcome.key}: waiting for {', '.join(outcome.missing)} (still uploading?)")
        elif isinstance(outcome, Rejected):
            rejected += 1
            context.log.warning(
                f"rejected {display_key(outcome.key)}: {len(outcome.problems)} problem(s); "
                f"see {storage.uri(outcome.report_key)}"
            )
        elif outcome.created:
            accepted += 1
            _note_accepted(context, outcome)
        else:
            unchanged += 1
            context.log.info(
                f"{outcome.key}: identical to live version v{outcome.record.version}; nothing to do"
            )
    if stopped:
        context.log.info(f"{stopped}; the remaining briefs wait for the next tick")
    try:  # accepted drops' images: stored by content under briefs/<campaign>/assets/, then removed
        cleaned = clean_accepted_images(storage, inbox.prefix)
    except Exception:  # a storage hiccup: the clean-up entries stay for the next tick
        context.log.exception("could not clean the images of accepted drops; retried next tick")
        cleaned = 0
    if cleaned:
        context.log.info(f"removed {cleaned} image(s) of accepted drops from the inbox")

    # 3. emit partitions and runs for every pending marker (new or left by an interrupted tick)
    markers = list(storage.list_keys(layout.PENDING_PREFIX))
    result = _requests_for(context, storage, markers, inbox)
    context.log.info(
        f"tick: {accepted} accepted, {rejected} rejected, {unchanged} unchanged, {deferred} waiting for "
        f"images, {failed} failed (retried next tick); {len(result['markers'])} marker(s) -> "
        f"{len(result['runs'])} run request(s) in {time.monotonic() - started:.1f}s"
    )
    if not result["markers"] and not accepted and not rejected:
        return dg.SensorResult(skip_reason="no new briefs", cursor="[]")
    return dg.SensorResult(
        run_requests=result["runs"],
        dynamic_partitions_requests=result["partitions"],
        cursor=json.dumps(result["markers"]),
    )


def _note_accepted(context: dg.SensorEvaluationContext, outcome: Accepted) -> None:
    record = outcome.record
    if outcome.dropped:
        context.log.warning(
            f"{record.campaign_id} v{record.version} drops {len(outcome.dropped)} unit(s) "
            f"({', '.join(map(str, outcome.dropped))}); their partitions and outputs are kept for audit"
        )
    context.log.info(
        f"accepted {outcome.key} as {record.campaign_id} v{record.version}: {len(record.unit_keys())} units, "
        f"{len(outcome.changed)} to (re)build"
    )


def _set_aside(context: dg.SensorEvaluationContext, storage: CreativeStorage, key: str, why: str) -> None:
    """Keep a marker that cannot be emitted for inspection without blocking the later ones."""
    context.log.error(f"pending marker {storage.uri(key)} {why}; moved to {layout.BROKEN_PREFIX}/")
    with contextlib.suppress(FileNotFoundError):
        storage.write_bytes(layout.broken_marker_key(key), storage.read_bytes(key))
    storage.delete(key)


def _requests_for(
    context: dg.SensorEvaluationContext, storage: CreativeStorage, markers: list[str], inbox: BriefInbox
) -> dict:
    ordered = list(context.instance.get_dynamic_partitions(creative_units.name))
    known_units = set(ordered)
    known_campaigns = set(context.instance.get_dynamic_partitions(campaigns.name))
    live: dict[str, int] = {}
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
        except FileNotFoundError:
            continue  # acknowledged meanwhile
        except (ValueError, KeyError, TypeError):
            # one damaged marker must not block every later brief
            _set_aside(context, storage, key, "is unreadable")
            continue
        if campaign not in live:
            record = current_brief(storage, campaign)
            live[campaign] = record.version if record else 0
        if version > live[campaign]:
            # written just before a crash, ahead of current.json: the brief is still in the inbox and
            # its next ingestion makes the version live; until then it must not run
            source = spec.get("source")
            age = (datetime.now(timezone.utc) - storage.modified_at(key)).total_seconds()
            if isinstance(source, str) and storage.exists(source) and age < STALE_MARKER_SECONDS:
                context.log.info(f"{key}: v{version} of {campaign} is not live yet; waiting for {source}")
            else:  # the brief is gone, or its re-ingestion never made this version live
                _set_aside(context, storage, key, f"names v{version}, which never went live")
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
        runs += unit_run_requests(
            ordered,
            spec["changed"],
            lambda batch, c=campaign, v=version: f"{c}:v{v}:{batch.first}:{batch.last}",
            tags,
            lead=settings.first_batch_units(),  # the brief's first creatives within a minute of the drop
        )
        if not spec["changed"]:  # e.g. a version that only drops units: refresh the summary
            runs.append(
                dg.RunRequest(
                    run_key=f"{campaign}:v{version}:rollup",
                    job_name=campaign_rollup.name,
                    partition_key=campaign,
                    tags={**pipeline_run_tags(), **tags},
                )
            )
    partitions = []
    if new_units:
        partitions.append(creative_units.build_add_request(new_units))
    if new_campaigns:
        partitions.append(campaigns.build_add_request(new_campaigns))
    return {"runs": runs, "partitions": partitions, "markers": emitted}


#: run-success events one rollup tick reads at most (a 450-campaign backlog is one or two ticks)
ROLLUP_EVENTS_PER_TICK = 2000


@dg.sensor(
    job=campaign_rollup,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Refreshes campaign_summary after successful batches: one rollup per campaign for every "
    "campaign whose units a run materialized successfully since the last tick (pipeline runs, UI "
    "materializations and backfills alike).",
)
def campaign_rollup_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """A regular sensor over the instance's RUN_SUCCESS events, cursor = the last event's storage id:
    each tick batches *every* campaign that finished since the previous one into one rollup request
    per campaign (a run-status sensor stops at its first result, so a backlog of N successes took N
    ticks). Every job counts, not only creative_pipeline: a run launched from the UI (the implicit
    asset job) or by a backfill carries no campaign tag, so its campaigns come from the unit
    partitions it targeted (``run_scope.run_campaigns``). The first tick starts at the latest
    success; history is not replayed."""
    instance = context.instance
    if context.cursor is None:
        latest = instance.fetch_run_status_changes(dg.DagsterEventType.RUN_SUCCESS, limit=1).cursor
        return dg.SensorResult(
            skip_reason="started: rolls up runs that succeed from now on", cursor=latest or ""
        )
    result = instance.fetch_run_status_changes(
        dg.DagsterEventType.RUN_SUCCESS,
        limit=ROLLUP_EVENTS_PER_TICK,
        cursor=context.cursor or None,
        ascending=True,
    )
    run_ids = list(dict.fromkeys(r.event_log_entry.run_id for r in result.records))
    cursor = result.cursor or context.cursor
    if not run_ids:
        return dg.SensorResult(skip_reason="no successful runs since the last tick", cursor=cursor)
    records = {
        r.dagster_run.run_id: r.dagster_run
        for r in instance.get_run_records(filters=dg.RunsFilter(run_ids=run_ids))
    }
    ordered = ordered_units(instance)
    last_run: dict[str, str] = {}  # campaign -> its latest successful run in this batch
    for run_id in run_ids:  # in the order the runs succeeded
        run = records.get(run_id)
        if run is None or run.job_name == campaign_rollup.name:
            continue
        for campaign in run_campaigns(run.tags, ordered):
            last_run[campaign] = run_id
    known = set(instance.get_dynamic_partitions(campaigns.name))
    runs = []
    for campaign, run_id in sorted(last_run.items()):
        if campaign not in known:
            context.log.warning(f"{campaign} is not a campaign partition; no rollup")
            continue
        runs.append(
            dg.RunRequest(
                run_key=f"rollup:{campaign}:{run_id}",
                partition_key=campaign,
                tags={**pipeline_run_tags(), CAMPAIGN_TAG: campaign},
            )
        )
    context.log.info(
        f"{len(run_ids)} successful run(s) since the last tick -> {len(runs)} campaign rollup(s)"
    )
    return dg.SensorResult(run_requests=runs, cursor=cursor)
