"""Fit, wrap and draw multi-script text into boxes.

Pure module (Pillow and PyICU, no Dagster). The flow is ``fit_text(spec, w, h)`` -> :class:`TextLayout`
-> ``draw_text(image, layout, box, fill)``.

* Sizes are searched (binary search) between ``min_size`` and ``max_size``; text is never truncated or
  ellipsised. If nothing fits, the layout at ``min_size`` is returned with ``fits=False``.
* Lines break only where Unicode's line-breaking algorithm (UAX #14, through ICU:
  :mod:`creative_assets.render.segmentation`) allows: at spaces, between CJK characters with kinsoku
  (ICU ``strict``), at dictionary word boundaries in Thai, Lao, Khmer and Burmese. A word is never
  broken inside; one too wide for the box makes the layout not fit.
* The chosen size's lines are balanced (``text-wrap: balance``), with no widow and, for headlines, no
  single-word line; if only a smaller size avoids them, the type shrinks (down to ``min_size``).
* Wrapping is done in logical order; each line is then split into runs of one font and one UAX #9
  embedding level (ICU bidi), shaped by libraqm (Arabic joining, Indic/Thai shaping, OpenType
  features) and put in visual order, so numbers, prices and dates inside RTL text keep their order.
* Characters the spec's font lacks (Thai/Hebrew/Arabic Noto faces have no Latin letters, the Thai and
  Hebrew ones not even digits) are drawn with fallback fonts, by default the bundled Noto face for
  their script; emoji (ZWJ sequences, skin tones, flags) with the colour emoji font, measured like
  any other glyph.
* Every width/height used for fitting comes from ``font.getbbox`` (advance and ink), so a layout that
  ``fits`` never draws outside its box.
"""

from __future__ import annotations

import functools
import itertools
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
    DICTIONARY_SCRIPTS,
    EMOJI_BITMAP_SIZE,
    RTL_SCRIPTS,
    bundled_font,
    detect_script,
    emoji_font,
    is_bitmap_font,
    load_font,
    missing_glyphs,
    raqm_available,
    script_for_locale,
)
from creative_assets.render.segmentation import (
    bidi_levels,
    emoji_in,
    graphemes,
    is_emoji_cluster,
    line_breaks,
    word_boundaries,
)
from creative_assets.vocabulary import Box, Direction, LineBreaking

log = logging.getLogger(__name__)

Align = Literal["start", "center", "end"]
VAlign = Literal["top", "center", "bottom"]


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
    #: Balance line lengths at the chosen size (``text-wrap: balance``) and avoid a widow (a lone last
    #: word), shrinking the type if that is the only way.
    balance: bool = True
    #: Also avoid any line that holds a single word when the text has more (headlines); not applied to
    #: scripts without word spaces.
    avoid_single_word_lines: bool = False
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
    #: typographic rules the layout could not keep even at ``min_size`` ("single-word line", "widow")
    notes: tuple[str, ...] = ()
    #: why it does not fit, in words (empty when it fits)
    problem: str = ""

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
            "typography_notes": list(self.notes),
            "problem": self.problem,
        }


# --------------------------------------------------------------------------- spec helpers

#: Line height that keeps stacked marks of tall scripts clear of the next line.
SCRIPT_LINE_HEIGHT = {"arabic": 1.4, "thai": 1.45, "devanagari": 1.4, "hebrew": 1.25}


def line_breaking_for(script: str) -> LineBreaking:
    """Wrapping mode for a script key (Korean wraps at spaces, like ``word-break: keep-all``)."""
    if script in ("japanese", "chinese_simplified", "chinese_traditional"):
        return "cjk"
    if script in DICTIONARY_SCRIPTS:
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
    level: int = 0  # UAX #9 embedding level (odd: right to left)


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
    """Primary font followed by the fallbacks that are needed for ``text``: the bundled face of each
    missing character's script, Noto Sans, and the colour emoji font when the text has emoji."""
    if fallback_fonts is not None:
        return (font_path, *fallback_fonts)
    emoji = emoji_in(text)
    emoji_chars = set("".join(emoji))
    missing = [c for c in missing_glyphs(font_path, text) if c not in emoji_chars]
    chain = [font_path]
    if missing:
        bold = _is_bold(font_path)
        hint = script_for_locale(language) if language else None
        for ch in missing:
            candidate = str(bundled_font(detect_script(ch, hint), bold))
            if candidate not in chain:
                chain.append(candidate)
        latin = str(bundled_font("latin", bold))
        if latin not in chain:
            chain.append(latin)
    if emoji:
        found = emoji_font()
        if found is not None:  # absent: emoji draw as boxes and TextLayout.missing lists them
            chain.append(str(found))
    return tuple(chain)


