"""``product_hero``: the product is the hero. Its *visible* pixels (the placed product mask minus
what logo and copy cover; ``render/product_mask.py`` owns that footprint) cover at least the share
of the canvas the placement's class requires (``placements.PRODUCT_SHARE_MIN``: 12% in vertical
placements), and sit fully inside the placement's safe area (mirrored for right-to-left locales).
A footprint that is only an estimate (a generative model placed the product) is reported, not
judged."""

from __future__ import annotations

from typing import TYPE_CHECKING

from creative_assets.compliance.outcome import CheckOutcome, Finding, make_outcome
from creative_assets.placements import Placement, product_share_min
from creative_assets.render.layout import Box, inside, mirror_box, placement_for_key
from creative_assets.stages import FinalRender

if TYPE_CHECKING:
    from creative_assets.compliance.context import CreativeContext


def product_safe_box(report: FinalRender, placement: Placement) -> Box:
    box = placement.safe_area.box(report.width, report.height)
    return mirror_box(box, report.width) if report.layout.direction == "rtl" else box


def check_product_hero(report: FinalRender, placement: Placement) -> CheckOutcome:
    """ERROR when the measured visible product share is below the class minimum, or the visible
    product leaves the safe area (see the module docstring)."""
    name = "product_hero"
    vis = report.product_visible
    minimum = product_share_min(placement)
    if vis is None:
        return make_outcome(name, [], {"product_share_min": minimum})
    figures = {"product_share": vis.visible_share, "product_share_min": minimum}
    if vis.source != "measured":
        return make_outcome(name, [], figures)
    findings: list[Finding] = []
    if vis.visible_share < minimum:
        findings.append(
            Finding(
                check=name,
                severity="ERROR",
                message=f"the product covers {vis.visible_share:.1%} of the canvas; {placement.placement_class} "
                f"placements such as {placement.name} need at least {minimum:.0%}",
                where="product",
            )
        )
    safe = product_safe_box(report, placement)
    if vis.visible_px and not inside(vis.bbox, safe):
        over = {
            "left": safe[0] - vis.bbox[0],
            "top": safe[1] - vis.bbox[1],
            "right": vis.bbox[2] - safe[2],
            "bottom": vis.bbox[3] - safe[3],
        }
        sides = ", ".join(f"{side} by {px} px" for side, px in over.items() if px > 0)
        findings.append(
            Finding(
                check=name,
                severity="ERROR",
                message=f"the product {vis.bbox} leaves the {placement.name} safe area {safe} ({sides})",
                where="product",
            )
        )
    if vis.visible_px:
        figures["product_safe_inset_px"] = min(
            vis.bbox[0] - safe[0], vis.bbox[1] - safe[1], safe[2] - vis.bbox[2], safe[3] - vis.bbox[3]
        )
    return make_outcome(name, findings, figures)


def run(ctx: CreativeContext) -> CheckOutcome:
    return check_product_hero(ctx.report, placement_for_key(ctx.report.ratio))
