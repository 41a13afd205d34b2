"""Candidate planning and offline candidate rendering (pure functions).

A candidate is one visual concept (style, palette emphasis, layout variant) drawn at every ratio.
Planning is provider-independent: every provider receives the same layouts, so text and logo always
have a place to go.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from creative_assets.brand_kit import BrandKit
from creative_assets.feedback import FeedbackDirectives, interpret_feedback
from creative_assets.placements import product_share_min
from creative_assets.render.layout import (
    Box,
    Layout,
    boxes_overlap,
    inside,
    layout_variants,
    placement_for_key,
    plan_layout,
)
from creative_assets.render.packshot import full_bleed_crop, is_full_bleed, product_region, shown_full_bleed
from creative_assets.render.product_mask import ProductFootprint
from creative_assets.render.scenes import (
    STYLES,
    ScenePalette,
    compose_scene,
    cutout_product,
    packaging_for,
    render_generated_product,
    scene_palette,
    to_8bit,
    variation_plan,
)
from creative_assets.stages import LocaleContextPack, UnitBrief
from creative_assets.templates import Template, templates_for


@dataclass(frozen=True)
class CandidatePlan:
    index: int
    seed: int
    style: str
    emphasis: int
    palette: ScenePalette
    layouts: dict[str, Layout]


def logo_aspect(kit: BrandKit) -> float:
    logo = kit.logo_image("primary")
    return logo.width / max(1, logo.height)


def kit_templates(kit: BrandKit) -> dict[str, Template]:
    """The templates this brand may use: built-ins plus the kit's ``templates/`` folder."""
    return templates_for(Path(kit.root) if kit.root else None)


#: Width / height of the drawn product per packaging shape (render/scenes.render_generated_product),
#: and the share of its bounding box the product fills (a round badge fills pi/4 of its square).
GENERATED_SHAPES: dict[str, tuple[float, float]] = {
    "can": (0.42, 0.93),
    "bottle": (0.36, 0.80),
    "box": (0.78, 0.95),
    "badge": (1.0, 0.785),
}
SUPPLIED_FILL = 0.85  # a packshot without alpha (kept whole): its pixels in its bounding box
#: Expected share must clear the class minimum by this factor: copy and logo may cover a little
SHARE_MARGIN = 1.1
PLACE_FILL = 0.92  # render/scenes.place_product scales the product to 92% of its box


def product_shape(unit: UnitBrief, supplied: Image.Image | None) -> tuple[float, float]:
    """(aspect, fill) of the product the candidates will place: the supplied cut-out, else the
    packaging shape the offline renderer draws for the product's text."""
    if supplied is not None:
        region = product_region(supplied)
        if is_full_bleed(supplied) and region:  # the photo is cropped to fit its product to the box
            supplied = supplied.crop(region)
        alpha = np.asarray(supplied.getchannel("A")) >= 128 if supplied.mode == "RGBA" else None
        fill = float(alpha.mean()) if alpha is not None and alpha.size else SUPPLIED_FILL
        return supplied.width / max(1, supplied.height), fill
    return GENERATED_SHAPES[packaging_for(unit.product.description, unit.product.name)]


def full_bleed_share(layout: Layout, photo: Image.Image, focus: tuple[float, float] | None) -> float:
    """The share of the canvas a full-bleed photo's product covers in ``layout``, or 0.0 when the
    crop cannot keep it clear of the copy, the badge and the logo, inside the safe area (the rotation
    then prefers a template where it can: offline, a photo is never extended to make room)."""
    crop = full_bleed_crop(photo, (layout.width, layout.height), layout.product_box, focus)
    bbox = crop.product_bbox
    if bbox is None or bbox[2] <= bbox[0] or bbox[3] <= bbox[1]:
        return 0.0
    keep_clear = [layout.headline_box, layout.subline_box, layout.disclaimer_box, layout.logo_box]
    keep_clear += [layout.cta_box] + ([layout.badge_box] if layout.badge_box else [])
    if not inside(bbox, layout.safe_box) or any(boxes_overlap(bbox, box) for box in keep_clear):
        return 0.0
    region = product_region(photo)
    alpha = np.asarray(photo.getchannel("A").crop(region)) >= 128 if region else np.ones((1, 1), bool)
    return (bbox[2] - bbox[0]) * (bbox[3] - bbox[1]) * float(alpha.mean()) / (layout.width * layout.height)


def placed_share(
    layout: Layout, product: Image.Image | None, shape: tuple[float, float], focus: tuple[float, float] | None
) -> float:
    """The product share the rotation weighs a template by: a full-bleed photo's
    (:func:`full_bleed_share`), else a cut-out's or drawn product's of ``shape``."""
    if product is not None and shown_full_bleed(product, layout.product_treatments):
        return full_bleed_share(layout, product, focus)
    return expected_product_share(layout, shape)


