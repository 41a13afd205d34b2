"""Placement exports and checks: the byte budget is met by format and quality, never below the
measured minimum; placement_spec reads the bytes; product_hero passes and fails on measured masks."""

import io

import numpy as np
import pytest
from PIL import Image

from creative_assets.compliance import check_placement_spec, check_product_hero
from creative_assets.placements import get_placement
from creative_assets.render.export import LOSSLESS_PSNR, MIN_PSNR_DB, BudgetError, export_for_placement, psnr
from creative_assets.render.layout import plan_layout
from creative_assets.render.product_mask import ProductFootprint, product_visibility
from creative_assets.stages import FinalRender, LogoReport


def _photo(size, seed=1):
    """A smooth gradient with a little texture: compresses like a rendered creative."""
    w, h = size
    x, y = np.meshgrid(np.linspace(0, 1, w), np.linspace(0, 1, h))
    rng = np.random.default_rng(seed)
    rgb = np.stack([200 * x + 30, 160 * y + 40, 120 * (1 - x) + 60], axis=2) + rng.normal(0, 3, (h, w, 3))
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def _noise(size, seed=2):
    return Image.fromarray(
        np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    )


def test_iab_export_fits_150_kb_and_records_format_quality_bytes_and_psnr():
    placement = get_placement("iab-medium-rectangle")
    image = _photo(placement.size)
    data, record = export_for_placement(image, placement)
    assert len(data) == record.bytes <= placement.max_bytes == 150 * 1024
    assert record.format in placement.formats and record.psnr_db >= MIN_PSNR_DB
    assert Image.open(io.BytesIO(data)).size == placement.size
    assert check_placement_spec(placement, placement.size, image, data, record).passed


def test_a_tight_budget_lowers_quality_but_never_below_the_measured_minimum():
    placement = get_placement("meta-reels")
    image = _photo((540, 960))
    _, loose = export_for_placement(image, placement)
    tight_budget = round(loose.bytes * 0.6)
    data, tight = export_for_placement(image, placement, max_bytes=tight_budget)
    assert tight.bytes <= tight_budget and tight.quality < loose.quality
    assert psnr(image, data) >= MIN_PSNR_DB
    with pytest.raises(BudgetError, match="minimum quality"):
        export_for_placement(_noise((540, 960)), placement, max_bytes=20_000)


def test_placement_spec_fails_on_size_format_and_budget():
    placement = get_placement("iab-mobile-banner")
    image = _photo(placement.size)
    data, record = export_for_placement(image, placement)
    wrong_size = check_placement_spec(placement, (300, 250), image, data, record)
    assert not wrong_size.passed and "needs 300x250" in wrong_size.findings[0].message
    buf = io.BytesIO()
    image.save(buf, "WEBP")
    webp = check_placement_spec(placement, placement.size, image, buf.getvalue(), record)
    assert any("accepts jpeg, png" in f.message for f in webp.findings)
    big = _noise(placement.size)
    buf = io.BytesIO()
    big.resize((3200, 500)).save(buf, "PNG")
    over = check_placement_spec(
        get_placement("iab-leaderboard"), (3200, 500), big.resize((3200, 500)), buf.getvalue(), record
    )
    assert any("over the iab-leaderboard budget" in f.message for f in over.findings)
    assert not check_placement_spec(placement, placement.size, image, None, None).passed


def _report(layout, mask: np.ndarray) -> FinalRender:
    footprint = ProductFootprint.from_array(mask)
    canvas = Image.new("RGB", (layout.width, layout.height), (240, 240, 240))
    visible = product_visibility(footprint, canvas, canvas, [])
    logo = LogoReport(
        variant="primary",
        box=(0, 0, 1, 1),
        clear_box=(0, 0, 1, 1),
        contrast=5,
        plate=False,
        width_px=1,
        min_width_px=1,
    )
    return FinalRender(
        ratio=layout.ratio,
        file="",
        width=layout.width,
        height=layout.height,
        layout=layout,
        treatment="none",
        blocks=[],
        cta_button=(0, 0, 0, 0),
        cta_fill="#000000",
        cta_button_contrast=5,
        logo=logo,
        product_bbox=footprint.bbox,
        product=footprint,
        product_visible=visible,
    )


@pytest.mark.parametrize("direction", ["ltr", "rtl"])
def test_product_hero_passes_a_hero_and_fails_a_small_or_misplaced_product(direction):
    placement = get_placement("tiktok-in-feed")  # asymmetric safe area: the action rail on the right
    layout = plan_layout("tiktok-in-feed", placement.size, "text-side", direction)
    x0, y0, x1, y1 = layout.product_box
    mask = np.zeros((placement.height, placement.width), bool)
    mask[y0:y1, x0:x1] = True  # the whole product box: about 23% of the canvas
    assert check_product_hero(_report(layout, mask), placement).passed

    small = np.zeros_like(mask)
    small[y0 : y0 + 200, x0 : x0 + 200] = True
    outcome = check_product_hero(_report(layout, small), placement)
    assert not outcome.passed and "need at least 12%" in outcome.findings[0].message

    outside = np.zeros_like(mask)  # large enough, but reaching into the bottom UI band
    outside[y0 + 300 : placement.height - 20, x0:x1] = True
    outcome = check_product_hero(_report(layout, outside), placement)
    assert not outcome.passed and any("bottom by" in f.message for f in outcome.findings)

    rail = np.zeros_like(mask)  # the right 13% is the action rail in LTR, the left 13% in RTL
    side = slice(placement.width - 100, placement.width) if direction == "ltr" else slice(0, 100)
    rail[400:1400, side] = True
    rail[400:1400, 300:700] = True
    outcome = check_product_hero(_report(layout, rail), placement)
    assert not outcome.passed and any(
        ("right by" if direction == "ltr" else "left by") in f.message for f in outcome.findings
    )


def test_psnr_is_the_exact_integer_mean_squared_error():
    image = _photo((300, 250))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=60)
    decoded = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")).astype(np.int64)
    mse = float(((decoded - np.asarray(image.convert("RGB"), np.int64)) ** 2).sum()) / decoded.size
    assert psnr(image, buf.getvalue()) == round(10 * np.log10(255.0**2 / mse), 2)
    png = io.BytesIO()
    image.save(png, "PNG")
    assert psnr(image, png.getvalue()) == LOSSLESS_PSNR
