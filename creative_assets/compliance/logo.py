"""``logo``: the logo is found **on the rendered pixels** by template matching (the LogoReport is not
trusted), is at least the minimum width, reads against what surrounds it (>= 3:1) and keeps its clear
space."""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PIL import Image
from pydantic import BaseModel

from creative_assets.compliance.outcome import CheckOutcome, Finding, make_outcome, named_boxes
from creative_assets.compliance.pixels import as_rgb, as_rgba, dilate, erode
from creative_assets.render.color import relative_luminance
from creative_assets.render.layout import Box, boxes_overlap

if TYPE_CHECKING:
    from creative_assets.compliance.context import CreativeContext

#: Logo: minimum |normalized cross-correlation| for "found". Clean renders score >= 0.99, a mark
#: nearly the colour of its ground about 0.75, the best false match on busy stripes about 0.58.
LOGO_MIN_SCORE = 0.6
#: Logo: WCAG non-text contrast the mark needs against its surroundings.
LOGO_MIN_CONTRAST = 3.0
#: Logo: measured width may undershoot the minimum by this fraction (1% scale steps, resampling).
LOGO_WIDTH_TOLERANCE = 0.03


class LogoDetection(BaseModel):
    found: bool
    variant: str | None = None
    box: Box | None = None
    score: float = 0.0  # |normalized cross-correlation| of the best match, 0..1
    width: int = 0


def _shrink(art: Image.Image, width: int) -> Image.Image:
    """``art`` at ``width`` px (aspect kept); box-filtered when shrinking."""
    width = max(2, width)
    height = max(2, round(art.height * width / art.width))
    if (width, height) == art.size:
        return art
    return art.resize(
        (width, height), Image.Resampling.BOX if width < art.width else Image.Resampling.BICUBIC
    )


_LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # as Pillow's "L" conversion


def _template_image(art: Image.Image) -> Image.Image:
    """Luminance of the logo on the ground it is designed to contrast with (white for dark marks,
    black for light ones): what the mark looks like where it reads. A float ("F") image, so resizing
    it is a cheap single-channel operation."""
    rgba = np.asarray(as_rgba(art), np.float32)
    alpha = rgba[..., 3] / 255.0
    lum = rgba[..., :3] @ _LUMA
    weight = alpha.sum()
    ink = float((lum * alpha).sum() / weight) if weight else 0.0
    ground = 0.0 if ink > 128 else 255.0
    return Image.fromarray((alpha * lum + (1 - alpha) * ground).astype(np.float32), "F")


def _template(source: Image.Image, width: int) -> np.ndarray:
    return np.asarray(_shrink(source, width), np.float64)


class _Art:
    """A logo artwork as a cache key, by content: its mode, size and a hash of its pixels (the kit
    hands each unit its own copy of the same artwork). Hashing the pixels costs about a millisecond;
    building the templates it saves, tens."""

    __slots__ = ("digest", "image")

    def __init__(self, image: Image.Image) -> None:
        self.image = image
        self.digest = (image.mode, image.size, hashlib.blake2b(image.tobytes(), digest_size=16).digest())

    def __hash__(self) -> int:
        return hash(self.digest)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Art) and other.digest == self.digest


@functools.lru_cache(maxsize=16)
def _art_source(art: _Art) -> Image.Image:
    return _template_image(art.image)


@functools.lru_cache(maxsize=64)
def _art_shrunk(art: _Art, width: int) -> Image.Image:
    return _shrink(_art_source(art), width)


@functools.lru_cache(maxsize=1024)
def _art_template(art: _Art, source_width: int, width: int) -> np.ndarray:
    """The template of ``art`` at ``width`` px, resampled from its source shrunk to
    ``source_width`` (as :func:`detect_logo` makes them; the same pixels, made once per process), in
    the float32 ``matchTemplate`` takes. Read-only: every caller shares it."""
    template = np.asarray(_shrink(_art_shrunk(art, source_width), width), np.float32)
    template.flags.writeable = False
    return template


