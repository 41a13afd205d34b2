"""``text_legibility``: WCAG contrast measured on the final pixels inside each block's ink box,
minimum type sizes, and no clipped or overflowing block."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PIL import Image

from creative_assets.compliance.outcome import CheckOutcome, Finding, make_outcome
from creative_assets.compliance.pixels import as_rgb, dilate
from creative_assets.render.color import contrast_against_pixels, hex_to_rgb
from creative_assets.render.layout import Box, boxes_overlap
from creative_assets.render.treatments import box_pixels, knockout_contrast
from creative_assets.render.type_sizes import describe_minimum, minimum_size
from creative_assets.stages import TextBlockReport

if TYPE_CHECKING:
    from creative_assets.compliance.context import CreativeContext

#: Text: WCAG AA for normal and large text.
AA_NORMAL = 4.5
AA_LARGE = 3.0
#: Large text thresholds in px per 1080 px of short side (WCAG 18 pt regular / 14 pt bold).
LARGE_REGULAR_PX = 24.0
LARGE_BOLD_PX = 18.66
BOLD_ROLES = frozenset({"headline", "cta", "badge"})
#: Ink box may exceed the block box by this many px before it counts as overflowing.
OVERFLOW_TOLERANCE_PX = 2


#: Below this size (px) glyph strokes are a pixel or two wide and mostly anti-aliased: few pixels
#: reach the text colour, so the ground is measured with the strokes removed (:func:`ground_under_strokes`).
SMALL_TEXT_PX = 24


def ground_under_strokes(px: np.ndarray, colour: np.ndarray, size: int) -> np.ndarray:
    """The ground beneath small text: the ink box with every stroke narrower than 0.3 of the type
    size (and its anti-aliased fringe) replaced by the pixels around it, by a grey-level closing
    (text darker than its surroundings) or opening (lighter). A patch of imagery wider than a
    stroke survives it, so text over a patch of its own colour still measures low."""
    k = max(3, round(size * 0.3)) | 1
    kernel = np.ones((k, k), np.uint8)
    lum = px[..., :3].astype(np.float64) @ np.array([0.2126, 0.7152, 0.0722])
    darker = float(colour[:3] @ np.array([0.2126, 0.7152, 0.0722])) < float(np.median(lum))
    op = cv2.MORPH_CLOSE if darker else cv2.MORPH_OPEN
    ground = cv2.morphologyEx(
        np.ascontiguousarray(px[..., :3].astype(np.uint8)), op, kernel, borderType=cv2.BORDER_REPLICATE
    )
    return ground.reshape(-1, 3).astype(np.float64)


def text_contrast(
    image: Image.Image | np.ndarray,
    colour: str | Sequence[int],
    ink_bbox: Box,
    percentile: float = 10.0,
    exclude: Sequence[Box] = (),
    size: int | None = None,
) -> float:
    """WCAG contrast of text in ``colour`` against its background, measured on the final pixels.

    Inside ``ink_bbox``: text pixels are those within RGB distance 24 of ``colour``; they and a 1 px
    anti-aliasing fringe around them are excluded, the rest is background; the result is the
    ``percentile``-th lowest per-pixel contrast of ``colour`` against that background. When more than
    60 % of the box is text-coloured, the ground itself matches the text: every pixel counts as
    background (and the contrast comes out near 1). Text of ``size`` below :data:`SMALL_TEXT_PX` is
    measured against :func:`ground_under_strokes` instead (its strokes are mostly fringe, which the
    colour test cannot tell from the ground).
    """
    arr = image if isinstance(image, np.ndarray) else np.asarray(as_rgb(image))
    px = box_pixels(arr, ink_bbox)
    if px is None:
        return 1.0
    x0, y0 = max(0, ink_bbox[0]), max(0, ink_bbox[1])
    rgb = np.asarray(hex_to_rgb(colour) if isinstance(colour, str) else colour[:3], np.float64)
    text = np.sqrt(((px - rgb) ** 2).sum(-1)) < 24
    if exclude:  # colour emoji are glyphs, not background: their pixels count as text
        for ex0, ey0, ex1, ey1 in exclude:
            text[max(0, ey0 - y0) : max(0, ey1 - y0), max(0, ex0 - x0) : max(0, ex1 - x0)] = True
    if text.mean() > 0.6:
        background = px.reshape(-1, 3)
    else:
        background = px[~dilate(text, 1)]
        if len(background) < 0.05 * text.size:
            background = px[~text]
        if len(background) == 0:
            background = px.reshape(-1, 3)
    if size is not None and size < SMALL_TEXT_PX and not exclude and text.mean() <= 0.6:
        return contrast_against_pixels(rgb, ground_under_strokes(px, rgb, size), percentile)
    return contrast_against_pixels(rgb, background, percentile)


def required_contrast(role: str, size: int, short_side: int) -> float:
    """4.5:1, or 3:1 for large text (>= 24 px per 1080 px of short side; 18.66 px for bold roles)."""
    large_px = (LARGE_BOLD_PX if role in BOLD_ROLES else LARGE_REGULAR_PX) * short_side / 1080
    return AA_LARGE if size >= large_px else AA_NORMAL


def check_text_legibility(
    image: Image.Image, blocks: Sequence[TextBlockReport], short_side: int
) -> CheckOutcome:
    """Per block: contrast on the final pixels (ERROR below 4.5:1, 3:1 for large text; a knockout
    block: its panel colour against the imagery showing through its letters), the block must
    fit with its ink inside the image and inside its box (+2 px) (ERROR), and the type must reach the
    role's minimum size (ERROR, ``render/type_sizes.py``): headline 3.5 %, sub-line/CTA/badge 2.4 %,
    legal line 1.6 % of the short side, and never below 12 / 10 / 8 px; no two blocks' ink may
    overlap (ERROR).
    Headline and CTA count as bold."""
    arr = np.asarray(as_rgb(image))
    H, W = arr.shape[:2]
    findings: list[Finding] = []
    contrasts: list[float] = []
    margins: list[float] = []
    sizes: list[float] = []
    for block in blocks:
        where = block.role
        if block.knockout:  # letters cut out of a panel in block.colour: the imagery must read on it
            contrast = knockout_contrast(arr, block.colour, block.ink_bbox)
        else:
            contrast = text_contrast(
                arr, block.colour, block.ink_bbox, exclude=block.emoji_boxes, size=block.size
            )
        need = required_contrast(block.role, block.size, short_side)
        contrasts.append(contrast)
        margins.append(contrast - need)
        sizes.append(block.size)
        if contrast < need:
            findings.append(
                Finding(
                    check="text_legibility",
                    severity="ERROR",
                    message=f"{block.role} '{block.text}' contrast {contrast:.2f}:1 on the final pixels, "
                    f"needs {need:.1f}:1 ({block.size} px {block.colour})",
                    where=where,
                )
            )
        ix0, iy0, ix1, iy1 = block.ink_bbox
        bx0, by0, bx1, by1 = block.box
        t = OVERFLOW_TOLERANCE_PX
        problems = []
        if not block.fits:
            problems.append(block.problem or "does not fit its box at the minimum size")
        if ix0 < 0 or iy0 < 0 or ix1 > W or iy1 > H:
            problems.append(f"ink {block.ink_bbox} runs off the {W}x{H} canvas")
        elif ix0 < bx0 - t or iy0 < by0 - t or ix1 > bx1 + t or iy1 > by1 + t:
            problems.append(f"ink {block.ink_bbox} overflows its box {block.box}")
        if problems:
            findings.append(
                Finding(
                    check="text_legibility",
                    severity="ERROR",
                    message=f"{block.role} '{block.text}' clipped/overflowing: {'; '.join(problems)}",
                    where=where,
                )
            )
        if block.size < minimum_size(block.role, short_side):
            findings.append(
                Finding(
                    check="text_legibility",
                    severity="ERROR",
                    message=f"{block.role} '{block.text}' is {block.size} px, below the minimum "
                    f"{describe_minimum(block.role, short_side)}",
                    where=where,
                )
            )
    for i, first in enumerate(blocks):  # one block's letters never run into another's
        for second in blocks[i + 1 :]:
            if boxes_overlap(first.ink_bbox, second.ink_bbox) and first.lines and second.lines:
                findings.append(
                    Finding(
                        check="text_legibility",
                        severity="ERROR",
                        message=f"{first.role} '{first.text}' and {second.role} '{second.text}' overlap: "
                        f"ink {first.ink_bbox} and {second.ink_bbox}",
                        where=second.role,
                    )
                )
    figures = {
        "min_contrast": min(contrasts, default=21.0),
        "min_margin": min(margins, default=0.0),
        "smallest_size": min(sizes, default=0.0),
    }
    return make_outcome("text_legibility", findings, figures)


def run(ctx: CreativeContext) -> CheckOutcome:
    return check_text_legibility(ctx.image, ctx.report.blocks, ctx.short_side)
