"""The code location: assets, checks, jobs, sensors, schedules and resources, assembled.

Read top to bottom: what the graph is, how it runs, and which implementation backs each resource.
"""

from __future__ import annotations

import dagster as dg
from dagster_aws.s3 import S3Resource

from creative_assets.assets.rollup import campaign_compliance_report, campaign_summary
from creative_assets.jobs import campaign_rollup, creative_pipeline, unit_stages
from creative_assets.settings import choice, default_storage_root, env_or_default
from resources.brand_kits import BrandKitLibrary
from resources.inbox import BriefInbox
from resources.io_manager import CreativeIOManager
from resources.providers import BriefCopyProvider, BuiltinContextProvider, OfflineImageProvider
from resources.storage import CreativeStorage, LocalCreativeStorage, S3CreativeStorage
from sensors.brief_inbox import brief_inbox_sensor, campaign_rollup_sensor

# -- the asset graph: one asset per pipeline stage, all partitioned by creative unit, plus the
#    campaign rollup. Jobs (creative_assets/jobs.py) run in process: one process per run.
assets = [*unit_stages, campaign_summary, campaign_compliance_report]
jobs = [creative_pipeline, campaign_rollup]

# -- automation: briefs dropped in the inbox become partitions and runs; each finished batch
#    refreshes its campaign's summary.
sensors = [brief_inbox_sensor, campaign_rollup_sensor]


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
        "inbox": BriefInbox(prefix=env_or_default("CREATIVE_ASSETS_INBOX_PREFIX", "inbox/")),
        "context_provider": BuiltinContextProvider(),
        "image_provider": OfflineImageProvider(),
        "copy_provider": BriefCopyProvider(),
    }


def build_definitions() -> dg.Definitions:
    """The code location, with resources chosen from the environment as it is now."""
    return dg.Definitions(
        assets=assets,
        jobs=jobs,
        sensors=sensors,
        resources=build_resources(),
        executor=dg.in_process_executor,
    )


defs = build_definitions()
