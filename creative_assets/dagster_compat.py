"""The only place that uses Dagster APIs outside its documented public surface (kept small, so an
upgrade has one file to check). Everything else in the project uses the public API.

- :func:`mark_run_failed`: ``DagsterInstance.report_run_failed`` (what run monitoring itself calls)
  for runs of ``creative-assets run`` whose process died.
- :func:`failed_ticks_since`, :func:`latest_failed_tick`: the instance's tick history of schedules
  and sensors (``all_instigator_state`` / ``get_ticks``), which has no public query API; the
  tick-failure alert sensor and the nightly catch-up sensor read it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg


def mark_run_failed(instance: dg.DagsterInstance, run: dg.DagsterRun, message: str) -> None:
    """Record RUN_FAILURE for a run nobody is executing any more (status becomes FAILURE)."""
    instance.report_run_failed(run, message=message)


@dataclass(frozen=True)
class FailedTick:
    name: str  # schedule or sensor name
    kind: str  # "schedule" | "sensor"
    timestamp: float
    tick_id: int
    error: str


def failed_ticks_since(instance: dg.DagsterInstance, after: float, limit: int = 50) -> Iterator[FailedTick]:
    """Failed schedule and sensor ticks with a timestamp after ``after`` (oldest first)."""
    from dagster._core.scheduler.instigation import InstigatorType, TickStatus

    ticks: list[FailedTick] = []
    for state in instance.all_instigator_state():
        kind = "schedule" if state.instigator_type == InstigatorType.SCHEDULE else "sensor"
        for tick in instance.get_ticks(
            state.instigator_origin_id,
            state.selector_id,
            after=after,
            limit=limit,
            statuses=[TickStatus.FAILURE],
        ):
            error = tick.error.to_string() if tick.error else "the tick failed"
            ticks.append(FailedTick(state.instigator_name, kind, tick.timestamp, tick.tick_id, error))
    yield from sorted(ticks, key=lambda t: (t.timestamp, t.tick_id))


def latest_failed_tick(instance: dg.DagsterInstance, name: str) -> FailedTick | None:
    """The latest tick of the schedule or sensor ``name`` if that tick failed, else None."""
    from dagster._core.scheduler.instigation import InstigatorType, TickStatus

    for state in instance.all_instigator_state():
        if state.instigator_name != name:
            continue
        ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
        if ticks and ticks[0].status == TickStatus.FAILURE:
            tick = ticks[0]
            kind = "schedule" if state.instigator_type == InstigatorType.SCHEDULE else "sensor"
            error = tick.error.to_string() if tick.error else "the tick failed"
            return FailedTick(name, kind, tick.timestamp, tick.tick_id, error)
    return None
