"""Compliance checks for one rendered creative. Pure functions (Pillow + numpy, no Dagster).

Ten checks, each returning a :class:`CheckOutcome` (passed, worst severity, findings, measured figures):

``copy_terms``
    Legal / banned terms (layered rules, already merged) in the headline, sub-line, CTA and legal line.
    Case-, width- and diacritic-insensitive; whole words where the script separates words with spaces,
    substrings where it does not (Han, kana, Thai, ...). See :func:`find_terms`.
``logo``
    The logo is found **on the rendered pixels** by template matching (the LogoReport is not trusted),
    is at least the minimum width, reads against what surrounds it (>= 3:1) and keeps its clear space.
``brand_colours``
    Share of pixels within CIEDE2000 ``delta_e`` of the palette (advisory: WARN only).
``text_legibility``
    WCAG contrast measured on the final pixels inside each block's ink box, minimum type sizes, and no
    clipped or overflowing block.
``safe_zones``
    Text ink boxes, the CTA button and the detected logo inside the safe area of the placement.
``glyph_coverage``
    Every character drawn with a real glyph (see :func:`check_glyphs` for how fallback fonts count).
``text_over_product``
    No text block (nor the CTA button) covers the product's visible pixels, measured on the mask of
    the product as it was placed (``FinalRender.product``), not on the layout plan.
``source_resolution``
    The supplied product image is not shown enlarged beyond the kit's ``product_imagery.max_upscale``.
``copy_source``
    WARN when the creative prints machine-translated or fallback (source-language) copy.
``product_share``
    The product's visible pixels (the mask of the cut-out actually placed, minus what covers it) are at
    least a small share of the canvas (see :func:`check_product_share`).

Figures are oriented so that *lower is worse* wherever a natural measure allows it (contrast, score,
width, share, margin, size), because campaign roll-ups keep the minimum across creatives.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel

from creative_assets.render.color import (
    contrast_against_pixels,
    hex_to_rgb,
    palette_fit,
    relative_luminance,
)
from creative_assets.render.fonts import (
    CJK_SCRIPTS,
    bundled_font,
    detect_script,
    emoji_font,
    font_search_dirs,
    missing_glyphs,
    resolve_font_file,
)
from creative_assets.render.layout import Box, boxes_overlap, inside, mirror_box, placement_for_key
from creative_assets.render.segmentation import emoji_in
from creative_assets.stages import CopyVariant, FinalRender, TermRuleRecord, TextBlockReport
from creative_assets.term_skeleton import fold_char, visual_variants

Severity = Literal["WARN", "ERROR"]

CHECKS = (
    "copy_terms",
    "logo",
    "brand_colours",
    "text_legibility",
    "safe_zones",
    "glyph_coverage",
    "text_over_product",
    "source_resolution",
    "copy_source",
    "product_share",
)

COPY_FIELDS = ("headline", "subline", "cta", "disclaimer")

#: Logo: minimum |normalized cross-correlation| for "found". Clean renders score >= 0.99, a mark
#: nearly the colour of its ground about 0.75, the best false match on busy stripes about 0.58.
LOGO_MIN_SCORE = 0.6
#: Logo: WCAG non-text contrast the mark needs against its surroundings.
LOGO_MIN_CONTRAST = 3.0
#: Logo: measured width may undershoot the minimum by this fraction (1% scale steps, resampling).
LOGO_WIDTH_TOLERANCE = 0.03

#: Text: WCAG AA for normal and large text.
AA_NORMAL = 4.5
AA_LARGE = 3.0
#: Large text thresholds in px per 1080 px of short side (WCAG 18 pt regular / 14 pt bold).
LARGE_REGULAR_PX = 24.0
LARGE_BOLD_PX = 18.66
#: Minimum type size per role, as a fraction of the canvas's short side.
MIN_SIZE = {"headline": 0.035, "subline": 0.024, "cta": 0.024, "disclaimer": 0.016}
BOLD_ROLES = frozenset({"headline", "cta"})
#: Ink box may exceed the block box by this many px before it counts as overflowing.
OVERFLOW_TOLERANCE_PX = 2


class Finding(BaseModel):
    """One problem: which check, how bad, what/where/why in words, and where (element) for filtering."""

    check: str
    severity: Severity
    message: str
    where: str = ""


class CheckOutcome(BaseModel):
    check: str
    passed: bool  # no findings
    severity: Severity  # worst finding's severity ("WARN" when passed)
    findings: list[Finding]
    figures: dict[str, float]


def _outcome(check: str, findings: list[Finding], figures: dict[str, float]) -> CheckOutcome:
    severity: Severity = "ERROR" if any(f.severity == "ERROR" for f in findings) else "WARN"
    return CheckOutcome(
        check=check,
        passed=not findings,
        severity=severity,
        findings=findings,
        figures={k: round(float(v), 4) for k, v in figures.items()},
    )


def _named(boxes: Sequence[Box] | Mapping[str, Box], prefix: str = "text") -> dict[str, Box]:
    if isinstance(boxes, Mapping):
        return dict(boxes)
    return {f"{prefix} {i + 1}": tuple(b) for i, b in enumerate(boxes)}  # type: ignore[misc]


# ================================================================================ 1. copy terms

#: Scripts written without spaces between words (a term inside a longer run is still the term).
_CONTINUA_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # kana
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF),  # Han
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0xFF66, 0xFF9F),
    (0x20000, 0x3134F),
)
_HANGUL_RANGES = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7AF))


def _in_ranges(ch: str, ranges: tuple[tuple[int, int], ...]) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in ranges)


def _word_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LNM"


def _fold_char(ch: str) -> str:
    """One character's banned-term skeleton (see :mod:`creative_assets.term_skeleton`): default-
    ignorables removed, NFKC + casefold, diacritics removed, UTS #39 confusables mapped."""
    return fold_char(ch)


