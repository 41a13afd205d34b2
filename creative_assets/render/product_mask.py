"""Where the product is on a creative: the mask of the product pixels actually placed, and how much
of it is still visible on the final. Pure (Pillow + numpy).

This module owns the one record of the placed product (:class:`ProductFootprint`, the ``product``
field of every render) and the one mask function (:func:`placed_footprint`, read back with
:meth:`ProductFootprint.array`).

:class:`ProductFootprint` is recorded with every render, from ``image_candidates`` to
``final_creatives`` (``CandidateRender.product``, ``BrandedRender.product``, ``FinalRender.product``).
It is the one measurement of "where the product is" that checks reuse: the blocking
``product_share`` check (too little product left on the canvas), ``text_over_product`` (no copy on
the product's pixels: it reads :meth:`ProductFootprint.array` instead of a bounding box) and
``source_resolution`` (a supplied packshot not enlarged beyond the kit's limit: ``origin``,
``source_size`` and ``scale``). The preflight sizes the packshot from the same cut-out.

:class:`ProductVisibility` (``FinalRender.product_visible``) is the footprint minus what was drawn
over it afterwards: the logo's box, and every product pixel the copy, CTA and text treatment changed;
its mask is ``product_visible.array()``.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Sequence
from typing import Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel

from creative_assets.render.layout import Box

#: A product pixel is one the packshot covers at least half (alpha >= 128).
ALPHA_THRESHOLD = 128
#: A product pixel counts as covered when a later layer changed it by more than this (0-255, any channel).
COVER_THRESHOLD = 24
MASK_ENCODING = "packbits-zlib-base64"


class ProductFootprint(BaseModel):
    """The product pixels as placed on a canvas of ``width`` x ``height``."""

    width: int
    height: int
    bbox: Box  # tight box of the product pixels; (0, 0, 0, 0) when there are none
    area_px: int  # product pixels
    #: ``measured``: from the alpha of the placed cut-out; ``estimated``: a generative model placed
    #: the product itself, so this is the layout's product box
    source: str = "measured"
    encoding: str = MASK_ENCODING
    mask: str  # row-major bits of the whole canvas (see :meth:`array`)
    #: what was placed: the brief's packshot (``supplied``) or a drawn product (``generated``);
    #: None for an estimated footprint (a model placed the product) and in older manifests
    origin: Literal["supplied", "generated"] | None = None
    source_size: tuple[int, int] | None = None  # (W, H) of the product image that was scaled
    scale: float | None = None  # placed px per source px (> 1: the product image was enlarged)

    @property
    def share(self) -> float:
        return self.area_px / max(1, self.width * self.height)

    @property
    def measured(self) -> bool:
        return self.source == "measured"

    def array(self) -> np.ndarray:
        """The mask as a ``(height, width)`` bool array."""
        bits = np.frombuffer(zlib.decompress(base64.b64decode(self.mask)), np.uint8)
        return (
            np.unpackbits(bits, count=self.width * self.height).reshape(self.height, self.width).astype(bool)
        )

    @classmethod
    def from_array(cls, mask: np.ndarray, source: str = "measured") -> ProductFootprint:
        mask = np.asarray(mask, bool)
        h, w = mask.shape
        ys, xs = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
        bbox = (int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1) if len(xs) else (0, 0, 0, 0)
        packed = base64.b64encode(zlib.compress(np.packbits(mask).tobytes(), 6)).decode("ascii")
        return cls(width=w, height=h, bbox=bbox, area_px=int(mask.sum()), source=source, mask=packed)


def placed_footprint(
    canvas_size: tuple[int, int],
    sized: Image.Image,
    at: tuple[int, int],
    source_size: tuple[int, int] | None = None,
    origin: Literal["supplied", "generated"] | None = None,
) -> ProductFootprint:
    """The footprint of ``sized`` (RGBA, already scaled) pasted with its alpha at ``at``. With
    ``source_size`` (the product image before scaling) the footprint records the placement scale."""
    w, h = canvas_size
    mask = np.zeros((h, w), bool)
    alpha = np.asarray(sized.getchannel("A")) >= ALPHA_THRESHOLD
    x, y = at
    x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + sized.width), min(h, y + sized.height)
    if x1 > x0 and y1 > y0:
        mask[y0:y1, x0:x1] = alpha[y0 - y : y1 - y, x0 - x : x1 - x]
    footprint = ProductFootprint.from_array(mask)
    scale = None
    if source_size is not None:
        scale = round(min(sized.width / max(1, source_size[0]), sized.height / max(1, source_size[1])), 4)
        source_size = (int(source_size[0]), int(source_size[1]))
    return footprint.model_copy(update={"origin": origin, "source_size": source_size, "scale": scale})


def box_footprint(canvas_size: tuple[int, int], box: Box) -> ProductFootprint:
    """An estimated footprint: the whole box (a generative model placed the product inside it)."""
    w, h = canvas_size
    mask = np.zeros((h, w), bool)
    x0, y0, x1, y1 = (max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3]))
    if x1 > x0 and y1 > y0:
        mask[y0:y1, x0:x1] = True
    return ProductFootprint.from_array(mask, source="estimated")


class ProductVisibility(BaseModel):
    """How much of the placed product is still visible on the final creative, and where."""

    visible_px: int
    visible_share: float  # of the canvas
    visible_of_placed: float  # of the placed product pixels
    bbox: Box  # tight box of the visible product pixels
    source: str  # the footprint's: measured | estimated
    #: the visible product pixels themselves (``visible.array()``), same canvas as the footprint
    visible: ProductFootprint | None = None

    def array(self) -> np.ndarray:
        if self.visible is None:
            raise ValueError("no visible mask recorded")
        return self.visible.array()


def product_visibility(
    footprint: ProductFootprint, before: Image.Image, after: Image.Image, covered: Sequence[Box] = ()
) -> ProductVisibility:
    """The footprint's pixels that ``after`` still shows as ``before`` had them, outside ``covered``
    boxes (the logo, placed between the two). ``before`` and ``after`` have the footprint's size."""
    mask = footprint.array()
    if (after.width, after.height) != (footprint.width, footprint.height):
        raise ValueError("footprint and image sizes differ")
    visible = np.zeros_like(mask)
    x0, y0, x1, y1 = footprint.bbox  # outside it there is no product pixel to compare
    if x1 > x0 and y1 > y0:
        box = (x0, y0, x1, y1)
        a = np.asarray(before.crop(box).convert("RGB"), np.int16)
        b = np.asarray(after.crop(box).convert("RGB"), np.int16)
        visible[y0:y1, x0:x1] = mask[y0:y1, x0:x1] & (np.abs(a - b).max(axis=2) <= COVER_THRESHOLD)
    for x0, y0, x1, y1 in covered:
        visible[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = False
    vis = ProductFootprint.from_array(visible, source=footprint.source)
    return ProductVisibility(
        visible_px=vis.area_px,
        visible_share=round(vis.area_px / max(1, mask.size), 5),
        visible_of_placed=round(vis.area_px / max(1, footprint.area_px), 4),
        bbox=vis.bbox,
        source=footprint.source,
        visible=vis,
    )
