"""Identifier rules. Ids become storage keys and partition keys, so they are deliberately narrow."""

from __future__ import annotations

import re

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
    if len(value) < 2 or len(value) > 48:
        return f"{value!r} must be 2 to 48 characters long"
    bad = sorted({c for c in value if not (c.islower() and c.isascii()) and not c.isdigit() and c != "-"})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        return f"{value!r} contains {shown}; use only lower-case a-z, digits and single hyphens"
    return f"{value!r} must start and end with a letter or digit and not contain '--'"


def is_locale_tag(value: str) -> bool:
    return bool(_LOCALE_RE.match(value))
