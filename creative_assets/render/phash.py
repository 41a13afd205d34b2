"""Perceptual hashes of creatives (pure: Pillow + numpy): near-duplicate detection for revisions.

:func:`phash` is the classic DCT hash: the image as 32x32 greyscale, its 2-D DCT-II, the 8x8
lowest-frequency coefficients (DC excluded) thresholded at their median: 63 bits that survive
re-encoding, small shifts and small colour changes but not a new layout, style or ground.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image

#: Hashes at most this many bits apart are the same picture for review purposes (of 63; unrelated
#: images differ in ~32 bits, a re-encode or a one-pixel shift in 0-4).
NEAR_DUPLICATE_BITS = 8


@functools.lru_cache(maxsize=1)
def _dct_matrix(n: int = 32) -> np.ndarray:
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2 / n)
    m[0] /= np.sqrt(2)
    return m


def phash(image: Image.Image) -> str:
    """64-bit perceptual hash of ``image`` as 16 hex digits (the top bit, the DC term, is always 0)."""
    grey = np.asarray(image.convert("L").resize((32, 32), Image.Resampling.LANCZOS), np.float64)
    d = _dct_matrix()
    low = (d @ grey @ d.T)[:8, :8].ravel()
    bits = low > np.median(low[1:])
    bits[0] = False
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def near_duplicate(a: str, b: str, bits: int = NEAR_DUPLICATE_BITS) -> bool:
    return hamming(a, b) <= bits