def _fold(text: str, dashes_as_space: bool = False) -> tuple[str, list[int]]:
    """Folded text with whitespace runs collapsed to one space, and for each folded character the
    index of the original character it came from."""
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        folded = _fold_char(ch)
        for c in folded:
            if c.isspace() or (dashes_as_space and unicodedata.category(c) == "Pd"):
                if chars and chars[-1] == " ":
                    continue
                c = " "
            chars.append(c)
            index.append(i)
    # strip the ends
    while chars and chars[0] == " ":
        chars.pop(0)
        index.pop(0)
    while chars and chars[-1] == " ":
        chars.pop()
        index.pop()
    return "".join(chars), index


def normalize(text: str) -> str:
    """The banned-term skeleton of ``text`` (:mod:`creative_assets.term_skeleton`), whitespace
    collapsed: invisible characters removed, NFKC, casefold, diacritics removed, confusables mapped.

    Marks that are vowels or distinguish letters (Indic and South-East Asian scripts, Japanese voicing
    marks) are kept: dropping them would merge different words.
    """
    return _fold(text)[0]


@functools.lru_cache(maxsize=4096)
def _folded_term(term: str) -> str:
    return _fold(term, dashes_as_space=True)[0]


def _latin(ch: str) -> bool:
    return ch.isascii() or unicodedata.name(ch, "").startswith("LATIN")


def _edge_needs_boundary(term_char: str, neighbour: str, line_breaking: str) -> bool:
    """Whether ``neighbour`` (next to the term's edge character ``term_char``) makes the hit part of a
    longer word. Only word characters of space-separated scripts do; and none do in an unspaced locale
    when the term itself is in that locale's script."""
    if not _word_char(neighbour) or not _word_char(term_char):
        return False
    if _in_ranges(term_char, _CONTINUA_RANGES) or _in_ranges(neighbour, _CONTINUA_RANGES):
        return False
    # unspaced locale: substring matching, except a Latin term inside a Latin word ("secure")
    return line_breaking not in ("cjk", "thai") or (_latin(term_char) and _latin(neighbour))


def find_terms(
    text: str, rules: Sequence[TermRuleRecord], line_breaking: str
) -> list[tuple[TermRuleRecord, str]]:
    """Every rule whose term occurs in ``text``, with the original text it matched (in text order).

    Matching is on the skeleton (:func:`normalize`; dashes count as spaces, so "sugar-free" matches
    "sugar free"): case-, width- and diacritic-insensitive, blind to invisible characters (zero-width
    spaces, soft hyphens) and to look-alike letters of other scripts (Cyrillic "сurе"), multi-word
    terms across any whitespace, and text under a bidi override is read in the order it is shown.
    ``matched`` is the text as written (the term is reported as the rule wrote it).
    With ``line_breaking == "spaces"`` a term must be a whole word: the characters either side must
    not be Unicode letters, digits or marks ("cure" fires on "Cure!" but not on "secure" or "cured").
    Terms in scripts written without spaces (Han, kana, Thai, ...) always match as substrings, and in
    ``cjk``/``thai`` locales every term does, except that a Latin term still needs Latin word
    boundaries. Korean terms are stems: the end of a Hangul term may be followed by a particle.
    """
    hits: list[tuple[int, TermRuleRecord, str]] = []
    found: set[int] = set()
    # the logical order, and the displayed order where a bidi override reverses a run
    for variant, order in visual_variants(text):
        folded, index = _fold(variant, dashes_as_space=True)
        index = [order[i] for i in index]
        for n, rule in enumerate(rules):
            if n in found:
                continue
            term = _folded_term(rule.term)
            if not term:
                continue
            start = 0
            while (pos := folded.find(term, start)) != -1:
                start = pos + 1
                end = pos + len(term)
                if pos > 0 and _edge_needs_boundary(term[0], folded[pos - 1], line_breaking):
                    continue
                if (
                    end < len(folded)
                    and not _in_ranges(term[-1], _HANGUL_RANGES)
                    and _edge_needs_boundary(term[-1], folded[end], line_breaking)
                ):
                    continue
                o0, o1 = min(index[pos:end]), max(index[pos:end])
                # include trailing combining marks of the last original character
                while o1 + 1 < len(text) and unicodedata.category(text[o1 + 1]) == "Mn":
                    o1 += 1
                hits.append((o0, rule, text[o0 : o1 + 1]))
                found.add(n)
                break  # one hit per rule and text is enough
    hits.sort(key=lambda h: h[0])
    return [(rule, matched) for _, rule, matched in hits]


