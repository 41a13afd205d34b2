"""Colour science: sRGB, WCAG 2.x contrast, CIELAB and CIEDE2000. Pure functions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

RGB = tuple[int, int, int]


def hex_to_rgb(value: str) -> RGB:
    value = value.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def rgb_to_hex(rgb: Sequence[float]) -> str:
    return "#" + "".join(f"{max(0, min(255, round(c))):02X}" for c in rgb[:3])


def _linear_formula(c: np.ndarray) -> np.ndarray:
    c = c / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


#: the sRGB transfer of every 8-bit level, and its luminance share per channel: pixels are 8-bit,
#: so a table lookup gives the formula's own values (built by it) for a fraction of the cost
_LINEAR_LUT = _linear_formula(np.arange(256, dtype=np.float64))
_LUMA_LUTS = (_LINEAR_LUT * 0.2126, _LINEAR_LUT * 0.7152, _LINEAR_LUT * 0.0722)


def _as_levels(arr: np.ndarray) -> np.ndarray | None:
    """``arr`` as uint8 when every value is a whole 8-bit level (pixels, usually), else None."""
    if arr.dtype == np.uint8:
        return arr
    if arr.size < 64 or arr.dtype.kind not in "fiu":
        return None
    with np.errstate(invalid="ignore"):  # NaN or out-of-range values: not levels, no warning
        levels = arr.astype(np.uint8)
    return levels if np.array_equal(levels, arr) else None


def _linear(c: np.ndarray) -> np.ndarray:
    levels = _as_levels(c)
    return _LINEAR_LUT[levels] if levels is not None else _linear_formula(c)


def relative_luminance(rgb: Sequence[float] | np.ndarray) -> np.ndarray | float:
    """WCAG relative luminance of sRGB colour(s), last axis = RGB."""
    channels = np.asarray(rgb)[..., :3]
    levels = _as_levels(channels)
    if levels is not None:  # the same sums as below, of the same per-channel terms
        r, g, b = _LUMA_LUTS
        lum = r[levels[..., 0]] + g[levels[..., 1]] + b[levels[..., 2]]
    else:
        arr = _linear_formula(channels.astype(np.float64))
        lum = arr[..., 0] * 0.2126 + arr[..., 1] * 0.7152 + arr[..., 2] * 0.0722
    return float(lum) if lum.ndim == 0 else lum


def contrast_ratio(a: Sequence[float], b: Sequence[float]) -> float:
    """WCAG 2.x contrast ratio between two sRGB colours (1.0 to 21.0)."""
    la, lb = relative_luminance(a), relative_luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def contrast_against_pixels(colour: Sequence[float], pixels: np.ndarray, percentile: float = 5.0) -> float:
    """Worst-case-ish contrast of ``colour`` against a region: the ``percentile``-th lowest contrast
    over the region's pixels (robust to a few stray pixels, strict about large patches)."""
    if pixels.size == 0:
        return 21.0
    lum = relative_luminance(pixels.reshape(-1, pixels.shape[-1])[:, :3])
    lc = relative_luminance(colour)
    hi = np.maximum(lum, lc)
    lo = np.minimum(lum, lc)
    ratios = (hi + 0.05) / (lo + 0.05)
    return float(np.percentile(ratios, percentile))


def best_text_colour(
    candidates: Sequence[Sequence[int]], pixels: np.ndarray
) -> tuple[tuple[int, ...], float]:
    """The candidate colour with the highest worst-case contrast over ``pixels``."""
    scored = [(contrast_against_pixels(c, pixels), tuple(c)) for c in candidates]
    ratio, colour = max(scored, key=lambda s: s[0])
    return colour, ratio


# -- CIELAB / CIEDE2000 ---------------------------------------------------------------------------

_M_RGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])


def srgb_to_lab(rgb: Sequence[float] | np.ndarray) -> np.ndarray:
    """sRGB (0-255) to CIELAB (D65), last axis = channels."""
    lin = _linear(np.asarray(rgb, dtype=np.float64)[..., :3])
    xyz = lin @ _M_RGB_TO_XYZ.T / _WHITE_D65
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    lab = np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1
    )
    return lab


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005), vectorised; kL = kC = kH = 1."""
    lab1 = np.asarray(lab1, dtype=np.float64)
    lab2 = np.asarray(lab2, dtype=np.float64)
    l1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    l2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]
    c1 = np.hypot(a1, b1)
    c2 = np.hypot(a2, b2)
    cbar7 = ((c1 + c2) / 2) ** 7
    g = 0.5 * (1 - np.sqrt(cbar7 / (cbar7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dlp = l2 - l1
    dcp = c2p - c1p
    dhp = h2p - h1p
    dhp = np.where(dhp > 180, dhp - 360, dhp)
    dhp = np.where(dhp < -180, dhp + 360, dhp)
    dhp = np.where(c1p * c2p == 0, 0.0, dhp)
    dHp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dhp) / 2)
    lbp = (l1 + l2) / 2
    cbp = (c1p + c2p) / 2
    hsum = h1p + h2p
    hbp = np.where(
        c1p * c2p == 0,
        hsum,
        np.where(
            np.abs(h1p - h2p) <= 180, hsum / 2, np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2)
        ),
    )
    t = (
        1
        - 0.17 * np.cos(np.radians(hbp - 30))
        + 0.24 * np.cos(np.radians(2 * hbp))
        + 0.32 * np.cos(np.radians(3 * hbp + 6))
        - 0.20 * np.cos(np.radians(4 * hbp - 63))
    )
    dtheta = 30 * np.exp(-(((hbp - 275) / 25) ** 2))
    cbp7 = cbp**7
    rc = 2 * np.sqrt(cbp7 / (cbp7 + 25.0**7))
    sl = 1 + 0.015 * (lbp - 50) ** 2 / np.sqrt(20 + (lbp - 50) ** 2)
    sc = 1 + 0.045 * cbp
    sh = 1 + 0.015 * cbp * t
    rt = -np.sin(np.radians(2 * dtheta)) * rc
    return np.sqrt((dlp / sl) ** 2 + (dcp / sc) ** 2 + (dHp / sh) ** 2 + rt * (dcp / sc) * (dHp / sh))


def palette_fit(
    image: Image.Image, palette_hex: Sequence[str], threshold: float = 12.0, sample: int = 96
) -> dict:
    """Share of the image's pixels within ``threshold`` CIEDE2000 of any palette colour, on a downsample."""
    small = image.convert("RGB").resize((sample, sample), Image.Resampling.BILINEAR)
    lab = srgb_to_lab(np.asarray(small).reshape(-1, 3))
    pal = srgb_to_lab(np.array([hex_to_rgb(h) for h in palette_hex]))
    d = ciede2000(lab[:, None, :], pal[None, :, :])
    nearest = d.min(axis=1)
    return {"share_within": float((nearest <= threshold).mean()), "median_delta_e": float(np.median(nearest))}


# -- colour manipulation --------------------------------------------------------------------------


def mix(a: Sequence[float], b: Sequence[float], t: float) -> RGB:
    return tuple(round(a[i] * (1 - t) + b[i] * t) for i in range(3))  # type: ignore[return-value]


def shade(rgb: Sequence[float], amount: float) -> RGB:
    """Darken (amount < 0) or lighten (amount > 0) towards black/white."""
    target = (255, 255, 255) if amount > 0 else (0, 0, 0)
    return mix(rgb, target, abs(amount))


def is_dark(rgb: Sequence[float]) -> bool:
    return contrast_ratio(rgb, (255, 255, 255)) >= contrast_ratio(rgb, (0, 0, 0))
