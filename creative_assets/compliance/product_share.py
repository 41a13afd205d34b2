"""``product_share``: the product's visible pixels (the mask of the cut-out actually placed, minus
what covers it) are at least a small share of the canvas (see :func:`check_product_share`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from creative_assets.compliance.outcome import CheckOutcome, Finding, make_outcome
from creative_assets.stages import FinalRender

if TYPE_CHECKING:
    from creative_assets.compliance.context import CreativeContext

#: The product's visible pixels must be at least this share of the canvas.
MIN_PRODUCT_SHARE = 0.015


def check_product_share(report: FinalRender) -> CheckOutcome:
    """The product is on the creative: its visible pixels (the mask of the cut-out actually placed,
    minus what the logo and copy cover; ``report.product_visible``) are at least
    :data:`MIN_PRODUCT_SHARE` of the canvas. A cut-out that removed the product, leaving its shadow,
    fails here. A footprint that is only an estimate (a generative model placed the product) is
    reported, not judged."""
    vis = report.product_visible
    if vis is None:
        return make_outcome("product_share", [], {})
    figures = {"product_share": vis.visible_share, "product_visible_of_placed": vis.visible_of_placed}
    findings = []
    if vis.source == "measured" and vis.visible_share < MIN_PRODUCT_SHARE:
        placed = report.product.area_px if report.product else 0
        findings.append(
            Finding(
                check="product_share",
                severity="ERROR",
                message=f"only {vis.visible_share:.2%} of the canvas shows the product ({vis.visible_px:,} px "
                f"visible of {placed:,} placed); at least {MIN_PRODUCT_SHARE:.1%} is needed. The packshot's "
                "cut-out may have removed the product: check the supplied image",
                where="product",
            )
        )
    return make_outcome("product_share", findings, figures)


def run(ctx: CreativeContext) -> CheckOutcome:
    return check_product_share(ctx.report)
