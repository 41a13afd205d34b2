"""The approval cascade sensor: a delivery whose approval stages are no longer all approved is
withdrawn. The IO manager withdraws at once when a unit's pixels are rewritten; this catches what
changes without a run: a new brand kit (or template) and a newly registered brief version."""

import dagster as dg

from creative_assets.review.service import ReviewService
from resources.storage import CreativeStorage


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Withdraws deliveries whose staged approvals went stale (brand kit or brief changed).",
)
def approval_cascade_sensor(context: dg.SensorEvaluationContext, storage: CreativeStorage) -> dg.SensorResult:
    service = ReviewService(storage)
    withdrawn = []
    for unit in service.delivered_units():
        event = service.reconcile(unit)
        if event is not None:
            withdrawn.append(f"{unit}: {event.comment}")
    for line in withdrawn:
        context.log.warning(f"delivery withdrawn, needs review again: {line}")
    return dg.SensorResult(skip_reason=None if withdrawn else "every delivery's approvals are current")
