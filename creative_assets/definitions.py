"""The code location: assets, checks, jobs, sensors, schedules and resources, assembled.

Read top to bottom: what the graph is, how it runs, and which implementation backs each resource.
"""

from __future__ import annotations

import dagster as dg
from dagster_aws.s3 import S3Resource

from creative_assets.assets.branding import branded_candidates
from creative_assets.assets.briefs import unit_brief
from creative_assets.assets.candidates import image_candidates
from creative_assets.assets.context import locale_context_pack
from creative_assets.assets.copy import localized_copy
from creative_assets.assets.finals import final_creatives
from creative_assets.assets.rollup import campaign_summary
from creative_assets.assets.selection import selected_creative
from creative_assets.settings import choice, default_storage_root, env_or_default
from resources.brand_kits import BrandKitLibrary
from resources.io_manager import CreativeIOManager
from resources.providers import BriefCopyProvider, BuiltinContextProvider, OfflineImageProvider
from resources.storage import CreativeStorage, LocalCreativeStorage, S3CreativeStorage

# -- the asset graph: one asset per pipeline stage, all partitioned by creative unit ----------------
unit_stages = [
    unit_brief,
    locale_context_pack,
    image_candidates,
    branded_candidates,
    localized_copy,
    final_creatives,
    selected_creative,
]

# -- jobs: in-process, so a unit costs one process, not one per step -------------------------------
creative_pipeline = dg.define_asset_job(
    "creative_pipeline",
    selection=dg.AssetSelection.assets(*unit_stages),
    executor_def=dg.in_process_executor,
    description="Brief -> context -> candidates -> branded -> copy -> finals -> selected, per creative unit.",
)
campaign_rollup = dg.define_asset_job(
    "campaign_rollup",
    selection=dg.AssetSelection.assets(campaign_summary),
    executor_def=dg.in_process_executor,
    description="Summary table of every unit of a campaign.",
)


# -- resources: the implementation is configuration (CREATIVE_ASSETS_STORAGE), not code -------------
def build_storage() -> CreativeStorage:
    if choice("CREATIVE_ASSETS_STORAGE", "local", ("local", "s3")) == "s3":
        return S3CreativeStorage(
            s3=S3Resource(
                endpoint_url=env_or_default("CREATIVE_ASSETS_S3_ENDPOINT_URL", None),
                region_name=env_or_default("AWS_REGION", "us-east-1"),
            ),
            bucket=dg.EnvVar("CREATIVE_ASSETS_BUCKET"),
            prefix=env_or_default("CREATIVE_ASSETS_PREFIX", ""),
        )
    return LocalCreativeStorage(root=env_or_default("CREATIVE_ASSETS_ROOT", default_storage_root()))


def build_resources() -> dict[str, object]:
    storage = build_storage()
    return {
        "storage": storage,
        "creative_io_manager": CreativeIOManager(storage=storage),
        "brand_kits": BrandKitLibrary(root=env_or_default("CREATIVE_ASSETS_BRAND_KITS", "")),
        "context_provider": BuiltinContextProvider(),
        "image_provider": OfflineImageProvider(),
        "copy_provider": BriefCopyProvider(),
    }


def build_definitions() -> dg.Definitions:
    """The code location, with resources chosen from the environment as it is now."""
    return dg.Definitions(
        assets=[*unit_stages, campaign_summary],
        jobs=[creative_pipeline, campaign_rollup],
        resources=build_resources(),
        executor=dg.in_process_executor,
    )


defs = build_definitions()
