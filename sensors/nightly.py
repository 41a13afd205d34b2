"""The nightly regeneration schedule.

At ``CREATIVE_ASSETS_NIGHTLY_CRON`` in ``CREATIVE_ASSETS_NIGHTLY_TIMEZONE`` (default 02:00 UTC) it
regenerates exactly the units :func:`creative_assets.regeneration.plan_regeneration` says need it
(changed inputs, brand kit, locale rules or code; missing or out-of-order outputs; pending revision
requests), in batched runs of contiguous units. Units that need nothing are left alone, so approvals
survive the night. Units that already have a queued or running run are skipped (no duplicate work
behind a backlog), and so are units blocked by a deterministic failure until an input changes.
``CREATIVE_ASSETS_NIGHTLY_ENABLED=0`` starts it stopped.

``nightly_catchup_sensor`` re-evaluates a night whose schedule tick failed (every 5 minutes, same
run keys) instead of leaving the work for the next night; failed ticks are also alerted
(``sensors/alerts.py``).
"""

from datetime import datetime, timezone

import dagster as dg

from creative_assets import settings
from creative_assets.dagster_compat import latest_failed_tick
from creative_assets.jobs import creative_pipeline, unit_stages
from creative_assets.locales import knowledge_base_version
from creative_assets.partitions import creative_units
from creative_assets.regeneration import plan_regeneration
from creative_assets.run_requests import unit_run_requests
from creative_assets.run_tags import NIGHT_TAG, REASONS_TAG, TRIGGER_TAG
from resources.brand_kits import BrandKitLibrary
from resources.storage import CreativeStorage
from sensors.run_scope import run_partitions

NIGHTLY_NAME = "nightly_regeneration"
DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "UTC"


def stage_code_versions() -> dict[str, str]:
    """stage (asset name = storage folder) -> the code version of the asset that writes it."""
    return {spec.key.path[-1]: spec.code_version or "" for asset in unit_stages for spec in asset.specs}


#: runs in these states will (re)build their units anyway: the nightly does not queue more for them
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def busy_units(instance: dg.DagsterInstance, ordered: list[str]) -> set[str]:
    """Units targeted by a queued or running creative_pipeline run (from its partition tags)."""
    busy: set[str] = set()
    records = instance.get_run_records(
        filters=dg.RunsFilter(job_name=creative_pipeline.name, statuses=IN_FLIGHT)
    )
    for record in records:
        busy.update(run_partitions(record.dagster_run.tags, lambda: ordered))
    return busy


def nightly_runs(
    instance: dg.DagsterInstance,
    log,
    storage: CreativeStorage,
    brand_kits: BrandKitLibrary,
    stamp: str,
) -> list[dg.RunRequest] | dg.SkipReason:
    """The night's run requests (run keys ``nightly:<stamp>:<first>:<last>``, so a catch-up of the
    same night never launches a batch twice)."""

    def kit_fingerprint(slug: str) -> str | None:
        try:
            return brand_kits.load(slug).fingerprint()
        except Exception as exc:  # a broken kit must not stop the other campaigns
            log.error(f"brand kit {slug!r} cannot be loaded: {exc}")
            return None

    plans = plan_regeneration(
        storage,
        code_versions=stage_code_versions(),
        kit_fingerprint=kit_fingerprint,
        knowledge_base_version=knowledge_base_version(),
    )
    known = list(instance.get_dynamic_partitions(creative_units.name))
    present = set(known)
    busy = busy_units(instance, known) if plans else set()
    reasons: dict[str, tuple[str, ...]] = {}
    skipped_busy = skipped_blocked = 0
    for plan in plans:
        key = str(plan.unit)
        if plan.blocked:
            skipped_blocked += 1
            log.info(f"{plan.unit}: skipped, {'; '.join(plan.details)}")
        elif key not in present:
            log.warning(f"{plan.unit} is not a partition yet (the brief inbox adds it); skipped")
        elif key in busy:
            skipped_busy += 1
            log.info(
                f"{plan.unit}: skipped, a queued or running run already builds it ({', '.join(plan.reasons)})"
            )
        else:
            reasons[key] = plan.reasons
            log.info(f"{plan.unit}: {', '.join(plan.reasons)} ({'; '.join(plan.details)})")
    if not reasons:
        why = "every unit is up to date: nothing to regenerate"
        if skipped_busy or skipped_blocked:
            why = (
                f"nothing to launch: {skipped_busy} unit(s) already queued or running, "
                f"{skipped_blocked} blocked by a deterministic failure"
            )
        return dg.SkipReason(why)
    runs = unit_run_requests(
        known,
        list(reasons),
        lambda batch: f"nightly:{stamp}:{batch.first}:{batch.last}",
        {TRIGGER_TAG: "nightly", NIGHT_TAG: stamp},
        lambda units: {REASONS_TAG: ",".join(sorted({r for u in units for r in reasons[u]}))},
    )
    log.info(
        f"{len(reasons)} unit(s) in {len(runs)} run(s); skipped {skipped_busy} already queued or running, "
        f"{skipped_blocked} blocked"
    )
    return runs


