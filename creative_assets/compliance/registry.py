"""The one list of compliance checks. Everything else is generated from it: the Dagster asset check
specs of ``final_creatives`` (``assets/final_creatives.py``), the per-unit evaluations, the outcomes stored in
each render report (``FinalRender.compliance``), what blocks a unit's selection, the columns of the
campaign compliance report and the checks the alert sensor watches. Pure: no Dagster.

How to add a check (a placement or video check, say)
----------------------------------------------------
1. Write ``creative_assets/compliance/<name>.py`` with a pure ``run(ctx) -> CheckOutcome``:

   - ``scope="creative"`` (judged on every final creative): ``ctx`` is a
     :class:`~creative_assets.compliance.context.CreativeContext` (pixels, render report, copy, rules,
     logo rules, palette, fonts...). Build the result with ``outcome.make_outcome(name, findings,
     figures)``: ERROR findings for what must not ship, WARN for what a reviewer should look at.
     Figures: lower is worse, unless you add the figure's name to ``verdicts.HIGHER_IS_WORSE``. An
     input the context lacks becomes a new field of ``CreativeContext``, filled in
     ``unit_work.final_creatives_value``.
   - ``scope="unit"`` (judged once per unit on the stored finals, like the Content Credentials
     checks): ``ctx`` is a :class:`~creative_assets.compliance.context.UnitCredentials` and ``run``
     returns a verdict (``passed``, ``severity``, ``description``, ``figures``, ``failing``).
2. Append one ``Check(name, description, blocking, run)`` to :data:`REGISTRY`. ``name`` is the
   asset check's name in Dagster (never rename a shipped one: its history is keyed by it),
   ``description`` is what the UI shows, ``blocking=True`` means an ERROR finding keeps the candidate
   out of selection (the unit is blocked when no candidate is left); ``blocking=False`` is advisory.
   No check is ever Dagster-blocking: one doomed unit must not fail a batched step of 24.
3. Test the module in ``creative_assets_tests/test_compliance_<name>.py`` and update the asset-graph
   snapshot deliberately (``creative_assets_tests/snapshots/asset_graph.json``: a new check spec).

Outcomes are keyed by check name everywhere (``evaluate_creative`` returns ``{name: outcome}``; each
stored outcome carries its ``check``), never by position, so adding or reordering checks cannot
shift results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from creative_assets.compliance import (
    ai_disclosure,
    brand_colours,
    content_credentials,
    copy_source,
    copy_terms,
    glyph_coverage,
    logo,
    placement_spec,
    product_hero,
    product_share,
    safe_zones,
    source_resolution,
    text_legibility,
    text_over_product,
)
from creative_assets.compliance.context import CreativeContext
from creative_assets.compliance.outcome import CheckOutcome

Scope = Literal["creative", "unit"]


@dataclass(frozen=True)
class Check:
    """One compliance check: its Dagster check name, what it checks, whether an ERROR blocks the
    unit's selection, and the pure function that judges (``scope``: one creative or one unit)."""

    name: str
    description: str
    blocking: bool
    function: Callable[[Any], Any]
    scope: Scope = "creative"

    @property
    def spec_description(self) -> str:
        """The description the asset check shows, saying whether it blocks the unit's selection."""
        return self.description + (" Blocks the unit's selection." if self.blocking else " Advisory.")