def check_copy_terms(copy: CopyVariant, rules: Sequence[TermRuleRecord], line_breaking: str) -> CheckOutcome:
    """Banned terms in headline, sub-line, CTA and legal line; each hit's severity is its rule's."""
    findings: list[Finding] = []
    for field in COPY_FIELDS:
        text = getattr(copy, field) or ""
        for rule, matched in find_terms(text, rules, line_breaking):
            shown = f"'{rule.term}'"
            if matched != rule.term:
                shown += f" (as '{matched}')"
            reason = f": {rule.reason}" if rule.reason else ""
            findings.append(
                Finding(
                    check="copy_terms",
                    severity=rule.severity,
                    message=f"{shown} ({rule.layer}{reason}) in {field}: '{text}'",
                    where=field,
                )
            )
    figures = {
        "terms_found": len(findings),
        "error_terms": sum(f.severity == "ERROR" for f in findings),
        "rules_checked": len(rules),
    }
    return _outcome("copy_terms", findings, figures)


# ================================================================================ 2. logo


class LogoDetection(BaseModel):
    found: bool
    variant: str | None = None
    box: Box | None = None
    score: float = 0.0  # |normalized cross-correlation| of the best match, 0..1
    width: int = 0


_LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # as Pillow's "L" conversion


def _rgb(image: Image.Image) -> Image.Image:
    return image if image.mode == "RGB" else image.convert("RGB")


def _rgba(image: Image.Image) -> Image.Image:
    return image if image.mode == "RGBA" else image.convert("RGBA")


def _shrink(art: Image.Image, width: int) -> Image.Image:
    """``art`` at ``width`` px (aspect kept); box-filtered when shrinking."""
    width = max(2, width)
    height = max(2, round(art.height * width / art.width))
    if (width, height) == art.size:
        return art
    return art.resize(
        (width, height), Image.Resampling.BOX if width < art.width else Image.Resampling.BICUBIC
    )


def _template_image(art: Image.Image) -> Image.Image:
    """Luminance of the logo on the ground it is designed to contrast with (white for dark marks,
    black for light ones): what the mark looks like where it reads. A float ("F") image, so resizing
    it is a cheap single-channel operation."""
    rgba = np.asarray(_rgba(art), np.float32)
    alpha = rgba[..., 3] / 255.0
    lum = rgba[..., :3] @ _LUMA
    weight = alpha.sum()
    ink = float((lum * alpha).sum() / weight) if weight else 0.0
    ground = 0.0 if ink > 128 else 255.0
    return Image.fromarray((alpha * lum + (1 - alpha) * ground).astype(np.float32), "F")


def _template(source: Image.Image, width: int) -> np.ndarray:
    return np.asarray(_shrink(source, width), np.float64)


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


