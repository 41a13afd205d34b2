"""Image encoding: the one encoder of stage files (PNG, JPEG), JPEG placement exports and the UI's
previews. Pure: no Dagster. (Lossless PNG placement exports keep Pillow's ``optimize=True``, which
tries every filter for the smallest file a byte budget needs: render/export.py.)

PNG and JPEG go through OpenCV (libpng, libjpeg-turbo), which releases the GIL while it encodes, so
the units a batched step builds on two threads encode on both cores; Pillow's encoders keep the GIL
(docs/BENCHMARKS.md). The JPEG bytes are those Pillow writes with the same quality and chroma
subsampling (the same libjpeg-turbo settings: standard tables, no Huffman optimisation); PNG uses
the "up" filter on every row, two to three times faster than Pillow's adaptive filtering for files
within a few percent of its size. Modes OpenCV cannot take are encoded by Pillow.
"""

from __future__ import annotations

import io
from typing import Literal

import cv2
import numpy as np
from PIL import Image

Subsampling = Literal["4:4:4", "4:2:0"]

_PNG_PARAMS = [
    cv2.IMWRITE_PNG_COMPRESSION,
    3,
    cv2.IMWRITE_PNG_FILTER,
    cv2.IMWRITE_PNG_FILTER_UP,
    cv2.IMWRITE_PNG_ZLIBBUFFER_SIZE,
    65536,  # 64 KB IDAT chunks, as Pillow writes (OpenCV's default is 8 KB)
]
_TO_OPENCV = {"RGB": cv2.COLOR_RGB2BGR, "RGBA": cv2.COLOR_RGBA2BGRA, "L": None}
_SAMPLING = {
    "4:4:4": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
    "4:2:0": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
}


def _opencv_pixels(image: Image.Image) -> np.ndarray:
    pixels = np.asarray(image)
    code = _TO_OPENCV[image.mode]
    return pixels if code is None else cv2.cvtColor(pixels, code)


def _encoded(ext: str, pixels: np.ndarray, params: list[int], image: Image.Image) -> bytes:
    ok, data = cv2.imencode(ext, pixels, params)
    if not ok:
        raise ValueError(f"OpenCV could not encode a {image.mode} {image.size} image as {ext}")
    return data.tobytes()


def png_bytes(image: Image.Image) -> bytes:
    """Lossless PNG of ``image`` (RGB, RGBA and L through OpenCV, other modes through Pillow)."""
    if image.mode not in _TO_OPENCV:
        buf = io.BytesIO()
        image.save(buf, "PNG", compress_level=3)
        return buf.getvalue()
    return _encoded(".png", _opencv_pixels(image), _PNG_PARAMS, image)


def jpeg_bytes(image: Image.Image, quality: int, subsampling: Subsampling) -> bytes:
    """Baseline JPEG of ``image`` as RGB (alpha dropped, as Pillow's ``convert("RGB")`` does)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    params = [
        cv2.IMWRITE_JPEG_QUALITY,
        int(quality),
        cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
        _SAMPLING[subsampling],
    ]
    return _encoded(".jpg", _opencv_pixels(rgb), params, rgb)