REGISTRY: tuple[Check, ...] = (
    Check(
        "copy_terms",
        "Legal and banned terms (global, language, market, brand, campaign rules) in the copy.",
        True,
        copy_terms.run,
    ),
    Check(
        "logo",
        "Logo detected on the rendered pixels, at or above minimum size, legible (3:1), with clear space.",
        True,
        logo.run,
    ),
    Check(
        "brand_colours", "Share of pixels within CIEDE2000 15 of the brand palette.", False, brand_colours.run
    ),
    Check(
        "text_legibility",
        "WCAG AA contrast on the final pixels, minimum type sizes, no clipped or overflowing text.",
        True,
        text_legibility.run,
    ),
    Check(
        "safe_zones", "Text and logo outside the platform UI areas of each placement.", True, safe_zones.run
    ),
    Check(
        "glyph_coverage",
        "Every character of the copy drawn by a real glyph (no tofu).",
        True,
        glyph_coverage.run,
    ),
    Check(
        "text_over_product",
        "No text block or CTA button on the product's visible pixels (placed product mask).",
        True,
        text_over_product.run,
    ),
    Check(
        "source_resolution",
        "Supplied product image not enlarged beyond the kit's product_imagery.max_upscale.",
        True,
        source_resolution.run,
    ),
    Check(
        "copy_source",
        "Machine-translated or untranslated (source-language) copy flagged for a native speaker.",
        False,
        copy_source.run,
    ),
    Check(
        "product_share",
        "The product visibly on the creative: its placed pixels, minus logo and copy, at least 1.5% of the "
        "canvas.",
        True,
        product_share.run,
    ),
    Check(
        "placement_spec",
        "The export meets its placement: pixel size, an accepted format, the byte budget and the measured "
        "minimum quality (PSNR), read from the exported bytes.",
        True,
        placement_spec.run,
    ),
    Check(
        "product_hero",
        "The product is the hero: its visible pixels (placed mask minus logo and copy) cover at least the "
        "placement class minimum (12% vertical, 8% landscape, 6% square and portrait, 3% banner) and sit "
        "inside the placement's safe area.",
        True,
        product_hero.run,
    ),
    Check(
        "content_credentials",
        "Every final read back with the C2PA reader: signature valid, hash binding matches the pixels, "
        "declared actions, digital source type, ingredient hashes and claims match what the pipeline did. "
        "WARN when credentials are disabled; ERROR in production (CREATIVE_ASSETS_CREDENTIALS=required).",
        True,
        content_credentials.run,
        scope="unit",
    ),
    Check(
        "ai_disclosure",
        "Where the market's legal notes require a visible AI label (knowledge base ai_label) and the "
        "imagery is AI-generated, the label is rendered in the legal line of every final and fits.",
        True,
        ai_disclosure.run,
        scope="unit",
    ),
)

CHECKS_BY_NAME: Mapping[str, Check] = {check.name: check for check in REGISTRY}
if len(CHECKS_BY_NAME) != len(REGISTRY):
    raise ValueError("two compliance checks share a name")

#: The checks judged on every final creative, in report order.
CREATIVE_CHECKS: tuple[Check, ...] = tuple(c for c in REGISTRY if c.scope == "creative")
#: The checks judged once per unit on its stored finals (Content Credentials).
UNIT_CHECKS: tuple[Check, ...] = tuple(c for c in REGISTRY if c.scope == "unit")
#: Names of the per-creative checks (the keys of :func:`evaluate_creative`'s result).
CHECKS: tuple[str, ...] = tuple(c.name for c in CREATIVE_CHECKS)
#: Names of the checks whose ERROR blocks a unit's selection.
BLOCKING_CHECKS: frozenset[str] = frozenset(c.name for c in REGISTRY if c.blocking)


def blocks_selection(outcome: CheckOutcome | Mapping[str, Any]) -> bool:
    """Whether one stored or fresh outcome keeps its candidate out of selection: an ERROR of a
    blocking check (an outcome of a check no longer registered blocks too: it was blocking when it
    was judged, or it would not be an ERROR)."""
    data = outcome.model_dump() if isinstance(outcome, CheckOutcome) else outcome
    check = CHECKS_BY_NAME.get(data["check"])
    return not data["passed"] and data["severity"] == "ERROR" and (check is None or check.blocking)


def evaluate_creative(ctx: CreativeContext) -> dict[str, CheckOutcome]:
    """Every per-creative check on one rendered creative, keyed by check name (registry order).

    The logo is located on the pixels once (``ctx.logo_detection``) and shared by the logo and
    safe-zone checks. Findings' ``where`` is prefixed with the ratio ("9:16 cta")."""
    outcomes = {}
    for check in CREATIVE_CHECKS:
        outcome = check.function(ctx)
        if outcome.check != check.name:
            raise ValueError(f"check {check.name!r} returned an outcome named {outcome.check!r}")
        for finding in outcome.findings:
            finding.where = f"{ctx.report.ratio} {finding.where}".strip()
        outcomes[check.name] = outcome
    return outcomes
