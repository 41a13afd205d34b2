"""The code location: assets, checks, jobs, sensors, schedules and resources, assembled.

Read top to bottom: what the graph is, how it runs, and which implementation backs each resource.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import dagster as dg
from dagster_aws.s3 import S3Resource

from creative_assets.assets.rollup import campaign_compliance_report, campaign_summary
from creative_assets.assets.sources import SOURCES
from creative_assets.identity.config import default_identity_url
from creative_assets.jobs import (
    campaign_rollup,
    creative_pipeline,
    observe_sources,
    observe_sources_schedule,
    unit_stages,
)
from creative_assets.layout import INBOX_PREFIX
from creative_assets.settings import choice, default_storage_root, int_setting
from resources.alerts import build_alert_router
from resources.brand_kits import BrandKitLibrary
from resources.credentials import ContentCredentials, build_credentials
from resources.env import env_or_default
from resources.identity import IdentityDatabase
from resources.inbox import BriefInbox
from resources.io_manager import CreativeIOManager
from resources.openai_providers import (
    OpenAIContextProvider,
    OpenAICopyProvider,
    OpenAIImageProvider,
    OpenAIResource,
)
from resources.providers import BriefCopyProvider, BuiltinContextProvider, OfflineImageProvider
from resources.storage import CreativeStorage, LocalCreativeStorage, S3CreativeStorage
from resources.video_providers import OfflineAnimator, OpenAIVideoProvider
from sensors.alerts import check_failure_alert_sensor, run_failure_alert_sensor, tick_failure_alert_sensor
from sensors.approvals import approval_cascade_sensor
from sensors.audit import audit_archive_sensor
from sensors.brief_inbox import brief_inbox_sensor, campaign_rollup_sensor
from sensors.nightly import build_nightly_schedule, nightly_catchup_sensor
from sensors.notifications import (
    drop_status_sensor,
    notification_delivery_sensor,
    review_notification_sensor,
)
from sensors.recovery import run_recovery_sensor
from sensors.review import review_decision_sensor

# -- the asset graph: one asset per pipeline stage, all partitioned by creative unit, plus the
#    campaign rollup. Jobs (creative_assets/jobs.py) run in process, one process per run, unless
#    CREATIVE_ASSETS_EXECUTOR=celery puts creative_pipeline's steps on Celery workers (execution.py).
assets = [*SOURCES, *unit_stages, campaign_summary, campaign_compliance_report]
jobs = [creative_pipeline, campaign_rollup, observe_sources]

# -- automation: briefs dropped in the inbox become partitions and runs; each finished batch
#    refreshes its campaign's summary; review decisions are recorded and revision requests
#    regenerate their units; every night, whatever changed is regenerated.
sensors = [brief_inbox_sensor, campaign_rollup_sensor, review_decision_sensor, nightly_catchup_sensor]
# -- recovery: runs whose process died and that Dagster's run retries could not relaunch
sensors += [run_recovery_sensor]

# -- alerts: failed runs, failed ERROR checks and failed schedule/sensor ticks reach people through
#    the configured sinks.
sensors += [run_failure_alert_sensor, check_failure_alert_sensor, tick_failure_alert_sensor]

# -- audit: each day's audit records are copied to storage; the pipeline's withdrawals are audited;
#    deliveries whose staged approvals went stale (new brand kit or brief version) are withdrawn.
sensors += [audit_archive_sensor, approval_cascade_sensor]
# -- operator experience: drop status documents and lifecycle notifications (README "Notifications")
sensors += [drop_status_sensor, review_notification_sensor, notification_delivery_sensor]


# -- resources: the implementation is configuration (CREATIVE_ASSETS_STORAGE), not code -------------
def configured_credentials() -> AbstractContextManager[ContentCredentials]:
    """The ``credentials`` resource as configured, opened for a ``with`` block: for the CLI (the
    review app's verification policy, ``credentials show``), which imports resources only through
    here. Never ``process_config_and_initialize()``: see test_resource_lifetimes.py."""
    return build_credentials().process_config_and_initialize_cm()


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


def build_openai() -> OpenAIResource:
    return OpenAIResource(
        api_key=dg.EnvVar("OPENAI_API_KEY"),
        base_url=env_or_default("OPENAI_BASE_URL", None),
        max_concurrent_requests=int_setting("CREATIVE_ASSETS_OPENAI_MAX_CONCURRENCY", 4, 1, 64),
        max_retries=int_setting("CREATIVE_ASSETS_OPENAI_MAX_RETRIES", 4, 0, 10),
        timeout_seconds=int_setting("CREATIVE_ASSETS_OPENAI_TIMEOUT_SECONDS", 120, 1, 3600),
    )


def build_providers(storage: CreativeStorage) -> dict[str, object]:
    """Offline by default; OpenAI-compatible where CREATIVE_ASSETS_IMAGE_PROVIDER / _TEXT_PROVIDER /
    _VIDEO_PROVIDER say so."""
    image = choice("CREATIVE_ASSETS_IMAGE_PROVIDER", "offline", ("offline", "openai"))
    text = choice("CREATIVE_ASSETS_TEXT_PROVIDER", "offline", ("offline", "openai"))
    video = choice("CREATIVE_ASSETS_VIDEO_PROVIDER", "offline", ("offline", "openai"))
    openai = build_openai() if "openai" in (image, text, video) else None
    image_model = env_or_default("CREATIVE_ASSETS_OPENAI_IMAGE_MODEL", "gpt-image-1")
    text_model = env_or_default("CREATIVE_ASSETS_OPENAI_TEXT_MODEL", "gpt-4o-mini")
    return {
        "image_provider": OpenAIImageProvider(openai=openai, storage=storage, model=image_model)
        if image == "openai"
        else OfflineImageProvider(),
        "copy_provider": OpenAICopyProvider(openai=openai, storage=storage, model=text_model)
        if text == "openai"
        else BriefCopyProvider(),
        "context_provider": OpenAIContextProvider(openai=openai, storage=storage, model=text_model)
        if text == "openai"
        else BuiltinContextProvider(),
        "video_provider": OpenAIVideoProvider(
            openai=openai, model=env_or_default("CREATIVE_ASSETS_VIDEO_MODEL", "sora-2")
        )
        if video == "openai"
        else OfflineAnimator(),
    }


def build_resources() -> dict[str, object]:
    storage = build_storage()
    return {
        "storage": storage,
        "creative_io_manager": CreativeIOManager(storage=storage),
        "brand_kits": BrandKitLibrary(root=env_or_default("CREATIVE_ASSETS_BRAND_KITS", "")),
        "alerts": build_alert_router(),
        "inbox": BriefInbox(prefix=env_or_default("CREATIVE_ASSETS_INBOX_PREFIX", INBOX_PREFIX)),
        "identity_db": IdentityDatabase(
            url=env_or_default("CREATIVE_ASSETS_IDENTITY_DB_URL", default_identity_url()),
            db_schema=env_or_default("CREATIVE_ASSETS_IDENTITY_DB_SCHEMA", "identity"),
        ),
        "credentials": build_credentials(),  # C2PA signer (README "Content Credentials")
        **build_providers(storage),
    }


def build_definitions() -> dg.Definitions:
    """The code location, with resources chosen from the environment as it is now."""
    return dg.Definitions(
        assets=assets,
        jobs=jobs,
        sensors=sensors,
        schedules=[build_nightly_schedule(), observe_sources_schedule],
        resources=build_resources(),
        executor=dg.in_process_executor,
    )


defs = build_definitions()
