"""From per-creative compliance outcomes to one verdict per unit and check (pure functions).

A unit has N candidates, each rendered at every ratio; ``compliance.evaluate_creative`` judges each
creative. Per unit and check:

- **passed** when every creative passes;
- otherwise **WARN** when at least one candidate has no ERROR finding in *any* check (it can be
  delivered; candidates with ERROR findings are excluded from selection and listed);
- **ERROR** when no candidate is free of ERROR findings: nothing compliant can be selected. ERROR
  evaluations of blocking checks stop the run before ``selected_creative``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from creative_assets.compliance import CHECKS, CheckOutcome

#: Checks whose ERROR verdict blocks selection. Brand colour fit and copy source are advisory (WARN only).
BLOCKING_CHECKS = frozenset(
    {
        "copy_terms",
        "logo",
        "text_legibility",
        "safe_zones",
        "glyph_coverage",
        "text_over_product",
        "source_resolution",
        "product_share",
        "placement_spec",
        "product_hero",
    }
)

DESCRIPTIONS = {
    "copy_terms": "Legal and banned terms (global, language, market, brand, campaign rules) in the copy.",
    "logo": "Logo detected on the rendered pixels, at or above minimum size, legible (3:1), with clear space.",
    "brand_colours": "Share of pixels within CIEDE2000 15 of the brand palette (advisory).",
    "text_legibility": "WCAG AA contrast on the final pixels, minimum type sizes, no clipped or overflowing text.",
    "safe_zones": "Text and logo outside the platform UI areas of each placement.",
    "glyph_coverage": "Every character of the copy drawn by a real glyph (no tofu).",
    "text_over_product": "No text block or CTA button on the product's visible pixels (placed product mask).",
    "source_resolution": "Supplied product image not enlarged beyond the kit's product_imagery.max_upscale.",
    "copy_source": "Machine-translated or untranslated (source-language) copy flagged for a native speaker (advisory).",
    "product_share": "The product visibly on the creative: its placed pixels, minus logo and copy, at least 1.5% of the canvas.",
    "placement_spec": "The export meets its placement: pixel size, accepted format, byte budget, measured minimum quality.",
    "product_hero": "The product is the hero: visible share at least the placement class minimum (12% vertical), inside the safe area.",
}

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

#: per candidate index -> ratio -> outcomes (one per check, in CHECKS order)
Outcomes = Mapping[int, Mapping[str, list[CheckOutcome]]]


@dataclass
class UnitVerdict:
    check: str
    passed: bool
    severity: str  # "WARN" | "ERROR"
    description: str
    failing: list[str] = field(default_factory=list)  # "candidate 2 @ 9:16: message"
    figures: dict[str, float] = field(default_factory=dict)


def blocked_candidates(outcomes: Outcomes) -> set[int]:
    """Candidates with at least one ERROR finding in any check at any ratio."""
    return {
        index
        for index, by_ratio in outcomes.items()
        for checks in by_ratio.values()
        for outcome in checks
        if not outcome.passed and outcome.severity == "ERROR"
    }


def unit_verdicts(outcomes: Outcomes) -> dict[str, UnitVerdict]:
    """One verdict per check for the unit (see module docstring for the rules)."""
    blocked = blocked_candidates(outcomes)
    deliverable = sorted(set(outcomes) - blocked)
    verdicts = {}
    for check in CHECKS:
        failing: list[str] = []
        worst = "WARN"
        figures: dict[str, float] = {}
        for index in sorted(outcomes):
            for ratio, checks in outcomes[index].items():
                outcome = next((o for o in checks if o.check == check), None)
                if outcome is None:  # a check that did not run on this creative
                    continue
                for name, value in outcome.figures.items():  # the worst figure across creatives
                    worst_of = max if name in HIGHER_IS_WORSE else min
                    figures[name] = worst_of(figures.get(name, value), value)
                if outcome.passed:
                    continue
                if outcome.severity == "ERROR":
                    worst = "ERROR"
                for finding in outcome.findings:
                    failing.append(f"candidate {index + 1} @ {ratio}: [{finding.severity}] {finding.message}")
        total = sum(len(by_ratio) for by_ratio in outcomes.values())
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