def _visual_order(runs: list[_Run]) -> list[_Run]:
    """UAX #9 rule L2: from the highest level down to the lowest odd one, reverse every maximal
    sequence of runs at that level or higher."""
    if not runs:
        return runs
    out = list(runs)
    top = max(r.level for r in out)
    lowest_odd = min((r.level for r in out if r.level % 2), default=top + 1)
    for level in range(top, lowest_odd - 1, -1):
        i = 0
        while i < len(out):
            if out[i].level >= level:
                j = i
                while j < len(out) and out[j].level >= level:
                    j += 1
                out[i:j] = reversed(out[i:j])
                i = j
            else:
                i += 1
    return out


_RTL_CLASSES = frozenset({"R", "AL", "AN", "RLE", "RLO", "RLI"})


class _Shaper:
    """Measures and draws single lines at one size with a font fallback chain.

    Each line is split into runs of one font and one bidi embedding level (ICU's UAX #9), shaped by
    libraqm with the run's direction and put in visual order (rule L2), so prices, dates and
    percentages inside Arabic or Hebrew keep their left-to-right order and neutral punctuation lands
    where the bidi algorithm puts it. Colour emoji (a CBDT font with one 109 px strike) are measured
    and drawn at that strike and scaled to the text size, like any other glyph of the line.
    """

    def __init__(self, spec: TextSpec, size: int, primary: ImageFont.FreeTypeFont | None = None):
        self.spec = spec
        self.size = size
        text = unicodedata.normalize("NFC", spec.text)
        self.paths = _font_chain(spec.font_path, text, spec.language, spec.fallback_fonts)
        bitmap = [is_bitmap_font(p) for p in self.paths]
        self.emoji_index = next((i for i, b in enumerate(bitmap) if b), None)
        self.scales = [size / EMOJI_BITMAP_SIZE if b else 1.0 for b in bitmap]
        self.fonts = [primary or load_font(self.paths[0], size)] + [
            load_font(p, EMOJI_BITMAP_SIZE if b else size)
            for p, b in zip(self.paths[1:], bitmap[1:], strict=True)
        ]
        self.raqm = raqm_available() and all(f.layout_engine == ImageFont.Layout.RAQM for f in self.fonts)
        self._bbox: dict[str, tuple[int, int, int, int]] = {}
        self._runs: dict[str, list[tuple[_Run, int]]] = {}
        self._paragraph_texts = [p for p in _paragraphs(spec.text) if p]
        self._paragraph_levels: dict[str, list[int]] = {}

    # -- font assignment -------------------------------------------------------------------------

    def _covering(self, ch: str) -> list[int]:
        return [i for i, p in enumerate(self.paths) if i != self.emoji_index and not missing_glyphs(p, ch)]

    def _assign(self, line: str) -> list[int]:
        n = len(line)
        out: list[int | None] = [None] * n
        if len(self.paths) == 1:
            return [0] * n
        if self.emoji_index is not None:  # whole emoji clusters (ZWJ sequences, flags, skin tones)
            pos = 0
            for cluster in graphemes(line):
                if is_emoji_cluster(cluster):
                    out[pos : pos + len(cluster)] = [self.emoji_index] * len(cluster)
                pos += len(cluster)
        for i, ch in enumerate(line):  # strong characters (letters, marks) take their first covering font
            if out[i] is not None:
                continue
            cat = unicodedata.category(ch)
            if cat[0] == "M" and i:
                continue
            if cat[0] in "LM":
                cover = self._covering(ch)
                out[i] = cover[0] if cover else 0
        for i, ch in enumerate(line):  # marks stay with their base
            if out[i] is None and unicodedata.category(ch)[0] == "M" and i and out[i - 1] is not None:
                out[i] = out[i - 1]
        text_fonts = [o if o != self.emoji_index else None for o in out]
        for i, ch in enumerate(line):  # everything else inherits a neighbour's font when it can
            if out[i] is not None:
                continue
            cover = self._covering(ch)
            prev = next((text_fonts[j] for j in range(i - 1, -1, -1) if text_fonts[j] is not None), None)
            nxt = next((text_fonts[j] for j in range(i + 1, n) if text_fonts[j] is not None), None)
            if prev is not None and (prev in cover or not cover):
                out[i] = prev
            elif nxt is not None and (nxt in cover or not cover):
                out[i] = nxt
            else:
                out[i] = cover[0] if cover else 0
            text_fonts[i] = out[i]
        return [o if o is not None else 0 for o in out]

    def runs(self, line: str) -> list[tuple[_Run, int]]:
        """Runs in visual order, each with its rounded pen x offset from the line origin."""
        cached = self._runs.get(line)
        if cached is not None:
            return cached
        fonts = self._assign(line)
        levels = self._levels(line)
        logical: list[_Run] = []
        start = 0
        for i in range(1, len(line) + 1):
            if i == len(line) or fonts[i] != fonts[start] or levels[i] != levels[start]:
                level = levels[start] if line else 0
                logical.append(_Run(line[start:i], fonts[start], "rtl" if level % 2 else "ltr", level))
                start = i
        visual = _visual_order(logical)
        out: list[tuple[_Run, int]] = []
        pen = 0.0
        for run in visual:
            out.append((run, round(pen)))
            pen += self.fonts[run.font].getlength(run.text, **self._kw(run)) * self.scales[run.font]
        self._runs[line] = out
        return out

    def _levels(self, line: str) -> list[int]:
        """UAX #9 levels of the line's characters, resolved over its whole paragraph (rules W1-I2 see
        the paragraph: "20%" after an Arabic word on the previous line is still Arabic context), so a
        line break never changes how numbers and punctuation are ordered."""
        rtl = self.spec.direction == "rtl"
        if not rtl and not any(unicodedata.bidirectional(c) in _RTL_CLASSES for c in line):
            return [0] * len(line)
        for paragraph in self._paragraph_texts:
            at = paragraph.find(line)
            if at >= 0:
                levels = self._paragraph_levels.get(paragraph)
                if levels is None:
                    levels = self._paragraph_levels[paragraph] = bidi_levels(paragraph, rtl)
                return levels[at : at + len(line)]
        return bidi_levels(line, rtl)  # not a substring (a caller's own line): resolve it alone

    def _kw(self, run: _Run) -> dict[str, object]:
        if not self.raqm:
            return {}
        kw: dict[str, object] = {"direction": run.direction}
        if self.spec.language and run.font == 0:
            kw["language"] = self.spec.language
        return kw

    # -- measuring and drawing --------------------------------------------------------------------

    def _run_bbox(self, run: _Run) -> tuple[float, float, float, float]:
        b = self.fonts[run.font].getbbox(run.text, anchor="ls", **self._kw(run))
        s = self.scales[run.font]
        return (b[0] * s, b[1] * s, b[2] * s, b[3] * s)

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
                b = self._run_bbox(run)
                boxes.append((b[0] + x, b[1], b[2] + x, b[3]))
            result = (
                math.floor(min(min(b[0] for b in boxes), 0)),
                math.floor(min(b[1] for b in boxes)),
                math.ceil(max(b[2] for b in boxes)),
                math.ceil(max(b[3] for b in boxes)),
            )
        self._bbox[line] = result
        return result

    def width(self, line: str) -> int:
        x0, _, x1, _ = self.bbox(line)
        return x1 - x0

    def emoji_boxes(self, line: str, x: int, y: int) -> list[tuple[int, int, int, int]]:
        """Ink boxes of the line's emoji runs when its origin is at (x, y)."""
        out = []
        for run, dx in self.runs(line):
            if run.font == self.emoji_index:
                b = self._run_bbox(run)
                out.append(
                    (
                        math.floor(x + dx + b[0]),
                        math.floor(y + b[1]),
                        math.ceil(x + dx + b[2]),
                        math.ceil(y + b[3]),
                    )
                )
        return out

    def draw(self, image: Image.Image, x: int, y: int, line: str, fill: object) -> None:
        draw = ImageDraw.Draw(image)
        for run, dx in self.runs(line):
            if run.font == self.emoji_index:
                self._draw_emoji(image, x + dx, y, run)
                continue
            draw.text(
                (x + dx, y), run.text, font=self.fonts[run.font], fill=fill, anchor="ls", **self._kw(run)
            )

    def _draw_emoji(self, image: Image.Image, x: int, y: int, run: _Run) -> None:
        """Colour bitmaps drawn at the font's strike, scaled to the text size, alpha-composited."""
        font = self.fonts[run.font]
        b = font.getbbox(run.text, anchor="ls", **self._kw(run))
        w, h = max(1, b[2] - b[0]), max(1, b[3] - b[1])
        tile = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        ImageDraw.Draw(tile).text(
            (-b[0], -b[1]), run.text, font=font, anchor="ls", embedded_color=True, **self._kw(run)
        )
        s = self.scales[run.font]
        x0, y0 = math.floor(x + b[0] * s), math.floor(y + b[1] * s)
        x1, y1 = math.ceil(x + b[2] * s), math.ceil(y + b[3] * s)
        tile = tile.resize((max(1, x1 - x0), max(1, y1 - y0)), Image.Resampling.LANCZOS)
        image.paste(tile, (x0, y0), tile)

    def metrics(self) -> tuple[int, int]:
        return self.fonts[0].getmetrics()

    def missing(self, text: str) -> tuple[str, ...]:
        """Characters no font of the chain draws (an emoji without the emoji font is listed whole)."""
        emoji = emoji_in(text)
        gaps = [c for c in missing_glyphs(self.paths[0], text)]
        for path in self.paths[1:]:
            gaps = [c for c in gaps if missing_glyphs(path, c)]
        if self.emoji_index is None and emoji:
            chars = set("".join(emoji))
            gaps = [c for c in gaps if c not in chars] + list(dict.fromkeys(emoji))
        return tuple(gaps)


