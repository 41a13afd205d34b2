"""The one builder of unit run requests: every sensor and the nightly schedule ask for
``creative_pipeline`` runs through :func:`unit_run_requests` (batches and tags: run_tags.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import dagster as dg

from creative_assets.jobs import creative_pipeline
from creative_assets.run_tags import UnitBatch, unit_batches


def unit_run_requests(
    ordered: Sequence[str],
    wanted: Sequence[str],
    run_key: Callable[[UnitBatch], str],
    tags: Mapping[str, str] | None = None,
    batch_tags: Callable[[Sequence[str]], Mapping[str, str]] | None = None,
    size: int | None = None,
    lead: int = 0,
) -> list[dg.RunRequest]:
    """One ``creative_pipeline`` run request per batch of ``wanted`` units (run_tags.unit_batches,
    with its ``lead`` run first); ``run_key(batch)`` makes each request idempotent across ticks."""
    return [
        dg.RunRequest(run_key=run_key(batch), job_name=creative_pipeline.name, tags=batch.tags)
        for batch in unit_batches(ordered, wanted, tags, batch_tags, size, lead)
    ]
