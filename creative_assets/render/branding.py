"""Brand composition: the logo, placed and sized by the kit's rules.

The logo variant is chosen by measured contrast against the pixels it will sit on: the full-colour
logo when it reads (>= 3:1, WCAG's non-text contrast), otherwise the light or dark variant (or the
one variant the template names), and a backing plate in a brand neutral only when no variant reads
and both the kit and the template allow plates. Pure function.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from creative_assets.brand_kit import BrandKit
from creative_assets.compliance.logo import logo_surround_contrast
from creative_assets.render.color import contrast_ratio, hex_to_rgb, relative_luminance
from creative_assets.render.layout import Box, Layout
from creative_assets.stages import LogoReport

LOGO_MIN_CONTRAST = 3.0


def logo_contrast(logo: Image.Image, background: Image.Image, percentile: float = 30.0) -> float:
    """How well a logo reads on the pixels behind it, measured pixel by pixel.

    For every opaque logo pixel, the WCAG contrast between it and the background pixel underneath;
    the result is the ``percentile``-th lowest. A mark that vanishes on its ground, or that sits on
    a busy ground half of which matches it, scores near 1; a multi-colour logo with a small light
    detail on a light ground still reads.
    """
    art = np.asarray(logo.convert("RGBA"), np.float64)
    ground = np.asarray(background.convert("RGB").resize(logo.size), np.float64)
    opaque = art[..., 3] > 128
    if not opaque.any():
        return 1.0
    ink = relative_luminance(art[..., :3][opaque])
    under = relative_luminance(ground[opaque])
    ratios = (np.maximum(ink, under) + 0.05) / (np.minimum(ink, under) + 0.05)
    return float(np.percentile(ratios, percentile))


def _surround(image: Image.Image, art: Image.Image, box: Box, kit: BrandKit) -> float:
    """The logo check's surround contrast for ``art`` drawn at ``box`` (measured on a trial paste of
    the neighbourhood, so the ink pixels are the logo's)."""
    ring = max(4, round(kit.logo_placement.clear_space * art.height))
    x0, y0 = max(0, box[0] - ring), max(0, box[1] - ring)
    region = image.crop((x0, y0, min(image.width, box[2] + ring), min(image.height, box[3] + ring))).convert(
        "RGB"
    )
    region.paste(art, (box[0] - x0, box[1] - y0), art)
    local = (box[0] - x0, box[1] - y0, box[2] - x0, box[3] - y0)
    return logo_surround_contrast(region, art, local, kit.logo_placement.clear_space)


def _variant_names(kit: BrandKit) -> list[str]:
    return ["primary"] + [v for v in ("on_dark", "on_light") if getattr(kit.logo, v)]


def place_logo(image: Image.Image, layout: Layout, kit: BrandKit) -> LogoReport:
    """Paste the logo into ``layout.logo_box`` (in place) and report what was placed and how it reads."""
    x0, y0, x1, y1 = layout.logo_box
    box_w, box_h = x1 - x0, y1 - y0
    pad = round(box_h * kit.logo_placement.clear_space)
    best: tuple[float, str, Image.Image] | None = None
    variants = _variant_names(kit)
    if layout.logo_variant != "auto" and layout.logo_variant in variants:  # the template names one
        variants = [layout.logo_variant]
    for variant in variants:
        art = kit.logo_image_fitted(variant, box_w, box_h)  # type: ignore[arg-type]
        ax = x0 if layout.logo_corner.endswith("left") else x1 - art.width
        placed_box = (ax, y0, ax + art.width, y0 + art.height)
        # it must read on the pixels under it and on the ground around it: the same surround measure
        # the logo compliance check applies to the final pixels
        c = min(logo_contrast(art, image.crop(placed_box)), _surround(image, art, placed_box, kit))
        # prefer the full-colour artwork whenever it reads
        if variant == "primary" and c >= LOGO_MIN_CONTRAST:
            best = (c, variant, art)
            break
        if best is None or c > best[0]:
            best = (c, variant, art)
    assert best is not None
    contrast, variant, art = best
    ax = x0 if layout.logo_corner.endswith("left") else x1 - art.width
    ay = y0
    # bare by default: a plate only when no variant reads and both the kit and the template allow it
    plate = contrast < LOGO_MIN_CONTRAST and kit.logo_placement.allow_plate and layout.logo_plate
    if plate:
        # a rounded plate in the brand neutral that contrasts most with this variant
        neutrals = [hex_to_rgb(kit.palette.neutral_light), hex_to_rgb(kit.palette.neutral_dark)]
        ink = np.asarray(art, np.float64)
        mask = ink[..., 3] > 128
        ink_rgb = ink[..., :3][mask].mean(axis=0) if mask.any() else np.array([0, 0, 0])
        colour = max(neutrals, key=lambda n: contrast_ratio(n, ink_rgb))
        p = max(6, pad // 2)
        ImageDraw.Draw(image).rounded_rectangle(
            (ax - p, ay - p, ax + art.width + p, ay + art.height + p), radius=p, fill=colour
        )
        contrast = logo_contrast(art, Image.new("RGB", art.size, colour))
    image.paste(art, (ax, ay), art)
    placed: Box = (ax, ay, ax + art.width, ay + art.height)
    clear: Box = (ax - pad, ay - pad, ax + art.width + pad, ay + art.height + pad)
    min_w = max(
        kit.logo_placement.min_width_px, round(layout.short_side * kit.logo_placement.min_width_ratio)
    )
    return LogoReport(
        variant=variant,
        box=placed,
        clear_box=clear,
        contrast=round(contrast, 2),
        plate=plate,
        width_px=art.width,
        min_width_px=min_w,
    )


def apply_branding(image: Image.Image, layout: Layout, kit: BrandKit) -> tuple[Image.Image, LogoReport]:
    """Return a branded copy of ``image`` (the logo, placed by the kit's rules) and the logo report."""
    out = image.convert("RGB").copy()
    report = place_logo(out, layout, kit)
    return out, report
