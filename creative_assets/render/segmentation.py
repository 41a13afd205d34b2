"""Unicode text segmentation and bidi through ICU (PyICU): the one oracle for where text may break.

Pure module (PyICU only, no Dagster). Offsets are Python string indices (code points); ICU works in
UTF-16 code units, so every result is mapped back (emoji and CJK extension characters are two units).

* :func:`line_breaks`: UAX #14 line-break opportunities, with ICU's dictionary segmentation for
  scripts written without spaces (Thai, Lao, Khmer, Burmese) and, for Japanese and Chinese, the
  ``strict`` line-break style (kinsoku: no line starts with 。、」) ー or a small kana).
* :func:`word_boundaries`: UAX #29 word boundaries (dictionary-based for the same scripts).
* :func:`graphemes`: extended grapheme clusters (an emoji ZWJ sequence or a flag is one cluster).
* :func:`bidi_levels`: UAX #9 embedding levels per character (numbers in Arabic stay left to right).
* :func:`is_emoji_cluster`: whether a grapheme cluster is presented as an emoji.
"""

from __future__ import annotations

import functools
import itertools
import threading

import icu

_local = threading.local()  # ICU break iterators are not thread-safe: one set per thread


def icu_locale(language: str | None, strict: bool = False) -> str:
    """ICU locale id for a BCP 47 tag (``ja-JP`` -> ``ja_JP@lb=strict`` when ``strict``)."""
    base = (language or "und").replace("-", "_")
    return f"{base}@lb=strict" if strict else base


def _iterator(kind: str, locale_id: str):
    cache = getattr(_local, "iterators", None)
    if cache is None:
        cache = _local.iterators = {}
    key = (kind, locale_id)
    it = cache.get(key)
    if it is None:
        loc = icu.Locale(locale_id)
        make = {
            "line": icu.BreakIterator.createLineInstance,
            "word": icu.BreakIterator.createWordInstance,
            "char": icu.BreakIterator.createCharacterInstance,
        }[kind]
        it = cache[key] = make(loc)
    return it


def _utf16_to_index(text: str) -> list[int]:
    """``table[u]`` = Python index of UTF-16 offset ``u`` (offsets inside a surrogate pair map to the
    character's index)."""
    table: list[int] = []
    for i, ch in enumerate(text):
        table.append(i)
        if ord(ch) > 0xFFFF:
            table.append(i)
    table.append(len(text))
    return table


def _boundaries(kind: str, text: str, locale_id: str) -> tuple[int, ...]:
    if not text:
        return (0,)
    it = _iterator(kind, locale_id)
    it.setText(icu.UnicodeString(text))
    table = _utf16_to_index(text)
    out = [table[it.first()]]
    while (b := it.nextBoundary()) != -1:
        out.append(table[b])
    return tuple(out)


@functools.lru_cache(maxsize=4096)
def line_breaks(text: str, language: str | None = None, strict: bool = False) -> tuple[int, ...]:
    """Offsets where a line may break (UAX #14), including 0 and ``len(text)``."""
    return _boundaries("line", text, icu_locale(language, strict))


@functools.lru_cache(maxsize=4096)
def word_boundaries(text: str, language: str | None = None) -> tuple[int, ...]:
    """UAX #29 word boundaries, including 0 and ``len(text)``."""
    return _boundaries("word", text, icu_locale(language))


@functools.lru_cache(maxsize=4096)
def graphemes(text: str) -> tuple[str, ...]:
    """Extended grapheme clusters of ``text``."""
    b = _boundaries("char", text, "und")
    return tuple(text[x:y] for x, y in itertools.pairwise(b))


def bidi_levels(text: str, rtl: bool) -> list[int]:
    """UAX #9 resolved embedding level of every character for a paragraph of base direction ``rtl``
    (odd = right to left)."""
    if not text:
        return []
    bidi = icu.Bidi()
    bidi.setPara(icu.UnicodeString(text), 1 if rtl else 0)
    levels: list[int] = []
    u = 0
    for ch in text:
        levels.append(bidi.getLevelAt(u))
        u += 2 if ord(ch) > 0xFFFF else 1
    return levels


def _has(ch: str, prop) -> bool:
    return bool(icu.Char.hasBinaryProperty(ch, prop))


_VS16 = "\ufe0f"
_VS15 = "\ufe0e"
_KEYCAP = "\u20e3"


@functools.lru_cache(maxsize=8192)
def is_emoji_cluster(cluster: str) -> bool:
    """Whether the grapheme cluster ``cluster`` is presented as an emoji: it contains a character with
    default emoji presentation, or an emoji-capable one with VS16, a keycap, a skin-tone modifier, a
    ZWJ sequence of pictographs, or a regional-indicator pair (flag). ``©``, ``™`` or a bare digit are
    text; VS15 asks for text presentation."""
    if not cluster or _VS15 in cluster:
        return False
    if _KEYCAP in cluster:
        return True
    for ch in cluster:
        if _has(ch, icu.UProperty.EMOJI_PRESENTATION) or _has(ch, icu.UProperty.REGIONAL_INDICATOR):
            return True
        if _has(ch, icu.UProperty.EMOJI_MODIFIER):
            return True
    if _VS16 in cluster:
        return any(_has(ch, icu.UProperty.EMOJI) for ch in cluster)
    return "\u200d" in cluster and any(_has(ch, icu.UProperty.EXTENDED_PICTOGRAPHIC) for ch in cluster)


def emoji_in(text: str) -> list[str]:
    """The emoji clusters of ``text`` in order (duplicates kept)."""
    if text.isascii():
        return []
    return [g for g in graphemes(text) if is_emoji_cluster(g)]
