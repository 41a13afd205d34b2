"""Layout planning: a deliberate arrangement per aspect ratio, not a stretch or a blind crop.

``plan_layout`` returns the regions of a creative (product, headline, sub-line, CTA, disclaimer,
logo) inside the platform safe zone for the ratio. Right-to-left locales mirror the layout, so text
starts on the right. Pure function; boxes are ``(x0, y0, x1, y1)`` in pixels.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from creative_assets.vocabulary import Box


class SafeZone(BaseModel):
    """Fractions of the canvas covered by platform UI (kept free of text and logo)."""

    model_config = ConfigDict(frozen=True)
    name: str
    top: float
    bottom: float
    left: float
    right: float
    description: str = ""

    def box(self, width: int, height: int) -> Box:
        return (
            round(width * self.left),
            round(height * self.top),
            round(width * (1 - self.right)),
            round(height * (1 - self.bottom)),
        )


#: Safe-zone profiles per ratio (documented in README "Safe zones"). 9:16 is the union of Instagram
#: and Facebook Reels/Stories and TikTok: profile name, caption and action rails cover the bottom
#: ~20%, the top ~14% holds the progress bar and account header, TikTok's action rail sits on the right.
SAFE_ZONES: dict[str, SafeZone] = {
    "1:1": SafeZone(
        name="feed-square",
        top=0.05,
        bottom=0.05,
        left=0.05,
        right=0.05,
        description="Instagram/Facebook feed; 5% margin against rounded crops.",
    ),
    "4:5": SafeZone(
        name="feed-portrait",
        top=0.05,
        bottom=0.05,
        left=0.05,
        right=0.05,
        description="Instagram/Facebook feed portrait; 5% margin.",
    ),
    "9:16": SafeZone(
        name="reels-stories-tiktok",
        top=0.14,
        bottom=0.20,
        left=0.06,
        right=0.12,
        description="Union of IG/FB Reels and Stories and TikTok UI overlays.",
    ),
    "16:9": SafeZone(
        name="landscape-feed",
        top=0.06,
        bottom=0.09,
        left=0.05,
        right=0.05,
        description="Feed/in-stream landscape; bottom 9% for player controls.",
    ),
}

VARIANTS: dict[str, tuple[str, ...]] = {
    "1:1": ("text-top", "text-side", "text-bottom"),
    "4:5": ("text-top", "text-bottom", "text-side"),
    "9:16": ("text-top", "text-bottom"),
    "16:9": ("text-side", "text-side-far"),
}

Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]


class Layout(BaseModel):
    """Where each element goes on one canvas."""

    model_config = ConfigDict(frozen=True)
    ratio: str
    width: int
    height: int
    variant: str
    direction: Literal["ltr", "rtl"]
    safe_zone: str
    safe_box: Box
    product_box: Box
    headline_box: Box
    subline_box: Box
    cta_box: Box
    disclaimer_box: Box
    logo_box: Box  # the area the logo may occupy (its clear space is outside this box)
    logo_corner: Corner
    text_align: Literal["start", "center"]
    #: Region the text sits in as a whole (headline + subline + CTA): where a scrim/panel goes.
    text_region: Box

    @property
    def short_side(self) -> int:
        return min(self.width, self.height)


def mirror_box(box: Box, width: int) -> Box:
    x0, y0, x1, y1 = box
    return (width - x1, y0, width - x0, y1)


def _mirror_corner(corner: Corner) -> Corner:
    vertical, horizontal = corner.split("-")
    return f"{vertical}-{'right' if horizontal == 'left' else 'left'}"  # type: ignore[return-value]


def logo_size(
    short_side: int, logo_aspect: float, min_ratio: float, max_ratio: float, min_px: int
) -> tuple[int, int]:
    """Logo width/height: 20% of the short side, clamped to the brand's min/max, height-capped."""
    width = round(short_side * min(max(0.20, min_ratio), max_ratio))
    width = max(width, min_px)
    height = round(width / logo_aspect)
    max_height = round(short_side * 0.11)
    if height > max_height:  # tall/square marks: cap the height, keep the minimum width rule
        height = max_height
        width = max(round(height * logo_aspect), round(short_side * min_ratio), min_px)
        height = round(width / logo_aspect)
    return width, height


