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

import os

import dagster as dg

from creative_assets.assets.branding import branded_candidates
from creative_assets.assets.briefs import unit_brief
from creative_assets.assets.candidates import image_candidates
from creative_assets.assets.context import locale_context_pack
from creative_assets.assets.copy import localized_copy
from creative_assets.assets.finals import final_creatives
from creative_assets.assets.motion_creatives import motion_creatives
from creative_assets.assets.rollup import campaign_compliance_report, campaign_summary
from creative_assets.assets.selection import selected_creative
from creative_assets.execution import build_executor

#: The unit stages in pipeline order, all partitioned by creative unit.
unit_stages = [
    unit_brief,
    locale_context_pack,
    image_candidates,
    branded_candidates,
    localized_copy,
    final_creatives,
    motion_creatives,
    selected_creative,
]

#: run-level retries of a run whose process died (see the module docstring)
MAX_RUN_RETRIES = 3
RUN_RETRY_TAGS = {
    "dagster/max_retries": str(MAX_RUN_RETRIES),
    "dagster/retry_strategy": "FROM_FAILURE",
    "dagster/retry_on_asset_or_op_failure": "false",
}


def transient_retry_policy(retries: int | None = None, delay: float | None = None) -> dg.RetryPolicy | None:
    """Step retries for transient failures: by default 5, waiting about 15, 30, 60, 120 and 240 s
    (exponential, +-50 % jitter), i.e. an outage of up to about 7 minutes heals by itself.
    ``CREATIVE_ASSETS_STEP_RETRIES`` / ``CREATIVE_ASSETS_STEP_RETRY_DELAY_SECONDS`` change that
    (read when the code location loads); 0 retries switches step retries off."""
    retries = int(os.environ.get("CREATIVE_ASSETS_STEP_RETRIES", "5")) if retries is None else retries
    delay = (
        float(os.environ.get("CREATIVE_ASSETS_STEP_RETRY_DELAY_SECONDS", "15")) if delay is None else delay
    )
    if retries <= 0:
        return None
    return dg.RetryPolicy(
        max_retries=retries, delay=delay, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
    )


TRANSIENT_RETRY_POLICY = transient_retry_policy()


def pipeline_run_tags() -> dict[str, str]:
    """The retry tags of every run the sensors, the schedule and the CLI request."""
    return dict(RUN_RETRY_TAGS)


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

CAMPAIGN_TAG = "creative_assets/campaign"
VERSION_TAG = "creative_assets/brief_version"


def range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that target a contiguous range of creative-unit partitions."""
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