def expected_product_share(layout: Layout, shape: tuple[float, float]) -> float:
    """The share of the canvas a product of ``shape`` covers when placed in ``layout.product_box``."""
    aspect, fill = shape
    bw, bh = layout.product_box[2] - layout.product_box[0], layout.product_box[3] - layout.product_box[1]
    pw = min(bw * PLACE_FILL, bh * PLACE_FILL * aspect)
    return pw * (pw / aspect) * fill / (layout.width * layout.height)


def template_rotation(
    unit: UnitBrief,
    key: str,
    templates: dict[str, Template],
    share_of: Callable[[str], float] | None = None,
) -> tuple[str, ...]:
    """The templates candidates rotate through at output ``key``: those serving its placement,
    restricted to the brief's ``templates:`` when it names any (and one of them serves it), and for
    a unit with a badge to those with a badge slot (when one of them has one). With
    ``share_of`` (template -> expected product share), templates that cannot show this product at
    its placement class's minimum share drop out (the product is the hero); if none can, the one
    that shows it largest stays."""
    serving = layout_variants(key, templates)
    rotation = tuple(t for t in unit.templates if t in serving) or serving
    if unit.badge_text()[0]:  # a price or promo to show: the templates with a badge slot, where any
        rotation = tuple(t for t in rotation if templates[t].slots.badge is not None) or rotation
    if share_of is None:
        return rotation
    minimum = product_share_min(placement_for_key(key))
    shares = {t: share_of(t) for t in rotation}
    keep = tuple(t for t in rotation if shares[t] >= minimum * SHARE_MARGIN)
    return keep or (max(rotation, key=shares.__getitem__),)


def plan_candidates(
    unit: UnitBrief, pack: LocaleContextPack, kit: BrandKit, product: Image.Image | None = None
) -> list[CandidatePlan]:
    """One plan per candidate: distinct style/palette/layout, mirrored for right-to-left locales.
    ``product``: the supplied cut-out (None: the product is drawn); templates that cannot show it at
    the placement's minimum product share are left out of the rotation."""
    aspect = logo_aspect(kit)
    rules = kit.logo_placement
    templates = kit_templates(kit)
    shape = product_shape(unit, product)

    def layout_for(ratio: str, variant: str) -> Layout:
        return plan_layout(
            ratio,
            tuple(unit.sizes[ratio]),
            variant,
            pack.direction,
            logo_aspect=aspect,
            **rules.layout_arguments(),
            templates=templates,
        )

    product_seed = unit.product_seed()
    # a revision: reviewer feedback picks styles, ground and layout (creative_assets/feedback.py);
    # every revision also rotates the style order and the layout variants. It moves away from what
    # was rejected: styles the reviewer did not ask for avoid the rejected creatives' styles, and
    # "different layout" excludes their layout variants. (selection_value then refuses any candidate
    # whose pixels are a near copy of a rejected creative, whatever the plan.)
    directives = (
        interpret_feedback(unit.feedback, tuple(templates)) if unit.revision else FeedbackDirectives()
    )
    rejected = unit.rejected if unit.revision else []
    rotate = layout_shift = unit.revision
    rejected_styles = {r.style for r in rejected}
    styles = directives.styles or tuple(s for s in STYLES if s not in rejected_styles) or STYLES
    # a style drawn in a layout it was rejected in comes out as nearly the same picture
    rejected_combos = {(r.style, ratio, v) for r in rejected for ratio, v in r.layouts.items()}
    allowed: dict[str, tuple[str, ...]] = {}
    #: per output, the templates that can make this product the hero (the fallback when a layout
    #: a reviewer rejected would repeat: never a template that shrinks the product below the floor)
    pool: dict[str, tuple[str, ...]] = {}

    for ratio in unit.aspect_ratios:
        variants = pool[ratio] = template_rotation(
            unit,
            ratio,
            templates,
            lambda t, r=ratio: placed_share(layout_for(r, t), product, shape, unit.product.focus),
        )
        asked = tuple(t for t in directives.templates if t in layout_variants(ratio, templates))
        if asked:  # "use the text-bottom template": that template, wherever it serves the placement
            variants = asked
        elif directives.new_layout:  # "different layout": not the rejected creatives' layouts,
            for r in reversed(rejected):  # the latest first, as long as one variant is left
                variants = tuple(v for v in variants if v != r.layouts.get(ratio)) or variants
        allowed[ratio] = variants
    plans = []
    for index in range(unit.candidates):
        variation = variation_plan(index + rotate, product_seed, styles)
        style, chosen = _style_and_layouts(
            variation["style"],
            index + product_seed + layout_shift,
            allowed,
            rejected_combos,
            styles,
            pool,
        )
        emphasis = variation["emphasis"]
        if directives.ground == "light":
            emphasis = 0
        elif directives.ground == "brand":
            emphasis = 1 + index % 2
        layouts = {ratio: layout_for(ratio, chosen[ratio]) for ratio in unit.aspect_ratios}
        plans.append(
            CandidatePlan(
                index=index,
                seed=unit.candidate_seed(index),
                style=style,
                emphasis=emphasis,
                palette=scene_palette(kit.palette.model_dump(), emphasis),
                layouts=layouts,
            )
        )
    return plans


