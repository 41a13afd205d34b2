"""Layout planning: a designer template executed against a platform placement.

``plan_layout`` returns the regions of a creative (product, headline, sub-line, CTA, legal line,
optional badge, logo) for one placement (``creative_assets.placements``) and one template
(``creative_assets.templates``): every slot box is the template's fraction of the placement's
content area (its safe area minus the band the logo reserves), clamped to the slot's minimum and
maximum height. Right-to-left locales mirror the layout as the template's ``rtl`` rules say, and the
safe area mirrors with it (platform UI moves to the other side in RTL apps). There is no other
layout code path: the built-in layouts are templates too. Pure function; boxes are
``(x0, y0, x1, y1)`` in pixels.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from creative_assets.placements import (
    RATIO_DEFAULT_PLACEMENTS,
    Placement,
    default_placement_for_ratio,
    get_placement,
)
from creative_assets.templates import Template, builtin_templates, templates_serving
from creative_assets.vocabulary import Box


def placement_for_key(key: str) -> Placement:
    """The placement an output key names: a placement name, or a legacy ratio (``9:16``) that maps
    to its documented default placement."""
    return default_placement_for_ratio(key) if key in RATIO_DEFAULT_PLACEMENTS else get_placement(key)


def layout_variants(key: str, templates: dict[str, Template] | None = None) -> tuple[str, ...]:
    """The templates that serve the output ``key``'s placement class, in rotation order."""
    placement = placement_for_key(key)
    names = templates_serving(templates or builtin_templates(), placement)
    if not names:
        raise ValueError(
            f"no template serves {placement.placement_class} placements such as {placement.name}"
        )
    return tuple(names)


Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]


class Layout(BaseModel):
    """Where each element goes on one canvas. ``ratio`` is the output key (a placement name, or a
    legacy ratio such as ``9:16``); ``variant`` is the template's name; ``safe_zone`` the placement's."""

    model_config = ConfigDict(frozen=True)
    ratio: str
    width: int
    height: int
    variant: str
    direction: Literal["ltr", "rtl"]
    safe_zone: str
    safe_box: Box
    placement_class: str = "square"
    product_box: Box
    headline_box: Box
    subline_box: Box
    cta_box: Box
    disclaimer_box: Box
    logo_box: Box  # the area the logo may occupy (its clear space is outside this box)
    logo_corner: Corner
    text_align: Literal["start", "center"]
    #: Region the text sits in as a whole (headline + subline + CTA): where a text treatment goes.
    text_region: Box
    #: the optional price / promo badge slot
    badge_box: Box | None = None
    #: template rules the renderers follow: where the headline + sub-line group sits in its box,
    #: whether the CTA button follows the sub-line, and the treatments each slot allows
    text_anchor: Literal["top", "bottom", "center"] = "top"
    cta_stacked: bool = False
    text_treatments: tuple[str, ...] = ("none", "gradient", "panel")
    legal_treatments: tuple[str, ...] = ("none", "panel")
    badge_treatments: tuple[str, ...] = ("panel",)
    product_treatments: tuple[str, ...] = ("cutout", "full-bleed")
    logo_variant: str = "auto"
    logo_plate: bool = True
    #: lines the sub-line (product name) may take: the template's ``subline.max_lines`` (default 2)
    subline_max_lines: int = 2
    #: the template's ``subline.optional``: a sub-line that cannot reach its minimum size is left out
    subline_optional: bool = False
    #: the template's ``text.without_legal: recentre``: no legal line, the copy and CTA centre over its room
    recentre_without_legal: bool = False

    @property
    def short_side(self) -> int:
        return min(self.width, self.height)

    @property
    def type_base(self) -> int:
        """The length type sizes are fractions of: the short side, except on banners, whose short
        side would give unreadable type: a strip (728x90, 320x50) sizes type from two thirds of its
        length, a tower (160x600) from its length / 2.2; the slot boxes then cap the size."""
        short, long = self.short_side, max(self.width, self.height)
        if self.placement_class != "banner":
            return short
        if self.width / self.height >= 2.5:
            return max(short, round(long / 1.5))
        return max(short, round(long / 2.2))


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


