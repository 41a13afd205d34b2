"""``copy_terms``: legal and banned terms (layered rules, already merged) in the headline, sub-line,
CTA, badge and legal line. Case-, width- and diacritic-insensitive; whole words where the script separates
words with spaces, substrings where it does not (Han, kana, Thai, ...). See :func:`find_terms`."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

from creative_assets.compliance.outcome import CheckOutcome, Finding, make_outcome
from creative_assets.stages import CopyVariant, TermRuleRecord
from creative_assets.term_skeleton import fold_char, visual_variants

if TYPE_CHECKING:
    from creative_assets.compliance.context import CreativeContext

COPY_FIELDS = ("headline", "subline", "cta", "badge", "disclaimer", "disclaimer_short")

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
    """Banned terms in headline, sub-line, CTA, badge and legal line; each hit's severity is its rule's."""
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
    return make_outcome("copy_terms", findings, figures)


def run(ctx: CreativeContext) -> CheckOutcome:
    return check_copy_terms(ctx.copy, ctx.rules, ctx.line_breaking)