def _ncc_map(
    img: np.ndarray, templ: np.ndarray, img_fft: np.ndarray | None = None, integral=None
) -> np.ndarray:
    """|Normalized cross-correlation| of ``templ`` at every valid position of ``img`` (FFT-based;
    circular correlation is exact for valid positions when the FFT is the image's size)."""
    h, w = img.shape
    th, tw = templ.shape
    if th > h or tw > w or th < 2 or tw < 2:
        return np.zeros((0, 0))
    t = templ.astype(np.float64) - templ.mean()
    tnorm = float(np.sqrt((t * t).sum()))
    if tnorm < 1e-6:
        return np.zeros((h - th + 1, w - tw + 1))
    if img_fft is None:
        img_fft = np.fft.rfft2(img)
    corr = np.fft.irfft2(img_fft * np.conj(np.fft.rfft2(t, s=(h, w))), s=(h, w))[: h - th + 1, : w - tw + 1]
    s1, s2 = (integral or _Integral(img)).windows(th, tw)
    n = th * tw
    sd = np.sqrt(np.maximum(s2 - s1 * s1 / n, 0.0))
    flat = sd < 0.5 * np.sqrt(n)  # window std below 0.5 grey levels: nothing to match
    return np.where(flat, 0.0, np.abs(corr) / (np.where(flat, 1.0, sd) * tnorm))


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
      ``min_width..max_width``, FFT correlation on a copy reduced by an integer factor so its long side
      is about ``work_long_side`` px, window statistics from integral images.
    * Fine: the best ``candidates`` distinct coarse peaks are re-matched at full resolution in a small
      window, widths +-8 % in 2 % steps, then +-3 px in 1 px steps.

    ``found`` when the best full-resolution score is >= :data:`LOGO_MIN_SCORE`; ``variant`` is the
    variant whose ink colours match the pixels best; ``box`` and ``width`` are in image pixels.
    """
    rgb = _rgb(image)
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
    img = np.asarray(small, np.float64)
    img_fft = np.fft.rfft2(img)
    integral = _Integral(img)
    arts = {name: _rgba(art) for name, art in logos.items()}
    sources = {name: _template_image(art) for name, art in arts.items()}
    min_width, max_width = max(8, int(min_width)), max(8, int(min_width), int(max_width))
    widths = np.geomspace(min_width, max_width, max(1, scales)) if max_width > min_width else [min_width]
    # sources shrunk once: coarse templates from ~2x their largest size, fine ones from ~2x the maximum
    coarse_src = {n: _shrink(sources[n], min(arts[n].width, round(2 * max_width * f) + 2)) for n in arts}

    peaks: list[tuple[float, str, float, int, int]] = []  # score, variant, width, x, y (full res)
    for name in _distinct_variants(sources) or list(arts):
        for width in widths:
            ncc = _ncc_map(img, _template(coarse_src[name], round(width * f)), img_fft, integral)
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
        fine_src = _shrink(sources[name], min(art.width, round(2 * max_width) + 2))
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
        window = np.asarray(rgb.crop((wx0, wy0, wx1, wy1)).convert("L"), np.float64)
        w_fft, w_int = np.fft.rfft2(window), _Integral(window)

        def match(w: int, name=name, src=fine_src, window=window, w_fft=w_fft, w_int=w_int, wx0=wx0, wy0=wy0):
            ncc = _ncc_map(window, _template(src, w), w_fft, w_int)
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


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    out = mask.copy()
    for _ in range(r):
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        out = grown
    return out


def _erode(mask: np.ndarray) -> np.ndarray:
    return ~_dilate(~mask, 1)


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
    crop = np.asarray(_rgb(image).crop((gx0, gy0, gx1, gy1)), np.float64)
    alpha = np.zeros(crop.shape[:2], np.float32)
    a = np.asarray(_rgba(art).resize((w, h), Image.Resampling.BOX), np.float32)[..., 3] / 255
    ax0, ay0 = x0 - gx0, y0 - gy0
    # clip the artwork to the crop (box may touch the canvas edge)
    cx0, cy0 = max(0, -ax0), max(0, -ay0)
    cx1, cy1 = min(w, alpha.shape[1] - ax0), min(h, alpha.shape[0] - ay0)
    alpha[ay0 + cy0 : ay0 + cy1, ax0 + cx0 : ax0 + cx1] = a[cy0:cy1, cx0:cx1]
    ink = alpha > 0.9
    core = _erode(ink)
    if core.sum() >= 0.3 * ink.sum():
        ink = core
    ground = ~_dilate(alpha > 0.02, 2)
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
        return _outcome("logo", findings, figures)
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
    for name, tb in _named(text_boxes).items():
        if tb[2] > tb[0] and tb[3] > tb[1] and boxes_overlap(tb, clear):
            findings.append(
                Finding(
                    check="logo",
                    severity="WARN",
                    message=f"{name} intrudes on the logo's clear space ({clear_space:g} x logo height)",
                    where=name,
                )
            )
    return _outcome("logo", findings, figures)


# ================================================================================ 3. brand colours


def check_brand_colours(
    image: Image.Image, palette_hex: Sequence[str], delta_e: float = 15.0, min_share: float = 0.25
) -> CheckOutcome:
    """Advisory: WARN when less than ``min_share`` of the pixels are within CIEDE2000 ``delta_e`` of a
    palette colour (measured on a 96 x 96 downsample by :func:`color.palette_fit`)."""
    if not palette_hex:
        return _outcome("brand_colours", [], {"share_within": 1.0, "median_delta_e": 0.0})
    fit = palette_fit(image, list(palette_hex), threshold=delta_e)
    findings = []
    if fit["share_within"] < min_share:
        findings.append(
            Finding(
                check="brand_colours",
                severity="WARN",
                message=f"only {fit['share_within']:.0%} of the image is within ΔE00 {delta_e:g} of the brand "
                f"palette (want {min_share:.0%}; median ΔE00 {fit['median_delta_e']:.1f})",
                where="image",
            )
        )
    return _outcome("brand_colours", findings, fit)


# ================================================================================ 4. text legibility


def text_contrast(
    image: Image.Image | np.ndarray,
    colour: str | Sequence[int],
    ink_bbox: Box,
    percentile: float = 10.0,
    exclude: Sequence[Box] = (),
) -> float:
    """WCAG contrast of text in ``colour`` against its background, measured on the final pixels.

    Inside ``ink_bbox``: text pixels are those within RGB distance 24 of ``colour``; they and a 1 px
    anti-aliasing fringe around them are excluded, the rest is background; the result is the
    ``percentile``-th lowest per-pixel contrast of ``colour`` against that background. When more than
    60 % of the box is text-coloured, the ground itself matches the text: every pixel counts as
    background (and the contrast comes out near 1).
    """
    arr = image if isinstance(image, np.ndarray) else np.asarray(_rgb(image))
    H, W = arr.shape[:2]
    x0, y0, x1, y1 = max(0, ink_bbox[0]), max(0, ink_bbox[1]), min(W, ink_bbox[2]), min(H, ink_bbox[3])
    if x1 <= x0 or y1 <= y0:
        return 1.0
    rgb = np.asarray(hex_to_rgb(colour) if isinstance(colour, str) else colour[:3], np.float64)
    px = arr[y0:y1, x0:x1, :3].astype(np.float64)
    text = np.sqrt(((px - rgb) ** 2).sum(-1)) < 24
    if exclude:  # colour emoji are glyphs, not background: their pixels count as text
        for ex0, ey0, ex1, ey1 in exclude:
            text[max(0, ey0 - y0) : max(0, ey1 - y0), max(0, ex0 - x0) : max(0, ex1 - x0)] = True
    if text.mean() > 0.6:
        background = px.reshape(-1, 3)
    else:
        background = px[~_dilate(text, 1)]
        if len(background) < 0.05 * text.size:
            background = px[~text]
        if len(background) == 0:
            background = px.reshape(-1, 3)
    return contrast_against_pixels(rgb, background, percentile)


def required_contrast(role: str, size: int, short_side: int) -> float:
    """4.5:1, or 3:1 for large text (>= 24 px per 1080 px of short side; 18.66 px for bold roles)."""
    large_px = (LARGE_BOLD_PX if role in BOLD_ROLES else LARGE_REGULAR_PX) * short_side / 1080
    return AA_LARGE if size >= large_px else AA_NORMAL


def check_text_legibility(
    image: Image.Image, blocks: Sequence[TextBlockReport], short_side: int
) -> CheckOutcome:
    """Per block: contrast on the final pixels (ERROR below 4.5:1, 3:1 for large text), the block must
    fit with its ink inside the image and inside its box (+2 px) (ERROR), and the type must reach the
    role's minimum size (ERROR): headline 3.5 %, sub-line/CTA 2.4 %, legal line 1.6 % of the short side.
    Headline and CTA count as bold."""
    arr = np.asarray(_rgb(image))
    H, W = arr.shape[:2]
    findings: list[Finding] = []
    contrasts: list[float] = []
    margins: list[float] = []
    sizes: list[float] = []
    for block in blocks:
        where = block.role
        contrast = text_contrast(arr, block.colour, block.ink_bbox, exclude=block.emoji_boxes)
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
        minimum = MIN_SIZE[block.role] * short_side
        if block.size < minimum:
            findings.append(
                Finding(
                    check="text_legibility",
                    severity="ERROR",
                    message=f"{block.role} '{block.text}' is {block.size} px, below the minimum "
                    f"{minimum:.1f} px ({MIN_SIZE[block.role]:.1%} of the {short_side} px short side)",
                    where=where,
                )
            )
    figures = {
        "min_contrast": min(contrasts, default=21.0),
        "min_margin": min(margins, default=0.0),
        "smallest_size": min(sizes, default=0.0),
    }
    return _outcome("text_legibility", findings, figures)


# ================================================================================ 5. safe zones


def safe_box(ratio: str, width: int, height: int, direction: str = "ltr") -> Box:
    """The safe area of output key ``ratio``'s placement (``creative_assets.placements``) in pixels,
    mirrored for right-to-left locales (platform UI moves to the other side in RTL apps)."""
    box = placement_for_key(ratio).safe_area.box(width, height)
    return mirror_box(box, width) if direction == "rtl" else box


def check_safe_zones(
    ratio: str,
    width: int,
    height: int,
    direction: str,
    text_boxes: Sequence[Box] | Mapping[str, Box],
    logo_box: Box | None,
) -> CheckOutcome:
    """ERROR for every text ink box (and the logo box) that leaves the ratio's safe box (mirrored for
    right-to-left locales); the message names the element, the profile and the sides crossed."""
    try:
        zone = placement_for_key(ratio)
    except (KeyError, ValueError):
        return _outcome(
            "safe_zones",
            [Finding(check="safe_zones", severity="WARN", message=f"no placement for output {ratio}")],
            {},
        )
    sb = safe_box(ratio, width, height, direction)
    elements = _named(text_boxes)
    if logo_box is not None:
        elements["logo"] = logo_box
    findings: list[Finding] = []
    worst = float("inf")
    for name, box in elements.items():
        if box[2] <= box[0] or box[3] <= box[1]:
            continue
        over = {
            "left": sb[0] - box[0],
            "top": sb[1] - box[1],
            "right": box[2] - sb[2],
            "bottom": box[3] - sb[3],
        }
        worst = min(worst, -max(over.values()))
        if not inside(box, sb):
            sides = ", ".join(f"{side} by {px} px" for side, px in over.items() if px > 0)
            findings.append(
                Finding(
                    check="safe_zones",
                    severity="ERROR",
                    message=f"{name} {box} leaves the safe area of placement '{zone.name}' {sb} ({sides})",
                    where=name,
                )
            )
    figures = {"min_inset_px": worst if worst != float("inf") else 0.0}
    return _outcome("safe_zones", findings, figures)


# ================================================================================ 6. glyph coverage

FontResolver = Callable[[str], Path]


def default_font_resolver(extra_dirs: Sequence[Path | str] = ()) -> FontResolver:
    """Resolve a report's font file name like the renderer does (extra dirs, bundled, env, system)."""
    dirs = font_search_dirs(list(extra_dirs))

    def resolve(name: str) -> Path:
        return resolve_font_file(name, dirs)

    return resolve


