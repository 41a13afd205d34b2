"""``source_resolution``: the supplied product image is not shown enlarged beyond the kit's
``product_imagery.max_upscale``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from creative_assets.compliance.outcome import CheckOutcome, Finding, make_outcome
from creative_assets.stages import FinalRender

if TYPE_CHECKING:
    from creative_assets.compliance.context import CreativeContext


def check_source_resolution(report: FinalRender, max_upscale: float) -> CheckOutcome:
    """ERROR when the supplied product image is shown enlarged more than ``max_upscale`` (placed px per
    source px, from the footprint's ``scale``). Generated products are drawn at their final size."""
    footprint = report.product
    if footprint is None or footprint.origin != "supplied" or footprint.scale is None:
        return make_outcome("source_resolution", [], {"upscale": 0.0})
    findings = []
    if footprint.scale > max_upscale:
        w, h = footprint.source_size or (0, 0)
        findings.append(
            Finding(
                check="source_resolution",
                severity="ERROR",
                message=f"the {w}x{h} px product image is shown {footprint.scale:.2f}x enlarged "
                f"(at most {max_upscale:g}x allowed: brand kit product_imagery.max_upscale); it will look soft",
                where="product",
            )
        )
    return make_outcome("source_resolution", findings, {"upscale": footprint.scale})


def run(ctx: CreativeContext) -> CheckOutcome:
    return check_source_resolution(ctx.report, ctx.max_upscale)