@functools.lru_cache(maxsize=128)
def _shaper(spec: TextSpec, size: int) -> _Shaper:
    return _Shaper(spec, size)


# --------------------------------------------------------------------------- line breaking


@dataclass(frozen=True)
class _Atom:
    """An unbreakable unit between two line-break opportunities; ``space`` precedes it unless it
    starts a line. ``pieces``: finer UAX #14 opportunities inside a word (after a hyphen or slash),
    used only when the whole word is wider than the line."""

    text: str
    space: str = ""
    pieces: tuple[str, ...] = ()


#: Kinsoku shori (JIS X 4051): characters that may not start / end a line. ICU's ``strict`` line
#: breaking enforces these for Japanese and Chinese; the sets are kept for tests and reports.
NO_LINE_START = frozenset(
    "、。，．,.・：；:;？！?!‼⁇⁈⁉ー―‐–〜～…‥)）]］}｝〕〉》」』】〙〗〟’”｠»›%％‰℃°′″"
    "ゝゞヽヾ々〻ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ゠"
    "｡｣､･ｰｧｨｩｪｫｬｭｮｯ"
)
NO_LINE_END = frozenset("(（[［{｛〔〈《「『【〘〖〝‘“｟«‹¥$£€＄￥＃#")

_TRAILING_SPACE_RE = re.compile(r"[ \t\u1680\u2000-\u2006\u2008-\u200b\u205f\u3000]+$")  # not NBSP
_SOFT_BREAK_AFTER = frozenset("/\u2010\u2013\u2014-")