def _is_bold_name(name: str) -> bool:
    stem = Path(name).stem.lower()
    return any(w in stem for w in ("bold", "black", "heavy"))


def _fallback_chain(font: Path, text: str, missing: Sequence[str], main: str) -> list[Path]:
    """The fonts ``render.text`` falls back to for ``missing`` characters: the bundled face of each
    character's script (bold if the block font is), then Noto Sans."""
    bold = _is_bold_name(font.name)
    hint = main if main in CJK_SCRIPTS else None
    chain: list[Path] = []
    for ch in missing:
        candidate = bundled_font(detect_script(ch, hint), bold)
        if candidate not in chain:
            chain.append(candidate)
    latin = bundled_font("latin", bold)
    if latin not in chain:
        chain.append(latin)
    emoji = emoji_font() if emoji_in(text) else None
    if emoji is not None:  # the renderer draws emoji clusters with the colour emoji font
        chain.append(emoji)
    return chain


def _codes(chars: Sequence[str]) -> str:
    return ", ".join(f"'{c}' U+{ord(c):04X}" for c in chars)


def check_glyphs(
    blocks: Sequence[TextBlockReport], font_resolver: FontResolver | Sequence[Path | str] | None = None
) -> CheckOutcome:
    """ERROR for characters of a block drawn without a real glyph, naming them and their code points.

    ``font_resolver`` maps a report's font file name to a path (default: the renderer's search order;
    a sequence of folders is searched first).

    The renderer (``render.text``) draws characters the block font lacks with fallback fonts (the
    bundled Noto face of the character's script, then Noto Sans), because e.g. the Hebrew and Thai
    Noto faces have no digits or Latin letters. Checking the block font alone would fail every Hebrew
    ad with a price in it, so the rule is:

    * a character no font of that fallback chain covers would be tofu: ERROR;
    * a **letter of the block's own script** (``fonts.detect_script`` of the block text) the block
      font lacks is an ERROR too, even though a fallback draws it: the block is then set in the wrong
      face (Japanese copy in NotoSans-Regular.ttf comes out entirely in the fallback face);
    * anything else the block font lacks but a fallback covers (digits, punctuation, symbols, a Latin
      brand name in Arabic copy) passes; the count is reported as figure ``fallback_chars``.
    """
    if font_resolver is None:
        resolve = default_font_resolver()
    elif callable(font_resolver):
        resolve = font_resolver
    else:
        resolve = default_font_resolver(font_resolver)
    findings: list[Finding] = []
    chars_total = chars_missing = fallback = 0
    for block in blocks:
        text = block.text
        chars_total += sum(1 for c in text if not c.isspace())
        try:
            path = resolve(block.font)
        except FileNotFoundError as exc:
            findings.append(
                Finding(
                    check="glyph_coverage", severity="ERROR", message=f"{block.role}: {exc}", where=block.role
                )
            )
            continue
        missing = missing_glyphs(path, text)
        if not missing:
            continue
        main = detect_script(text)
        chain = _fallback_chain(path, text, missing, main)
        tofu, wrong_face = [], []
        for ch in missing:
            covered = any(not missing_glyphs(f, ch) for f in chain if f.is_file())
            if not covered:
                tofu.append(ch)
            elif (
                unicodedata.category(ch)[0] in "LM"
                and detect_script(ch, main if main in CJK_SCRIPTS else None) == main
            ):
                wrong_face.append(ch)
            else:
                fallback += 1
        if tofu:
            chars_missing += len(tofu)
            findings.append(
                Finding(
                    check="glyph_coverage",
                    severity="ERROR",
                    message=f"{block.role} '{text}': no glyph in {block.font} or any fallback font for "
                    f"{len(tofu)} character(s): {_codes(tofu)} (drawn as boxes)",
                    where=block.role,
                )
            )
        if wrong_face:
            chars_missing += len(wrong_face)
            findings.append(
                Finding(
                    check="glyph_coverage",
                    severity="ERROR",
                    message=f"{block.role} '{text}': {block.font} has no glyph for {len(wrong_face)} {main} "
                    f"character(s): {_codes(wrong_face[:12])}{' ...' if len(wrong_face) > 12 else ''}",
                    where=block.role,
                )
            )
    figures = {
        "coverage": 1.0 - chars_missing / chars_total if chars_total else 1.0,
        "fallback_chars": fallback,
    }
    return _outcome("glyph_coverage", findings, figures)


