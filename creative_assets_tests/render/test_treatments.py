"""Text treatments: chosen by measured contrast in the template's order; crisp brand panels;
knockouts measured between the panel and the imagery in the letters."""

import numpy as np
import pytest
from PIL import Image

from creative_assets.brand_kit import load_brand_kit
from creative_assets.compliance.text_legibility import check_text_legibility
from creative_assets.render.branding import apply_branding
from creative_assets.render.color import hex_to_rgb
from creative_assets.render.finals import render_final
from creative_assets.render.layout import layout_variants, plan_layout
from creative_assets.render.treatments import clear_of, knockout_contrast, panel_colours
from creative_assets_tests.render.test_finals import COPY, EN, SIZES, plain, stripes


def _render(ground, treatments, ratio="1:1", kit_slug="terra-outdoor", copy=COPY):
    kit = load_brand_kit(kit_slug)
    layout = plan_layout(ratio, SIZES[ratio], layout_variants(ratio)[0], "ltr", logo_aspect=3.1)
    layout = layout.model_copy(update={"text_treatments": tuple(treatments)})
    branded, logo = apply_branding(ground(SIZES[ratio]), layout, kit)
    image, report = render_final(branded, layout, copy, kit, EN, logo, layout.product_box)
    return kit, layout, branded, image, report


def dark_photo(size):
    """Deep, varied imagery (a night scene): light panels make its letters read."""
    ys, xs = np.mgrid[0 : size[1], 0 : size[0]]
    a = np.stack([20 + 25 * np.sin(xs / 60), 25 + 20 * np.cos(ys / 45), 45 + 0 * xs], -1)
    return Image.fromarray(a.clip(0, 255).astype(np.uint8))


def test_the_first_allowed_treatment_that_reads_is_taken():
    *_, report = _render(plain, ["none", "gradient", "panel"])
    assert report.treatment == "none" and list(report.treatment_contrasts) == ["none"]
    # the template's order is the preference: a panel first is a panel, even where none would read
    *_, report = _render(plain, ["panel", "none"])
    assert report.treatment == "panel" and list(report.treatment_contrasts) == ["panel"]


def test_a_busy_ground_tries_each_treatment_in_order_and_records_what_it_measured():
    *_, report = _render(stripes, ["none", "gradient", "panel"])
    tried = report.treatment_contrasts
    assert next(iter(tried)) == "none" and tried["none"] < 4.5
    assert report.treatment == list(tried)[-1] and tried[report.treatment] >= 4.5


def test_when_nothing_reads_the_best_measured_treatment_is_drawn_and_the_check_fails():
    *_, image, report = _render(stripes, ["none"])
    assert report.treatment == "none"
    outcome = check_text_legibility(image, report.blocks, 1080)
    assert not outcome.passed and "headline" in outcome.findings[0].message


def test_a_panel_is_a_crisp_opaque_shape_in_a_brand_colour():
    kit, _layout, _, image, report = _render(stripes, ["panel"])
    assert report.treatment == "panel"
    fill, _ = panel_colours(kit)
    assert fill in [
        hex_to_rgb(c) for c in (kit.palette.primary, kit.palette.secondary, kit.palette.accent)
    ] + [
        hex_to_rgb(kit.palette.neutral_dark),
        hex_to_rgb(kit.palette.neutral_light),
    ]
    head = report.blocks[0]
    x0, _y0, x1, y1 = head.ink_bbox
    arr = np.asarray(image)
    # between the headline and the sub-line the panel is exactly the brand colour (opaque) ...
    row = arr[y1 + 4, x0:x1]
    assert (np.abs(row.astype(int) - fill).max(axis=1) == 0).mean() > 0.95
    # ... and its edge is crisp: one pixel outside the panel, the stripes show unchanged
    col = arr[:, x0 + 2]
    inside = np.all(col == fill, axis=1)
    top = int(np.argmax(inside))
    assert not np.all(col[top - 2] == fill)
    assert report.blocks[0].contrast >= 4.5 and check_text_legibility(image, report.blocks, 1080).passed


def test_a_panel_never_covers_the_product_or_the_logo():
    for ratio in SIZES:
        _kit, _layout, branded, image, report = _render(stripes, ["panel"], ratio=ratio)
        assert report.treatment == "panel"
        for box in (report.product_bbox, report.logo.box):
            assert np.array_equal(
                np.asarray(image.crop(box)), np.asarray(branded.convert("RGB").crop(box))
            ), (
                ratio,
                box,
            )


def test_clear_of_shortens_the_side_facing_the_obstacle_and_never_cuts_the_copy():
    core = (100, 100, 300, 200)
    box = (80, 80, 320, 220)
    assert clear_of(box, core, (0, 210, 400, 400), 4) == (80, 80, 320, 206)
    assert clear_of(box, core, (305, 0, 400, 400), 4) == (80, 80, 301, 220)
    assert clear_of(box, core, (0, 0, 50, 50), 4) == box  # does not meet it
    assert clear_of(box, core, (250, 150, 400, 400), 4) == box  # the copy itself meets it: untouched


def test_a_knockout_shows_the_imagery_through_the_letters_and_reads_on_dark_imagery():
    _kit, _layout, branded, image, report = _render(dark_photo, ["knockout"])
    assert report.treatment == "knockout"
    head, sub = report.blocks[0], report.blocks[1]
    assert head.knockout and not sub.knockout
    fill = hex_to_rgb(head.colour)
    arr, under = np.asarray(image).astype(int), np.asarray(branded.convert("RGB")).astype(int)
    x0, y0, x1, y1 = head.ink_bbox
    letters = np.abs(arr[y0:y1, x0:x1] - fill).max(-1) > 24
    assert 0.08 < letters.mean() < 0.7  # letters, not a block
    # the letters are the imagery itself, not a colour (inside their anti-aliased edge)
    inner = (
        letters[1:-1, 1:-1] & letters[:-2, 1:-1] & letters[2:, 1:-1] & letters[1:-1, :-2] & letters[1:-1, 2:]
    )
    shown = arr[y0 + 1 : y1 - 1, x0 + 1 : x1 - 1][inner] - under[y0 + 1 : y1 - 1, x0 + 1 : x1 - 1][inner]
    assert inner.sum() > 500 and (np.abs(shown).max(-1) <= 2).mean() > 0.9
    outcome = check_text_legibility(image, report.blocks, 1080)
    assert outcome.passed, outcome.findings
    assert head.contrast >= 4.5


def test_a_knockout_over_mid_tone_imagery_is_measured_as_unreadable():
    # the same panel over imagery of its own lightness: the letters vanish, and the check says so
    _kit, _layout, _branded, image, report = _render(stripes, ["knockout"])
    head = report.blocks[0]
    grey = Image.new("RGB", image.size, hex_to_rgb(head.colour))
    washed = image.copy()
    x0, y0, _x1, _y1 = head.ink_bbox
    washed.paste(grey.crop(head.ink_bbox), (x0, y0))  # letters filled with the panel colour
    assert knockout_contrast(washed, head.colour, head.ink_bbox) == pytest.approx(1.0)
    outcome = check_text_legibility(washed, report.blocks, 1080)
    assert not outcome.passed and "headline" in outcome.findings[0].message


def test_no_knockout_for_a_headline_with_colour_emoji():
    copy = COPY.model_copy(update={"headline": "Stay bright 🍋 all summer"})
    *_, report = _render(dark_photo, ["knockout", "panel"], copy=copy)
    assert report.treatment == "panel" and "knockout" not in report.treatment_contrasts
