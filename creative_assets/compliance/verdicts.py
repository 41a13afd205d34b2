"""From per-creative outcomes to one verdict per unit and check (pure).

A unit has N candidates, each rendered at every ratio; ``registry.evaluate_creative`` judges each
creative. Per unit and check:

- **passed** when every creative passes;
- otherwise **WARN** when at least one candidate has no blocking ERROR finding in *any* check (it can
  be delivered; candidates with blocking ERROR findings are excluded from selection and listed);
- **ERROR** when no candidate is free of blocking ERROR findings: nothing compliant can be selected
  (``selected_creative`` records the unit as blocked).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from creative_assets.compliance.outcome import CheckOutcome
from creative_assets.compliance.registry import CHECKS, blocks_selection

#: Figures where a larger number is worse (the others: smaller is worse).
HIGHER_IS_WORSE = frozenset(
    {
        "terms_found",
        "error_terms",
        "fallback_chars",
        "median_delta_e",
        "overlap_share",
        "upscale",
        "fallback_fields",
    }
)

#: per candidate index -> ratio -> check name -> outcome
Outcomes = Mapping[int, Mapping[str, Mapping[str, CheckOutcome]]]


class UnitResult(Protocol):
    """What one check says about one unit (a :class:`UnitVerdict`, or a unit-scope check's verdict):
    what the Dagster evaluation of the unit's partition reports."""

    passed: bool
    severity: str
    description: str
    figures: Mapping[str, Any]
    failing: Sequence[Any]


@dataclass
class UnitVerdict:
    check: str
    passed: bool
    severity: str  # "WARN" | "ERROR"
    description: str
    failing: list[str] = field(default_factory=list)  # "candidate 2 @ 9:16: message"
    figures: dict[str, float] = field(default_factory=dict)


def blocked_candidates(outcomes: Outcomes) -> set[int]:
    """Candidates with at least one blocking ERROR finding in any check at any ratio."""
    return {
        index
        for index, by_ratio in outcomes.items()
        for checks in by_ratio.values()
        for outcome in checks.values()
        if blocks_selection(outcome)
    }


def unit_verdicts(outcomes: Outcomes) -> dict[str, UnitVerdict]:
    """One verdict per per-creative check for the unit (see module docstring for the rules)."""
    blocked = blocked_candidates(outcomes)
    deliverable = sorted(set(outcomes) - blocked)
    total = sum(len(by_ratio) for by_ratio in outcomes.values())
    verdicts = {}
    for check in CHECKS:
        failing: list[str] = []
        worst = "WARN"
        figures: dict[str, float] = {}
        for index in sorted(outcomes):
            for ratio, checks in outcomes[index].items():
                outcome = checks[check]
                for name, value in outcome.figures.items():  # the worst figure across creatives
                    worst_of = max if name in HIGHER_IS_WORSE else min
                    figures[name] = worst_of(figures.get(name, value), value)
                if outcome.passed:
                    continue
                if outcome.severity == "ERROR":
                    worst = "ERROR"
                for finding in outcome.findings:
                    failing.append(f"candidate {index + 1} @ {ratio}: [{finding.severity}] {finding.message}")
        if not failing:
            verdicts[check] = UnitVerdict(check, True, "WARN", f"all {total} creatives pass", [], figures)
            continue
        if worst == "ERROR" and not deliverable:
            severity = "ERROR"
            head = "no candidate is compliant: nothing can be selected"
        elif worst == "ERROR":
            severity = "WARN"
            excluded = ", ".join(str(i + 1) for i in sorted(blocked))
            head = f"candidate(s) {excluded} excluded from selection; " + (
                f"{len(deliverable)} compliant candidate(s) remain"
            )
        else:
            severity = "WARN"
            head = "advisory findings"
        shown = "; ".join(failing[:6]) + (f"; … {len(failing) - 6} more" if len(failing) > 6 else "")
        verdicts[check] = UnitVerdict(check, False, severity, f"{head}. {shown}", failing, figures)
    return verdicts
