"""Fit, wrap and draw multi-script text into boxes.

Pure module (Pillow only, no Dagster). The flow is ``fit_text(spec, w, h)`` -> :class:`TextLayout`
-> ``draw_text(image, layout, box, fill)``.

* Sizes are searched (binary search) between ``min_size`` and ``max_size``; text is never truncated or
  ellipsised. If nothing fits, the layout at ``min_size`` is returned with ``fits=False``.
* Wrapping is done in logical order; each line is then shaped by libraqm (bidi, Arabic joining,
  Indic/Thai shaping, OpenType features) with the spec's ``direction`` and ``language``.
* Characters the spec's font lacks (Thai/Hebrew/Arabic Noto faces have no Latin letters, the Thai and
  Hebrew ones not even digits) are drawn with fallback fonts, by default the bundled Noto face for
  their script, in runs ordered with a simplified bidi algorithm.
* Every width/height used for fitting comes from ``font.getbbox`` (advance and ink), so a layout that
  ``fits`` never draws outside its box.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from PIL import Image, ImageDraw, ImageFont

from creative_assets.render.fonts import (
    RTL_SCRIPTS,
    bundled_font,
    detect_script,
    load_font,
    missing_glyphs,
    raqm_available,
    script_for_locale,
)

log = logging.getLogger(__name__)

Align = Literal["start", "center", "end"]
Direction = Literal["ltr", "rtl"]
LineBreaking = Literal["spaces", "cjk", "thai"]
VAlign = Literal["top", "center", "bottom"]
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class TextSpec:
    """What to set: the text, its font and the typographic rules (not the box)."""

    text: str
    font_path: str
    max_size: int
    min_size: int
    line_height: float = 1.18  # multiple of font size
    max_lines: int | None = None
    align: Align = "start"  # start = left for ltr, right for rtl
    direction: Direction = "ltr"
    language: str | None = None  # BCP 47 language for the shaper, e.g. "ar", "ja"
    line_breaking: LineBreaking = "spaces"
    #: Even out line lengths at the chosen size (same line count; avoids a lone last word).
    balance: bool = True
    #: Fonts for characters ``font_path`` lacks, tried in order. ``None``: the bundled Noto face of each
    #: missing character's script, then Noto Sans. ``()``: no fallback (missing glyphs draw as boxes).
    fallback_fonts: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.min_size < 1 or self.max_size < self.min_size:
            raise ValueError(f"need 1 <= min_size <= max_size, got {self.min_size}..{self.max_size}")
        if self.line_height <= 0:
            raise ValueError("line_height must be positive")
        if self.max_lines is not None and self.max_lines < 1:
            raise ValueError("max_lines must be >= 1")


@dataclass(frozen=True)
class TextLayout:
    """Result of :func:`fit_text`: the chosen size and lines, and the block's measurements."""

    spec: TextSpec
    font_size: int
    lines: tuple[str, ...]
    line_widths: tuple[int, ...]
    line_advance: int  # px between baselines
    width: int  # widest line
    height: int  # top of first line's ascent to bottom of last line's descent
    fits: bool  # False when even min_size cannot fit the box without breaking a word
    ascent: int = 0  # px from block top to first baseline
    descent: int = 0  # px from last baseline to block bottom
    fonts_used: tuple[str, ...] = ()  # file names, primary first
    missing: tuple[str, ...] = field(default=())  # characters no font in the chain can draw

    def to_dict(self) -> dict[str, object]:
        return {
            "font": Path(self.spec.font_path).name,
            "font_size": self.font_size,
            "lines": list(self.lines),
            "line_widths": list(self.line_widths),
            "line_advance": self.line_advance,
            "width": self.width,
            "height": self.height,
            "fits": self.fits,
            "direction": self.spec.direction,
            "language": self.spec.language,
            "fonts_used": list(self.fonts_used),
            "missing_glyphs": list(self.missing),
        }


# --------------------------------------------------------------------------- spec helpers

#: Line height that keeps stacked marks of tall scripts clear of the next line.
SCRIPT_LINE_HEIGHT = {"arabic": 1.4, "thai": 1.45, "devanagari": 1.4, "hebrew": 1.25}


