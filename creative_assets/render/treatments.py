"""Text treatments: the ground a headline and sub-line are given so that they read.

A template lists the treatments its headline allows, in order of preference (``templates``:
``none``, ``gradient``, ``panel``, ``knockout``). :func:`apply_treatment` draws one of them on a
copy of the canvas and *measures* the result: the worst WCAG contrast of the headline and sub-line
lines against the pixels they will sit on. The renderer (``render/finals.py``) takes the first
allowed treatment that reaches AA, else the best measured one, and records every figure it tried.

- ``none``: the imagery as it is.
- ``gradient``: a wash anchored to the canvas edge nearest the copy, opaque behind it and fading
  out towards the middle (never a band floating mid-canvas), kept out of the logo's clear space.
- ``panel``: a crisp, opaque shape in a brand colour (the first of primary, secondary, accent,
  neutral dark and light on which one of the kit's text colours reads), square-cornered or softly
  rounded after the kit's CTA style; it stays out of the logo's clear space and off the product.
- ``knockout``: the same solid panel with the headline's letters cut out of it, so the imagery
  shows through the letters; the panel colour is the brand colour that contrasts most with the
  imagery behind the headline, and the sub-line is set in a text colour on the panel. Not offered
  for a headline with colour emoji (a glyph cannot be cut out in colour).

Pure module: imports no Dagster and no ``resources``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from creative_assets.brand_kit import BrandKit
from creative_assets.render.color import (
    contrast_against_pixels,
    contrast_ratio,
    hex_to_rgb,
    relative_luminance,
)
from creative_assets.render.layout import Layout, boxes_overlap
from creative_assets.render.text import TextLayout, draw_text
from creative_assets.vocabulary import Box

#: The treatments a template may allow its text slots (``templates.TextTreatment``).
TEXT_TREATMENTS = ("none", "gradient", "panel", "knockout")
AA_NORMAL = 4.5
#: Pixels of a knockout letter farther than this (RGB distance) from the panel colour are imagery.
KNOCKOUT_TOLERANCE = 24


def union_box(boxes: list[Box]) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def grow_box(box: Box, by: int, limit: tuple[int, int]) -> Box:
    return (max(0, box[0] - by), max(0, box[1] - by), min(limit[0], box[2] + by), min(limit[1], box[3] + by))


def sample_pixels(image: Image.Image, box: Box) -> np.ndarray:
    """The RGB pixels of ``box`` as an (N, 3) array, on a bounded sample of at most 40,000."""
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return np.zeros((0, 3))
    region = image.crop(box)
    if region.width * region.height > 40_000:
        f = (40_000 / (region.width * region.height)) ** 0.5
        region = region.resize(
            (max(1, int(region.width * f)), max(1, int(region.height * f))), Image.Resampling.BOX
        )
    return np.asarray(region.convert("RGB"), np.float64).reshape(-1, 3)


def block_contrast(image: Image.Image, colour, line_boxes: list[Box]) -> float:
    """WCAG contrast of ``colour`` against the pixels behind a text block: the worst line, each line
    measured over its ink box at the 5th percentile (a few stray pixels do not count, a patch does)."""
    return min(contrast_against_pixels(colour, sample_pixels(image, b)) for b in line_boxes)


def legible_colour(image: Image.Image, colours: list, regions: list[Box]) -> tuple[tuple, float]:
    """The colour whose worst line contrast is highest, and that worst contrast."""
    scored = [(block_contrast(image, c, regions), tuple(c)) for c in colours]
    ratio, colour = max(scored, key=lambda s: s[0])
    return colour, ratio


@dataclass(frozen=True)
class TextGround:
    """Where the copy sits: what a treatment must give a readable ground."""

    text_area: Box
    head_regions: list[Box]
    sub_regions: list[Box]
    #: the CTA button (a panel covers it too when it stands right under the copy)
    button: Box | None
    product_bbox: Box
    knockout_ok: bool = True

    @property
    def regions(self) -> list[Box]:
        return self.head_regions + self.sub_regions


@dataclass(frozen=True)
class Treated:
    """One treatment drawn and measured."""

    name: str
    image: Image.Image
    #: the text colour of the headline and sub-line (knockout: of the sub-line)
    colour: tuple
    #: the worst line's measured contrast (knockout: panel against the imagery in the letters)
    contrast: float
    #: the knockout panel's colour; None for the other treatments
    knockout_fill: tuple | None = None


def apply_treatment(
    name: str, base: Image.Image, ground: TextGround, layout: Layout, kit: BrandKit
) -> Treated | None:
    """``name`` drawn on a copy of ``base`` and measured; None when it cannot apply here."""
    pal = kit.palette
    text_colours = [hex_to_rgb(pal.text_on_light), hex_to_rgb(pal.text_on_dark)]
    if name == "none":
        image = base.copy()
        colour, ratio = legible_colour(image, text_colours, ground.regions)
        return Treated(name, image, colour, ratio)
    if name == "gradient":
        image = base.copy()
        edge_gradient(image, ground.text_area, layout, pal)
        colour, ratio = legible_colour(image, text_colours, ground.regions)
        return Treated(name, image, colour, ratio)
    if name == "panel":
        image = base.copy()
        fill, colour = panel_colours(kit)
        draw_panel(image, panel_box(ground, layout, base.size), fill, layout, kit)
        return Treated(name, image, colour, contrast_ratio(colour, fill))
    if name == "knockout":
        if not ground.knockout_ok:
            return None
        behind = np.concatenate([sample_pixels(base, b) for b in ground.head_regions])
        fills = _brand_fills(kit)
        fill = max(fills, key=lambda f: (contrast_against_pixels(f, behind), -fills.index(f)))
        colour = max(text_colours, key=lambda c: contrast_ratio(c, fill))
        image = base.copy()
        draw_panel(image, panel_box(ground, layout, base.size), fill, layout, kit)
        sub = contrast_ratio(colour, fill)
        return Treated(name, image, colour, min(contrast_against_pixels(fill, behind), sub), fill)
    raise ValueError(f"unknown text treatment {name!r}; known: {', '.join(TEXT_TREATMENTS)}")


def _brand_fills(kit: BrandKit) -> list[tuple]:
    pal = kit.palette
    return [
        hex_to_rgb(c) for c in (pal.primary, pal.secondary, pal.accent, pal.neutral_dark, pal.neutral_light)
    ]


def panel_colours(kit: BrandKit) -> tuple[tuple, tuple]:
    """(panel fill, text colour): the first brand colour on which one of the kit's text colours
    reaches AA, in the kit's order of distinctiveness; else the pair with the most contrast."""
    pal = kit.palette
    text_colours = [hex_to_rgb(pal.text_on_light), hex_to_rgb(pal.text_on_dark)]
    pairs = []
    for fill in _brand_fills(kit):
        colour = max(text_colours, key=lambda c: contrast_ratio(c, fill))
        if contrast_ratio(colour, fill) >= AA_NORMAL + 0.5:  # a margin: the type is anti-aliased
            return fill, colour
        pairs.append((contrast_ratio(colour, fill), fill, colour))
    _, fill, colour = max(pairs, key=lambda p: p[0])
    return fill, colour