def _units(paragraph: str, spec: TextSpec) -> list[tuple[str, str, int]]:
    """``(space before, segment, offset)`` for every UAX #14 segment of ``paragraph`` (ICU; dictionary
    segmentation for Thai/Lao/Khmer/Burmese, ``strict`` kinsoku for CJK)."""
    breaks = line_breaks(paragraph, spec.language, spec.line_breaking == "cjk")
    out: list[tuple[str, str, int]] = []
    space = ""
    for x, y in itertools.pairwise(breaks):
        seg = paragraph[x:y]
        m = _TRAILING_SPACE_RE.search(seg)
        core, trail = (seg[: m.start()], m.group()) if m else (seg, "")
        if core:
            out.append((space if out else "", core, x))
            space = trail.replace("\u200b", "")
        else:
            space += trail.replace("\u200b", "")
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
    return _Atom(a.text + glue + b.text, a.space, pieces)


def _glue_punctuation(atoms: list[_Atom]) -> list[_Atom]:
    """Keep free-standing punctuation with its word: ``30 %``, ``Prix :``, ``« Bonjour »``, ``¿ Qué``
    (UAX #14 allows a break after any space; French and Spanish typography does not)."""
    out: list[_Atom] = []
    pending: _Atom | None = None  # opening punctuation waiting for the next word
    for atom in atoms:
        if pending is not None:
            atom = _join(pending, atom)
            pending = None
        cats = {unicodedata.category(c) for c in atom.text}
        if out and atom.space and cats <= _TRAILING_CATS and not set(atom.text) & set("¿¡"):
            out.append(_join(out.pop(), atom))
        elif cats <= _OPENING_CATS or set(atom.text) <= set("¿¡"):
            pending = atom
        else:
            out.append(atom)
    if pending is not None:
        out.append(pending)
    return out


