"""``safe_zones``: text ink boxes, the CTA button and the detected logo inside the safe area of the
creative's placement (``creative_assets.placements``; a legacy ratio key maps to its default
placement), mirrored for right-to-left locales."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from creative_assets.compliance.outcome import CheckOutcome, Finding, make_outcome, named_boxes
from creative_assets.render.layout import Box, inside, mirror_box, placement_for_key

if TYPE_CHECKING:
    from creative_assets.compliance.context import CreativeContext


def safe_box(ratio: str, width: int, height: int, direction: str = "ltr") -> Box:
    """The safe area of output key ``ratio``'s placement in pixels, mirrored for right-to-left
    locales (platform apps mirror their UI)."""
    box = placement_for_key(ratio).safe_area.box(width, height)
    return mirror_box(box, width) if direction == "rtl" else box


def check_safe_zones(
    ratio: str,
    width: int,
    height: int,
    direction: str,
    text_boxes: Sequence[Box] | Mapping[str, Box],
    logo_box: Box | None,
) -> CheckOutcome:
    """ERROR for every text ink box (and the logo box) that leaves the ratio's safe box (mirrored for
    right-to-left locales); the message names the element, the profile and the sides crossed."""
    try:
        zone = placement_for_key(ratio)
    except (KeyError, ValueError):
        return make_outcome(
            "safe_zones",
            [Finding(check="safe_zones", severity="WARN", message=f"no placement for output {ratio}")],
            {},
        )
    sb = safe_box(ratio, width, height, direction)
    elements = named_boxes(text_boxes)
    if logo_box is not None:
        elements["logo"] = logo_box
    findings: list[Finding] = []
    worst = float("inf")
    for name, box in elements.items():
        if box[2] <= box[0] or box[3] <= box[1]:
            continue
        over = {
            "left": sb[0] - box[0],
            "top": sb[1] - box[1],
            "right": box[2] - sb[2],
            "bottom": box[3] - sb[3],
        }
        worst = min(worst, -max(over.values()))
        if not inside(box, sb):
            sides = ", ".join(f"{side} by {px} px" for side, px in over.items() if px > 0)
            findings.append(
                Finding(
                    check="safe_zones",
                    severity="ERROR",
                    message=f"{name} {box} leaves the safe area of placement '{zone.name}' {sb} ({sides})",
                    where=name,
                )
            )
    figures = {"min_inset_px": worst if worst != float("inf") else 0.0}
    return make_outcome("safe_zones", findings, figures)


def run(ctx: CreativeContext) -> CheckOutcome:
    width, height = ctx.image.size
    detection = ctx.logo_detection
    logo_box = detection.box if detection is not None and detection.found else None
    return check_safe_zones(ctx.report.ratio, width, height, ctx.direction, ctx.elements, logo_box)