def _style_and_layouts(
    style: str,
    offset: int,
    allowed: dict[str, tuple[str, ...]],
    rejected_combos: set[tuple[str | None, str, str]],
    preferred: tuple[str, ...],
    pool: dict[str, tuple[str, ...]],
) -> tuple[str, dict[str, str]]:
    """The candidate's style and per-ratio layout variant: its planned ones, unless that repeats a
    (style, ratio, layout) a reviewer rejected; then another allowed variant, then (only if every
    variant of a ratio repeats) the next style, the requested ones first. Without rejections this is
    exactly ``allowed[ratio][offset % n]``."""
    order = [style, *(s for s in preferred if s != style), *(s for s in STYLES if s not in preferred)]
    first: dict[str, str] | None = None
    for candidate_style in order:
        chosen = {}
        for ratio, variants in allowed.items():
            rotated = variants[offset % len(variants) :] + variants[: offset % len(variants)]
            fresh = [v for v in rotated if (candidate_style, ratio, v) not in rejected_combos]
            fallback = [v for v in pool[ratio] if (candidate_style, ratio, v) not in rejected_combos]
            chosen[ratio] = (fresh or fallback or rotated)[0]
            if not (fresh or fallback):
                break
        else:
            return candidate_style, chosen
        first = first or {r: v[offset % len(v)] for r, v in allowed.items()}
    return style, first or {r: v[offset % len(v)] for r, v in allowed.items()}


def prepare_supplied_product(data: bytes) -> tuple[Image.Image, str]:
    """Decode a supplied product image once, bounded in size, and isolate the product. High bit
    depths (16-bit grayscale, 32-bit integer or float) are scaled to 8 bits first: converting them
    directly clips every value above 255 to white, and a dark can on a light ground vanishes."""
    with Image.open(io.BytesIO(data)) as im:
        im.draft("RGB", (2400, 2400))  # JPEG: decode at reduced scale when huge
        im.load()
        im = to_8bit(im)
        im.thumbnail((2400, 2400), Image.Resampling.LANCZOS)
        return cutout_product(im)


def offline_prompt(unit: UnitBrief, plan: CandidatePlan, source: str) -> str:
    """The offline provider's 'prompt' is its template and parameters, recorded for audit."""
    prompt = (
        f"offline-compositor template: style={plan.style}; palette emphasis={plan.emphasis}; "
        f"product={unit.product.name!r} ({source}); layouts="
        + ", ".join(f"{r}:{lay.variant}" for r, lay in plan.layouts.items())
    )
    if unit.revision and unit.feedback:
        read = interpret_feedback(unit.feedback).describe()
        prompt += f"; revision {unit.revision} feedback {unit.feedback!r} read as: {read}"
    return prompt


def render_offline_candidate(
    unit: UnitBrief, plan: CandidatePlan, supplied: Image.Image | None, headline_font: str
) -> tuple[dict[str, tuple[Image.Image, Box]], str, str, dict[str, ProductFootprint]]:
    """Draw one candidate at every ratio. Returns ({ratio: (image, product bbox)}, source, method,
    {ratio: product footprint: the placed pixels, and the scale from ``supplied`` or the drawn product})."""
    if supplied is not None:
        product, source, method = supplied, "supplied", "supplied"
    else:
        tallest = max(lay.product_box[3] - lay.product_box[1] for lay in plan.layouts.values())
        product, shape = render_generated_product(
            unit.product.name, unit.product.description, plan.palette, headline_font, tallest
        )
        source, method = "generated", f"generated:{shape}"
    renders, footprints = {}, {}
    for ratio, layout in plan.layouts.items():
        image, bbox, footprints[ratio] = compose_scene(
            (layout.width, layout.height),
            plan.style,
            plan.palette,
            plan.seed,
            product,
            layout.product_box,
            layout.text_region,
            layout.product_treatments,
            unit.product.focus,
        )
        renders[ratio] = (image, bbox)
        footprints[ratio] = footprints[ratio].model_copy(update={"origin": source})
    return renders, source, method, footprints
