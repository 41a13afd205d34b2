"""Shared asset plumbing: per-unit loops (batched runs), metadata helpers, previews."""

import base64
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import dagster as dg
from PIL import Image

from creative_assets.execution import worker_metadata
from creative_assets.layout import generation_prefix
from creative_assets.parallel import in_unit_order
from creative_assets.partitions import creative_units
from creative_assets.queues import QUEUE_TAG, stage_queue
from creative_assets.render.encoding import jpeg_bytes
from creative_assets.review.delivery import withdraw
from creative_assets.settings import choice, cpu_workers, units_per_run
from creative_assets.stage_registry import stage
from creative_assets.stages import StageValue
from creative_assets.transient import is_transient
from creative_assets.units import UnitKey
from resources.storage import CreativeStorage

V = TypeVar("V", bound=StageValue)
R = TypeVar("R")

#: Units per run when Dagster backfills (one step handles the whole range; README "Operations").
BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=units_per_run())
GROUP = "creatives"
IO_MANAGER_KEY = "creative_io_manager"


def stage_asset_kwargs(
    stage: str, code_version: str, kinds: set[str], pool: str | None = None
) -> dict[str, Any]:
    """Arguments every unit-stage asset shares. ``stage`` (stage_registry) is the asset's name, so the
    asset key, the storage folder and the module are the same word. ``pool`` bounds how many steps
    call one provider at once; the op tag routes the step to its Celery queue when the celery executor
    runs it (queues.py)."""
    queue = stage_queue(
        stage,
        image_provider=choice("CREATIVE_ASSETS_IMAGE_PROVIDER", "offline", ("offline", "openai")),
        text_provider=choice("CREATIVE_ASSETS_TEXT_PROVIDER", "offline", ("offline", "openai")),
        video_provider=choice("CREATIVE_ASSETS_VIDEO_PROVIDER", "offline", ("offline", "openai")),
    )
    return {
        **({"pool": pool} if pool else {}),
        "op_tags": {QUEUE_TAG: queue},
        "partitions_def": creative_units,
        "io_manager_key": IO_MANAGER_KEY,
        "name": stage,
        "group_name": GROUP,
        "code_version": code_version,
        "kinds": kinds,
        "backfill_policy": BACKFILL_POLICY,
    }


#: run states in which no step may start work (or buy any from a provider)
CANCELLED_RUN_STATES = frozenset({dg.DagsterRunStatus.CANCELING, dg.DagsterRunStatus.CANCELED})


def refuse_if_run_cancelled(context: dg.AssetExecutionContext) -> None:
    """Stop a step of a run that is being terminated before it does (or pays for) any work.

    Terminating a run interrupts its running step, and Dagster retries an interrupted step under the
    step's retry policy (the transient-error policy of ``jobs.py``): without this, the retried
    attempt would start over, and buy a new provider job, while the run is cancelling. The failure
    is not retried (``allow_retries=False``)."""
    run = context.instance.get_run_by_id(context.run.run_id)
    if run is not None and run.status in CANCELLED_RUN_STATES:
        raise dg.Failure(
            f"the run is {run.status.value.lower()}: {context.asset_key.to_user_string()} does not start",
            allow_retries=False,
        )


def for_each_unit(
    context: dg.AssetExecutionContext,
    build: Callable[[UnitKey], tuple[V, Mapping[str, Any]]],
    workers: int | None = None,
) -> dict[str, V]:
    """Build the stage value for every unit in this step's partition range, recording per-unit
    metadata (with timing, and the host/process/Celery worker that ran the step) on each unit's
    materialization.

    Up to ``workers`` units are built at once on threads; by default ``settings.cpu_workers()`` for a
    stage the registry marks ``cpu_bound`` (Pillow, NumPy and OpenCV release the GIL in their pixel
    loops, so threads use every core), else one after another. Each unit's
    value depends only on its own inputs, so the bytes written are the same as one after another
    (``test_parallel_units``); metadata is recorded, and the first failure raised, in unit order
    (parallel.in_unit_order)."""
    refuse_if_run_cancelled(context)
    out: dict[str, V] = {}
    keys = context.partition_keys
    where = worker_metadata()
    if workers is None:
        workers = cpu_workers() if stage(context.asset_key.path[-1]).cpu_bound else 1

    def timed(key: str) -> tuple[V, Mapping[str, Any], float]:
        started = time.perf_counter()
        with deterministic_failures(key):
            value, metadata = build(UnitKey.parse(key))
        return value, metadata, time.perf_counter() - started

    for n, (key, (value, metadata, elapsed)) in enumerate(in_unit_order(keys, timed, workers), 1):
        context.add_asset_metadata({**metadata, "duration_s": round(elapsed, 3), **where}, partition_key=key)
        if len(keys) > 1:
            context.log.debug(f"{context.asset_key.to_user_string()} {n}/{len(keys)} {key} in {elapsed:.2f}s")
        out[key] = value
    return out


