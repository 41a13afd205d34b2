"""text_over_product, source_resolution and copy_source: pass and fail fixtures, and the pipeline
records the placed product so text_over_product measures real pixels."""

from __future__ import annotations

from PIL import Image, ImageDraw

from creative_assets.compliance import (
    check_copy_source,
    check_source_resolution,
    check_text_over_product,
)
from creative_assets.render.product_mask import ProductFootprint, placed_footprint
from creative_assets_tests.render.test_finals import COPY, _render, plain


def _can(w=300, h=600) -> Image.Image:
    """An RGBA product: an opaque rounded can on transparency."""
    im = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    ImageDraw.Draw(im).rounded_rectangle((10, 0, w - 10, h - 1), radius=40, fill=(20, 110, 120, 255))
    return im


def _placed(product: Image.Image, box, canvas=(1080, 1080), origin="supplied") -> ProductFootprint:
    """The footprint of ``product`` scaled into ``box`` the way the compositor places it (one LANCZOS
    resample, pasted with its alpha), recorded by the one mask function of render/product_mask.py."""
    sized = product.convert("RGBA").resize((box[2] - box[0], box[3] - box[1]), Image.Resampling.LANCZOS)
    return placed_footprint(canvas, sized, (box[0], box[1]), product.size, origin)


def _report_with_product(box, source="supplied", product=None):
    _image, report = _render(plain, COPY)
    product = product or _can(box[2] - box[0], box[3] - box[1])
    footprint = _placed(product, box, (report.width, report.height), source)
    return report.model_copy(update={"product": footprint})


def test_the_mask_is_the_placed_product_pixels():
    can = _can()
    mask = _placed(can, (0, 0, 150, 300), canvas=(150, 300)).array()
    assert mask.shape == (300, 150)
    assert mask[150, 75] and not mask[0, 0] and not mask[150, 0]  # rounded corner and side margin
    placement = _placed(can, (100, 200, 250, 500))
    full = placement.array()
    assert full.shape == (1080, 1080)
    assert full.sum() == mask.sum() and full[350, 175] and not full[350, 90]
    assert placement.scale == 0.5 and placement.source_size == (300, 600)
    assert placement.origin == "supplied" and placement.measured and placement.area_px == mask.sum()


def test_text_over_product_passes_when_the_product_stands_clear():
    _image, report = _render(plain, COPY)
    product_box = report.layout.product_box  # where the layout puts it: away from the text
    outcome = check_text_over_product(_report_with_product(product_box))
    assert outcome.passed and outcome.figures["measured"] == 1
    assert outcome.figures["overlap_share"] <= 0.02


def test_text_over_product_fails_when_the_product_sits_under_the_headline():
    _image, report = _render(plain, COPY)
    head = next(b for b in report.blocks if b.role == "headline").ink_bbox
    box = (head[0] - 20, head[1] - 20, head[2] + 20, head[3] + 400)
    outcome = check_text_over_product(_report_with_product(box))
    assert not outcome.passed and outcome.severity == "ERROR"
    assert any(f.where == "headline" and "covers the product" in f.message for f in outcome.findings)


def test_text_over_product_measures_the_visible_pixels_not_the_box():
    """A product whose box reaches under the headline but whose visible pixels do not passes."""
    _image, report = _render(plain, COPY)
    head = next(b for b in report.blocks if b.role == "headline").ink_bbox
    box = (head[0], head[1] - 10, head[2], head[3] + 600)
    product = Image.new("RGBA", (box[2] - box[0], box[3] - box[1]), (0, 0, 0, 0))
    ImageDraw.Draw(product).rectangle((0, head[3] - box[1] + 30, product.width, product.height), fill="red")
    outcome = check_text_over_product(_report_with_product(box, product=product))
    assert "headline" not in {f.where for f in outcome.findings}


def test_text_over_product_without_a_placement_measures_nothing():
    _image, report = _render(plain, COPY)
    outcome = check_text_over_product(report)
    assert outcome.passed and outcome.figures["measured"] == 0


def test_source_resolution():
    small = _report_with_product((100, 100, 700, 1000), product=_can(150, 225))  # 4x
    fail = check_source_resolution(small, max_upscale=1.5)
    assert not fail.passed and fail.severity == "ERROR" and "150x225" in fail.findings[0].message
    assert fail.figures["upscale"] == 4.0
    big = _report_with_product((100, 100, 400, 700), product=_can(600, 1200))  # 0.5x
    assert check_source_resolution(big, max_upscale=1.5).passed
    generated = _report_with_product((100, 100, 700, 1000), source="generated", product=_can(150, 225))
    assert check_source_resolution(generated, max_upscale=1.5).passed


def test_copy_source():
    brief_copy = {
        "message": "brief.localized_messages.ja-JP.message",
        "cta": "brief.localized_messages.ja-JP.cta",
    }
    assert check_copy_source(brief_copy).passed
    fallback = check_copy_source(
        {"message": "brief.message (en-US, untranslated)", "cta": "brief.localized_messages.ja-JP.cta"}
    )
    assert not fallback.passed and fallback.severity == "WARN"
    assert [f.where for f in fallback.findings] == ["message"] and "native speaker" in fallback.findings[
        0
    ].message
    mt = check_copy_source({"cta": "machine-translated by gpt-4o-mini from en-US"})
    assert not mt.passed and mt.severity == "WARN" and "machine-translated" in mt.findings[0].message
    legal = check_copy_source(
        {}, ["no disclaimer for ja-JP in localized_messages: the legal line is printed untranslated"]
    )
    assert [f.where for f in legal.findings] == ["disclaimer"]