def _corner(anchor: str, kit_corner: Corner) -> Corner:
    if anchor == "kit":
        return kit_corner
    vertical, side = anchor.split("-")
    return f"{vertical}-{'left' if side == 'start' else 'right'}"  # type: ignore[return-value]


def _slot_box(geom, frame: Box, short: int) -> Box:
    """A template slot in pixels: its fractions of ``frame``, height clamped (keeping its anchor)."""
    fx0, fy0, fx1, fy1 = frame
    fw, fh = fx1 - fx0, fy1 - fy0
    x0, y0, x1, y1 = geom.box
    box = [fx0 + round(fw * x0), fy0 + round(fh * y0), fx0 + round(fw * x1), fy0 + round(fh * y1)]
    height = box[3] - box[1]
    target = height
    if geom.min_height is not None:
        target = max(target, round(short * geom.min_height))
    if geom.max_height is not None:
        target = min(target, round(short * geom.max_height))
    if target != height:
        if geom.anchor == "top":
            box[3] = box[1] + target
        elif geom.anchor == "bottom":
            box[1] = box[3] - target
        else:
            mid = (box[1] + box[3]) // 2
            box[1], box[3] = mid - target // 2, mid - target // 2 + target
    # a clamp never pushes a slot out of the content area
    if box[3] > fy1:
        box[1], box[3] = box[1] - (box[3] - fy1), fy1
    if box[1] < fy0:
        box[1], box[3] = fy0, box[3] + (fy0 - box[1])
    return (box[0], box[1], box[2], min(box[3], fy1))


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
    logo_allow_plate: bool = True,
    templates: dict[str, Template] | None = None,
    placement: Placement | None = None,
) -> Layout:
    """Plan the regions for one canvas of ``size`` for output key ``ratio`` (a placement name or a
    legacy ratio, see :func:`placement_for_key`) with the template named ``variant``, one of
    :func:`layout_variants` (``templates``: the brand's templates; default the built-ins)."""
    templates = templates or builtin_templates()
    placement = placement or placement_for_key(ratio)
    if variant not in templates:
        raise ValueError(f"unknown template {variant!r}; known: {', '.join(templates)}")
    template = templates[variant]
    if not template.serves_placement(placement):
        shape = f"{placement.placement_class} placement {placement.name} ({placement.aspect_label})"
        raise ValueError(
            f"template {variant!r} serves {', '.join(template.serves)}"
            + (f" of aspect {template.aspect[0]}-{template.aspect[1]}" if template.aspect else "")
            + f", not the {shape}; choose from {layout_variants(ratio, templates)}"
        )
    width, height = size
    sx0, sy0, sx1, sy1 = placement.safe_area.box(width, height)
    short = min(width, height)
    slots = template.slots

    lw, lh = logo_size(short, logo_aspect, logo_min_ratio, logo_max_ratio, logo_min_px)
    pad = round(lh * clear_space)
    if lw + 2 * pad > sx1 - sx0:  # a narrow banner: the logo and its clear space fit the safe width
        lw = sx1 - sx0 - 2 * pad
        lh = max(1, round(lw / logo_aspect))
    corner = _corner(slots.logo.anchor, logo_corner)
    top_logo = corner.startswith("top")
    ly0 = sy0 + pad if top_logo else sy1 - pad - lh
    lx0 = sx0 + pad if corner.endswith("left") else sx1 - pad - lw
    logo_box: Box = (lx0, ly0, lx0 + lw, ly0 + lh)
    if slots.logo.reserve == "column":  # a column at the logo's side, e.g. a strip banner
        if lh + 2 * pad > sy1 - sy0:  # the logo fits the strip's height, clear space included
            lh = max(1, sy1 - sy0 - 2 * pad)
            lw = round(lh * logo_aspect)
        ly0 = sy0 + max(0, (sy1 - sy0 - lh) // 2)
        lx0 = sx0 + pad if corner.endswith("left") else sx1 - pad - lw
        logo_box = (lx0, ly0, lx0 + lw, ly0 + lh)
        column = lw + 2 * pad
        content: Box = (
            (sx0 + column, sy0, sx1, sy1) if corner.endswith("left") else (sx0, sy0, sx1 - column, sy1)
        )
    else:
        band = lh + 2 * pad  # the logo with its clear space
        content = (sx0, sy0 + band, sx1, sy1) if top_logo else (sx0, sy0, sx1, sy1 - band)

    safe: Box = (sx0, sy0, sx1, sy1)
    logo_clear: Box = (logo_box[0] - pad, logo_box[1] - pad, logo_box[2] + pad, logo_box[3] + pad)

    def place(geom, avoid: tuple[Box, ...] = ()) -> Box:
        """The slot in the whole safe area when it asks for that and stays clear of the logo and of
        ``avoid`` (the text slots, for the product); else in the content area."""
        if geom.frame == "safe":
            box = _slot_box(geom, safe, short)
            if not any(boxes_overlap(box, other) for other in (logo_clear, *avoid)):
                return box
        return _slot_box(geom, content, short)

    headline = place(slots.headline)
    subline = place(slots.subline)
    cta = place(slots.cta)
    legal = place(slots.legal)
    badge = place(slots.badge) if slots.badge is not None else None
    text_boxes = (headline, subline, legal, *(() if template.text.cta == "stacked" else (cta,)))
    product = place(slots.product, text_boxes + ((badge,) if badge else ()))
    text_region = (
        min(headline[0], subline[0]),
        headline[1],
        max(headline[2], subline[2]),
        cta[3] if template.text.cta == "stacked" else subline[3],
    )
    layout = Layout(
        ratio=ratio,
        width=width,
        height=height,
        variant=variant,
        direction="ltr",
        safe_zone=placement.name,
        safe_box=(sx0, sy0, sx1, sy1),
        placement_class=placement.placement_class,
        product_box=product,
        headline_box=headline,
        subline_box=subline,
        cta_box=cta,
        disclaimer_box=legal,
        logo_box=logo_box,
        logo_corner=corner,
        text_align=slots.headline.align,
        text_region=text_region,
        badge_box=badge,
        text_anchor=template.text.anchor,
        cta_stacked=template.text.cta == "stacked",
        text_treatments=tuple(slots.headline.treatments),
        legal_treatments=tuple(slots.legal.treatments),
        badge_treatments=tuple(slots.badge.treatments) if slots.badge is not None else ("panel",),
        product_treatments=tuple(slots.product.treatments),
        logo_variant=slots.logo.variant,
        subline_max_lines=slots.subline.max_lines or 2,
        subline_optional=slots.subline.optional,
        recentre_without_legal=template.text.without_legal == "recentre",
        logo_plate=logo_allow_plate and slots.logo.plate == "if-kit-allows",
    )
    if direction == "rtl" and template.rtl.mirror:
        mirror_logo = {"kit": mirror_logo_for_rtl, "mirror": True, "keep": False}[template.rtl.logo]
        layout = mirror_layout(layout, mirror_logo=mirror_logo)
    elif direction == "rtl":
        layout = layout.model_copy(update={"direction": "rtl"})
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
    if layout.badge_box is not None:
        updates["badge_box"] = mirror_box(layout.badge_box, w)
    if mirror_logo:
        updates["logo_box"] = mirror_box(layout.logo_box, w)
        updates["logo_corner"] = _mirror_corner(layout.logo_corner)
    return layout.model_copy(update={**updates, "direction": "rtl"})


def boxes_overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def inside(inner: Box, outer: Box) -> bool:
    return inner[0] >= outer[0] and inner[1] >= outer[1] and inner[2] <= outer[2] and inner[3] <= outer[3]