# ================================================================================ 7. text over product

#: Share of a text block's ink box that may lie on product pixels (anti-aliased edges, a shadow).
TEXT_OVER_PRODUCT_TOLERANCE = 0.02


def check_text_over_product(
    report: FinalRender, tolerance: float = TEXT_OVER_PRODUCT_TOLERANCE
) -> CheckOutcome:
    """ERROR for every text block (and the CTA button) whose box has more than ``tolerance`` of its
    area on the product's pixels, from the placed product's mask (``report.product``, a
    :class:`~creative_assets.render.product_mask.ProductFootprint`; the same mask ``product_share``
    measures). Without a measured footprint (an image model drew the scene and placed the product,
    so the footprint is only the layout's box) nothing is measured (figure ``measured`` 0)."""
    footprint = report.product
    if footprint is None or not footprint.measured:
        return _outcome("text_over_product", [], {"measured": 0, "overlap_share": 0.0})
    mask = footprint.array()
    elements = {b.role: b.ink_bbox for b in report.blocks}
    if report.cta_button[2] > report.cta_button[0]:
        elements["cta button"] = report.cta_button
    findings, worst = [], 0.0
    for name, (x0, y0, x1, y1) in elements.items():
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(report.width, x1), min(report.height, y1)
        if x1 <= x0 or y1 <= y0:
            continue
        share = float(mask[y0:y1, x0:x1].mean())
        worst = max(worst, share)
        if share > tolerance:
            findings.append(
                Finding(
                    check="text_over_product",
                    severity="ERROR",
                    message=f"{name} {(x0, y0, x1, y1)} covers the product: {share:.1%} of it lies on the "
                    f"product's visible pixels (tolerance {tolerance:.0%})",
                    where=name,
                )
            )
    return _outcome("text_over_product", findings, {"measured": 1, "overlap_share": worst})


