"""Jobs. ``creative_pipeline`` runs in process (one process per run, not per step) unless
``CREATIVE_ASSETS_EXECUTOR=celery`` puts its steps on Celery workers (execution.py); the light
``campaign_rollup`` always runs in process.

Retries (README "Retries and recovery"): two layers, so transient failures recover within minutes
and deterministic ones are not repeated.

- **Steps**: ``TRANSIENT_RETRY_POLICY`` (exponential backoff with jitter, about 7 minutes in all)
  retries a step that failed on storage, network or provider trouble. A failure that would repeat
  identically (an invalid or dropped unit, a provider's refusal, a blocking compliance ERROR with
  the same seed) is raised as ``dg.Failure(allow_retries=False)`` (``assets/common.py``) or is a
  blocking check, and is never retried.
- **Runs**: every run carries ``dagster/max_retries`` and ``dagster/retry_strategy=FROM_FAILURE``
  (job ``run_tags``, so UI launches and backfills get them too) with
  ``dagster/retry_on_asset_or_op_failure=false``: the instance's run-retry daemon (``run_retries``
  in every shipped ``dagster.yaml``) relaunches a run whose *process* died (run monitoring marks
  it failed), from the failed steps on, but not a run whose steps failed for good.
"""

import dagster as dg

from creative_assets.assets.branded_candidates import branded_candidates
from creative_assets.assets.final_creatives import final_creatives
from creative_assets.assets.image_candidates import image_candidates
from creative_assets.assets.locale_context_pack import locale_context_pack
from creative_assets.assets.localized_copy import localized_copy
from creative_assets.assets.motion_creatives import motion_creatives
from creative_assets.assets.rollup import campaign_compliance_report, campaign_summary
from creative_assets.assets.selected_creative import selected_creative
from creative_assets.assets.sources import SOURCES
from creative_assets.assets.unit_brief import unit_brief
from creative_assets.execution import build_executor
from creative_assets.run_tags import RUN_RETRY_TAGS
from creative_assets.settings import float_setting, int_setting
from creative_assets.stage_registry import STAGE_NAMES

#: The unit stage assets in pipeline order (stage_registry.STAGE_NAMES), all partitioned by creative unit.
_STAGE_ASSETS = {
    a.key.path[-1]: a
    for a in (
        unit_brief,
        locale_context_pack,
        image_candidates,
        branded_candidates,
        localized_copy,
        final_creatives,
        motion_creatives,
        selected_creative,
    )
}
unit_stages = [_STAGE_ASSETS[name] for name in STAGE_NAMES]


def transient_retry_policy(retries: int | None = None, delay: float | None = None) -> dg.RetryPolicy | None:
    """Step retries for transient failures: by default 5, waiting about 15, 30, 60, 120 and 240 s
    (exponential, +-50 % jitter), i.e. an outage of up to about 7 minutes heals by itself.
    ``CREATIVE_ASSETS_STEP_RETRIES`` / ``CREATIVE_ASSETS_STEP_RETRY_DELAY_SECONDS`` change that
    (read when the code location loads); 0 retries switches step retries off."""
    retries = int_setting("CREATIVE_ASSETS_STEP_RETRIES", 5, 0, 100) if retries is None else retries
    delay = (
        float_setting("CREATIVE_ASSETS_STEP_RETRY_DELAY_SECONDS", 15.0, 0, 3600) if delay is None else delay
    )
    if retries <= 0:
        return None
    return dg.RetryPolicy(
        max_retries=retries, delay=delay, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
    )


TRANSIENT_RETRY_POLICY = transient_retry_policy()


creative_pipeline = dg.define_asset_job(
    "creative_pipeline",
    selection=dg.AssetSelection.assets(*unit_stages),
    executor_def=build_executor(),
    run_tags=RUN_RETRY_TAGS,
    op_retry_policy=TRANSIENT_RETRY_POLICY,
    description="Brief -> context -> candidates -> branded -> copy -> finals -> selected, per creative unit.",
)
campaign_rollup = dg.define_asset_job(
    "campaign_rollup",
    selection=dg.AssetSelection.assets(campaign_summary, campaign_compliance_report),
    executor_def=dg.in_process_executor,
    run_tags=RUN_RETRY_TAGS,
    op_retry_policy=TRANSIENT_RETRY_POLICY,
    description="Summary and compliance report of every unit of a campaign.",
)

#: Observes the external inputs (briefs, brand kits, knowledge base): new data versions mark the units
#: built from the old ones stale in the UI (assets/sources.py).
observe_sources = dg.define_asset_job(
    "observe_sources",
    selection=dg.AssetSelection.assets(*(source.key for source in SOURCES)),
    executor_def=dg.in_process_executor,
    description="Records the data version of every brief, brand kit and the locale knowledge base.",
)
observe_sources_schedule = dg.ScheduleDefinition(
    job=observe_sources,
    cron_schedule="*/15 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Observes the pipeline's sources every 15 minutes.",
)