def line_breaking_for(script: str) -> LineBreaking:
    """Wrapping mode for a script key (Korean wraps at spaces, like ``word-break: keep-all``)."""
    if script in ("japanese", "chinese_simplified", "chinese_traditional"):
        return "cjk"
    if script == "thai":
        return "thai"
    return "spaces"


def direction_for(script: str) -> Direction:
    return "rtl" if script in RTL_SCRIPTS else "ltr"


def text_spec(
    text: str,
    font_path: str | Path,
    *,
    max_size: int,
    min_size: int,
    locale: str | None = None,
    script: str | None = None,
    **overrides: object,
) -> TextSpec:
    """A :class:`TextSpec` with direction, language, wrapping and line height set for the text's script.

    The script is ``script`` if given, else detected from the text (with the locale's script as a
    hint for Han characters). ``overrides`` are any other :class:`TextSpec` fields.
    """
    hint = script_for_locale(locale) if locale else None
    script = script or detect_script(text, hint)
    values: dict[str, object] = {
        "direction": direction_for(script),
        "language": locale.replace("_", "-") if locale else None,
        "line_breaking": line_breaking_for(script),
        "line_height": SCRIPT_LINE_HEIGHT.get(script, 1.18),
    }
    values.update(overrides)
    return TextSpec(text=text, font_path=str(font_path), max_size=max_size, min_size=min_size, **values)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- shaping with fallback


@dataclass(frozen=True)
class _Run:
    text: str
    font: int  # index into the shaper's fonts
    direction: Direction


def _is_bold(path: str) -> bool:
    try:
        style = (load_font(path, 12).getname()[1] or "").lower()
    except OSError:
        style = ""
    name = Path(path).stem.lower()
    return any(w in style or w in name for w in ("bold", "black", "heavy"))


@functools.lru_cache(maxsize=256)
def _font_chain(
    font_path: str, text: str, language: str | None, fallback_fonts: tuple[str, ...] | None
) -> tuple[str, ...]:
    """Primary font followed by the fallbacks that are needed for ``text``."""
    if fallback_fonts is not None:
        return (font_path, *fallback_fonts)
    missing = missing_glyphs(font_path, text)
    if not missing:
        return (font_path,)
    bold = _is_bold(font_path)
    hint = script_for_locale(language) if language else None
    chain = [font_path]
    for ch in missing:
        candidate = str(bundled_font(detect_script(ch, hint), bold))
        if candidate not in chain:
            chain.append(candidate)
    latin = str(bundled_font("latin", bold))
    if latin not in chain:
        chain.append(latin)
    return tuple(chain)


def _strong(ch: str) -> Direction | None:
    bidi = unicodedata.bidirectional(ch)
    if bidi in ("R", "AL"):
        return "rtl"
    if bidi == "L":
        return "ltr"
    return None


_NEUTRAL_BIDI = frozenset({"WS", "ON", "S", "B"})