def _atoms(paragraph: str, spec: TextSpec) -> list[_Atom]:
    """The paragraph's unbreakable units. Without word spaces (``cjk``, ``thai``: Thai, Lao, Khmer,
    Burmese) every UAX #14 segment is one; with spaces, a word (between spaces) is one and its inner
    opportunities (after hyphens and slashes) are its ``pieces`` (Korean keeps whole words,
    ``word-break: keep-all``)."""
    units = _units(paragraph, spec)
    if spec.line_breaking == "cjk":
        # CJK may break between any two characters, but a headline reads better when words stay
        # whole: the primary opportunities are the UAX #14 ones that are also ICU (dictionary) word
        # boundaries; the others are a long word's pieces, used only when it is wider than the line.
        bounds = set(word_boundaries(paragraph, spec.language))
        grouped: list[tuple[str, list[str]]] = []
        for space, core, offset in units:
            if not grouped or space or offset in bounds:
                grouped.append((space, [core]))
            else:
                grouped[-1][1].append(core)
        return [_Atom("".join(c), sp, tuple(c) if len(c) > 1 else ()) for sp, c in grouped]
    if spec.line_breaking == "thai":
        return _glue_punctuation([_Atom(core, space) for space, core, _ in units])
    words: list[tuple[str, list[str]]] = []
    for space, core, _ in units:
        if not words or space:
            words.append((space, [core]))
        else:
            words[-1][1].append(core)
    atoms = []
    for space, cores in words:
        pieces = [cores[0]]
        for core in cores[1:]:
            if pieces[-1][-1] in _SOFT_BREAK_AFTER or unicodedata.category(pieces[-1][-1]) == "Pd":
                pieces.append(core)
            else:
                pieces[-1] += core
        atoms.append(_Atom("".join(cores), space, tuple(pieces) if len(pieces) > 1 else ()))
    return _glue_punctuation(atoms)


def _fit_atoms(atoms: Sequence[_Atom], width_of, max_width: int) -> list[_Atom] | None:
    """``atoms`` with every atom wider than ``max_width`` replaced by its pieces; None if a piece (or an
    atom without pieces) is still too wide: a word is never broken inside."""
    out: list[_Atom] = []
    for atom in atoms:
        if width_of(atom.text) <= max_width:
            out.append(atom)
            continue
        if not atom.pieces or any(width_of(p) > max_width for p in atom.pieces):
            return None
        out.append(_Atom(atom.pieces[0], atom.space))
        out.extend(_Atom(p) for p in atom.pieces[1:])
    return out


