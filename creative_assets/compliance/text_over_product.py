"""``text_over_product``: no text block (nor the CTA button) covers the product's visible pixels,
measured on the mask of the product as it was placed (``FinalRender.product``), not on the layout plan."""

from __future__ import annotations

from typing import TYPE_CHECKING

from creative_assets.compliance.outcome import CheckOutcome, Finding, make_outcome
from creative_assets.stages import FinalRender

if TYPE_CHECKING:
    from creative_assets.compliance.context import CreativeContext

#: Share of a text block's ink box that may lie on product pixels (anti-aliased edges, a shadow).
TEXT_OVER_PRODUCT_TOLERANCE = 0.02


def check_text_over_product(
    report: FinalRender, tolerance: float = TEXT_OVER_PRODUCT_TOLERANCE
) -> CheckOutcome:
    """ERROR for every text block (and the CTA button) whose box has more than ``tolerance`` of its
    area on the product's pixels, from the placed product's mask (``report.product``, a
    :class:`~creative_assets.render.product_mask.ProductFootprint`; the same mask ``product_share``
    measures). Without a measured footprint (an image model drew the scene and placed the product,
    so the footprint is only the layout's box) nothing is measured (figure ``measured`` 0)."""
    footprint = report.product
    if footprint is None or not footprint.measured:
        return make_outcome("text_over_product", [], {"measured": 0, "overlap_share": 0.0})
    mask = footprint.array()
    elements = {b.role: b.ink_bbox for b in report.blocks}
    if report.cta_button[2] > report.cta_button[0]:
        elements["cta button"] = report.cta_button
    findings, worst = [], 0.0
    for name, (x0, y0, x1, y1) in elements.items():
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(report.width, x1), min(report.height, y1)
        if x1 <= x0 or y1 <= y0:
            continue
        share = float(mask[y0:y1, x0:x1].mean())
        worst = max(worst, share)
        if share > tolerance:
            findings.append(
                Finding(
                    check="text_over_product",
                    severity="ERROR",
                    message=f"{name} {(x0, y0, x1, y1)} covers the product: {share:.1%} of it lies on the "
                    f"product's visible pixels (tolerance {tolerance:.0%})",
                    where=name,
                )
            )
    return make_outcome("text_over_product", findings, {"measured": 1, "overlap_share": worst})


def run(ctx: CreativeContext) -> CheckOutcome:
    return check_text_over_product(ctx.report)
