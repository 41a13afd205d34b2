"""Jobs. ``creative_pipeline`` runs in process (one process per run, not per step) unless
``CREATIVE_ASSETS_EXECUTOR=celery`` puts its steps on Celery workers (execution.py); the light
``campaign_rollup`` always runs in process."""

import dagster as dg

from creative_assets.assets.branding import branded_candidates
from creative_assets.assets.briefs import unit_brief
from creative_assets.assets.candidates import image_candidates
from creative_assets.assets.context import locale_context_pack
from creative_assets.assets.copy import localized_copy
from creative_assets.assets.finals import final_creatives
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
    selected_creative,
]

creative_pipeline = dg.define_asset_job(
    "creative_pipeline",
    selection=dg.AssetSelection.assets(*unit_stages),
    executor_def=build_executor(),
    description="Brief -> context -> candidates -> branded -> copy -> finals -> selected, per creative unit.",
)
campaign_rollup = dg.define_asset_job(
    "campaign_rollup",
    selection=dg.AssetSelection.assets(campaign_summary, campaign_compliance_report),
    executor_def=dg.in_process_executor,
    description="Summary and compliance report of every unit of a campaign.",
)

CAMPAIGN_TAG = "creative_assets/campaign"
VERSION_TAG = "creative_assets/brief_version"


def range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that target a contiguous range of creative-unit partitions."""
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