class _Integral:
    """Integral images of an image and its square: window sums in O(1) per position."""

    def __init__(self, img: np.ndarray) -> None:
        img = img.astype(np.float64)
        self.shape = img.shape
        self.s = np.pad(img, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
        self.q = np.pad(img * img, ((1, 0), (1, 0))).cumsum(0).cumsum(1)

    def windows(self, th: int, tw: int) -> tuple[np.ndarray, np.ndarray]:
        oh, ow = self.shape[0] - th + 1, self.shape[1] - tw + 1

        def box(a: np.ndarray) -> np.ndarray:
            return a[th : th + oh, tw : tw + ow] - a[:oh, tw : tw + ow] - a[th : th + oh, :ow] + a[:oh, :ow]

        return box(self.s), box(self.q)


def _ncc_map(img: np.ndarray, templ: np.ndarray, integral: _Integral | None = None) -> np.ndarray:
    """|Normalized cross-correlation| of ``templ`` at every valid position of ``img``: OpenCV's
    ``matchTemplate`` (TM_CCOEFF_NORMED), with windows flatter than half a grey level (nothing to
    match, where the normalisation would divide by ~0) scored 0."""
    h, w = img.shape
    th, tw = templ.shape
    if th > h or tw > w or th < 2 or tw < 2:
        return np.zeros((0, 0))
    if float(templ.std()) < 1e-6:  # a flat template matches nothing
        return np.zeros((h - th + 1, w - tw + 1))
    corr = np.abs(
        cv2.matchTemplate(
            img.astype(np.float32, copy=False), templ.astype(np.float32, copy=False), cv2.TM_CCOEFF_NORMED
        )
    )
    s1, s2 = (integral or _Integral(img)).windows(th, tw)
    n = th * tw
    sd = np.sqrt(np.maximum(s2 - s1 * s1 / n, 0.0))
    return np.where(sd < 0.5 * np.sqrt(n), 0.0, np.minimum(corr, 1.0))


def _distinct_variants(sources: Mapping[str, Image.Image]) -> list[str]:
    """Variants whose luminance templates differ (mono variants of one shape are the same template up
    to polarity, and matching uses |NCC|)."""
    kept: list[tuple[str, np.ndarray]] = []
    for name, source in sources.items():
        t = _template(source, 64).ravel()
        t = t - t.mean()
        n = float(np.linalg.norm(t))
        if n < 1e-6:
            continue
        t = t / n
        if any(k.shape == t.shape and abs(float(t @ k)) > 0.97 for _, k in kept):
            continue
        kept.append((name, t))
    return [name for name, _ in kept]


def _which_variant(pixels: np.ndarray, arts: Mapping[str, Image.Image]) -> str:
    """The variant whose ink colours are closest to ``pixels`` (the image under the detected box)."""
    h, w = pixels.shape[:2]
    best, best_d = next(iter(arts)), float("inf")
    for name, art in arts.items():
        a = np.asarray(_shrink(art, w).resize((w, h)), np.float32)
        mask = a[..., 3] > 200
        if not mask.any():
            continue
        d = float(np.abs(pixels[mask] - a[..., :3][mask]).mean())
        if d < best_d:
            best, best_d = name, d
    return best


def detect_logo(
    image: Image.Image,
    logos: Mapping[str, Image.Image],
    min_width: int,
    max_width: int,
    search: Box | None = None,
    *,
    work_long_side: int = 480,
    scales: int = 16,
    candidates: int = 8,
) -> LogoDetection:
    """Find the logo on the rendered pixels by multi-scale template matching.

    Templates are each variant's luminance on its contrasting ground (alpha-composited), matched with
    polarity-free |NCC| over the template rectangle, so a white mark on teal and a navy one on cream
    both score ~1 whatever the contrast (an invisible, same-colour mark scores 0).

    * Coarse: every distinct variant at ``scales`` widths spaced geometrically over
      ``min_width..max_width``, OpenCV matchTemplate on a copy reduced by an integer factor so its long side
      is about ``work_long_side`` px, window statistics from integral images.
    * Fine: the best ``candidates`` distinct coarse peaks are re-matched at full resolution in a small
      window, widths +-8 % in 2 % steps, then +-3 px in 1 px steps.

    ``found`` when the best full-resolution score is >= :data:`LOGO_MIN_SCORE`; ``variant`` is the
    variant whose ink colours match the pixels best; ``box`` and ``width`` are in image pixels.
    """
    rgb = as_rgb(image)
    W, H = rgb.size
    sx0, sy0, sx1, sy1 = search or (0, 0, W, H)
    sx0, sy0, sx1, sy1 = max(0, sx0), max(0, sy0), min(W, sx1), min(H, sy1)
    if sx1 - sx0 < 8 or sy1 - sy0 < 8 or not logos:
        return LogoDetection(found=False)
    region = rgb if (sx0, sy0, sx1, sy1) == (0, 0, W, H) else rgb.crop((sx0, sy0, sx1, sy1))
    grey = region.convert("L")
    k = max(1, math.ceil(max(grey.size) / work_long_side))
    small = grey.reduce(k) if k > 1 else grey
    f = small.width / grey.width
    img = np.asarray(small, np.float32)  # what matchTemplate takes: converted once, not per template
    integral = _Integral(img)
    arts = {name: as_rgba(art) for name, art in logos.items()}
    keys = {name: _Art(art) for name, art in arts.items()}
    sources = {name: _art_source(key) for name, key in keys.items()}
    min_width, max_width = max(8, int(min_width)), max(8, int(min_width), int(max_width))
    widths = np.geomspace(min_width, max_width, max(1, scales)) if max_width > min_width else [min_width]
    # templates from the source shrunk once: coarse ones from ~2x their largest size, fine ones
    # from ~2x the maximum (cached per artwork, source width and template width)
    coarse_width = {n: min(arts[n].width, round(2 * max_width * f) + 2) for n in arts}

    peaks: list[tuple[float, str, float, int, int]] = []  # score, variant, width, x, y (full res)
    for name in _distinct_variants(sources) or list(arts):
        for width in widths:
            template = _art_template(keys[name], coarse_width[name], round(width * f))
            ncc = _ncc_map(img, template, integral)
            if ncc.size == 0:
                continue
            iy, ix = np.unravel_index(int(np.argmax(ncc)), ncc.shape)
            peaks.append((float(ncc[iy, ix]), name, float(width), sx0 + round(ix / f), sy0 + round(iy / f)))
    if not peaks:
        return LogoDetection(found=False)
    peaks.sort(key=lambda p: -p[0])
    chosen: list[tuple[float, str, float, int, int]] = []
    for peak in peaks:
        if all(abs(peak[3] - c[3]) > c[2] / 2 or abs(peak[4] - c[4]) > c[2] / 6 for c in chosen):
            chosen.append(peak)
        if len(chosen) >= candidates:
            break

    # -- fine: full resolution, small window around each candidate ----------------------------------
    margin = max(4, round(1.5 / f))
    best: tuple[float, str, int, int, int] | None = None  # score, variant, width, x, y
    for _, name, width, bx, by in chosen:
        art = arts[name]
        fine_width = min(art.width, round(2 * max_width) + 2)
        aspect = art.height / art.width
        cx, cy = bx + width / 2, by + width * aspect / 2
        wx0, wy0 = (
            max(0, round(cx - width * 0.55) - margin),
            max(0, round(cy - width * aspect * 0.55) - margin),
        )
        wx1, wy1 = (
            min(W, round(cx + width * 0.55) + margin),
            min(H, round(cy + width * aspect * 0.55) + margin),
        )
        window = np.asarray(rgb.crop((wx0, wy0, wx1, wy1)).convert("L"), np.float32)
        w_int = _Integral(window)

        def match(w: int, name=name, fine_width=fine_width, window=window, w_int=w_int, wx0=wx0, wy0=wy0):
            ncc = _ncc_map(window, _art_template(keys[name], fine_width, w), w_int)
            if ncc.size == 0:
                return None
            iy, ix = np.unravel_index(int(np.argmax(ncc)), ncc.shape)
            return float(ncc[iy, ix]), name, w, wx0 + int(ix), wy0 + int(iy)

        local = [m for s in np.linspace(-0.08, 0.08, 9) if (m := match(round(width * (1 + s))))]
        if not local:
            continue
        top = max(local, key=lambda m: m[0])
        tried = {m[2] for m in local}
        local += [m for d in range(-3, 4) if top[2] + d not in tried and (m := match(top[2] + d))]
        top = max(local, key=lambda m: m[0])
        if best is None or top[0] > best[0]:
            best = top
    if best is None:
        return LogoDetection(found=False, score=round(peaks[0][0], 4))
    score, name, w, x, y = best
    h = max(2, round(arts[name].height * w / arts[name].width))
    if score < LOGO_MIN_SCORE:
        return LogoDetection(found=False, score=round(score, 4), width=w)
    box: Box = (x, y, x + w, y + h)
    variant = _which_variant(np.asarray(rgb.crop(box), np.float32), arts)
    return LogoDetection(found=True, variant=variant, box=box, score=round(score, 4), width=w)


def locate_logo(
    image: Image.Image,
    logos: Mapping[str, Image.Image],
    min_width: int,
    max_width: int,
    placed: Box | None = None,
) -> LogoDetection:
    """:func:`detect_logo`, first around ``placed`` (where the renderer put the logo: one logo height
    around it, every width), then over the whole image when it is not found there. The answer is the
    pixels' either way: a logo that moved, was covered or is missing goes through the global search."""
    if placed is not None and placed[2] > placed[0] and placed[3] > placed[1]:
        x0, y0, x1, y1 = placed
        pad = max(8, y1 - y0)
        local = detect_logo(
            image, logos, min_width, max_width, search=(x0 - pad, y0 - pad, x1 + pad, y1 + pad), candidates=2
        )
        if local.found:
            return local
    return detect_logo(image, logos, min_width, max_width)


def _pairwise_contrast(a: np.ndarray, b: np.ndarray, percentile: float, cap: int = 400) -> float:
    """``percentile``-th lowest WCAG contrast over all (a, b) luminance pairs (subsampled)."""
    rng = np.random.default_rng(0)
    if a.size > cap:
        a = rng.choice(a, cap, replace=False)
    if b.size > cap:
        b = rng.choice(b, cap, replace=False)
    hi = np.maximum(a[:, None], b[None, :])
    lo = np.minimum(a[:, None], b[None, :])
    return float(np.percentile((hi + 0.05) / (lo + 0.05), percentile))


def logo_surround_contrast(
    image: Image.Image, art: Image.Image, box: Box, clear_space: float, percentile: float = 30.0
) -> float:
    """How well the logo at ``box`` reads against what is really around it.

    Ink = the artwork's opaque pixels (alpha > 0.9, eroded by 1 px against misregistration), read from
    the image. Ground = the box's non-ink pixels more than 2 px from ink (counters, gaps; anti-aliased
    edges excluded) plus a ring around the box a third of the clear space wide (so it stays on a
    backing plate, which ``place_logo`` draws half the clear space wide). Like
    :func:`branding.logo_contrast`, the ``percentile``-th lowest WCAG contrast over ink/ground pairs.
    """
    W, H = image.size
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    ring = max(2, round(clear_space * h / 3))
    gx0, gy0, gx1, gy1 = max(0, x0 - ring), max(0, y0 - ring), min(W, x1 + ring), min(H, y1 + ring)
    crop = np.asarray(as_rgb(image).crop((gx0, gy0, gx1, gy1)), np.float64)
    alpha = np.zeros(crop.shape[:2], np.float32)
    a = np.asarray(as_rgba(art).resize((w, h), Image.Resampling.BOX), np.float32)[..., 3] / 255
    ax0, ay0 = x0 - gx0, y0 - gy0
    # clip the artwork to the crop (box may touch the canvas edge)
    cx0, cy0 = max(0, -ax0), max(0, -ay0)
    cx1, cy1 = min(w, alpha.shape[1] - ax0), min(h, alpha.shape[0] - ay0)
    alpha[ay0 + cy0 : ay0 + cy1, ax0 + cx0 : ax0 + cx1] = a[cy0:cy1, cx0:cx1]
    ink = alpha > 0.9
    core = erode(ink)
    if core.sum() >= 0.3 * ink.sum():
        ink = core
    ground = ~dilate(alpha > 0.02, 2)
    if not ink.any() or not ground.any():
        return 1.0
    lum = relative_luminance(crop)
    return _pairwise_contrast(lum[ink], lum[ground], percentile)


def _grow(box: Box, by: int) -> Box:
    return (box[0] - by, box[1] - by, box[2] + by, box[3] + by)


def check_logo(
    image: Image.Image,
    logos: Mapping[str, Image.Image],
    min_width_px: int,
    max_width_px: int,
    clear_space: float,
    text_boxes: Sequence[Box] | Mapping[str, Box],
    *,
    detection: LogoDetection | None = None,
) -> CheckOutcome:
    """The logo must be found on the pixels, at least ``min_width_px`` wide (3 % tolerance), read at
    >= 3:1 against its surroundings (ERROR each), and keep its clear space free of text (WARN).

    The search covers widths from 0.6x the minimum to 1.15x the maximum, so an undersized logo is
    found and reported as too small rather than as missing.
    """
    det = detection or detect_logo(image, logos, round(min_width_px * 0.6), round(max_width_px * 1.15))
    findings: list[Finding] = []
    figures: dict[str, float] = {
        "score": det.score,
        "width_px": det.width if det.found else 0,
        "contrast": 0.0,
    }
    if not det.found or det.box is None or det.variant is None:
        findings.append(
            Finding(
                check="logo",
                severity="ERROR",
                message=f"logo not found on the creative (best match score {det.score:.2f} < {LOGO_MIN_SCORE})",
                where="logo",
            )
        )
        return make_outcome("logo", findings, figures)
    box = det.box
    h = box[3] - box[1]
    if det.width < min_width_px * (1 - LOGO_WIDTH_TOLERANCE):
        findings.append(
            Finding(
                check="logo",
                severity="ERROR",
                message=f"logo is {det.width} px wide, below the minimum {min_width_px} px",
                where="logo",
            )
        )
    contrast = logo_surround_contrast(image, logos[det.variant], box, clear_space)
    figures["contrast"] = contrast
    if contrast < LOGO_MIN_CONTRAST:
        findings.append(
            Finding(
                check="logo",
                severity="ERROR",
                message=f"logo ({det.variant}) is not legible: contrast {contrast:.2f}:1 against its "
                f"surroundings, needs {LOGO_MIN_CONTRAST:.1f}:1",
                where="logo",
            )
        )
    clear = _grow(box, round(clear_space * h))
    for name, tb in named_boxes(text_boxes).items():
        if tb[2] > tb[0] and tb[3] > tb[1] and boxes_overlap(tb, clear):
            findings.append(
                Finding(
                    check="logo",
                    severity="WARN",
                    message=f"{name} intrudes on the logo's clear space ({clear_space:g} x logo height)",
                    where=name,
                )
            )
    return make_outcome("logo", findings, figures)


def run(ctx: CreativeContext) -> CheckOutcome:
    detection = ctx.logo_detection
    if detection is None:
        finding = Finding(check="logo", severity="ERROR", message="no logo artwork given")
        return make_outcome("logo", [finding], {})
    rules = ctx.logo
    return check_logo(
        ctx.image,
        rules.artwork,
        rules.min_px,
        rules.max_px,
        rules.clear_space,
        ctx.elements,
        detection=detection,
    )
