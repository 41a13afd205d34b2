"""Identifier rules. Ids become storage keys and partition keys, so they are deliberately narrow."""

from __future__ import annotations

import re
import string
import unicodedata

from creative_assets.input_policy import shorten

#: Lower-case letters and digits in hyphen-separated groups, 2-48 characters: ``summer-splash-2026``.
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SLUG_MAX = 48
_SLUG_RE = re.compile(SLUG_PATTERN)

#: BCP 47 language-region tags as we use them: ``en-US``, ``ja-JP``, ``zh-Hans-CN`` is not accepted.
LOCALE_PATTERN = r"^[a-z]{2,3}-[A-Z]{2}$"
_LOCALE_RE = re.compile(LOCALE_PATTERN)


def is_slug(value: str) -> bool:
    return 2 <= len(value) <= SLUG_MAX and bool(_SLUG_RE.match(value))


def slug_problem(value: str) -> str | None:
    """A human explanation of why ``value`` is not a slug, or None when it is one."""
    if is_slug(value):
        return None
    if not value:
        return "is empty"
    shown_value = shorten(value)
    if len(value) < 2 or len(value) > SLUG_MAX:
        return f"{shown_value} must be 2 to {SLUG_MAX} characters long (it has {len(value):,})"
    allowed = set(string.ascii_lowercase + string.digits + "-")
    bad = sorted({c for c in value if c not in allowed})
    if bad:
        shown = " ".join(_describe(c) for c in bad[:8])
        return f"{shown_value} contains {shown}; use only lower-case a-z, digits 0-9 and single hyphens"
    return f"{shown_value} must start and end with a letter or digit and not contain '--'"


def _describe(c: str) -> str:
    """A character as a user can recognise it: ``'A' (upper-case)``, ``'２' (U+FF12, not an ASCII digit)``."""
    if c.isdigit() or unicodedata.category(c) == "Nd":
        return f"{c!r} (U+{ord(c):04X} {unicodedata.name(c, '').lower()}, not an ASCII digit 0-9)"
    if c.isascii() and c.isupper():
        return f"{c!r} (upper-case)"
    if not c.isascii():
        return f"{c!r} (U+{ord(c):04X} {unicodedata.name(c, '').lower()})".replace(" )", ")")
    return repr(c)


def is_locale_tag(value: str) -> bool:
    return bool(_LOCALE_RE.match(value))