class _Shaper:
    """Measures and draws single lines at one size with a font fallback chain."""

    def __init__(self, spec: TextSpec, size: int, primary: ImageFont.FreeTypeFont | None = None):
        self.spec = spec
        self.size = size
        text = unicodedata.normalize("NFC", spec.text)
        self.paths = _font_chain(spec.font_path, text, spec.language, spec.fallback_fonts)
        self.fonts = [primary or load_font(self.paths[0], size)] + [
            load_font(p, size) for p in self.paths[1:]
        ]
        self.raqm = raqm_available() and all(f.layout_engine == ImageFont.Layout.RAQM for f in self.fonts)
        self._bbox: dict[str, tuple[int, int, int, int]] = {}
        self._runs: dict[str, list[tuple[_Run, int]]] = {}

    # -- font assignment -------------------------------------------------------------------------

    def _covering(self, ch: str) -> list[int]:
        return [i for i, p in enumerate(self.paths) if not missing_glyphs(p, ch)]

    def _assign(self, line: str) -> list[int]:
        n = len(line)
        out: list[int | None] = [None] * n
        if len(self.paths) == 1:
            return [0] * n
        for i, ch in enumerate(line):  # strong characters (letters, marks) take their first covering font
            cat = unicodedata.category(ch)
            if cat[0] == "M" and i:
                continue
            if cat[0] in "LM":
                cover = self._covering(ch)
                out[i] = cover[0] if cover else 0
        for i, ch in enumerate(line):  # marks stay with their base
            if out[i] is None and unicodedata.category(ch)[0] == "M" and i and out[i - 1] is not None:
                out[i] = out[i - 1]
        for i, ch in enumerate(line):  # everything else inherits a neighbour's font when it can
            if out[i] is not None:
                continue
            cover = self._covering(ch)
            prev = next((out[j] for j in range(i - 1, -1, -1) if out[j] is not None), None)
            nxt = next((out[j] for j in range(i + 1, n) if out[j] is not None), None)
            if prev is not None and (prev in cover or not cover):
                out[i] = prev
            elif nxt is not None and (nxt in cover or not cover):
                out[i] = nxt
            else:
                out[i] = cover[0] if cover else 0
        return [o if o is not None else 0 for o in out]

    def runs(self, line: str) -> list[tuple[_Run, int]]:
        """Runs in visual order, each with its rounded pen x offset from the line origin."""
        cached = self._runs.get(line)
        if cached is not None:
            return cached
        para = self.spec.direction
        fonts = self._assign(line)
        logical: list[_Run] = []
        start = 0
        for i in range(1, len(line) + 1):
            if i == len(line) or fonts[i] != fonts[start]:
                logical.append(_Run(line[start:i], fonts[start], para))
                start = i
        if len(logical) <= 1:
            result = [(r, 0) for r in logical]
        else:
            result = self._order(logical, para)
        self._runs[line] = result
        return result

    def _order(self, logical: list[_Run], para: Direction) -> list[tuple[_Run, int]]:
        # Resolve each run's direction: its strong characters, else the preceding strong direction
        # (numbers after Latin stay with the Latin), else the paragraph direction. Neutral characters
        # at the edges of an opposite-direction run are split off and take the paragraph direction.
        pieces: list[_Run] = []
        last_strong: Direction = para
        for run in logical:
            text = run.text
            strongs = {d for d in map(_strong, text) if d}
            if len(strongs) == 1:
                d: Direction = strongs.pop()
                last_strong = d
            elif strongs:
                d = para
                last_strong = para
            else:
                d = last_strong
            if d == para:
                pieces.append(run)
                continue
            lead, end = 0, len(text)
            while lead < end and unicodedata.bidirectional(text[lead]) in _NEUTRAL_BIDI:
                lead += 1
            while end > lead and unicodedata.bidirectional(text[end - 1]) in _NEUTRAL_BIDI:
                end -= 1
            if lead:
                pieces.append(_Run(text[:lead], run.font, para))
            if end > lead:
                pieces.append(_Run(text[lead:end], run.font, d))
            if end < len(text):
                pieces.append(_Run(text[end:], run.font, para))
        groups: list[list[_Run]] = []
        for run in pieces:
            if groups and groups[-1][0].direction == run.direction:
                groups[-1].append(run)
            else:
                groups.append([run])
        visual: list[_Run] = []
        for group in reversed(groups) if para == "rtl" else groups:
            visual.extend(reversed(group) if group[0].direction == "rtl" else group)
        out: list[tuple[_Run, int]] = []
        pen = 0.0
        for run in visual:
            out.append((run, round(pen)))
            pen += self.fonts[run.font].getlength(run.text, **self._kw(run))
        return out

    def _kw(self, run: _Run) -> dict[str, object]:
        if not self.raqm:
            return {}
        kw: dict[str, object] = {"direction": run.direction}
        if self.spec.language and run.font == 0:
            kw["language"] = self.spec.language
        return kw

    # -- measuring and drawing --------------------------------------------------------------------

    def bbox(self, line: str) -> tuple[int, int, int, int]:
        """``font.getbbox`` of the line (anchor ``ls``: origin at the left end of the baseline)."""
        cached = self._bbox.get(line)
        if cached is not None:
            return cached
        if not line:
            result = (0, 0, 0, 0)
        else:
            boxes = []
            for run, x in self.runs(line):
                b = self.fonts[run.font].getbbox(run.text, anchor="ls", **self._kw(run))
                boxes.append((b[0] + x, b[1], b[2] + x, b[3]))
            result = (
                int(min(min(b[0] for b in boxes), 0)),
                int(min(b[1] for b in boxes)),
                int(max(b[2] for b in boxes)),
                int(max(b[3] for b in boxes)),
            )
        self._bbox[line] = result
        return result

    def width(self, line: str) -> int:
        x0, _, x1, _ = self.bbox(line)
        return x1 - x0

    def draw(self, draw: ImageDraw.ImageDraw, x: int, y: int, line: str, fill: object) -> None:
        for run, dx in self.runs(line):
            draw.text(
                (x + dx, y), run.text, font=self.fonts[run.font], fill=fill, anchor="ls", **self._kw(run)
            )

    def metrics(self) -> tuple[int, int]:
        return self.fonts[0].getmetrics()

    def missing(self, text: str) -> tuple[str, ...]:
        gaps = missing_glyphs(self.paths[0], text)
        for path in self.paths[1:]:
            gaps = [c for c in gaps if missing_glyphs(path, c)]
        return tuple(gaps)