def plan_layout(
    ratio: str,
    size: tuple[int, int],
    variant: str,
    direction: Literal["ltr", "rtl"] = "ltr",
    *,
    logo_aspect: float = 3.3,
    logo_corner: Corner = "top-left",
    logo_min_ratio: float = 0.14,
    logo_max_ratio: float = 0.30,
    logo_min_px: int = 120,
    clear_space: float = 0.25,
    mirror_logo_for_rtl: bool = True,
) -> Layout:
    """Plan the regions for one canvas. ``variant`` must be one of ``VARIANTS[ratio]``."""
    if ratio not in VARIANTS:
        raise ValueError(f"unsupported aspect ratio {ratio!r}; supported: {', '.join(VARIANTS)}")
    if variant not in VARIANTS[ratio]:
        raise ValueError(f"unknown layout variant {variant!r} for {ratio}; choose from {VARIANTS[ratio]}")
    width, height = size
    zone = SAFE_ZONES[ratio]
    sx0, sy0, sx1, sy1 = zone.box(width, height)
    short = min(width, height)
    gap = round(short * 0.035)

    lw, lh = logo_size(short, logo_aspect, logo_min_ratio, logo_max_ratio, logo_min_px)
    pad = round(lh * clear_space)
    corner: Corner = logo_corner
    # Logo in the top band by default; bottom corners are honoured only where the layout keeps the
    # bottom free of text (text-top variants); otherwise the logo moves to the top, same side.
    top_logo = corner.startswith("top") or variant in ("text-bottom", "text-side", "text-side-far")
    if not top_logo and ratio == "9:16":
        top_logo = True
    if top_logo:
        corner = corner.replace("bottom", "top")  # type: ignore[assignment]
    ly0 = sy0 + pad if top_logo else sy1 - pad - lh
    lx0 = sx0 + pad if corner.endswith("left") else sx1 - pad - lw
    logo_box: Box = (lx0, ly0, lx0 + lw, ly0 + lh)
    logo_band = lh + 2 * pad  # vertical space the logo reserves (with clear space)

    cw, ch = sx1 - sx0, sy1 - sy0
    cta_h = round(short * (0.085 if ratio != "16:9" else 0.095))
    disc_h = round(short * 0.05)  # room for two lines of legal copy
    text_align: Literal["start", "center"] = "start"

    if variant == "text-top":
        # headline band across the top; CTA and legal line bottom-start; the product stands
        # bottom-end, reaching into the platform UI band on 9:16 (imagery may go there, text may not)
        top = sy0 + (logo_band + gap if top_logo else 0)
        headline = (sx0, top, sx1, top + round(ch * (0.22 if ratio != "9:16" else 0.19)))
        subline = (sx0, headline[3] + gap // 2, sx1, headline[3] + gap // 2 + round(short * 0.06))
        bottom = sy1 - (logo_band if not top_logo else 0)
        col = round(cw * (0.5 if ratio == "9:16" else 0.42))
        cta = (sx0, bottom - disc_h - gap // 2 - cta_h, sx0 + col, bottom - disc_h - gap // 2)
        disclaimer = (sx0, bottom - disc_h, sx0 + col, bottom)
        product_bottom = round(height * 0.97) if ratio == "9:16" else bottom
        product = (sx0 + col + gap, subline[3] + gap, width - round(width * 0.03), product_bottom)
        text_region = (sx0, top, sx1, subline[3])
    elif variant == "text-bottom":
        # product up top beside the logo, text block across the bottom
        disclaimer = (sx0, sy1 - disc_h, sx1, sy1)
        cta = (sx0, disclaimer[1] - gap // 2 - cta_h, sx1, disclaimer[1] - gap // 2)
        subline = (sx0, cta[1] - gap - round(short * 0.06), sx1, cta[1] - gap)
        headline = (
            sx0,
            subline[1] - gap // 2 - round(ch * (0.20 if ratio != "9:16" else 0.17)),
            sx1,
            subline[1] - gap // 2,
        )
        if corner.endswith("left"):
            product = (logo_box[2] + pad + gap, sy0, sx1, headline[1] - gap)
        else:
            product = (sx0, sy0, logo_box[0] - pad - gap, headline[1] - gap)
        text_region = (sx0, headline[1], sx1, cta[3])
    else:  # text-side / text-side-far: a text column beside the product
        col_w = round(cw * (0.48 if ratio == "16:9" else 0.50))
        text_first = variant == "text-side"
        tx0 = sx0 if text_first else sx1 - col_w
        tx1 = tx0 + col_w
        px0, px1 = (tx1 + gap, sx1) if text_first else (sx0, tx0 - gap)
        body_top = sy0 + logo_band
        disclaimer = (tx0, sy1 - disc_h, tx1, sy1)
        avail = disclaimer[1] - gap - body_top
        head_h = round(avail * 0.50)
        sub_h = round(short * 0.06)
        block_h = head_h + gap // 2 + sub_h + gap + cta_h
        y = body_top + max(0, (avail - block_h) // 2)
        headline = (tx0, y, tx1, y + head_h)
        subline = (tx0, headline[3] + gap // 2, tx1, headline[3] + gap // 2 + sub_h)
        cta = (tx0, subline[3] + gap, tx1, subline[3] + gap + cta_h)
        product = (px0, body_top, px1, sy1)
        text_region = (tx0, headline[1], tx1, cta[3])

    layout = Layout(
        ratio=ratio,
        width=width,
        height=height,
        variant=variant,
        direction="ltr",
        safe_zone=zone.name,
        safe_box=(sx0, sy0, sx1, sy1),
        product_box=product,
        headline_box=headline,
        subline_box=subline,
        cta_box=cta,
        disclaimer_box=disclaimer,
        logo_box=logo_box,
        logo_corner=corner,
        text_align=text_align,
        text_region=text_region,
    )
    if direction == "rtl":
        layout = mirror_layout(layout, mirror_logo=mirror_logo_for_rtl)
    return layout


def mirror_layout(layout: Layout, mirror_logo: bool = True) -> Layout:
    """The same layout for a right-to-left locale: every region mirrored left-right."""
    w = layout.width
    updates = {
        name: mirror_box(getattr(layout, name), w)
        for name in (
            "safe_box",
            "product_box",
            "headline_box",
            "subline_box",
            "cta_box",
            "disclaimer_box",
            "text_region",
        )
    }
    if mirror_logo:
        updates["logo_box"] = mirror_box(layout.logo_box, w)
        updates["logo_corner"] = _mirror_corner(layout.logo_corner)
    return layout.model_copy(update={**updates, "direction": "rtl"})


def boxes_overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def inside(inner: Box, outer: Box) -> bool:
    return inner[0] >= outer[0] and inner[1] >= outer[1] and inner[2] <= outer[2] and inner[3] <= outer[3]
