"""Layouts: a template executed against a placement puts every region inside the canvas and the
placement's safe area, nothing overlapping, the product inside the safe area; RTL mirrors."""

import itertools

import pytest

from creative_assets.placements import load_placements
from creative_assets.render.layout import (
    boxes_overlap,
    inside,
    layout_variants,
    mirror_box,
    placement_for_key,
    plan_layout,
)
from creative_assets.templates import builtin_templates

PLACEMENTS = load_placements()
CASES = [
    (name, v, d, c)
    for name in PLACEMENTS
    for v in layout_variants(name)
    for d in ("ltr", "rtl")
    for c in ("top-left", "top-right", "bottom-left", "bottom-right")
]


def _area(b):
    return (b[2] - b[0]) * (b[3] - b[1])


def _logo_kwargs(placement):
    if placement.placement_class == "banner":  # banner logos are sized to the banner (kit minimums scale)
        return {"logo_min_px": 16}
    return {}


@pytest.mark.parametrize(("key", "variant", "direction", "corner"), CASES)
def test_regions_are_inside_the_safe_area_and_do_not_collide(key, variant, direction, corner):
    placement = PLACEMENTS[key]
    lay = plan_layout(
        key,
        placement.size,
        variant,
        direction,
        logo_aspect=3.3,
        logo_corner=corner,
        **_logo_kwargs(placement),
    )
    canvas = (0, 0, *placement.size)
    text = {
        "headline": lay.headline_box,
        "subline": lay.subline_box,
        "cta": lay.cta_box,
        "disclaimer": lay.disclaimer_box,
    }
    for name, box in {**text, "logo": lay.logo_box, "product": lay.product_box}.items():
        assert box[0] < box[2] and box[1] < box[3], f"{name} is empty: {box}"
        assert inside(box, canvas), name
        assert inside(box, lay.safe_box), f"{name} {box} leaves the safe area {lay.safe_box}"
    stacked = {k: v for k, v in text.items() if not (lay.cta_stacked and k == "cta")}
    for (a, ba), (b, bb) in itertools.combinations({**stacked, "logo": lay.logo_box}.items(), 2):
        assert not boxes_overlap(ba, bb), f"{a} overlaps {b}"
    for name, box in {**text, "logo": lay.logo_box}.items():
        assert not boxes_overlap(box, lay.product_box), f"{name} overlaps the product"
    assert lay.safe_zone == key


def test_safe_area_mirrors_for_rtl_and_slots_mirror_by_the_template_rules():
    for key in ("meta-reels", "tiktok-in-feed", "youtube-instream", "meta-feed-square"):
        p = PLACEMENTS[key]
        for variant in layout_variants(key):
            ltr = plan_layout(key, p.size, variant, "ltr")
            rtl = plan_layout(key, p.size, variant, "rtl")
            for field in (
                "headline_box",
                "subline_box",
                "cta_box",
                "disclaimer_box",
                "product_box",
                "safe_box",
            ):
                assert getattr(rtl, field) == mirror_box(getattr(ltr, field), p.width), (key, variant, field)
            flip = {"top-left": "top-right", "top-right": "top-left"}
            assert rtl.logo_corner == flip[ltr.logo_corner]
            anchor = builtin_templates()[variant].slots.logo.anchor
            assert ltr.logo_corner == ("top-left" if anchor in ("kit", "top-start") else "top-right")
            kept = plan_layout(key, p.size, variant, "rtl", mirror_logo_for_rtl=False)
            if builtin_templates()[variant].rtl.logo == "kit":  # the kit decides: the logo stays put
                assert kept.logo_box == ltr.logo_box and kept.headline_box == rtl.headline_box
            else:  # the template shares the logo's row with copy: it mirrors the logo regardless
                assert kept.logo_box == rtl.logo_box


def test_a_template_that_does_not_mirror_keeps_its_geometry_for_rtl():
    t = builtin_templates()["text-side"]
    keep = t.model_copy(update={"rtl": t.rtl.model_copy(update={"mirror": False})})
    lay = plan_layout("meta-reels", (1080, 1920), "text-side", "rtl", templates={"text-side": keep})
    ltr = plan_layout("meta-reels", (1080, 1920), "text-side", "ltr")
    assert lay.direction == "rtl" and lay.headline_box == ltr.headline_box


def test_reels_keeps_metas_ui_bands_clear_and_stories_differs():
    reels = plan_layout("meta-reels", (1080, 1920), "text-side")
    stories = plan_layout("meta-stories", (1080, 1920), "text-side")
    for box in (reels.cta_box, reels.disclaimer_box, reels.product_box):
        assert box[3] <= round(1920 * 0.65) and box[1] >= round(1920 * 0.14)
        assert box[0] >= round(1080 * 0.06) and box[2] <= round(1080 * 0.94)
    assert stories.product_box[3] > reels.product_box[3]


def test_legacy_ratios_map_to_default_placements():
    assert placement_for_key("9:16").name == "meta-reels"
    assert plan_layout("9:16", (1080, 1920), "text-side").safe_box == PLACEMENTS["meta-reels"].safe_box()


def test_unknown_placement_template_or_class_mismatch():
    with pytest.raises(KeyError, match="unknown placement"):
        plan_layout("3:2", (1500, 1000), "text-top")
    with pytest.raises(ValueError, match="unknown template"):
        plan_layout("16:9", (1920, 1080), "no-such-template")
    with pytest.raises(ValueError, match="serves square, portrait, not the vertical placement meta-reels"):
        plan_layout("meta-reels", (1080, 1920), "text-top")