def panel_box(ground: TextGround, layout: Layout, size: tuple[int, int]) -> Box:
    """The copy (and a stacked CTA) with a margin, kept out of the logo's clear space and off the
    product (the copy's own box is never shortened: the template keeps text off the product)."""
    short = layout.type_base
    margin = round(short * 0.035)
    core = ground.text_area
    button = ground.button
    if button is not None and boxes_overlap(grow_box(core, 2 * margin, size), button):
        core = union_box([core, button])  # a CTA right under the copy stands on the panel, never on its edge
    box = grow_box(core, margin, size)
    logo = layout.logo_box
    box = clear_of(box, core, logo, round((logo[3] - logo[1]) * 0.5))
    return clear_of(box, core, ground.product_bbox, round(short * 0.01))


def clear_of(box: Box, core: Box, obstacle: Box, gap: int) -> Box:
    """``box`` shortened on the side facing ``obstacle`` (plus ``gap``) so they do not meet, never
    past ``core``; unchanged when they do not meet or ``core`` itself meets the obstacle."""
    ox0, oy0, ox1, oy1 = obstacle[0] - gap, obstacle[1] - gap, obstacle[2] + gap, obstacle[3] + gap
    if not boxes_overlap(box, (ox0, oy0, ox1, oy1)) or boxes_overlap(core, obstacle):
        return box
    x0, y0, x1, y1 = box
    options = []
    if obstacle[3] <= core[1]:
        options.append((x0, max(y0, min(core[1], oy1)), x1, y1))
    if obstacle[1] >= core[3]:
        options.append((x0, y0, x1, min(y1, max(core[3], oy0))))
    if obstacle[2] <= core[0]:
        options.append((max(x0, min(core[0], ox1)), y0, x1, y1))
    if obstacle[0] >= core[2]:
        options.append((x0, y0, min(x1, max(core[2], ox0)), y1))
    if not options:
        return box
    return max(options, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))


def draw_panel(image: Image.Image, box: Box, fill: tuple, layout: Layout, kit: BrandKit) -> None:
    """An opaque brand-colour shape with a crisp edge: square for a square-CTA kit, else softly
    rounded (a radius of 1.2 % of the short side)."""
    radius = 0 if kit.cta_style == "square" else round(layout.type_base * 0.012)
    ImageDraw.Draw(image).rounded_rectangle(box, radius=radius, fill=fill)


def knock_out(image: Image.Image, imagery: Image.Image, lay: TextLayout, box: Box) -> Box:
    """Cut ``lay``'s letters out of what ``image`` has in ``box``: the letters show ``imagery``
    (the canvas before the panel). Returns the ink box, as ``draw_text`` does."""
    mask = Image.new("L", image.size, 0)
    ink = draw_text(mask, lay, box, 255, "top")
    image.paste(imagery, (0, 0), mask)
    return ink


