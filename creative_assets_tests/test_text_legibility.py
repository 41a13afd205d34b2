"""text_legibility on small type: thin anti-aliased strokes are not their own background, and a
patch of the text's colour under small text still fails."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from creative_assets.compliance.text_legibility import check_text_legibility, text_contrast
from creative_assets.render.fonts import BUNDLED_FONTS_DIR as FONT_DIR
from creative_assets.stages import TextBlockReport

NAVY, CREAM, WHITE, TEAL = (14, 42, 59), (246, 240, 228), (255, 255, 255), (14, 94, 111)


def _line(size: int, ink, ground, patch=None, bold=False):
    font = ImageFont.truetype(str(FONT_DIR / ("NotoSans-Bold.ttf" if bold else "NotoSans-Regular.ttf")), size)
    image = Image.new("RGB", (400, 80), ground)
    draw = ImageDraw.Draw(image)
    if patch is not None:  # a block of imagery under the words, wider than any stroke
        draw.rectangle((20, 10, 140, 70), fill=patch)
    draw.text((20, 40), "Sparkling Citrus", font=font, fill=ink, anchor="lm")
    box = draw.textbbox((20, 40), "Sparkling Citrus", font=font, anchor="lm")
    return image, tuple(int(v) for v in box)


def _block(box, size, colour, role="subline"):
    return TextBlockReport(
        role=role, text="Sparkling Citrus", font="NotoSans-Regular.ttf", size=size, box=box,
        ink_bbox=box, lines=["Sparkling Citrus"], fits=True, colour=colour, contrast=0.0,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("size", "ink", "ground", "bold"),
    [(13, NAVY, CREAM, False), (14, WHITE, TEAL, True), (9, NAVY, CREAM, False)],
)
def test_small_type_on_a_plain_ground_measures_the_ground_not_its_own_fringe(size, ink, ground, bold):
    image, box = _line(size, ink, ground, bold=bold)
    if not bold:  # thin strokes: the colour test alone sees them as background (the old false failure)
        assert text_contrast(image, ink, box) < 4.5
    measured = text_contrast(image, ink, box, size=size)
    assert measured > 10 if ink == NAVY else measured > 6


def test_small_type_over_a_patch_of_its_own_colour_still_fails():
    image, box = _line(13, NAVY, CREAM, patch=(30, 52, 70))
    hex_navy = "#{:02X}{:02X}{:02X}".format(*NAVY)
    assert text_contrast(image, NAVY, box, size=13) < 1.5
    outcome = check_text_legibility(image, [_block(box, 13, hex_navy)], 1080)
    assert not outcome.passed and "subline" in outcome.findings[0].message