@functools.lru_cache(maxsize=128)
def _shaper(spec: TextSpec, size: int) -> _Shaper:
    return _Shaper(spec, size)


# --------------------------------------------------------------------------- line breaking


@dataclass(frozen=True)
class _Atom:
    """An unbreakable unit; ``space`` precedes it unless it starts a line."""

    text: str
    space: str = ""
    pieces: tuple[str, ...] = ()  # finer units to use only if the atom alone is too wide
    last_resort: bool = False  # pieces split a word (Thai clusters): only when no size fits otherwise


_SPACE_RE = re.compile(r"[ \t\u1680\u2000-\u2006\u2008-\u200b\u205f\u3000]+")  # not NBSP/NNBSP/figure space
_HYPHEN_SPLIT_RE = re.compile(r"(?<=\w[-/\u2010\u2013\u2014])(?=\w)")

# Kinsoku shori (JIS X 4051 simplified): characters that may not start / end a line.
NO_LINE_START = frozenset(
    "、。，．,.・：；:;？！?!‼⁇⁈⁉ー―‐–〜～…‥)）]］}｝〕〉》」』】〙〗〟’”｠»›%％‰℃°′″"
    "ゝゞヽヾ々〻ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ゠"
    "｡｣､･ｰｧｨｩｪｫｬｭｮｯ"
)
NO_LINE_END = frozenset("(（[［{｛〔〈《「『【〘〖〝‘“｟«‹¥$£€＄￥＃#")

_THAI_COMBINING = frozenset(chr(c) for c in (0x0E31, *range(0x0E34, 0x0E3B), *range(0x0E47, 0x0E4F)))
_THAI_FOLLOWING = frozenset("\u0e30\u0e32\u0e33\u0e45\u0e46")  # sara a/aa/am, lakkhangyao, mai yamok
_THAI_LEADING = frozenset(chr(c) for c in range(0x0E40, 0x0E45))  # sara e/ae/o/ai maimuan/ai maimalai


def _is_cjk_char(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x2E80 <= cp <= 0x9FFF  # radicals, CJK punctuation, kana, bopomofo, Hangul jamo compat, Han
        or 0xAC00 <= cp <= 0xD7AF  # Hangul syllables
        or 0xF900 <= cp <= 0xFAFF  # compatibility ideographs
        or 0xFE30 <= cp <= 0xFE4F  # compatibility forms
        or 0xFF01 <= cp <= 0xFF60  # full-width forms
        or 0xFF61 <= cp <= 0xFF9F  # half-width punctuation and katakana
        or 0x20000 <= cp <= 0x3FFFF  # Han extensions
        or 0x2010 <= cp <= 0x2027
        or 0x2030 <= cp <= 0x205E  # general punctuation (quotes, dashes, …)
    )


def _split_words(paragraph: str) -> list[tuple[str, str]]:
    """``(leading space, word)`` pairs; leading/trailing space of the paragraph is dropped."""
    out: list[tuple[str, str]] = []
    pos = 0
    space = ""
    for m in _SPACE_RE.finditer(paragraph):
        if m.start() > pos:
            out.append((space, paragraph[pos : m.start()]))
        space = m.group().replace("\u200b", "") if out else ""
        pos = m.end()
    if pos < len(paragraph):
        out.append((space, paragraph[pos:]))
    return out


