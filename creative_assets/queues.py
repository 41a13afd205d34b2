"""Which Celery queue each pipeline step goes to (pure: no Dagster).

Three queues, so each kind of work gets workers shaped for it (README "Scaling out"):

- ``image``: drawing and rendering, CPU-bound. Workers run one process per core.
- ``provider``: steps that mostly wait on a generative API (OpenAI or a compatible server). Workers
  run many processes per core, and the Dagster pools ``image_generation`` / ``text_generation`` cap
  how many such steps run across the whole cluster.
- ``dagster`` (the default, dagster-celery's ``task_default_queue``): light steps that read a brief,
  score or copy files.

The queue of a step depends on the configured providers: with the offline providers
``image_candidates`` draws its scenes (``image``) and context and copy are table look-ups
(``dagster``); with OpenAI they wait on the API (``provider``). ``motion_creatives`` animates the
still's layers offline (``image``) and waits on the Videos API with the OpenAI video provider.
"""

from __future__ import annotations

from creative_assets import stage_registry

IMAGE = "image"
PROVIDER = "provider"
DEFAULT = "dagster"
QUEUES = (IMAGE, PROVIDER, DEFAULT)

#: The op tag dagster-celery reads to route a step (dagster_celery.tags.DAGSTER_CELERY_QUEUE_TAG).
QUEUE_TAG = "dagster-celery/queue"


def stage_queue(
    stage: str,
    image_provider: str = "offline",
    text_provider: str = "offline",
    video_provider: str = "offline",
) -> str:
    """The queue for the step of the unit stage ``stage`` (stage_registry: which provider it calls,
    whether it renders)."""
    entry = stage_registry.stage(stage)
    configured = {"image": image_provider, "text": text_provider, "video": video_provider}
    if entry.provider is not None and configured[entry.provider] != "offline":
        return PROVIDER  # the step waits on a generative API
    if entry.provider == "image" or entry.renders:
        return IMAGE  # the offline image provider and the offline animator draw
    if entry.renders:
        return IMAGE
    return DEFAULT
