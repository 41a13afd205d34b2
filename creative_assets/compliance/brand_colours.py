"""``brand_colours`` (advisory): share of pixels within CIEDE2000 ``delta_e`` of the palette."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PIL import Image

from creative_assets.compliance.outcome import CheckOutcome, Finding, make_outcome
from creative_assets.render.color import palette_fit

if TYPE_CHECKING:
    from creative_assets.compliance.context import CreativeContext


def check_brand_colours(
    image: Image.Image, palette_hex: Sequence[str], delta_e: float = 15.0, min_share: float = 0.25
) -> CheckOutcome:
    """Advisory: WARN when less than ``min_share`` of the pixels are within CIEDE2000 ``delta_e`` of a
    palette colour (measured on a 96 x 96 downsample by :func:`color.palette_fit`)."""
    if not palette_hex:
        return make_outcome("brand_colours", [], {"share_within": 1.0, "median_delta_e": 0.0})
    fit = palette_fit(image, list(palette_hex), threshold=delta_e)
    findings = []
    if fit["share_within"] < min_share:
        findings.append(
            Finding(
                check="brand_colours",
                severity="WARN",
                message=f"only {fit['share_within']:.0%} of the image is within ΔE00 {delta_e:g} of the brand "
                f"palette (want {min_share:.0%}; median ΔE00 {fit['median_delta_e']:.1f})",
                where="image",
            )
        )
    return make_outcome("brand_colours", findings, fit)


def run(ctx: CreativeContext) -> CheckOutcome:
    return check_brand_colours(ctx.image, ctx.palette_hex)