def _thai_clusters(word: str) -> tuple[str, ...]:
    clusters: list[str] = []
    for ch in word:
        glue = clusters and (
            ch in _THAI_COMBINING
            or ch in _THAI_FOLLOWING
            or unicodedata.combining(ch)
            or unicodedata.category(ch) in ("Mn", "Mc", "Me")
            or clusters[-1][-1] in _THAI_LEADING
        )
        if glue:
            clusters[-1] += ch
        else:
            clusters.append(ch)
    return tuple(clusters)


def _glue_kinsoku(atoms: list[_Atom]) -> list[_Atom]:
    out: list[_Atom] = []
    for atom in atoms:
        if out and (atom.text[0] in NO_LINE_START or out[-1].text[-1] in NO_LINE_END):
            prev = out.pop()
            out.append(_Atom(prev.text + atom.space + atom.text, prev.space))
        else:
            out.append(atom)
    return out


_OPENING_CATS = frozenset({"Ps", "Pi"})
_TRAILING_CATS = frozenset({"Pe", "Pf", "Po", "Sc"})


def _join(a: _Atom, b: _Atom) -> _Atom:
    """``a`` and ``b`` (with ``b``'s leading space) as one atom."""
    glue = b.space
    if a.pieces or b.pieces:
        left = a.pieces or (a.text,)
        right = b.pieces or (b.text,)
        pieces = (*left[:-1], left[-1] + glue + right[0], *right[1:])
    else:
        pieces = ()
    return _Atom(a.text + glue + b.text, a.space, pieces, a.last_resort or b.last_resort)


def _glue_punctuation(atoms: list[_Atom]) -> list[_Atom]:
    """Keep free-standing punctuation with its word: ``30 %``, ``Prix :``, ``« Bonjour »``, ``¿ Qué``."""
    out: list[_Atom] = []
    pending: _Atom | None = None  # opening punctuation waiting for the next word
    for atom in atoms:
        if pending is not None:
            atom = _join(pending, atom)
            pending = None
        cats = {unicodedata.category(c) for c in atom.text}
        if out and cats <= _TRAILING_CATS and not set(atom.text) & set("¿¡"):
            out.append(_join(out.pop(), atom))
        elif cats <= _OPENING_CATS or set(atom.text) <= set("¿¡"):
            pending = atom
        else:
            out.append(atom)
    if pending is not None:
        out.append(pending)
    return out


def _atoms(paragraph: str, mode: LineBreaking) -> list[_Atom]:
    words = _split_words(paragraph)
    if mode == "cjk":
        atoms: list[_Atom] = []
        for space, word in words:
            buf = ""
            first = True
            for ch in word:
                if _is_cjk_char(ch):
                    if buf:
                        atoms.append(_Atom(buf, space if first else ""))
                        first, buf = False, ""
                    atoms.append(_Atom(ch, space if first else ""))
                    first = False
                else:
                    buf += ch
            if buf:
                atoms.append(_Atom(buf, space if first else ""))
        return _glue_kinsoku(atoms)
    if mode == "thai":
        return _glue_punctuation([_Atom(w, s, _thai_clusters(w), last_resort=True) for s, w in words])
    out = []
    for space, word in words:
        parts = tuple(_HYPHEN_SPLIT_RE.split(word))
        out.append(_Atom(word, space, parts if len(parts) > 1 else ()))
    return _glue_punctuation(out)


def _greedy(
    atoms: Sequence[_Atom], width_of, max_width: int, split: bool, overflow: bool
) -> list[str] | None:
    lines: list[str] = []
    cur = ""
    queue = list(reversed(atoms))
    while queue:
        atom = queue.pop()
        candidate = atom.text if not cur else cur + atom.space + atom.text
        if width_of(candidate) <= max_width:
            cur = candidate
            continue
        if cur and width_of(atom.text) <= max_width:
            lines.append(cur)
            cur = atom.text
            continue
        if atom.pieces and (split or not atom.last_resort):
            first, *rest = atom.pieces
            queue.extend(_Atom(p) for p in reversed(rest))
            queue.append(_Atom(first, atom.space))
            continue
        if not overflow:
            return None
        if cur:
            lines.append(cur)
        cur = atom.text
    if cur or not lines:
        lines.append(cur)
    return lines


