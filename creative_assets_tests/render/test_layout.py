"""Layouts: every region inside the canvas and the platform safe zone, nothing overlapping."""

import itertools

import pytest

from creative_assets.render.layout import SAFE_ZONES, VARIANTS, boxes_overlap, inside, mirror_box, plan_layout

SIZES = {"1:1": (1080, 1080), "4:5": (1080, 1350), "9:16": (1080, 1920), "16:9": (1920, 1080)}
CASES = [
    (r, v, d, c)
    for r in VARIANTS
    for v in VARIANTS[r]
    for d in ("ltr", "rtl")
    for c in ("top-left", "top-right", "bottom-left", "bottom-right")
]


def _area(b):
    return (b[2] - b[0]) * (b[3] - b[1])


@pytest.mark.parametrize(("ratio", "variant", "direction", "corner"), CASES)
def test_regions_are_inside_the_safe_zone_and_do_not_collide(ratio, variant, direction, corner):
    lay = plan_layout(ratio, SIZES[ratio], variant, direction, logo_aspect=3.3, logo_corner=corner)
    canvas = (0, 0, *SIZES[ratio])
    text = {
        "headline": lay.headline_box,
        "subline": lay.subline_box,
        "cta": lay.cta_box,
        "disclaimer": lay.disclaimer_box,
    }
    for name, box in {**text, "logo": lay.logo_box, "product": lay.product_box}.items():
        assert box[0] < box[2] and box[1] < box[3], f"{name} is empty: {box}"
        assert inside(box, canvas), name
    for name, box in {**text, "logo": lay.logo_box}.items():
        assert inside(box, lay.safe_box), f"{name} {box} leaves the safe zone {lay.safe_box}"
    for (a, ba), (b, bb) in itertools.combinations({**text, "logo": lay.logo_box}.items(), 2):
        assert not boxes_overlap(ba, bb), f"{a} overlaps {b}"
    for name, box in {**text, "logo": lay.logo_box}.items():
        assert not boxes_overlap(box, lay.product_box), f"{name} overlaps the product"
    assert _area(lay.product_box) >= 0.18 * _area(canvas), "product region is too small"
    assert _area(lay.headline_box) >= 0.05 * _area(canvas), "headline region is too small"


@pytest.mark.parametrize("ratio", list(VARIANTS))
def test_rtl_mirrors_ltr(ratio):
    for variant in VARIANTS[ratio]:
        ltr = plan_layout(ratio, SIZES[ratio], variant, "ltr")
        rtl = plan_layout(ratio, SIZES[ratio], variant, "rtl")
        assert rtl.headline_box == mirror_box(ltr.headline_box, ltr.width)
        assert rtl.logo_corner == "top-right" and ltr.logo_corner == "top-left"


def test_nine_sixteen_keeps_the_platform_ui_bands_clear():
    lay = plan_layout("9:16", (1080, 1920), "text-bottom")
    zone = SAFE_ZONES["9:16"]
    assert lay.cta_box[3] <= 1920 * (1 - zone.bottom)
    assert lay.logo_box[1] >= 1920 * zone.top


def test_layouts_differ_per_ratio_not_stretched():
    square = plan_layout("1:1", (1080, 1080), "text-side")
    wide = plan_layout("16:9", (1920, 1080), "text-side")
    tall = plan_layout("9:16", (1080, 1920), "text-top")
    assert wide.headline_box[2] < 1920 / 2 + 50  # a text column beside the product
    assert tall.headline_box[2] - tall.headline_box[0] > 0.7 * 1080  # full-width band above
    assert square.variant == "text-side"


def test_unknown_ratio_or_variant():
    with pytest.raises(ValueError, match="unsupported aspect ratio"):
        plan_layout("3:2", (1500, 1000), "text-top")
    with pytest.raises(ValueError, match="unknown layout variant"):
        plan_layout("16:9", (1920, 1080), "text-top")
