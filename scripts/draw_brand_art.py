#!/usr/bin/env python
"""Draw the example brand kits' logo artwork and the example briefs' product packshots.

Deterministic: run it from the repository root to (re)generate every file below; the outputs are
committed, so this script only needs to run on a development machine that has the Noto fonts
installed (it reads them by absolute path).

    python scripts/draw_brand_art.py

Writes:

* ``brand_kits/aurora-beverages/logo.png``, ``logo-on-dark.png``, ``logo-on-light.png``
* ``brand_kits/terra-outdoor/logo.png``, ``logo-on-dark.png``, ``logo-on-light.png``
* ``examples/summer-splash-2026/assets/sparkling-citrus.png`` (RGBA, transparent background)
* ``examples/summer-splash-2026/assets/berry-burst.jpg`` (plain studio background, floor shadow)

Everything is drawn at a multiple of the output size and downsampled with LANCZOS.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parent.parent
SS = 4  # supersampling factor for vector-style artwork
CAN_SS = 3  # supersampling factor for the (numpy-rendered) cans

NOTO = Path("/usr/share/fonts/truetype/noto")
SANS_DISPLAY_BOLD = NOTO / "NotoSansDisplay-Bold.ttf"
SANS_BOLD = NOTO / "NotoSans-Bold.ttf"
SANS_REGULAR = NOTO / "NotoSans-Regular.ttf"
SERIF_DISPLAY_BOLD = NOTO / "NotoSerifDisplay-Bold.ttf"

RGB = tuple[int, int, int]
Mask = Image.Image  # mode "L"


def rgb(hex_colour: str) -> RGB:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


# --------------------------------------------------------------------------------------------
# Palettes (kept in step with the brand.yaml files)
# --------------------------------------------------------------------------------------------

AURORA = {
    "teal": "#0B6E79",
    "teal_light": "#2A9DA3",
    "yellow": "#FFC53D",
    "coral": "#FF6F59",
    "cream": "#FFF8EC",
    "navy": "#0E2A3B",
    "white": "#FFFFFF",
}

TERRA = {
    "forest": "#1F4D3A",
    "sand": "#D9C5A0",
    "orange": "#E8591A",
    "offwhite": "#F6F3EC",
    "charcoal": "#262826",
    "white": "#FFFFFF",
}


# --------------------------------------------------------------------------------------------
# Mask helpers
# --------------------------------------------------------------------------------------------


def new_mask(size: tuple[int, int]) -> Mask:
    return Image.new("L", size, 0)


def union(*masks: Mask) -> Mask:
    out = masks[0]
    for m in masks[1:]:
        out = ImageChops.lighter(out, m)
    return out


def intersect(a: Mask, b: Mask) -> Mask:
    return ImageChops.multiply(a, b)


def subtract(a: Mask, b: Mask) -> Mask:
    return ImageChops.subtract(a, b)


def disc(size: tuple[int, int], cx: float, cy: float, r: float) -> Mask:
    m = new_mask(size)
    ImageDraw.Draw(m).ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    return m


def rect(size: tuple[int, int], x0: float, y0: float, x1: float, y1: float) -> Mask:
    m = new_mask(size)
    ImageDraw.Draw(m).rectangle((x0, y0, x1, y1), fill=255)
    return m


def polygon(size: tuple[int, int], pts: list[tuple[float, float]]) -> Mask:
    m = new_mask(size)
    ImageDraw.Draw(m).polygon(pts, fill=255)
    return m


def thick_polyline(
    size: tuple[int, int], pts: list[tuple[float, float]], width: float, caps: bool = True
) -> Mask:
    """A stroked polyline with round joins (and round caps unless ``caps`` is false)."""
    m = new_mask(size)
    d = ImageDraw.Draw(m)
    d.line(pts, fill=255, width=max(1, round(width)), joint="curve")
    if caps:
        r = width / 2
        for x, y in (pts[0], pts[-1]):
            d.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return m


def text_mask(text: str, font_path: Path, size: float, tracking: float = 0.0) -> Mask:
    """Tightly-cropped text mask. ``tracking`` is extra space between letters, in em."""
    font = ImageFont.truetype(str(font_path), round(size))
    extra = tracking * size
    # Advance of each prefix keeps the font's kerning while adding uniform tracking.
    width = font.getlength(text) + extra * (len(text) - 1)
    ascent, descent = font.getmetrics()
    pad = round(size * 0.3)
    m = new_mask((math.ceil(width) + 2 * pad, ascent + descent + 2 * pad))
    d = ImageDraw.Draw(m)
    for i, ch in enumerate(text):
        x = pad + font.getlength(text[:i]) + extra * i
        d.text((x, pad), ch, font=font, fill=255)
    bbox = m.getbbox()
    assert bbox is not None
    return m.crop(bbox)


def paint(canvas: Image.Image, mask: Mask, colour: str | RGB, offset: tuple[int, int] = (0, 0)) -> None:
    """Composite a flat colour through ``mask`` onto an RGBA canvas."""
    c = rgb(colour) if isinstance(colour, str) else colour
    layer = Image.new("RGBA", mask.size, (*c, 255))
    layer.putalpha(mask)
    canvas.alpha_composite(layer, offset)


def downsample(im: Image.Image, factor: int) -> Image.Image:
    return im.resize((round(im.width / factor), round(im.height / factor)), Image.Resampling.LANCZOS)


def trim(im: Image.Image, margin: int) -> Image.Image:
    """Crop an RGBA image to its visible pixels plus ``margin`` transparent pixels."""
    alpha = im.getchannel("A").point(lambda v: 255 if v > 2 else 0)
    x0, y0, x1, y1 = alpha.getbbox()
    out = Image.new("RGBA", (x1 - x0 + 2 * margin, y1 - y0 + 2 * margin), (0, 0, 0, 0))
    out.alpha_composite(im.crop((x0, y0, x1, y1)), (margin, margin))
    return out


# --------------------------------------------------------------------------------------------
# Aurora Beverages: a sun rising over the sea, with aurora arcs, in a circle.
# --------------------------------------------------------------------------------------------


def aurora_emblem(diameter: int) -> dict[str, Mask]:
    """Element masks of the Aurora emblem inside a ``diameter``-sized square (supersampled px)."""
    size = (diameter, diameter)
    R = diameter / 2
    cx, cy = R, R

    def u(v: float) -> float:  # unit -> px
        return v * R

    upper = rect(size, 0, 0, diameter, cy)  # everything above the horizon

    def ring(r0: float, r1: float) -> Mask:
        return intersect(subtract(disc(size, cx, cy, u(r1)), disc(size, cx, cy, u(r0))), upper)

    sun = intersect(disc(size, cx, cy, u(0.36)), upper)
    arc1 = ring(0.50, 0.67)
    arc2 = ring(0.81, 1.0)

    # Three sea bands below the horizon, clipped to the circle.
    inside = disc(size, cx, cy, u(1.0))
    waves = []
    thickness, gap = 0.17, 0.14
    amp, wavelength = 0.045, 0.66
    for i in range(3):
        top = gap + i * (thickness + gap)
        phase = i * 1.9
        xs = np.linspace(-1.1, 1.1, 400)
        edge = [(cx + u(x), cy + u(top + amp * math.sin(2 * math.pi * x / wavelength + phase))) for x in xs]
        bottom = [(x, y + u(thickness)) for x, y in reversed(edge)]
        waves.append(intersect(polygon(size, edge + bottom), inside))
    return {"sun": sun, "arc1": arc1, "arc2": arc2, "wave1": waves[0], "wave2": waves[1], "wave3": waves[2]}


def aurora_lockup(colours: dict[str, str], height: int = 360, margin: int = 4, ss: int = SS) -> Image.Image:
    """Horizontal lockup: emblem + lower-case wordmark. ``colours`` maps element -> colour."""
    E = (height - 2 * margin) * ss
    emblem = aurora_emblem(E)
    word = text_mask("aurora", SANS_DISPLAY_BOLD, E * 0.64, tracking=-0.012)
    gap = round(E * 0.17)
    W = E + gap + word.width
    canvas = Image.new("RGBA", (W, E), (0, 0, 0, 0))
    for name, m in emblem.items():
        paint(canvas, m, colours[name])
    # x-height centred on the horizon, nudged down a touch so the letters sit on the sea.
    paint(canvas, word, colours["word"], (E + gap, round(E / 2 - word.height / 2 + E * 0.02)))
    return trim(downsample(canvas, ss), margin)


def aurora_colours(variant: str) -> dict[str, str]:
    if variant == "primary":
        return {
            "sun": AURORA["yellow"],
            "arc1": AURORA["coral"],
            "arc2": AURORA["teal"],
            "wave1": AURORA["teal_light"],
            "wave2": AURORA["teal"],
            "wave3": AURORA["navy"],
            "word": AURORA["navy"],
        }
    mono = AURORA["white"] if variant == "on_dark" else AURORA["navy"]
    return dict.fromkeys(("sun", "arc1", "arc2", "wave1", "wave2", "wave3", "word"), mono)


# --------------------------------------------------------------------------------------------
# Terra Outdoor Co.: a compass ring around a mountain range, serif wordmark.
# --------------------------------------------------------------------------------------------


#: Snow line across the front peak (unit coordinates, y down): it starts and ends just outside the
#: slopes, continuing the direction of its first and last segments.
SNOW_LINE = [(-0.43, -0.29), (-0.25, -0.07), (-0.15, -0.19), (-0.05, -0.07), (0.1, -0.29)]


def terra_emblem(diameter: int) -> dict[str, Mask]:
    size = (diameter, diameter)
    R = diameter / 2
    cx, cy = R, R

    def p(x: float, y: float) -> tuple[float, float]:
        return cx + x * R, cy + y * R

    # Compass ring with four cardinal points; north is the tallest.
    ring_r = 0.84
    ring = subtract(disc(size, cx, cy, ring_r * R), disc(size, cx, cy, (ring_r - 0.085) * R))
    points = new_mask(size)
    d = ImageDraw.Draw(points)
    for angle, length, half in ((0, 1.0, 0.075), (90, 0.95, 0.06), (180, 0.95, 0.06), (270, 0.95, 0.06)):
        a = math.radians(angle)
        tip = (math.sin(a) * length, -math.cos(a) * length)
        base = ring_r - 0.05
        bc = (math.sin(a) * base, -math.cos(a) * base)
        side = (math.cos(a) * half, math.sin(a) * half)
        d.polygon(
            [p(*tip), p(bc[0] + side[0], bc[1] + side[1]), p(bc[0] - side[0], bc[1] - side[1])], fill=255
        )
    north = new_mask(size)
    ImageDraw.Draw(north).polygon([p(0, -1.0), p(0.075, -ring_r + 0.05), p(-0.075, -ring_r + 0.05)], fill=255)
    points = subtract(points, north)
    compass = union(ring, points)

    # Mountains inside the ring.
    inner = disc(size, cx, cy, (ring_r - 0.16) * R)
    back = polygon(size, [p(-0.2, 0.95), p(0.38, -0.2), p(0.98, 0.5), p(0.98, 0.95)])
    front = polygon(size, [p(-0.98, 0.66), p(-0.12, -0.52), p(0.58, 0.95), p(-0.98, 0.95)])
    # Gap where the front peak overlaps the back one.
    seam = thick_polyline(size, [p(-0.12, -0.52), p(0.62, 1.02)], 0.15 * R)
    back = subtract(back, seam)
    # Snow cap: a "W"-shaped gap across the front peak. It meets both slopes heading downhill into
    # the mountain, so neither the cap nor the rock below it ends in a thin sliver at the edges.
    snow_line = [p(x, y) for x, y in SNOW_LINE]
    snow_gap = thick_polyline(size, snow_line, 0.065 * R, caps=False)
    x0, x1 = snow_line[0][0], snow_line[-1][0]
    snow = intersect(front, polygon(size, [*snow_line, (x1, 0), (x0, 0)]))
    front = subtract(subtract(front, snow_gap), snow)
    snow = subtract(snow, snow_gap)
    mountains = intersect(union(back, front), inner)
    snow = intersect(snow, inner)

    # A small four-pointed star (the pole star) in the sky.
    star = new_mask(size)
    sx, sy, s_out, s_in = 0.34, -0.40, 0.13, 0.035
    pts = []
    for k in range(8):
        a = math.pi / 4 * k
        r = s_out if k % 2 == 0 else s_in
        pts.append(p(sx + r * math.sin(a), sy - r * math.cos(a)))
    ImageDraw.Draw(star).polygon(pts, fill=255)
    return {"compass": compass, "north": north, "mountains": mountains, "snow": snow, "star": star}


def terra_lockup(colours: dict[str, str], height: int = 360, margin: int = 4, ss: int = SS) -> Image.Image:
    E = (height - 2 * margin) * ss
    emblem = terra_emblem(E)
    word = text_mask("TERRA", SERIF_DISPLAY_BOLD, E * 0.56, tracking=0.10)
    gap = round(E * 0.15)
    W = E + gap + word.width
    canvas = Image.new("RGBA", (W, E), (0, 0, 0, 0))
    for name, m in emblem.items():
        paint(canvas, m, colours[name])
    paint(canvas, word, colours["word"], (E + gap, round(E / 2 - word.height / 2)))
    return trim(downsample(canvas, ss), margin)


def terra_colours(variant: str) -> dict[str, str]:
    if variant == "primary":
        return {
            "compass": TERRA["forest"],
            "north": TERRA["orange"],
            "mountains": TERRA["forest"],
            "snow": TERRA["forest"],
            "star": TERRA["orange"],
            "word": TERRA["forest"],
        }
    mono = TERRA["white"] if variant == "on_dark" else TERRA["charcoal"]
    return dict.fromkeys(("compass", "north", "mountains", "snow", "star", "word"), mono)


def write_logos() -> None:
    kits: dict[str, tuple[Callable[..., Image.Image], Callable[[str], dict[str, str]]]] = {
        "aurora-beverages": (aurora_lockup, aurora_colours),
        "terra-outdoor": (terra_lockup, terra_colours),
    }
    for slug, (lockup, colours) in kits.items():
        folder = ROOT / "brand_kits" / slug
        folder.mkdir(parents=True, exist_ok=True)
        for variant, name in (
            ("primary", "logo.png"),
            ("on_dark", "logo-on-dark.png"),
            ("on_light", "logo-on-light.png"),
        ):
            im = lockup(colours(variant))
            im.save(folder / name, optimize=True)
            print(f"wrote {folder.relative_to(ROOT) / name} {im.size}")


# --------------------------------------------------------------------------------------------
# Product packshots: slim drink cans, ray-cast as surfaces of revolution with a wrapped label.
# --------------------------------------------------------------------------------------------

# Can geometry in units of the body radius; h runs down from the top of the rim.
CAN_K = 0.13  # minor/major ratio of the can's ellipses: the camera is slightly above the can
H_RIM, H_NECK, H_BASE, H_TOTAL = 0.07, 0.46, 4.70, 4.96
R_RIM, R_BASE = 0.86, 0.83
LABEL_TOP, LABEL_BOTTOM = 0.12, 4.80  # the printed area; bare aluminium outside it

_LIGHT = np.array([-0.55, -0.45, 0.70]) / np.linalg.norm([-0.55, -0.45, 0.70])
_VIEW = np.array([0.0, -CAN_K, 1.0]) / np.linalg.norm([0.0, -CAN_K, 1.0])


def can_radius(h: np.ndarray) -> np.ndarray:
    """Radius of the can at height ``h``: rolled rim, tapered neck, straight body, rounded base."""
    bead = R_RIM + 0.018 * np.sin(np.clip(h / H_RIM, 0, 1) * np.pi)
    t = np.clip((h - H_RIM) / (H_NECK - H_RIM), 0, 1)
    neck = (R_RIM - 0.01) + (1.01 - R_RIM) * t * t * t * (t * (6 * t - 15) + 10)
    t = np.clip((h - H_BASE) / (H_TOTAL - H_BASE), 0, 1)
    base = R_BASE + (1 - R_BASE) * np.sqrt(np.clip(1 - t * t, 0, 1))
    return np.where(h < H_RIM, bead, np.where(h < H_NECK, neck, np.where(h < H_BASE, 1.0, base)))


def _environment(refl: np.ndarray) -> np.ndarray:
    """Studio lighting seen in a reflection: two soft boxes, a rim light, a bright ceiling."""
    az = np.arctan2(refl[..., 0], refl[..., 2])
    up = -refl[..., 1]
    env = 1.25 * np.exp(-(((az + 0.72) / 0.11) ** 2))  # big soft box, front left
    env += 0.35 * np.exp(-(((az + 0.72) / 0.45) ** 2))  # ... and its glow
    env += 0.45 * np.exp(-(((az - 0.62) / 0.07) ** 2))  # strip light, front right
    env += 0.9 * np.exp(-(((az - 2.05) / 0.2) ** 2))  # rim light, back right
    env += 0.35 * np.exp(-(((az + 2.2) / 0.3) ** 2))  # weak rim light, back left
    env += 0.45 * np.clip(up * 2.2, 0, 1)  # ceiling
    return env


def _bilinear(tex: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    h, w = tex.shape[:2]
    u = np.clip(u, 0, w - 1.001)
    v = np.clip(v, 0, h - 1.001)
    u0, v0 = u.astype(np.int32), v.astype(np.int32)
    fu, fv = (u - u0)[..., None], (v - v0)[..., None]
    top = tex[v0, u0] * (1 - fu) + tex[v0, u0 + 1] * fu
    bottom = tex[v0 + 1, u0] * (1 - fu) + tex[v0 + 1, u0 + 1] * fu
    return top * (1 - fv) + bottom * fv


def label_size(scale: float) -> tuple[int, int]:
    """Texture size for a label covering the front half of the can at ``scale`` px per unit."""
    return round(math.pi * scale), round((LABEL_BOTTOM - LABEL_TOP) * scale)


def render_can(label: Image.Image, scale: float) -> Image.Image:
    """The can as an RGBA image (transparent around it), ``scale`` px per body radius.

    ``label`` (see :func:`label_size`) wraps the front half of the can: its centre column faces the
    camera and its left/right edges sit on the silhouette.
    """
    W = math.ceil(2.08 * scale)
    top = CAN_K * R_RIM * 1.3 * scale  # room above the rim's far edge
    H = math.ceil(top + (H_TOTAL + CAN_K * R_BASE + 0.02) * scale)
    cx = W / 2
    X = ((np.arange(W, dtype=np.float32) + 0.5 - cx) / scale)[None, :].repeat(H, 0)
    Y = ((np.arange(H, dtype=np.float32) + 0.5 - top) / scale)[:, None].repeat(W, 1)

    # Each screen point sees the front of the ring at height h: Y = h + K * sqrt(r(h)^2 - X^2).
    h = Y - CAN_K * np.sqrt(np.clip(1 - X * X, 0, None))
    for _ in range(10):
        r = can_radius(h)
        h = Y - CAN_K * np.sqrt(np.clip(r * r - X * X, 0, None))
    r = can_radius(h)
    inside = (h >= 0) & (h <= H_TOTAL) & (np.abs(X) < r)

    sin_t = np.clip(X / np.maximum(r, 1e-3), -1, 1)
    cos_t = np.sqrt(1 - sin_t * sin_t)
    dr = (can_radius(h + 0.004) - can_radius(h - 0.004)) / 0.008
    dr = np.clip(dr, -6, 6)
    n = np.stack([sin_t, -dr, cos_t], axis=-1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    ndotl = np.clip(n @ _LIGHT, 0, 1)[..., None]
    ndotv = np.clip(n @ _VIEW, 0, 1)
    refl = 2 * ndotv[..., None] * n - _VIEW
    env = _environment(refl)[..., None]
    edge = ((1 - cos_t) ** 3)[..., None]  # grazing angles near the silhouette

    # Printed label: diffuse print under a gloss varnish.
    tex = np.asarray(label.convert("RGB"), dtype=np.float32) / 255
    tw, th = label.size
    theta = np.arcsin(sin_t)
    u = (theta / math.pi + 0.5) * (tw - 1)
    v = (h - LABEL_TOP) / (LABEL_BOTTOM - LABEL_TOP) * (th - 1)
    albedo = _bilinear(tex, u, v)
    # Shade by raising the colour to a power as well as scaling it, so shadows deepen in
    # saturation (yellow -> amber) rather than turning grey-brown.
    shade = np.clip((0.5 + 0.62 * ndotl) * (1 - 0.5 * edge), 0.05, 1.15)
    printed = albedo ** (1 / np.minimum(shade, 1) ** 0.6) * shade**0.55
    printed = printed + 0.5 * env * (0.55 + 0.45 * edge) * (1 - 0.3 * albedo.mean(-1, keepdims=True))

    # Bare brushed aluminium: mostly reflection.
    metal_tint = np.array([0.93, 0.95, 0.98], dtype=np.float32)
    metal = (0.32 + 0.55 * env + 0.18 * ndotl) * metal_tint
    grooves = 0.04 * np.sin(h * scale * 0.9)[..., None]  # fine ridges on the rolled rim and base
    metal = metal + np.where(((h < H_RIM) | (h > H_BASE))[..., None], grooves, 0)

    is_label = ((h >= LABEL_TOP) & (h <= LABEL_BOTTOM))[..., None]
    colour = np.where(is_label, printed, metal)
    colour = np.clip(colour, 0, 1)
    rgba = np.concatenate([colour, inside[..., None].astype(np.float32)], axis=-1)
    im = Image.fromarray((rgba * 255 + 0.5).astype(np.uint8), "RGBA")

    _draw_lid(im, scale, cx, top)
    return im


def _draw_lid(im: Image.Image, scale: float, cx: float, top: float) -> None:
    """The top of the can: rolled rim, recessed lid panel, opening score and ring-pull tab."""

    def ellipse(x: float, y: float, rx: float, ry: float) -> tuple[float, float, float, float]:
        return (cx + (x - rx) * scale, top + (y - ry) * scale, cx + (x + rx) * scale, top + (y + ry) * scale)

    def shaded(rx: float, ry: float, y: float, lo: float, hi: float) -> Image.Image:
        """A horizontally shaded metal ellipse (lighter towards the key light on the left)."""
        box = ellipse(0, y, rx, ry)
        w, h_ = math.ceil(box[2] - box[0]), math.ceil(box[3] - box[1])
        xs = np.linspace(-1, 1, w, dtype=np.float32)
        level = lo + (hi - lo) * (0.5 - 0.5 * xs) ** 0.8 + 0.10 * np.exp(-(((xs + 0.35) / 0.18) ** 2))
        grad = np.clip(np.repeat(level[None, :], h_, 0), 0, 1)
        rgb_ = np.stack([grad * 0.93, grad * 0.95, grad * 0.98], -1)
        layer = Image.fromarray((rgb_ * 255).astype(np.uint8), "RGB").convert("RGBA")
        m = new_mask((w, h_))
        ImageDraw.Draw(m).ellipse((0, 0, w - 1, h_ - 1), fill=255)
        layer.putalpha(m)
        out = Image.new("RGBA", im.size, (0, 0, 0, 0))
        out.alpha_composite(layer, (round(box[0]), round(box[1])))
        return out

    k = CAN_K
    rim = R_RIM + 0.018
    im.alpha_composite(shaded(rim, rim * k, 0.0, 0.55, 0.95))  # rolled rim, seen from above
    im.alpha_composite(shaded(rim - 0.055, (rim - 0.055) * k, 0.006, 0.32, 0.62))  # inner wall (shadowed)
    panel_r = rim - 0.085
    im.alpha_composite(shaded(panel_r, panel_r * k, 0.022, 0.58, 0.86))  # recessed lid panel
    d = ImageDraw.Draw(im)
    # Stiffening ring on the panel and the opening score (towards the viewer).
    d.ellipse(
        ellipse(0, 0.024, panel_r * 0.86, panel_r * 0.86 * k),
        outline=(150, 154, 160, 255),
        width=max(1, round(scale * 0.008)),
    )
    d.ellipse(
        ellipse(0.0, 0.058, 0.26, 0.042), outline=(140, 144, 150, 255), width=max(1, round(scale * 0.009))
    )
    # Ring-pull tab lying flat on the lid (foreshortened), with its finger hole and rivet.
    tab = ellipse(0, 0.005, 0.19, 0.052)
    d.rounded_rectangle(
        tab,
        radius=scale * 0.045,
        fill=(196, 200, 206, 255),
        outline=(128, 132, 138, 255),
        width=max(1, round(scale * 0.008)),
    )
    d.ellipse(ellipse(0, -0.012, 0.085, 0.02), fill=(92, 96, 102, 255))
    d.ellipse(ellipse(0, 0.03, 0.028, 0.011), fill=(150, 154, 160, 255))
    # Specular glint on the rim.
    d.arc(
        ellipse(0, 0.0, rim - 0.012, (rim - 0.012) * k),
        150,
        215,
        fill=(250, 252, 255, 255),
        width=max(1, round(scale * 0.012)),
    )


def _u(tex_w: int, scale: float, x: float) -> float:
    """Texture column for ``x`` units (arc length) from the centre of the label."""
    return tex_w / 2 + x * scale


def _v(scale: float, h: float) -> float:
    """Texture row for can height ``h``."""
    return (h - LABEL_TOP) * scale


def vertical_gradient(size: tuple[int, int], stops: list[tuple[float, str]]) -> Image.Image:
    w, h = size
    ys = np.linspace(0, 1, h, dtype=np.float32)
    pos = [p_ for p_, _ in stops]
    cols = np.array([rgb(c) for _, c in stops], dtype=np.float32)
    channels = [np.interp(ys, pos, cols[:, i]) for i in range(3)]
    column = np.stack(channels, -1)
    arr = np.repeat(column[:, None, :], w, 1)
    return Image.fromarray(arr.astype(np.uint8), "RGB").convert("RGBA")


def paste_centered(canvas: Image.Image, mask: Mask, colour: str, cx: float, cy: float) -> None:
    paint(canvas, mask, colour, (round(cx - mask.width / 2), round(cy - mask.height / 2)))


def citrus_slice(
    canvas: Image.Image,
    cx: float,
    cy: float,
    r: float,
    rind: str,
    pith: str,
    flesh: str,
    segments: int,
    rotation: float,
    seed: int,
) -> None:
    """A cross-section of a citrus fruit: rind, pith, juicy segments with membranes."""
    rng = random.Random(seed)
    size = canvas.size
    paint(canvas, disc(size, cx, cy, r), rind)
    paint(canvas, disc(size, cx, cy, r * 0.93), pith)
    paint(canvas, disc(size, cx, cy, r * 0.86), flesh)
    # Juice vesicles: small lighter teardrops radiating in each segment.
    vesicles = Image.new("RGBA", size, (0, 0, 0, 0))
    vd = ImageDraw.Draw(vesicles)
    for _ in range(int(segments * 14)):
        a = rng.uniform(0, 2 * math.pi)
        rr = r * math.sqrt(rng.uniform(0.04, 0.7))
        x, y = cx + rr * math.cos(a), cy + rr * math.sin(a)
        ln = r * rng.uniform(0.06, 0.12)
        wd = r * rng.uniform(0.015, 0.03)
        pts = []
        for k in range(12):
            t = 2 * math.pi * k / 12
            px_, py_ = ln * math.cos(t), wd * math.sin(t)
            pts.append((x + px_ * math.cos(a) - py_ * math.sin(a), y + px_ * math.sin(a) + py_ * math.cos(a)))
        vd.polygon(pts, fill=(255, 255, 255, rng.randint(40, 90)))
    clip = disc(size, cx, cy, r * 0.86)
    vesicles.putalpha(ImageChops.multiply(vesicles.getchannel("A"), clip))
    canvas.alpha_composite(vesicles)
    # Membranes between segments, and the pithy core.
    membranes = new_mask(size)
    md = ImageDraw.Draw(membranes)
    for k in range(segments):
        a = rotation + 2 * math.pi * k / segments
        md.line(
            [(cx, cy), (cx + r * 0.9 * math.cos(a), cy + r * 0.9 * math.sin(a))],
            fill=255,
            width=max(1, round(r * 0.045)),
        )
    paint(canvas, intersect(membranes, disc(size, cx, cy, r * 0.87)), pith)
    paint(canvas, disc(size, cx, cy, r * 0.09), pith)


def bubbles(
    canvas: Image.Image,
    box: tuple[float, float, float, float],
    count: int,
    r_range: tuple[float, float],
    seed: int,
    colour: RGB = (255, 255, 255),
) -> None:
    rng = random.Random(seed)
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    for _ in range(count):
        x = rng.uniform(box[0], box[2])
        y = rng.uniform(box[1], box[3])
        r = rng.uniform(*r_range)
        alpha = rng.randint(110, 200)
        d.ellipse((x - r, y - r, x + r, y + r), outline=(*colour, alpha), width=max(2, round(r * 0.22)))
        hr = r * 0.28
        d.ellipse(
            (x - r * 0.45 - hr, y - r * 0.45 - hr, x - r * 0.45 + hr, y - r * 0.45 + hr),
            fill=(*colour, alpha),
        )
    canvas.alpha_composite(layer)


def sea_band(
    canvas: Image.Image,
    y_top: float,
    colours: list[str],
    wavelength: float,
    amp: float,
    step: float,
    seed: int,
) -> None:
    """Stacked wavy bands from ``y_top`` to the bottom of the canvas (the emblem's sea)."""
    w, h = canvas.size
    rng = random.Random(seed)
    for i, colour in enumerate(colours):
        y0 = y_top + i * step
        phase = rng.uniform(0, 2 * math.pi)
        xs = np.linspace(0, w, 600)
        edge = [(float(x), y0 + amp * math.sin(2 * math.pi * x / wavelength + phase)) for x in xs]
        paint(canvas, polygon(canvas.size, [*edge, (w, h), (0, h)]), colour)


def citrus_label(scale: float) -> Image.Image:
    tw, th = label_size(scale)
    lab = vertical_gradient((tw, th), [(0.0, "#FFD24A"), (0.55, "#FFC53D"), (1.0, "#FFB22E")])
    navy, teal = AURORA["navy"], AURORA["teal"]

    def u(x: float) -> float:
        return _u(tw, scale, x)

    def v(h: float) -> float:
        return _v(scale, h)

    # Brand lockup near the top.
    logo = aurora_lockup(
        dict.fromkeys(aurora_colours("primary"), navy), height=round(0.36 * scale), margin=0, ss=1
    )
    lab.alpha_composite(logo, (round(u(0) - logo.width / 2), round(v(0.78) - logo.height / 2)))

    # Fruit: orange, lime and lemon slices, partly wrapping round the sides.
    citrus_slice(lab, u(-0.55), v(2.95), 0.62 * scale, "#F27A12", "#FFF1D6", "#FF9A2E", 10, 0.2, 1)
    citrus_slice(lab, u(0.62), v(2.62), 0.50 * scale, "#5DA324", "#F1F7D8", "#9BCB3C", 9, 0.5, 2)
    citrus_slice(lab, u(0.18), v(3.45), 0.46 * scale, "#F2B705", "#FFF8DC", "#FFE066", 9, 0.1, 3)
    bubbles(lab, (u(-0.9), v(2.1), u(0.9), v(3.9)), 38, (0.02 * scale, 0.07 * scale), 11)

    # Name.
    small = text_mask("SPARKLING", SANS_BOLD, 0.17 * scale, tracking=0.32)
    paste_centered(lab, small, teal, u(0), v(1.33))
    name = text_mask("CITRUS", SANS_DISPLAY_BOLD, 0.62 * scale, tracking=0.02)
    paste_centered(lab, name, navy, u(0), v(1.78))

    # The sea at the bottom, with the small print.
    sea_band(lab, v(4.02), [AURORA["teal_light"], teal, navy], 0.9 * scale, 0.035 * scale, 0.14 * scale, 5)
    info = text_mask("LIGHTLY SPARKLING WATER", SANS_BOLD, 0.075 * scale, tracking=0.18)
    paste_centered(lab, info, "#FFFFFF", u(0), v(4.43))
    vol = text_mask("250 ML", SANS_BOLD, 0.075 * scale, tracking=0.18)
    paste_centered(lab, vol, AURORA["yellow"], u(0), v(4.58))
    return lab.convert("RGB")


def raspberry(canvas: Image.Image, cx: float, cy: float, r: float, seed: int) -> None:
    """A raspberry: glossy drupelets spread over a slightly conical berry, drawn back to front."""
    rng = random.Random(seed)
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    d.ellipse((cx - r * 0.9, cy - r * 0.95, cx + r * 0.9, cy + r * 1.05), fill=(96, 6, 34, 255))
    n = 90
    cells = []
    for k in range(n):  # Fibonacci sphere, front hemisphere only
        y = 1 - 2 * (k + 0.5) / n
        ring = math.sqrt(1 - y * y)
        a = k * math.pi * (3 - math.sqrt(5)) + rng.uniform(-0.05, 0.05)
        x, z = ring * math.cos(a), ring * math.sin(a)
        if z < -0.05:
            continue
        taper = 1 - 0.16 * (y + 1) / 2  # narrower towards the tip (bottom)
        cells.append((z, cx + r * x * 0.9 * taper, cy - r * y * 1.0, 0.55 + 0.45 * z))
    for z, x, y, lum in sorted(cells):
        dr = r * 0.2 * (0.6 + 0.4 * max(z, 0))
        base = (round(205 * lum), round(28 * lum), round(78 * lum))
        d.ellipse(
            (x - dr, y - dr, x + dr, y + dr),
            fill=(*base, 255),
            outline=(round(110 * lum), 8, round(40 * lum), 255),
            width=max(1, round(r * 0.018)),
        )
        hr = dr * 0.28
        hx, hy = x - dr * 0.35, y - dr * 0.38
        d.ellipse((hx - hr, hy - hr, hx + hr, hy + hr), fill=(255, 190, 205, round(120 + 100 * lum)))
    canvas.alpha_composite(layer)


def blueberry(canvas: Image.Image, cx: float, cy: float, r: float) -> None:
    size = canvas.size
    paint(canvas, disc(size, cx, cy, r), "#2B2F6B")
    paint(canvas, disc(size, cx - r * 0.12, cy - r * 0.12, r * 0.82), "#3C4287")
    paint(canvas, disc(size, cx - r * 0.38, cy - r * 0.38, r * 0.22), "#7A80C2")
    crown = []
    for k in range(10):
        a = math.pi / 5 * k
        rr = r * (0.26 if k % 2 == 0 else 0.1)
        crown.append((cx + r * 0.2 + rr * math.cos(a), cy - r * 0.25 + rr * math.sin(a)))
    paint(canvas, polygon(size, crown), "#1B1E49")


def berry_label(scale: float) -> Image.Image:
    tw, th = label_size(scale)
    lab = vertical_gradient((tw, th), [(0.0, "#5A1450"), (0.5, "#8E1A63"), (1.0, "#B81D6C")])
    white = "#FFFFFF"

    def u(x: float) -> float:
        return _u(tw, scale, x)

    def v(h: float) -> float:
        return _v(scale, h)

    logo = aurora_lockup(aurora_colours("on_dark"), height=round(0.36 * scale), margin=0, ss=1)
    lab.alpha_composite(logo, (round(u(0) - logo.width / 2), round(v(0.78) - logo.height / 2)))

    small = text_mask("SPARKLING", SANS_BOLD, 0.17 * scale, tracking=0.32)
    paste_centered(lab, small, "#FF9BB8", u(0), v(1.33))
    name1 = text_mask("BERRY", SANS_DISPLAY_BOLD, 0.56 * scale, tracking=0.02)
    name2 = text_mask("BURST", SANS_DISPLAY_BOLD, 0.56 * scale, tracking=0.02)
    paste_centered(lab, name1, white, u(0), v(1.76))
    paste_centered(lab, name2, white, u(0), v(2.28))

    bubbles(lab, (u(-0.9), v(2.6), u(0.9), v(4.0)), 34, (0.02 * scale, 0.07 * scale), 12)
    raspberry(lab, u(-0.42), v(3.2), 0.36 * scale, 4)
    raspberry(lab, u(0.5), v(3.05), 0.3 * scale, 5)
    blueberry(lab, u(0.12), v(3.52), 0.2 * scale)
    blueberry(lab, u(-0.05), v(2.98), 0.15 * scale)
    blueberry(lab, u(0.85), v(3.55), 0.17 * scale)
    raspberry(lab, u(0.35), v(3.72), 0.24 * scale, 6)

    sea_band(lab, v(4.02), ["#D43F7E", "#7A1558", "#3E0C3A"], 0.9 * scale, 0.035 * scale, 0.14 * scale, 6)
    info = text_mask("SPARKLING BERRY WATER", SANS_BOLD, 0.075 * scale, tracking=0.18)
    paste_centered(lab, info, white, u(0), v(4.43))
    vol = text_mask("250 ML", SANS_BOLD, 0.075 * scale, tracking=0.18)
    paste_centered(lab, vol, "#FF9BB8", u(0), v(4.58))
    return lab.convert("RGB")


def can_image(label_fn: Callable[[float], Image.Image], can_height: int) -> Image.Image:
    """A can ``can_height`` px tall (output scale), RGBA, cropped to its visible pixels."""
    scale = can_height / (H_TOTAL + CAN_K * (R_RIM + R_BASE)) * CAN_SS
    im = render_can(label_fn(scale), scale)
    return trim(downsample(im, CAN_SS), 0)


def write_packshots() -> None:
    folder = ROOT / "examples" / "summer-splash-2026" / "assets"
    folder.mkdir(parents=True, exist_ok=True)

    # Sparkling Citrus: cut-out PNG, the can filling most of the frame.
    W, H = 900, 1600
    can = can_image(citrus_label, 1540)
    out = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    out.alpha_composite(can, ((W - can.width) // 2, (H - can.height) // 2))
    out.save(folder / "sparkling-citrus.png", optimize=True)
    print(f"wrote {(folder / 'sparkling-citrus.png').relative_to(ROOT)} {out.size}")

    # Berry Burst: studio shot on a plain light background with a soft floor shadow.
    W, H = 1200, 1500
    can = can_image(berry_label, 1260)
    x0, y0 = (W - can.width) // 2, 110
    bg = vertical_gradient((W, H), [(0.0, "#F6F6F4"), (0.7, "#F4F4F2"), (1.0, "#EDEDEA")])
    floor_y = y0 + can.height - can.width * CAN_K * R_BASE / 2.0
    shadow = new_mask((W, H))
    sd = ImageDraw.Draw(shadow)
    sw = can.width * 0.62
    sd.ellipse((W / 2 - sw * 1.45, floor_y - sw * 0.16, W / 2 + sw * 1.35, floor_y + sw * 0.2), fill=60)
    shadow = shadow.filter(ImageFilter.GaussianBlur(28))
    contact = new_mask((W, H))
    ImageDraw.Draw(contact).ellipse(
        (W / 2 - sw * 0.95, floor_y - sw * 0.07, W / 2 + sw * 0.95, floor_y + sw * 0.09), fill=150
    )
    contact = contact.filter(ImageFilter.GaussianBlur(7))
    paint(bg, shadow, "#6E6E6A")
    paint(bg, contact, "#4A4A46")
    bg.alpha_composite(can, (x0, y0))
    bg.convert("RGB").save(folder / "berry-burst.jpg", quality=92, optimize=True)
    print(f"wrote {(folder / 'berry-burst.jpg').relative_to(ROOT)} {bg.size}")


def main() -> None:
    write_logos()
    write_packshots()


if __name__ == "__main__":
    main()