def _paragraphs(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return [p.strip() for p in text.replace("\u2028", "\n").replace("\u2029", "\n").split("\n")]


def _wrap(
    shaper: _Shaper, text: str, max_width: int, mode: Literal["strict", "split", "overflow"]
) -> list[str] | None:
    lines: list[str] = []
    for paragraph in _paragraphs(text):
        if not paragraph:
            lines.append("")
            continue
        atoms = _atoms(paragraph, shaper.spec.line_breaking)
        got = _greedy(atoms, shaper.width, max_width, split=mode != "strict", overflow=mode == "overflow")
        if got is None:
            return None
        lines.extend(got)
    return lines


def wrap(text: str, font: ImageFont.FreeTypeFont, max_width: int, spec: TextSpec) -> list[str] | None:
    """Break ``text`` into lines no wider than ``max_width`` px with ``font`` under ``spec``'s rules.

    Lines are in logical order. Breaks at spaces (``spaces``), between CJK characters with kinsoku rules
    (``cjk``) or at spaces then Thai grapheme clusters (``thai``); explicit newlines always break. A
    word wider than ``max_width`` is split after hyphens/slashes (``spaces``) or between Thai clusters
    (``thai``); if a unit still does not fit, returns ``None``.
    """
    if spec.text != text:  # the fallback chain depends on the text
        spec = replace(spec, text=text)
    shaper = _Shaper(spec, int(font.size), primary=font)
    return _wrap(shaper, text, max_width, "split")


# --------------------------------------------------------------------------- fitting


def _layout_from_lines(shaper: _Shaper, lines: list[str], fits_width: int | None, box_h: int) -> TextLayout:
    spec = shaper.spec
    size = shaper.size
    widths = tuple(shaper.width(line) for line in lines)
    boxes = [shaper.bbox(line) for line in lines if line]
    asc, desc = shaper.metrics()
    if boxes:
        asc = max(asc, -min(b[1] for b in boxes))
        desc = max(desc, max(b[3] for b in boxes))
    advance = max(1, round(size * spec.line_height))
    height = asc + desc + advance * (len(lines) - 1) if lines else 0
    fits = (
        fits_width is not None
        and all(w <= fits_width for w in widths)
        and height <= box_h
        and (spec.max_lines is None or len(lines) <= spec.max_lines)
    )
    used = sorted({run.font for line in lines for run, _ in shaper.runs(line)} | {0})
    return TextLayout(
        spec=spec,
        font_size=size,
        lines=tuple(lines),
        line_widths=widths,
        line_advance=advance,
        width=max(widths, default=0),
        height=height,
        fits=fits,
        ascent=asc,
        descent=desc,
        fonts_used=tuple(Path(shaper.paths[i]).name for i in used),
        missing=shaper.missing(spec.text),
    )


def _try(
    spec: TextSpec, size: int, box_w: int, box_h: int, mode: Literal["strict", "split"]
) -> TextLayout | None:
    shaper = _shaper(spec, size)
    lines = _wrap(shaper, spec.text, box_w, mode)
    if lines is None:
        return None
    layout = _layout_from_lines(shaper, lines, box_w, box_h)
    return layout if layout.fits else None


def _balanced(layout: TextLayout, box_w: int, box_h: int, mode: Literal["strict", "split"]) -> TextLayout:
    n = len(layout.lines)
    if not layout.spec.balance or n < 2:
        return layout
    shaper = _shaper(layout.spec, layout.font_size)
    lo, hi = max(1, math.floor(layout.width / n) - 1), layout.width  # hi always gives n lines
    best = None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lines = _wrap(shaper, layout.spec.text, mid, mode)
        if lines is not None and len(lines) <= n:
            hi, best = mid, lines
        else:
            lo = mid
    if best is None:
        return layout
    balanced = _layout_from_lines(shaper, best, box_w, box_h)
    return balanced if balanced.fits else layout


def fit_text(spec: TextSpec, box_w: int, box_h: int) -> TextLayout:
    """The largest size in ``[min_size, max_size]`` whose wrapped lines fit ``box_w`` x ``box_h``.

    Words too wide for the box on their own are split after a hyphen or slash (``spaces``); splitting
    a Thai word between grapheme clusters is used only if no size fits without it. Never truncates: if ``min_size`` cannot fit, its layout (over-wide units on
    their own lines) is returned with ``fits=False``.
    """
    if not spec.text.strip():
        shaper = _shaper(spec, spec.max_size)
        return _layout_from_lines(shaper, [], box_w, box_h)
    if box_w > 0 and box_h > 0:
        for mode in ("strict", "split"):
            top = _try(spec, spec.max_size, box_w, box_h, mode)
            if top is not None:
                return _balanced(top, box_w, box_h, mode)
            best = _try(spec, spec.min_size, box_w, box_h, mode)
            if best is None:
                continue
            lo, hi = spec.min_size, spec.max_size  # lo fits, hi does not
            while hi - lo > 1:
                mid = (lo + hi) // 2
                got = _try(spec, mid, box_w, box_h, mode)
                if got is not None:
                    lo, best = mid, got
                else:
                    hi = mid
            return _balanced(best, box_w, box_h, mode)
    shaper = _shaper(spec, spec.min_size)
    lines = _wrap(shaper, spec.text, max(box_w, 1), "overflow") or []
    layout = _layout_from_lines(shaper, lines, None, box_h)
    return layout


# --------------------------------------------------------------------------- drawing


def _positions(
    layout: TextLayout, box: Box, valign: VAlign
) -> list[tuple[str, int, int, tuple[int, int, int, int]]]:
    """``(line, origin x, baseline y, ink box)`` for every non-empty line."""
    x0, y0, x1, y1 = box
    spec = layout.spec
    shaper = _shaper(spec, layout.font_size)
    if valign == "top":
        top = y0
    elif valign == "bottom":
        top = y1 - layout.height
    else:
        top = y0 + (y1 - y0 - layout.height) // 2
    align = spec.align
    if align == "start":
        side = "right" if spec.direction == "rtl" else "left"
    elif align == "end":
        side = "left" if spec.direction == "rtl" else "right"
    else:
        side = "center"
    out = []
    for i, line in enumerate(layout.lines):
        if not line:
            continue
        bx0, by0, bx1, by1 = shaper.bbox(line)
        baseline = top + layout.ascent + i * layout.line_advance
        if side == "left":
            ox = x0 - bx0
        elif side == "right":
            ox = x1 - bx1
        else:
            ox = x0 + (x1 - x0 - (bx1 - bx0)) // 2 - bx0
        out.append((line, ox, baseline, (ox + bx0, baseline + by0, ox + bx1, baseline + by1)))
    return out


def ink_boxes(layout: TextLayout, box: Box, valign: VAlign = "top") -> list[tuple[int, int, int, int]]:
    """Per-line boxes (image coordinates) that :func:`draw_text` would draw into, without drawing."""
    return [ink for _, _, _, ink in _positions(layout, box, valign)]


def draw_text(
    image: Image.Image,
    layout: TextLayout,
    box: Box,
    fill: object,
    valign: VAlign = "top",
) -> tuple[int, int, int, int]:
    """Draw ``layout`` into ``box`` = (x0, y0, x1, y1) of ``image``; returns the union of the line boxes.

    ``start``/``end`` alignment follows the spec's direction (rtl ``start`` is flush right). Each line
    is shaped with the spec's direction and language. When ``layout.fits`` (and the box is the size it
    was fitted to), nothing is drawn outside the box.
    """
    spec = layout.spec
    shaper = _shaper(spec, layout.font_size)
    if spec.direction == "rtl" and not shaper.raqm:
        log.warning("libraqm is not available: right-to-left text will not be shaped or reordered")
    draw = ImageDraw.Draw(image)
    placed = _positions(layout, box, valign)
    for line, ox, baseline, _ in placed:
        shaper.draw(draw, ox, baseline, line, fill)
    if not placed:
        return (box[0], box[1], box[0], box[1])
    inks = [ink for *_, ink in placed]
    return (
        min(b[0] for b in inks),
        min(b[1] for b in inks),
        max(b[2] for b in inks),
        max(b[3] for b in inks),
    )
