"""Every run tag the project sets or reads, and how a unit range becomes batches of tagged runs.

Pure (no Dagster): the sensors, the nightly schedule, the CLI and the benchmark all cut units into
batches with :func:`unit_batches`; the Dagster layer turns them into ``RunRequest``s
(creative_assets/run_requests.py) or executes them in process (cli.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from creative_assets.settings import units_per_run
from creative_assets.units import UnitKey, contiguous_batches

# --- Dagster's own tags the project sets or reads --------------------------------------------
PARTITION_TAG = "dagster/partition"
RANGE_TAG_PREFIX = "dagster/asset_partition_range_"
RANGE_START_TAG = f"{RANGE_TAG_PREFIX}start"
RANGE_END_TAG = f"{RANGE_TAG_PREFIX}end"
ROOT_RUN_ID_TAG = "dagster/root_run_id"

#: run-level retries of a run whose process died (creative_assets/jobs.py docstring)
MAX_RUN_RETRIES = 3
RUN_RETRY_TAGS = {
    "dagster/max_retries": str(MAX_RUN_RETRIES),
    "dagster/retry_strategy": "FROM_FAILURE",
    "dagster/retry_on_asset_or_op_failure": "false",
}

# --- the project's tags ------------------------------------------------------------------------
PREFIX = "creative_assets/"
CAMPAIGN_TAG = f"{PREFIX}campaign"
VERSION_TAG = f"{PREFIX}brief_version"
TRIGGER_TAG = f"{PREFIX}trigger"
NIGHT_TAG = f"{PREFIX}night"
REASONS_TAG = f"{PREFIX}reasons"
REVISION_TAG = f"{PREFIX}revision_of"
#: the process that executes a CLI run (dead-run reaping, creative_assets/local_instance.py)
LAUNCHER_TAG = f"{PREFIX}launcher"
HOST_TAG = f"{PREFIX}host"
PID_TAG = f"{PREFIX}pid"
PID_START_TAG = f"{PREFIX}pid_start"
#: one batch of one ``creative-assets run`` (unique): finds the run of a worker that died (run_pool)
BATCH_TAG = f"{PREFIX}cli_run_batch"
#: run recovery (sensors/recovery.py)
RECOVERS_TAG = f"{PREFIX}recovers"
ROOT_TAG = f"{PREFIX}root_run_id"
RECOVERY_NUMBER_TAG = f"{PREFIX}recovery_number"


def pipeline_run_tags() -> dict[str, str]:
    """The retry tags of every run the sensors, the schedule and the CLI request."""
    return dict(RUN_RETRY_TAGS)


def range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that target a contiguous range of creative-unit partitions."""
    return {RANGE_START_TAG: first, RANGE_END_TAG: last}


@dataclass(frozen=True)
class UnitBatch:
    """One run's worth of units: a contiguous partition range and the run's tags."""

    units: tuple[str, ...]
    tags: dict[str, str]

    @property
    def first(self) -> str:
        return self.units[0]

    @property
    def last(self) -> str:
        return self.units[-1]


def unit_batches(
    ordered: Sequence[str],
    wanted: Sequence[str],
    tags: Mapping[str, str] | None = None,
    batch_tags: Callable[[Sequence[str]], Mapping[str, str]] | None = None,
    size: int | None = None,
    lead: int = 0,
    slots: int = 1,
) -> list[UnitBatch]:
    """Cut ``wanted`` units into runs of at most ``size`` (default: the ``units_per_run`` setting)
    that are contiguous in the dynamic partition order ``ordered``. With ``lead`` (a new brief: the
    ``first_batch_units`` setting), the first run holds only the first ``lead`` units, so their
    creatives are ready in seconds, not when a whole batch is; the rest follow in full runs. Each run
    is tagged with the retry tags, its range, its campaign (that of its first unit), ``tags`` and
    ``batch_tags(units)``. With ``slots`` runs executing at once, the runs after the lead are cut
    into a multiple of ``slots`` runs of even size, so no process idles while another has a queue."""
    size = size or units_per_run()
    if slots > 1 and wanted:  # contiguous ranges of any length, cut evenly below
        cut = lead_split(contiguous_batches(list(ordered), list(wanted), len(wanted)), lead)
        split = lead > 0 and len(cut) > 1 and len(cut[0]) == lead
        head, bulk = (cut[:1], cut[1:]) if split else ([], cut)
        cut = head + spread(bulk, size, slots)
    else:
        cut = lead_split(contiguous_batches(list(ordered), list(wanted), size), lead)
    batches = []
    for units in cut:
        batches.append(
            UnitBatch(
                tuple(units),
                {
                    **pipeline_run_tags(),
                    **range_tags(units[0], units[-1]),
                    CAMPAIGN_TAG: UnitKey.parse(units[0]).campaign_id,
                    **(tags or {}),
                    **(batch_tags(units) if batch_tags else {}),
                },
            )
        )
    return batches


def spread(batches: list[list[str]], size: int, slots: int) -> list[list[str]]:
    """Contiguous ranges ``batches`` cut into runs of one even size, at most ``size``: as many as the
    fewest runs of ``size`` would be, rounded up to a multiple of ``slots`` (a range shorter than
    that size is a run of its own)."""
    total = sum(len(b) for b in batches)
    if total == 0:
        return batches
    runs = math.ceil(math.ceil(total / size) / slots) * slots
    even = math.ceil(total / runs)
    return [b[i : i + even] for b in batches for i in range(0, len(b), even)]


def lead_split(batches: list[list[str]], lead: int) -> list[list[str]]:
    """``batches`` with the first ``lead`` units of the first one as a run of their own (a part of a
    contiguous range is contiguous)."""
    if lead <= 0 or not batches or len(batches[0]) <= lead:
        return batches
    return [batches[0][:lead], batches[0][lead:], *batches[1:]]
