"""Placement exports: encode a final creative to meet its placement's byte budget without dropping
below a measured minimum quality. Pure (Pillow + numpy).

:func:`export_for_placement` tries the placement's accepted formats in their listed order of
preference. A lossy format (JPEG, WebP) is encoded at the highest quality in
``[MIN_QUALITY[fmt], START_QUALITY[fmt]]`` whose bytes fit ``max_bytes`` (binary search); PNG is
lossless. Every candidate encoding is decoded again and compared with the source: it is accepted
only when its PSNR is at least :data:`MIN_PSNR_DB` (the *measured* minimum quality; an encoder
setting alone says little across images). When no accepted format fits the budget at the minimum,
:class:`BudgetError` is raised: quality is never silently dropped below the minimum.

The result (:class:`PlacementExport`) records the format, encoder quality, bytes and measured PSNR;
the final stage puts it in the manifest and the ``placement_spec`` check re-reads the bytes.
"""

from __future__ import annotations

import hashlib
import io

import cv2
import numpy as np
from PIL import Image
from pydantic import BaseModel

from creative_assets.placements import FORMAT_EXTENSIONS, Placement
from creative_assets.render.encoding import jpeg_bytes

#: Encoder quality floors and starting points per lossy format.
MIN_QUALITY = {"jpeg": 60, "webp": 60}
START_QUALITY = {"jpeg": 92, "webp": 90}
#: Measured minimum: the decoded export's PSNR against the rendered creative, in dB. 32 dB keeps
#: type edges and the logo free of visible ringing on the shipped creatives.
MIN_PSNR_DB = 32.0
LOSSLESS_PSNR = 99.0  # reported for PNG (identical pixels)


class PlacementExport(BaseModel):
    """One encoded export of a creative for its placement (recorded in the final manifest)."""

    placement: str
    file: str = ""
    format: str  # jpeg | png | webp
    quality: int  # encoder quality (100 for lossless PNG)
    bytes: int
    max_bytes: int
    psnr_db: float
    min_psnr_db: float = MIN_PSNR_DB
    width: int
    height: int
    sha256: str
    #: every encoding tried, "format@quality=bytes" (why this one was chosen)
    tried: list[str] = []
    #: bytes the embedded Content Credential adds (the encoder's budget kept them free)
    credential_bytes: int = 0


class BudgetError(ValueError):
    """No accepted format fits the placement's byte budget at the minimum quality."""


def _encode(image: Image.Image, fmt: str, quality: int) -> bytes:
    if fmt == "jpeg":
        return jpeg_bytes(image, quality, "4:4:4" if quality >= 90 else "4:2:0")
    buf = io.BytesIO()
    if fmt == "webp":
        image.convert("RGB").save(buf, "WEBP", quality=quality, method=4)
    elif fmt == "png":
        image.convert("RGB").save(buf, "PNG", optimize=True)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return buf.getvalue()


def _rgb_pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))


def psnr(reference: Image.Image, data: bytes) -> float:
    """PSNR (dB) of the decoded ``data`` against ``reference`` (RGB)."""
    with Image.open(io.BytesIO(data)) as im:
        decoded = _rgb_pixels(im)
    ref = _rgb_pixels(reference)
    if decoded.shape != ref.shape:
        return 0.0
    # the exact sum of squared differences (OpenCV sums 8-bit differences in integers; the total,
    # below 2**53, is exact in a double)
    mse = cv2.norm(np.ascontiguousarray(decoded), np.ascontiguousarray(ref), cv2.NORM_L2SQR) / decoded.size
    return LOSSLESS_PSNR if mse == 0 else round(min(LOSSLESS_PSNR, 10 * np.log10(255.0**2 / mse)), 2)


def export_for_placement(
    image: Image.Image, placement: Placement, max_bytes: int | None = None
) -> tuple[bytes, PlacementExport]:
    """The encoded creative and its record (see the module docstring). ``max_bytes`` overrides the
    placement's budget (tests)."""
    budget = max_bytes or placement.max_bytes
    tried: list[str] = []
    for fmt in placement.formats:
        if fmt == "png":
            data = _encode(image, "png", 100)
            tried.append(f"png={len(data)}")
            if len(data) <= budget:
                return data, _record(image, placement, fmt, 100, data, budget, LOSSLESS_PSNR, tried)
            continue
        lo, hi = MIN_QUALITY[fmt], START_QUALITY[fmt]
        best: tuple[int, bytes, float] | None = None
        data = _encode(image, fmt, hi)
        tried.append(f"{fmt}@{hi}={len(data)}")
        if len(data) <= budget:
            best = (hi, data, psnr(image, data))
        else:
            while lo <= hi:  # the highest quality that fits the budget
                q = (lo + hi) // 2
                data = _encode(image, fmt, q)
                tried.append(f"{fmt}@{q}={len(data)}")
                if len(data) <= budget:
                    best, lo = (q, data, -1.0), q + 1
                else:
                    hi = q - 1
        if best is None:
            continue
        quality, data, measured = best
        measured = measured if measured >= 0 else psnr(image, data)
        if measured < MIN_PSNR_DB:
            tried.append(f"{fmt}@{quality}: {measured:.1f} dB < {MIN_PSNR_DB} dB")
            continue
        return data, _record(image, placement, fmt, quality, data, budget, measured, tried)
    raise BudgetError(
        f"{placement.name}: no accepted format ({', '.join(placement.formats)}) fits {budget:,} bytes at "
        f"the minimum quality ({MIN_PSNR_DB} dB PSNR); tried {', '.join(tried)}. Simplify the "
        "background or ask for a larger budget"
    )


def _record(
    image: Image.Image,
    placement: Placement,
    fmt: str,
    quality: int,
    data: bytes,
    budget: int,
    measured: float,
    tried: list[str],
) -> PlacementExport:
    return PlacementExport(
        placement=placement.name,
        format=fmt,
        quality=quality,
        bytes=len(data),
        max_bytes=budget,
        psnr_db=round(measured, 2),
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(data).hexdigest(),
        tried=tried,
    )


def export_extension(fmt: str) -> str:
    return FORMAT_EXTENSIONS[fmt]