def box_pixels(image: Image.Image | np.ndarray, box: Box) -> np.ndarray | None:
    """The RGB pixels of ``box`` (clipped to the image) as an (h, w, 3) float array; None when the
    box is empty there."""
    arr = image if isinstance(image, np.ndarray) else np.asarray(image.convert("RGB"))
    H, W = arr.shape[:2]
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(W, box[2]), min(H, box[3])
    if x1 <= x0 or y1 <= y0:
        return None
    return arr[y0:y1, x0:x1, :3].astype(np.float64)


def knockout_contrast(
    image: Image.Image | np.ndarray, fill, ink_bbox: Box, percentile: float = 10.0
) -> float:
    """WCAG contrast of a knockout line, measured on the final pixels inside its ink box: the pixels
    farther than :data:`KNOCKOUT_TOLERANCE` from the panel colour are the letters (the imagery showing
    through), less a 1 px anti-aliased fringe; the result is the ``percentile``-th lowest contrast of
    the panel colour against them (1.0 when no letter shows: nothing reads)."""
    px = box_pixels(image, ink_bbox)
    if px is None:
        return 1.0
    rgb = np.asarray(hex_to_rgb(fill) if isinstance(fill, str) else fill[:3], np.float64)
    letters = np.sqrt(((px - rgb) ** 2).sum(-1)) >= KNOCKOUT_TOLERANCE
    inner = letters.copy()
    inner[1:, :] &= letters[:-1, :]
    inner[:-1, :] &= letters[1:, :]
    inner[:, 1:] &= letters[:, :-1]
    inner[:, :-1] &= letters[:, 1:]
    shown = px[inner] if inner.sum() >= 20 else px[letters]
    if len(shown) == 0:
        return 1.0
    return contrast_against_pixels(rgb, shown, percentile)


def knockout_block_contrast(image: Image.Image, fill: tuple, line_boxes: list[Box]) -> float:
    """The worst line's :func:`knockout_contrast`."""
    return min(knockout_contrast(image, fill, b) for b in line_boxes)


def edge_gradient(image: Image.Image, text_area: Box, layout: Layout, pal) -> None:
    """A wash anchored to the canvas edge nearest the text: opaque-ish behind it, fading out past its
    end and feathered above and below (a deliberate band from the edge, not a floating smudge). Dark
    under light text on darker grounds, light under dark text on lighter grounds."""
    W, H = image.size
    short = layout.type_base  # the short side (banners: a larger base, see Layout.type_base)
    x0, y0, x1, y1 = text_area
    mean_lum = float(relative_luminance(sample_pixels(image, text_area)).mean())
    wash = hex_to_rgb(pal.neutral_dark) if mean_lum < 0.45 else hex_to_rgb(pal.neutral_light)
    fade = round(W * 0.18)
    feather = round(short * 0.07)
    xs = np.arange(W, dtype=np.float32)
    ys = np.arange(H, dtype=np.float32)
    # the band never reaches the logo's clear space (the logo was chosen for the ground it sits on):
    # beside the text it fades out before the logo, above or below it the band stops short of it
    lx0, ly0, lx1, ly1 = layout.logo_box
    clear = round((ly1 - ly0) * 0.5)
    beside = ly0 - clear < y1 and y0 < ly1 + clear
    if (x0 + x1) / 2 > W / 2:  # text on the right half: anchor the band to the right edge
        start = x0 - fade
        if beside and lx1 + clear <= x0:
            start = max(start, lx1 + clear)
        h_ramp = np.clip((xs - start) / max(1, x0 - start), 0, 1)
    else:
        end = x1 + fade
        if beside and lx0 - clear >= x1:
            end = min(end, lx0 - clear)
        h_ramp = np.clip((end - xs) / max(1, end - x1), 0, 1)
    pad = round(short * 0.03)
    top, bottom = y0 - pad - feather, y1 + pad + feather
    if ly1 <= y0:
        top = max(top, ly1 + clear)
    elif ly0 >= y1:
        bottom = min(bottom, ly0 - clear)
    rise, fall = max(1, (y0 - pad) - top), max(1, bottom - (y1 + pad))
    v_ramp = np.clip(np.minimum((ys - top) / rise, (bottom - ys) / fall), 0, 1)
    alpha = (0.86 * 255 * v_ramp[:, None] * h_ramp[None, :]).astype(np.uint8)
    image.paste(Image.new("RGB", image.size, wash), (0, 0), Image.fromarray(alpha, "L"))


def translucent_box(image: Image.Image, box: Box, colour, opacity: float, radius: int) -> None:
    mask = Image.new("L", image.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle(box, radius=radius, fill=round(255 * opacity))
    image.paste(Image.new("RGB", image.size, colour), (0, 0), mask)