def withdraw_approval(context: dg.AssetExecutionContext, storage: CreativeStorage, unit: UnitKey) -> None:
    """The one policy point for approvals and regeneration: an approval covers exact pixels, so a
    unit whose creatives are regenerated (``final_creatives``, ``motion_creatives``, or
    ``selected_creative`` choosing again) loses its delivery at the start of that unit's step, never carried over to different
    pixels. Rewriting an earlier stage alone changes no delivered pixel; the approval's fingerprint
    sends it back to review instead (review/approvals.py, approval_cascade_sensor)."""
    reason = f"{context.asset_key.to_user_string()} re-materialized in run {context.run.run_id}"
    withdrawal = withdraw(storage, unit, reason)
    if withdrawal is not None:
        context.log.warning(f"{unit}: approval {withdrawal.withdraws} withdrawn; the unit needs review again")


def prefetch(keys: Sequence[str], fetch: Callable[[UnitKey], R], workers: int) -> dict[str, tuple[R, float]]:
    """Run ``fetch`` for every unit of the step at once (up to ``workers`` threads) and return
    ``{partition_key: (result, seconds)}``: for provider calls that mostly wait on a remote API, so a
    batched step keeps the provider's request pool full across units instead of calling one unit
    after another. Returns ``{}`` when there is nothing to overlap (one worker or one unit); callers
    then fetch inside ``for_each_unit`` as usual. The first failure is raised, as it would be in turn."""
    if workers <= 1 or len(keys) <= 1:
        return {}

    def timed(key: str) -> tuple[R, float]:
        started = time.perf_counter()
        result = fetch(UnitKey.parse(key))
        return result, round(time.perf_counter() - started, 3)

    with deterministic_failures():
        return dict(in_unit_order(keys, timed, workers))


@contextlib.contextmanager
def deterministic_failures(unit: str | None = None):
    """Raise a failure that retrying cannot cure as ``dg.Failure(allow_retries=False)``, so the job's
    retry policy (jobs.TRANSIENT_RETRY_POLICY) only ever waits for storage, network and provider
    trouble (creative_assets/transient.py). The message keeps the error's type and text."""
    try:
        yield
    except dg.Failure:
        raise  # says itself whether a retry may help (e.g. the provider: rate limit vs refusal)
    except Exception as exc:
        if is_transient(exc):
            raise
        where = f"{unit}: " if unit else ""
        raise dg.Failure(
            description=f"{where}{type(exc).__name__}: {exc}",
            metadata={"error_type": type(exc).__name__, "retried": False},
            allow_retries=False,
        ) from exc


def call_metadata(calls: list[dict]) -> dict[str, Any]:
    """Accounting of provider API calls for a materialization's metadata."""
    if not calls:
        return {}
    paid = [c for c in calls if not c.get("cached")]
    return {
        "api_calls": len(paid),
        "api_calls_cached": len(calls) - len(paid),
        # retries the provider did the work for are paid too (resources/openai_providers.py)
        "api_attempts": sum(c.get("attempts", 1) for c in paid),
        "api_answers_paid": sum(c.get("answers_paid", 1) for c in paid),
        "api_images": sum(c.get("images", 0) for c in paid),
        "api_tokens": sum(c.get("input_tokens", 0) + c.get("output_tokens", 0) for c in paid),
        "api_latency_s": round(sum(c.get("latency_s", 0.0) for c in paid), 3),
        "api_cost_usd_estimate": round(sum(c.get("cost_usd", 0.0) for c in paid), 4),
    }


def thumbnail(image: Image.Image, max_side: int = 200) -> dg.MetadataValue:
    """A small inline JPEG preview (a few kB) for the UI."""
    im = image.convert("RGB")
    im.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    data = base64.b64encode(jpeg_bytes(im, 70, "4:2:0")).decode()
    return dg.MetadataValue.md(f"![preview](data:image/jpeg;base64,{data})")


def contact_sheet(images: list[Image.Image], height: int = 150) -> Image.Image:
    """Images side by side at a common height (for previews of several candidates/ratios)."""
    scaled = [
        im.convert("RGB").resize(
            (max(1, round(im.width * height / im.height)), height), Image.Resampling.BILINEAR
        )
        for im in images
    ]
    sheet = Image.new("RGB", (sum(s.width for s in scaled) + 6 * (len(scaled) - 1), height), (255, 255, 255))
    x = 0
    for s in scaled:
        sheet.paste(s, (x, 0))
        x += s.width + 6
    return sheet


def file_links(
    storage: CreativeStorage, unit: UnitKey, stage: str, name: str, label: str, generation: str
) -> dict:
    """Metadata entries locating one output of the ``generation`` being written: ``<label>`` (a
    file path or s3:// URI) and, where the storage has one, ``<label>_url`` (e.g. a presigned HTTPS
    URL a reviewer can open)."""
    key = f"{generation_prefix(unit, stage, generation)}/{name}"
    links: dict = {label: dg.MetadataValue.path(storage.uri(key))}
    url = storage.browse_url(key)
    if url and not url.startswith("file:"):
        links[f"{label}_url"] = dg.MetadataValue.url(url)
    return links