def _greedy(atoms: Sequence[_Atom], width_of, max_width: int, overflow: bool) -> list[str] | None:
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
        if atom.pieces:
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


def _wrap(shaper: _Shaper, text: str, max_width: int, overflow: bool = False) -> list[str] | None:
    lines: list[str] = []
    for paragraph in _paragraphs(text):
        if not paragraph:
            lines.append("")
            continue
        got = _greedy(_atoms(paragraph, shaper.spec), shaper.width, max_width, overflow)
        if got is None:
            return None
        lines.extend(got)
    return lines


def wrap(text: str, font: ImageFont.FreeTypeFont, max_width: int, spec: TextSpec) -> list[str] | None:
    """Break ``text`` greedily into lines no wider than ``max_width`` px with ``font`` under ``spec``.

    Lines are in logical order and break only at UAX #14 opportunities (ICU): at spaces, between CJK
    characters (kinsoku, ``strict``), at dictionary word boundaries in Thai, Lao, Khmer and Burmese;
    explicit newlines always break. A word wider than ``max_width`` is split only after a hyphen or
    slash; if a unit still does not fit, returns ``None`` (no word is broken inside).
    """
    if spec.text != text:  # the fallback chain depends on the text
        spec = replace(spec, text=text)
    shaper = _Shaper(spec, int(font.size), primary=font)
    return _wrap(shaper, text, max_width)


# --------------------------------------------------------------------------- balanced arrangement

#: Penalties of :func:`_arrange` (balance costs at most 1 per line, one extra line costs 0.5).
SINGLE_WORD_PENALTY = 1000.0
WIDOW_PENALTY = 400.0
#: Scripts without word spaces: preference for a break that ends a phrase (CJK: after 、。; Thai, Lao,
#: Khmer, Burmese: at a space) over the most even split.
PHRASE_BREAK_BONUS = 0.3
_PHRASE_ENDS = frozenset("、。，！？：；,.!?")


@dataclass(frozen=True)
class _Arrangement:
    lines: tuple[str, ...]
    penalty: float  # single-word lines and widows (0: none)
    cost: float
    notes: tuple[str, ...]


