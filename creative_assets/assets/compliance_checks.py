"""The Dagster side of the compliance registry (``creative_assets/compliance/registry.py``): the
asset check specs of ``final_creatives``, one per registered check, and the per-partition
evaluations of a batched step, each naming the partition's materialization in this run so the UI
shows Passed/Failed per partition. The non-public parts live in ``dagster_compat``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import dagster as dg

from creative_assets.compliance import REGISTRY
from creative_assets.compliance.verdicts import UnitResult
from creative_assets.dagster_compat import check_outputs, partition_check_evaluation, run_materializations
from creative_assets.partitions import creative_units

CHECKED_ASSET = dg.AssetKey("final_creatives")

#: One spec per registered check. Not Dagster-blocking: a blocking check fails the whole batched step
#: (up to 24 units) for one doomed unit; a registry check with ``blocking=True`` blocks *that unit's*
#: selection instead (selected_creative records it as blocked and selects every other unit).
CHECK_SPECS: list[dg.AssetCheckSpec] = [
    dg.AssetCheckSpec(
        check.name,
        asset=CHECKED_ASSET,
        partitions_def=creative_units,
        blocking=False,
        description=check.spec_description,
    )
    for check in REGISTRY
]


def check_results(
    context: dg.AssetExecutionContext,
    verdicts_by_unit: Mapping[str, Mapping[str, UnitResult]],
    asset_key: dg.AssetKey = CHECKED_ASSET,
    specs: Sequence[dg.AssetCheckSpec] = CHECK_SPECS,
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    """Yield, after the step's output was stored, one evaluation per unit and selected check (a
    verdict: ``passed``, ``severity``, ``description``, ``figures``, ``failing``), then the checks'
    empty outputs. ``asset_key``/``specs``: the checked asset and its specs (``final_creatives`` by
    default; ``motion_creatives`` passes its video checks)."""
    selected = {key.name for key in context.selected_asset_check_keys}
    targets = run_materializations(context.instance, asset_key, context.run.run_id, list(verdicts_by_unit))
    for partition_key, verdicts in verdicts_by_unit.items():
        for name, verdict in verdicts.items():
            if name not in selected:
                continue
            yield partition_check_evaluation(
                asset_key,
                name,
                partition_key=partition_key,
                passed=verdict.passed,
                severity=verdict.severity,
                description=verdict.description,
                metadata={
                    "figures": dg.MetadataValue.json(verdict.figures),
                    "findings": dg.MetadataValue.json(verdict.failing[:50]),
                    "findings_count": len(verdict.failing),
                },
                target=targets.get(partition_key),
            )
    yield from check_outputs(specs, context.selected_asset_check_keys)