def night_stamp(when: datetime | None) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H%M") if when else "manual"


def build_nightly_schedule() -> dg.ScheduleDefinition:
    """The schedule, with cron, timezone and default status from the environment."""
    cron = settings.get("CREATIVE_ASSETS_NIGHTLY_CRON", DEFAULT_CRON)
    timezone = settings.get("CREATIVE_ASSETS_NIGHTLY_TIMEZONE", DEFAULT_TIMEZONE)
    enabled = settings.flag("CREATIVE_ASSETS_NIGHTLY_ENABLED", True)

    @dg.schedule(
        name=NIGHTLY_NAME,
        cron_schedule=cron,
        execution_timezone=timezone,
        job=creative_pipeline,
        default_status=dg.DefaultScheduleStatus.RUNNING if enabled else dg.DefaultScheduleStatus.STOPPED,
        description="Regenerates units whose inputs, brand kit, locale rules or code changed, units with "
        "missing or out-of-order outputs and units with pending revision requests; nothing else.",
    )
    def nightly_regeneration(
        context: dg.ScheduleEvaluationContext, storage: CreativeStorage, brand_kits: BrandKitLibrary
    ):
        stamp = night_stamp(context.scheduled_execution_time)
        return nightly_runs(context.instance, context.log, storage, brand_kits, stamp)

    return nightly_regeneration


@dg.sensor(
    job=creative_pipeline,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Catches up a nightly_regeneration tick that failed (e.g. storage was down at 02:00): "
    "re-evaluates that night every 5 minutes until it succeeds, with the same run keys.",
)
def nightly_catchup_sensor(
    context: dg.SensorEvaluationContext, storage: CreativeStorage, brand_kits: BrandKitLibrary
) -> dg.SensorResult:
    """Without it a failed nightly tick waits a whole day for the next one (48 h to recover from an
    outage over 02:00). The cursor is the id of the last failed tick it caught up."""
    failed = latest_failed_tick(context.instance, NIGHTLY_NAME)
    if failed is None or str(failed.tick_id) == (context.cursor or ""):
        return dg.SensorResult(skip_reason="the last nightly tick did not fail", cursor=context.cursor)
    stamp = night_stamp(datetime.fromtimestamp(failed.timestamp, tz=timezone.utc))
    context.log.warning(f"nightly tick of {stamp} failed ({failed.error.splitlines()[0][:200]}); catching up")
    # a failure here (storage still down) fails this tick, which is alerted, and is retried in 5 min
    outcome = nightly_runs(context.instance, context.log, storage, brand_kits, stamp)
    if isinstance(outcome, dg.SkipReason):
        return dg.SensorResult(
            skip_reason=f"caught up {stamp}: {outcome.skip_message}", cursor=str(failed.tick_id)
        )
    return dg.SensorResult(run_requests=outcome, cursor=str(failed.tick_id))