def _arrange(shaper: _Shaper, box_w: int, max_lines: int, min_lines: int) -> _Arrangement | None:
    """The best way to set a one-paragraph text in ``min_lines..max_lines`` lines no wider than
    ``box_w``, like CSS ``text-wrap: balance`` plus two typographic rules:

    * no line holds a single word when the text has more (not applied to scripts without word spaces,
      ``cjk``/``thai``, nor when ``spec.avoid_single_word_lines`` is off);
    * no widow: the last line is not a lone word (a lone segment in scripts without spaces).

    Exact dynamic programming over the UAX #14 atoms; widths are measured shaped lines."""
    spec = shaper.spec
    paragraph = _paragraphs(spec.text)[0]
    atoms = _fit_atoms(_atoms(paragraph, spec), shaper.width, box_w)
    if atoms is None:
        return None
    n = len(atoms)
    spaced = spec.line_breaking == "spaces"
    phrases = spec.line_breaking == "cjk"
    dictionary = spec.line_breaking == "thai"  # spaces separate phrases, not words

    def text(i: int, j: int) -> str:
        return atoms[i].text + "".join(a.space + a.text for a in atoms[i + 1 : j])

    widths: dict[tuple[int, int], int] = {}
    for i in range(n):
        for j in range(i + 1, n + 1):
            w = shaper.width(text(i, j))
            if w > box_w:
                break
            widths[(i, j)] = w
    total = sum(widths.get((i, i + 1), box_w) for i in range(n))
    best: _Arrangement | None = None
    for k in range(max(1, min_lines), min(max_lines, n) + 1):
        target = total / k
        # dp[j][l] = (cost, penalty, previous break) for atoms[:j] in l lines
        inf = (math.inf, math.inf, -1)
        dp = [[inf] * (k + 1) for _ in range(n + 1)]
        dp[0][0] = (0.0, 0.0, -1)
        for j in range(1, n + 1):
            for line_no in range(1, k + 1):
                cands = []
                for i in range(j - 1, -1, -1):
                    w = widths.get((i, j))
                    if w is None:
                        break
                    prev = dp[i][line_no - 1]
                    if prev[0] == math.inf:
                        continue
                    pen = 0.0
                    if j - i == 1 and n > 1 and spaced and spec.avoid_single_word_lines:
                        pen += SINGLE_WORD_PENALTY
                    if j == n and line_no == k and k > 1 and j - i == 1 and n > 1:
                        pen += WIDOW_PENALTY
                    cost = ((w - target) / box_w) ** 2
                    if j < n and (
                        (phrases and atoms[j - 1].text[-1] in _PHRASE_ENDS)  # CJK: after 、。
                        or (dictionary and atoms[j].space)  # Thai, Lao, Khmer, Burmese: at a space
                    ):
                        cost -= PHRASE_BREAK_BONUS  # a line that ends a phrase reads best
                    cands.append((prev[1] + pen + prev[0] + cost, prev[1] + pen, prev[0] + cost, i))
                if cands:
                    _, pen, cost, i = min(cands)
                    dp[j][line_no] = (cost, pen, i)
        cost, pen, _ = dp[n][k]
        if cost == math.inf:
            continue
        lines, j, line_no = [], n, k
        while j > 0:
            i = dp[j][line_no][2]
            lines.append(text(i, j))
            j, line_no = i, line_no - 1
        lines.reverse()
        notes = []
        if pen >= SINGLE_WORD_PENALTY:
            notes.append("single-word line")
        if pen % SINGLE_WORD_PENALTY >= WIDOW_PENALTY:
            notes.append("widow")
        got = _Arrangement(tuple(lines), pen, cost + 0.5 * (k - min_lines), tuple(notes))
        if best is None or (got.penalty, got.cost) < (best.penalty, best.cost):
            best = got
        if got.penalty == 0 and best is got and k > min_lines:
            break  # more lines only cost more
    return best


# --------------------------------------------------------------------------- fitting


def _layout_from_lines(
    shaper: _Shaper, lines: list[str], fits_width: int | None, box_h: int, notes: tuple[str, ...] = ()
) -> TextLayout:
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
        notes=notes,
    )


def _try(spec: TextSpec, size: int, box_w: int, box_h: int) -> TextLayout | None:
    shaper = _shaper(spec, size)
    lines = _wrap(shaper, spec.text, box_w)
    if lines is None:
        return None
    layout = _layout_from_lines(shaper, lines, box_w, box_h)
    return layout if layout.fits else None