# ================================================================================ 8. source resolution


def check_source_resolution(report: FinalRender, max_upscale: float) -> CheckOutcome:
    """ERROR when the supplied product image is shown enlarged more than ``max_upscale`` (placed px per
    source px, from the footprint's ``scale``). Generated products are drawn at their final size."""
    footprint = report.product
    if footprint is None or footprint.origin != "supplied" or footprint.scale is None:
        return _outcome("source_resolution", [], {"upscale": 0.0})
    findings = []
    if footprint.scale > max_upscale:
        w, h = footprint.source_size or (0, 0)
        findings.append(
            Finding(
                check="source_resolution",
                severity="ERROR",
                message=f"the {w}x{h} px product image is shown {footprint.scale:.2f}x enlarged "
                f"(at most {max_upscale:g}x allowed: brand kit product_imagery.max_upscale); it will look soft",
                where="product",
            )
        )
    return _outcome("source_resolution", findings, {"upscale": footprint.scale})


# ================================================================================ 9. copy source


def check_copy_source(sources: Mapping[str, str], warnings: Sequence[str] = ()) -> CheckOutcome:
    """WARN for each copy field that is machine-translated or the untranslated source text (from the
    localized copy's ``sources`` and warnings), so a reviewer has a native speaker look."""
    findings = []
    for field, source in sources.items():
        if "machine-translated" in source or "untranslated" in source:
            kind = "machine-translated" if "machine-translated" in source else "untranslated fallback"
            findings.append(
                Finding(
                    check="copy_source",
                    severity="WARN",
                    message=f"{field} is {kind} copy ({source}): have a native speaker review it",
                    where=field,
                )
            )
    if any("legal line is printed untranslated" in w for w in warnings) and "disclaimer" not in {
        f.where for f in findings
    }:
        findings.append(
            Finding(
                check="copy_source",
                severity="WARN",
                message="disclaimer is the untranslated legal line: have a native speaker review it",
                where="disclaimer",
            )
        )
    return _outcome("copy_source", findings, {"fallback_fields": len(findings)})


# ================================================================================ 10. product share

