"""Human-readable validation errors that name the file and the field."""

from __future__ import annotations

from pydantic import ValidationError

from creative_assets.input_policy import shorten
from creative_assets.vocabulary import Problem, validation_problems


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


def problems_from_validation_error(exc: ValidationError) -> list[Problem]:
    """A brief's or brand kit's validation errors, values shortened for the report."""
    return validation_problems(
        exc, unknown_hint="check the spelling; see `creative-assets schema`", show_input=shorten
    )
