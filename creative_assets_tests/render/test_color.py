"""Colour maths against published reference data."""

import numpy as np
import pytest
from PIL import Image

from creative_assets.render.color import (
    best_text_colour,
    ciede2000,
    contrast_against_pixels,
    contrast_ratio,
    palette_fit,
    relative_luminance,
    srgb_to_lab,
)

# Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula: implementation notes,
# supplementary test data and mathematical observations", Table 1 (selected pairs).
SHARMA = [
    ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    ((50.0000, 3.1571, -77.2803), (50.0000, 0.0000, -82.7485), 2.8615),
    ((50.0000, 2.8361, -74.0200), (50.0000, 0.0000, -82.7485), 3.4412),
    ((50.0000, -1.3802, -84.2814), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0009), 7.1792),
    ((50.0000, 2.5000, 0.0000), (73.0000, 25.0000, -18.0000), 27.1492),
    ((50.0000, 2.5000, 0.0000), (61.0000, -5.0000, 29.0000), 22.8977),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


@pytest.mark.parametrize(("lab1", "lab2", "expected"), SHARMA)
def test_ciede2000_matches_sharma_reference(lab1, lab2, expected):
    assert float(ciede2000(np.array(lab1), np.array(lab2))) == pytest.approx(expected, abs=1e-4)
    assert float(ciede2000(np.array(lab2), np.array(lab1))) == pytest.approx(expected, abs=1e-4)


def test_srgb_to_lab_reference_points():
    assert srgb_to_lab((255, 255, 255)) == pytest.approx([100, 0, 0], abs=1e-3)
    assert srgb_to_lab((0, 0, 0)) == pytest.approx([0, 0, 0], abs=1e-6)
    # sRGB red in CIELAB (D65): L* 53.24, a* 80.09, b* 67.20
    assert srgb_to_lab((255, 0, 0)) == pytest.approx([53.24, 80.09, 67.20], abs=0.05)


def test_wcag_contrast_reference_values():
    assert contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast_ratio((255, 255, 255), (255, 255, 255)) == pytest.approx(1.0)
    # #767676 on white is the classic 4.54:1 just-passing AA grey
    assert contrast_ratio((0x76, 0x76, 0x76), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)


def test_contrast_against_pixels_is_strict_about_large_patches():
    half = np.zeros((100, 3)) + 255
    half[:50] = 0
    assert contrast_against_pixels((255, 255, 255), half) == pytest.approx(1.0)
    colour, ratio = best_text_colour([(255, 255, 255), (20, 20, 20)], np.full((10, 3), 240.0))
    assert colour == (20, 20, 20) and ratio > 10


def test_palette_fit_measures_share_near_brand_colours():
    on_brand = Image.new("RGB", (64, 64), (11, 110, 121))
    off_brand = Image.new("RGB", (64, 64), (200, 30, 200))
    assert palette_fit(on_brand, ["#0B6E79"])["share_within"] == 1.0
    assert palette_fit(off_brand, ["#0B6E79"])["share_within"] == 0.0


def _luminance_by_formula(rgb: np.ndarray) -> np.ndarray:
    c = np.asarray(rgb, np.float64)[..., :3] / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin[..., 0] * 0.2126 + lin[..., 1] * 0.7152 + lin[..., 2] * 0.0722


def test_relative_luminance_of_8_bit_pixels_is_the_formula_exactly():
    """The lookup table (8-bit levels, as uint8 or as whole floats) gives the formula's own values
    bit for bit; anything else (fractions, out-of-range values, single colours) takes the formula."""
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, (300, 200, 3), dtype=np.uint8)
    expected = _luminance_by_formula(pixels)
    assert np.array_equal(relative_luminance(pixels), expected)
    assert np.array_equal(relative_luminance(pixels.astype(np.float64)), expected)
    fractions = pixels.astype(np.float64) + 0.25
    assert np.array_equal(relative_luminance(fractions), _luminance_by_formula(fractions))
    beyond = pixels.astype(np.float64) * 2  # wraps as uint8: must not be taken for 8-bit levels
    assert np.array_equal(relative_luminance(beyond), _luminance_by_formula(beyond))
    assert relative_luminance((255, 255, 255)) == 1.0
    assert relative_luminance((0, 0, 0)) == 0.0


def test_values_that_are_not_8_bit_levels_take_the_formula_without_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        odd = np.full((100, 3), np.nan)
        assert np.isnan(relative_luminance(odd)).all()
        negative = np.full((100, 3), -3.0)
        assert np.array_equal(relative_luminance(negative), _luminance_by_formula(negative))
