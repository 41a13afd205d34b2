"""The nightly regeneration schedule.

At ``CREATIVE_ASSETS_NIGHTLY_CRON`` in ``CREATIVE_ASSETS_NIGHTLY_TIMEZONE`` (default 02:00 UTC) it
regenerates exactly the units :func:`creative_assets.regeneration.plan_regeneration` says need it
(changed inputs, brand kit, locale rules or code; missing or out-of-order outputs; pending revision
requests), in batched runs of contiguous units. Units that need nothing are left alone, so approvals
survive the night. ``CREATIVE_ASSETS_NIGHTLY_ENABLED=0`` starts it stopped.
"""

import os
from collections import Counter

import dagster as dg

from creative_assets.assets.common import UNITS_PER_RUN
from creative_assets.jobs import CAMPAIGN_TAG, creative_pipeline, range_tags, unit_stages
from creative_assets.locales import knowledge_base_version
from creative_assets.partitions import contiguous_batches, creative_units
from creative_assets.regeneration import plan_regeneration
from resources.brand_kits import BrandKitLibrary
from resources.storage import CreativeStorage
from sensors.review import TRIGGER_TAG

DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "UTC"


def stage_code_versions() -> dict[str, str]:
    """stage folder name -> the code version of the asset that writes it."""
    out = {}
    for asset in unit_stages:
        spec = next(iter(asset.specs))
        out[spec.metadata["stage"]] = spec.code_version or ""
    return out


def nightly_runs(
    context: dg.ScheduleEvaluationContext, storage: CreativeStorage, brand_kits: BrandKitLibrary
) -> list[dg.RunRequest] | dg.SkipReason:
    def kit_fingerprint(slug: str) -> str | None:
        try:
            return brand_kits.load(slug).fingerprint()
        except Exception as exc:  # a broken kit must not stop the other campaigns
            context.log.error(f"brand kit {slug!r} cannot be loaded: {exc}")
            return None

    plans = plan_regeneration(
        storage,
        code_versions=stage_code_versions(),
        kit_fingerprint=kit_fingerprint,
        knowledge_base_version=knowledge_base_version(),
    )
    if not plans:
        return dg.SkipReason("every unit is up to date: nothing to regenerate")
    known = context.instance.get_dynamic_partitions(creative_units.name)
    present = set(known)
    reasons = {str(p.unit): p.reasons for p in plans if str(p.unit) in present}
    for plan in plans:
        if str(plan.unit) not in present:
            context.log.warning(f"{plan.unit} is not a partition yet (the brief inbox adds it); skipped")
        else:
            context.log.info(f"{plan.unit}: {', '.join(plan.reasons)} ({'; '.join(plan.details)})")
    when = context.scheduled_execution_time
    stamp = when.strftime("%Y-%m-%dT%H%M") if when else "manual"
    runs = []
    for batch in contiguous_batches(known, list(reasons), UNITS_PER_RUN):
        why = Counter(r for u in batch for r in reasons[u])
        runs.append(
            dg.RunRequest(
                run_key=f"nightly:{stamp}:{batch[0]}:{batch[-1]}",
                job_name=creative_pipeline.name,
                tags={
                    **range_tags(batch[0], batch[-1]),
                    CAMPAIGN_TAG: batch[0].split(".")[0],
                    TRIGGER_TAG: "nightly",
                    "creative_assets/reasons": ",".join(sorted(why)),
                },
            )
        )
    return runs


def build_nightly_schedule() -> dg.ScheduleDefinition:
    """The schedule, with cron, timezone and default status from the environment."""
    cron = os.environ.get("CREATIVE_ASSETS_NIGHTLY_CRON", "").strip() or DEFAULT_CRON
    timezone = os.environ.get("CREATIVE_ASSETS_NIGHTLY_TIMEZONE", "").strip() or DEFAULT_TIMEZONE
    enabled = os.environ.get("CREATIVE_ASSETS_NIGHTLY_ENABLED", "1").strip().lower() not in (
        "0",
        "false",
        "no",
    )

    @dg.schedule(
        name="nightly_regeneration",
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
        return nightly_runs(context, storage, brand_kits)

    return nightly_regeneration
