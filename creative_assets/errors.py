"""Human-readable validation errors that name the file and the field."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from creative_assets.input_policy import shorten


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


class BriefError(ValueError):
    """A brief or brand kit is invalid. ``str()`` lists every problem, one per line."""

    def __init__(self, source: str, problems: list[Problem]):
        from creative_assets.input_policy import MAX_PROBLEMS, clip_message

        self.source = source
        # bounded: a hostile brief must not turn into a huge report
        clipped = [Problem(p.field[:200], clip_message(p.message), p.code) for p in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            clipped.append(Problem("(file)", f"… and {len(problems) - MAX_PROBLEMS:,} more problems"))
        self.problems = clipped
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.problems)
        head = f"{self.source}: {count} problem{'s' if count != 1 else ''}"
        return "\n".join([head, *(f"  - {p.field}: {p.message}" for p in self.problems)])

    def to_dict(self) -> dict[str, object]:
        return {"file": self.source, "problems": [p.to_dict() for p in self.problems]}


def field_path(loc: tuple[object, ...]) -> str:
    """``('products', 1, 'id')`` -> ``products[1].id``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(file)"


def problems_from_validation_error(exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if err["type"] == "extra_forbidden":
            msg = "is not a known field (check the spelling; see `creative-assets schema`)"
        elif err["type"] == "missing":
            msg = "is required"
        elif (
            "input" in err and err["type"] not in ("missing",) and not isinstance(err["input"], (dict, list))
        ):
            msg = f"{msg} (got {shorten(err['input'])})"
        problems.append(Problem(field_path(loc), msg))
    return problems
