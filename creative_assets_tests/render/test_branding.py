"""Logo placement: variant by measured contrast, plate only when nothing reads, size rules kept."""

import pytest
from PIL import Image, ImageDraw

from creative_assets.brand_kit import load_brand_kit
from creative_assets.render.branding import LOGO_MIN_CONTRAST, apply_branding, logo_contrast
from creative_assets.render.layout import plan_layout


@pytest.fixture(scope="module")
def kit():
    return load_brand_kit("aurora-beverages")


def _layout():
    return plan_layout(
        "1:1", (1080, 1080), "text-side", logo_aspect=3.1, logo_min_ratio=0.18, logo_min_px=140
    )


def test_logo_contrast_detects_a_vanishing_logo(kit):
    logo = kit.logo_image("on_dark")  # white artwork
    assert logo_contrast(logo, Image.new("RGB", logo.size, (255, 255, 255))) < 1.2
    assert logo_contrast(logo, Image.new("RGB", logo.size, (14, 42, 59))) > 10


@pytest.mark.parametrize(
    ("ground", "expected"),
    [((255, 248, 236), {"primary"}), ((14, 42, 59), {"on_dark"}), ((255, 197, 61), {"primary", "on_light"})],
)
def test_variant_follows_the_ground(kit, ground, expected):
    image, report = apply_branding(Image.new("RGB", (1080, 1080), ground), _layout(), kit)
    assert report.variant in expected
    assert report.contrast >= LOGO_MIN_CONTRAST and not report.plate
    assert image.crop(report.box).getextrema() != ((ground[0], ground[0]),) * 3  # something was drawn


def test_plate_when_no_variant_reads(kit):
    # fine black/white stripes: every variant shares its luminance with half of what is behind it
    ground = Image.new("RGB", (1080, 1080), (255, 255, 255))
    draw = ImageDraw.Draw(ground)
    for y in range(0, 1080, 6):
        draw.rectangle((0, y, 1080, y + 2), fill=(0, 0, 0))
    _, report = apply_branding(ground, _layout(), kit)
    assert report.plate
    assert report.contrast >= LOGO_MIN_CONTRAST


def test_logo_respects_minimum_width_and_clear_space(kit):
    layout = _layout()
    _, report = apply_branding(Image.new("RGB", (1080, 1080), (255, 248, 236)), layout, kit)
    assert report.width_px >= report.min_width_px >= 140
    cx0, cy0, cx1, cy1 = report.clear_box
    assert cx0 >= 0 and cy0 >= 0 and cx1 <= 1080 and cy1 <= 1080


def test_fitted_logo_is_the_artwork_resampled_once_per_box(kit):
    art = kit.logo_image("primary")
    scale = min(300 / art.width, 80 / art.height)
    expected = art.resize((round(art.width * scale), round(art.height * scale)), Image.Resampling.LANCZOS)
    fitted = kit.logo_image_fitted("primary", 300, 80)
    assert fitted.tobytes() == expected.tobytes() and fitted.size == expected.size
    fitted.putpixel((0, 0), (1, 2, 3, 4))  # a private copy: the cached one is untouched
    assert kit.logo_image_fitted("primary", 300, 80).tobytes() == expected.tobytes()