def _arranged(spec: TextSpec, size: int, box_w: int, box_h: int) -> TextLayout | None:
    """The balanced arrangement at ``size`` (see :func:`_arrange`) as a fitting layout, or None."""
    shaper = _shaper(spec, size)
    greedy = _wrap(shaper, spec.text, box_w)
    if greedy is None:
        return None
    asc, desc = shaper.metrics()
    advance = max(1, round(size * spec.line_height))
    room = 1 + max(0, (box_h - asc - desc) // advance)
    max_lines = min(room, spec.max_lines or room)
    if len(greedy) > max_lines:
        return None
    got = _arrange(shaper, box_w, max_lines, len(greedy))
    if got is None:
        return None
    layout = _layout_from_lines(shaper, list(got.lines), box_w, box_h, got.notes)
    return layout if layout.fits else None


def _refine(layout: TextLayout, box_w: int, box_h: int) -> TextLayout:
    """Balance the lines of a fitting layout; if that leaves a single-word line or a widow, the largest
    smaller size that avoids them (down to ``min_size``); else the balanced layout, noting the flaw."""
    spec = layout.spec
    if not spec.balance or len(_paragraphs(spec.text)) != 1:
        return layout
    here = _arranged(spec, layout.font_size, box_w, box_h)
    if here is None:
        return layout
    if not here.notes:
        return here
    lo, hi, found = spec.min_size, layout.font_size - 1, None
    while lo <= hi:  # penalty-free arrangements get easier as the type shrinks
        mid = (lo + hi) // 2
        got = _arranged(spec, mid, box_w, box_h)
        if got is not None and not got.notes:
            found, lo = got, mid + 1
        else:
            hi = mid - 1
    return found or here


def fit_text(spec: TextSpec, box_w: int, box_h: int) -> TextLayout:
    """The largest size in ``[min_size, max_size]`` whose lines fit ``box_w`` x ``box_h``, balanced.

    Lines break only at UAX #14 opportunities (ICU, see :func:`wrap`); a word too wide for the box on
    its own is split only after a hyphen or slash, never inside. The chosen size's lines are then
    balanced (:func:`_arrange`). Never truncates: if ``min_size`` cannot fit, its layout (over-wide
    words on their own lines) is returned with ``fits=False``.
    """
    if not spec.text.strip():
        shaper = _shaper(spec, spec.max_size)
        return _layout_from_lines(shaper, [], box_w, box_h)
    if box_w > 0 and box_h > 0:
        best = _try(spec, spec.max_size, box_w, box_h)
        if best is None and (best := _try(spec, spec.min_size, box_w, box_h)) is not None:
            lo, hi = spec.min_size, spec.max_size  # lo fits, hi does not
            while hi - lo > 1:
                mid = (lo + hi) // 2
                got = _try(spec, mid, box_w, box_h)
                if got is not None:
                    lo, best = mid, got
                else:
                    hi = mid
        if best is not None:
            return _refine(best, box_w, box_h)
    shaper = _shaper(spec, spec.min_size)
    lines = _wrap(shaper, spec.text, max(box_w, 1), overflow=True) or []
    layout = _layout_from_lines(shaper, lines, None, box_h)
    return replace(layout, problem=_problem(layout, box_w, box_h))


def _problem(layout: TextLayout, box_w: int, box_h: int) -> str:
    """Why ``layout`` (at ``min_size``) does not fit ``box_w`` x ``box_h``, in words."""
    spec = layout.spec
    at = f"at the minimum {spec.min_size} px"
    for line, width in zip(layout.lines, layout.line_widths, strict=True):
        if width > box_w:
            return f"'{line}' is {width} px wide {at}; the box is {box_w} px and words are never broken"
    if spec.max_lines is not None and len(layout.lines) > spec.max_lines:
        return f"needs {len(layout.lines)} lines {at}; at most {spec.max_lines} allowed in a {box_w} px box"
    return f"needs {layout.height} px of height {at} ({len(layout.lines)} lines); the box has {box_h} px"


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


def emoji_boxes(layout: TextLayout, box: Box, valign: VAlign = "top") -> list[tuple[int, int, int, int]]:
    """Boxes (image coordinates) of the colour emoji :func:`draw_text` would draw: their pixels are
    not the text colour, so contrast is measured around them."""
    shaper = _shaper(layout.spec, layout.font_size)
    if shaper.emoji_index is None:
        return []
    return [b for line, ox, y, _ in _positions(layout, box, valign) for b in shaper.emoji_boxes(line, ox, y)]


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
    placed = _positions(layout, box, valign)
    for line, ox, baseline, _ in placed:
        shaper.draw(image, ox, baseline, line, fill)
    if not placed:
        return (box[0], box[1], box[0], box[1])
    inks = [ink for *_, ink in placed]
    return (
        min(b[0] for b in inks),
        min(b[1] for b in inks),
        max(b[2] for b in inks),
        max(b[3] for b in inks),
    )


def unrenderable(text: str, font_path: str | Path, language: str | None = None) -> tuple[str, ...]:
    """Characters (emoji: whole clusters) of ``text`` that neither ``font_path`` nor the fallback chain
    :func:`draw_text` would use can draw: what would come out as tofu. No rendering at any size."""
    spec = TextSpec(text=text, font_path=str(font_path), max_size=40, min_size=40, language=language)
    return _shaper(spec, 40).missing(unicodedata.normalize("NFC", text))
