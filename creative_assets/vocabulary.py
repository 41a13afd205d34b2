"""The shared vocabulary at the bottom of the package: words every layer uses and nobody redefines.

Writing direction, line-breaking mode, script keys, check severity, the pixel box, and how a
validation problem is named and worded (``Problem``, ``field_path``, ``validation_problems``: the one
translator of pydantic errors for briefs, brand kits, the locale knowledge base and alert configs).
Pure and a leaf: it imports nothing of the project.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

Direction = Literal["ltr", "rtl"]
#: how lines wrap: at spaces, anywhere between CJK characters, or at dictionary word boundaries
LineBreaking = Literal["spaces", "cjk", "thai"]
ScriptKey = Literal[
    "latin",
    "cyrillic",
    "greek",
    "arabic",
    "hebrew",
    "japanese",
    "chinese_simplified",
    "chinese_traditional",
    "korean",
    "thai",
    "lao",
    "khmer",
    "myanmar",
    "devanagari",
]
#: a finding's or a check's severity: WARN is advisory, ERROR blocks (a unit's selection, a term)
Severity = Literal["WARN", "ERROR"]
#: a pixel rectangle ``(left, top, right, bottom)``, right and bottom exclusive
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Problem:
    """One problem: ``field`` is a dotted path such as ``products[1].id`` or ``(file)``."""

    field: str
    message: str
    #: machine-readable kind where callers act on it, e.g. ``missing_asset``
    code: str = ""

    def to_dict(self) -> dict[str, str]:
        out = {"field": self.field, "message": self.message}
        if self.code:
            out["code"] = self.code
        return out


def field_path(loc: tuple[object, ...]) -> str:
    """``('products', 1, 'id')`` -> ``products[1].id``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(file)"


def validation_problems(
    exc: ValidationError,
    prefix: tuple[object, ...] = (),
    *,
    unknown_hint: str = "check the spelling",
    show_input: Callable[[object], str] = repr,
    secret_fields: Collection[str] = (),
) -> list[Problem]:
    """Every error of ``exc`` as a :class:`Problem` naming its field (under ``prefix``) in words:
    an unknown field says so (with ``unknown_hint``), a missing one "is required", any other error
    shows the offending value (``show_input``) unless it is a mapping, a list or under one of
    ``secret_fields``."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"is not a known field ({unknown_hint})"
        elif err["type"] == "missing":
            msg = "is required"
        elif (
            "input" in err
            and not isinstance(err["input"], (dict, list))
            and not any(part in secret_fields for part in loc)
        ):
            msg = f"{msg} (got {show_input(err['input'])})"
        problems.append(Problem(field_path((*prefix, *loc)), msg))
    return problems
