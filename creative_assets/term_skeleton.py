"""Banned-term matching keys: text folded to a skeleton on which hidden variants of a term coincide.

Per character, in this order (the same for the term and the text, so a match survives folding):

1. default-ignorable code points (zero-width spaces and joiners, word joiner, soft hyphen, bidi
   controls, variation selectors, ...) are removed;
2. NFKC normalisation and case folding (full-width, ligatures, ``ß`` -> ``ss``, ...);
3. diacritics (combining marks) are removed, except marks that are vowels or tell letters apart
   (Indic and South-East Asian scripts, Japanese voicing marks);
4. the Unicode confusables skeleton of UTS #39 (ICU's ``SpoofChecker``): Cyrillic ``с`` and Greek
   ``ο`` become Latin ``c`` and ``o``, digit ``0`` becomes ``o``, Arabic and Persian yeh coincide.
   Characters of scripts written without spaces (Han, kana, Hangul, Thai, ...) keep their own
   identity: UTS #39 maps katakana ``カ`` to the Han ``力``, which would make different words match;
5. case folding again (skeleton prototypes may be capitals).

Text under a bidi *override* (U+202D, U+202E) is displayed reversed; :func:`visual_variants` gives
the order a reader sees, so ``U+202E eruc U+202C`` is found as "cure". Pure; ICU through PyICU.
"""

from __future__ import annotations

import functools
import unicodedata

import icu

_IGNORABLE = icu.UnicodeSet("[:Default_Ignorable_Code_Point:]")
_IGNORABLE.freeze()
_SPOOF = icu.SpoofChecker()

#: Scripts written without spaces, and Hangul: confusable-mapping them merges different words.
_OWN_IDENTITY_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1100, 0x11FF),  # Hangul jamo
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3040, 0x30FF),  # kana
    (0x3130, 0x318F),  # Hangul compatibility jamo
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF),  # Han
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),
    (0xFF66, 0xFFDC),  # half-width kana and Hangul
    (0x20000, 0x3134F),
)
#: Combining marks that are vowels or distinguish letters: never removed.
KEEP_MARK_RANGES = ((0x0900, 0x0DFF), (0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x3099, 0x309A))

OVERRIDES = {"\u202d", "\u202e"}  # LRO, RLO
_OVERRIDE_ENDS = {"\u202c", "\u2069", "\n"}  # PDF, PDI (closing an enclosing isolate), paragraph


def _in(cp: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(lo <= cp <= hi for lo, hi in ranges)


def is_default_ignorable(ch: str) -> bool:
    return _IGNORABLE.contains(ch)


@functools.lru_cache(maxsize=65536)
def fold_char(ch: str) -> str:
    """The skeleton of one character (possibly empty, possibly several characters)."""
    if _IGNORABLE.contains(ch):
        return ""
    out = []
    for c in unicodedata.normalize("NFD", unicodedata.normalize("NFKC", ch).casefold()):
        cp = ord(c)
        if unicodedata.category(c) == "Mn" and not _in(cp, KEEP_MARK_RANGES):
            continue
        if _IGNORABLE.contains(c):
            continue
        # punctuation, symbols and spaces keep their identity: they are word boundaries ("cure!"),
        # and UTS #39 maps some of them to letters ("!" to U+01C3)
        if unicodedata.category(c)[0] not in "LNM" or _in(cp, _OWN_IDENTITY_RANGES):
            out.append(c)
            continue
        skeleton = _SPOOF.getSkeleton(0, c)
        out.append(unicodedata.normalize("NFD", skeleton).casefold())
    return unicodedata.normalize("NFC", "".join(out))


def skeleton(text: str) -> str:
    """The folded skeleton of ``text`` (no whitespace handling)."""
    return unicodedata.normalize("NFC", "".join(fold_char(c) for c in text))


def term_folds_to_something(term: str) -> bool:
    """Whether a banned term keeps any character once folded (spaces and dashes do not count)."""
    return any(not c.isspace() and unicodedata.category(c) != "Pd" for c in skeleton(term))


def visual_variants(text: str) -> list[tuple[str, list[int]]]:
    """``text`` in logical order, plus, when it holds a bidi override, in the order it is displayed
    (each override run reversed); each with the original index of every character."""
    identity = list(range(len(text)))
    if not any(c in OVERRIDES for c in text):
        return [(text, identity)]
    order: list[int] = []
    run: list[int] | None = None
    for i, c in enumerate(text):
        if c in OVERRIDES:
            if run is not None:
                order.extend(reversed(run))
            run = []
            order.append(i)
        elif run is not None and c in _OVERRIDE_ENDS:
            order.extend(reversed(run))
            run = None
            order.append(i)
        elif run is not None:
            run.append(i)
        else:
            order.append(i)
    if run is not None:
        order.extend(reversed(run))
    return [(text, identity), ("".join(text[i] for i in order), order)]
