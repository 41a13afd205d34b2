"""What a run covered, from its tags: the unit partitions and campaigns it targeted, whichever way it
was launched (the project's sensors and CLI, the UI's *Materialize*, a UI backfill: all of them tag
their partition or partition range the same way)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import dagster as dg

from creative_assets.partitions import creative_units
from creative_assets.run_tags import CAMPAIGN_TAG, PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG
from creative_assets.units import UnitKey


def range_units(start: str, end: str, ordered: Sequence[str]) -> list[str]:
    """The keys from ``start`` to ``end`` inclusive, in partition order (both ends if unknown)."""
    try:
        first, last = ordered.index(start), ordered.index(end)
    except ValueError:
        return list(dict.fromkeys([start, end]))
    return list(ordered[first : last + 1])


def run_partitions(tags: Mapping[str, str], ordered_units: Callable[[], Sequence[str]]) -> list[str]:
    """The partition keys a run targets, from its tags (a single key or a range of units)."""
    if tags.get(PARTITION_TAG):
        return [tags[PARTITION_TAG]]
    start, end = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    if start and end:
        return range_units(start, end, ordered_units())
    return []


def parse_unit(key: str) -> UnitKey | None:
    try:
        return UnitKey.parse(key)
    except ValueError:
        return None


def ordered_units(instance: dg.DagsterInstance) -> Callable[[], Sequence[str]]:
    """The unit partitions in their order, read only when a range needs expanding."""
    return lambda: list(instance.get_dynamic_partitions(creative_units.name))


def run_campaigns(tags: Mapping[str, str], ordered: Callable[[], Sequence[str]]) -> list[str]:
    """The campaigns whose units a run materialized: its campaign tag (runs the project requests), or
    the campaigns of the unit partitions it targeted (UI materializations and backfills carry no
    campaign tag). A campaign-partitioned run (a rollup) covers no units: []."""
    units = [u for u in map(parse_unit, run_partitions(tags, ordered)) if u]
    if units:
        return list(dict.fromkeys(u.campaign_id for u in units))
    return [tags[CAMPAIGN_TAG]] if tags.get(CAMPAIGN_TAG) and not tags.get(PARTITION_TAG) else []