#: The product's visible pixels must be at least this share of the canvas.
MIN_PRODUCT_SHARE = 0.015


def check_product_share(report: FinalRender) -> CheckOutcome:
    """The product is on the creative: its visible pixels (the mask of the cut-out actually placed,
    minus what the logo and copy cover; ``report.product_visible``) are at least
    :data:`MIN_PRODUCT_SHARE` of the canvas. A cut-out that removed the product, leaving its shadow,
    fails here. A footprint that is only an estimate (a generative model placed the product) is
    reported, not judged."""
    vis = report.product_visible
    if vis is None:
        return _outcome("product_share", [], {})
    figures = {"product_share": vis.visible_share, "product_visible_of_placed": vis.visible_of_placed}
    findings = []
    if vis.source == "measured" and vis.visible_share < MIN_PRODUCT_SHARE:
        placed = report.product.area_px if report.product else 0
        findings.append(
            Finding(
                check="product_share",
                severity="ERROR",
                message=f"only {vis.visible_share:.2%} of the canvas shows the product ({vis.visible_px:,} px "
                f"visible of {placed:,} placed); at least {MIN_PRODUCT_SHARE:.1%} is needed. The packshot's "
                "cut-out may have removed the product: check the supplied image",
                where="product",
            )
        )
    return _outcome("product_share", findings, figures)


# ================================================================================ all checks


def _mask_product(image: Image.Image, box: Box) -> Image.Image:
    """A copy of ``image`` with the product's box filled flat (its median colour)."""
    x0, y0, x1, y1 = (max(0, box[0]), max(0, box[1]), min(image.width, box[2]), min(image.height, box[3]))
    if x1 <= x0 or y1 <= y0:
        return image
    masked = image.convert("RGB").copy()
    region = np.asarray(masked.crop((x0, y0, x1, y1)), np.float64).reshape(-1, 3)
    masked.paste(tuple(int(v) for v in np.median(region, axis=0)), (x0, y0, x1, y1))
    return masked


def evaluate_creative(
    image: Image.Image,
    report: FinalRender,
    copy: CopyVariant,
    rules: Sequence[TermRuleRecord],
    line_breaking: str,
    direction: str,
    logos: Mapping[str, Image.Image],
    logo_min_px: int,
    logo_max_px: int,
    clear_space: float,
    palette_hex: Sequence[str],
    *,
    font_resolver: FontResolver | Sequence[Path | str] | None = None,
    max_upscale: float = 1.5,
    copy_sources: Mapping[str, str] | None = None,
    copy_warnings: Sequence[str] = (),
) -> list[CheckOutcome]:
    """All checks for one rendered creative, in :data:`CHECKS` order.

    The logo is located on the pixels once and the detected box (not ``report.logo.box``) is used by
    the logo and safe-zone checks. The product's own pixels are masked out of that search: packaging
    often carries the brand's logo (the supplied Aurora cans do), and a packshot logo is not the brand
    mark the placement rules are about. Findings' ``where`` is prefixed with the ratio ("9:16 cta").
    """
    W, H = image.size
    short = min(W, H)
    text_boxes: dict[str, Box] = {b.role: b.ink_bbox for b in report.blocks}
    elements = dict(text_boxes)
    if report.cta_button[2] > report.cta_button[0]:
        elements["cta button"] = report.cta_button
    search_image = _mask_product(image, report.product_bbox)
    det = (
        detect_logo(search_image, logos, round(logo_min_px * 0.6), round(logo_max_px * 1.15))
        if logos
        else None
    )
    outcomes = [
        check_copy_terms(copy, rules, line_breaking),
        check_logo(image, logos, logo_min_px, logo_max_px, clear_space, elements, detection=det)
        if det is not None
        else _outcome("logo", [Finding(check="logo", severity="ERROR", message="no logo artwork given")], {}),
        check_brand_colours(image, palette_hex),
        check_text_legibility(image, report.blocks, short),
        check_safe_zones(report.ratio, W, H, direction, elements, det.box if det and det.found else None),
        check_glyphs(report.blocks, font_resolver),
        check_text_over_product(report),
        check_source_resolution(report, max_upscale),
        check_copy_source(copy_sources or {}, copy_warnings),
        check_product_share(report),
    ]
    for outcome in outcomes:
        for finding in outcome.findings:
            finding.where = f"{report.ratio} {finding.where}".strip()
    return outcomes


__all__ = [
    "CHECKS",
    "CheckOutcome",
    "Finding",
    "LogoDetection",
    "Severity",
    "check_brand_colours",
    "check_copy_source",
    "check_copy_terms",
    "check_glyphs",
    "check_logo",
    "check_product_share",
    "check_safe_zones",
    "check_source_resolution",
    "check_text_legibility",
    "check_text_over_product",
    "detect_logo",
    "evaluate_creative",
    "find_terms",
    "normalize",
]
