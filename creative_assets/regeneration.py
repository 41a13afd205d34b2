"""Which units need regenerating, and why: the nightly schedule's decision (sensors/nightly.py).

A unit of a campaign's live brief is regenerated when any of these holds (README "Nightly
regeneration"):

``missing``            it has no selected creative (never generated, its last run failed, or its
                       selection is ``blocked``: no candidate could be selected)
``brief_changed``      its inputs in the brief differ from the ones it was generated from
``brand_kit_changed``  its brand kit (brand.yaml, logos) changed since
``rules_changed``      the locale knowledge base (tone, legal lines, banned terms) changed since
``code_changed``       a stage's code version differs from the one that wrote its outputs
``out_of_order``       a stage is older than the stage it was built from (a partial re-run)
``revision_pending``   a reviewer requested changes that have not been generated yet

Nothing else is regenerated: in particular an approved unit whose inputs did not change keeps its
approval (regenerating it would withdraw it). Units a newer brief dropped are never touched.

A unit that failed *deterministically* is not repeated until something it depends on changes: its
finals are stored but a blocking compliance check found no compliant candidate (its selection is
recorded ``blocked``, issue 13 containment; or, before containment, its run failed with no
selection), so with the same inputs (brief, brand kit, locale rules, code, revision: the seed
derives from them) the same ERROR would come back. Its plan has no reasons and says ``blocked``
in its details; any of the other reasons above makes it run again. The schedule also skips units that already have a queued or
running run (sensors/nightly.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import pairwise

from creative_assets.brief_store import BriefRecord, current_brief, registered_campaigns, unit_fingerprint
from creative_assets.review.decisions import review_state
from creative_assets.stage_registry import (
    FINAL_CREATIVES,
    LOCALE_CONTEXT_PACK,
    SELECTED_CREATIVE,
    STAGE_NAMES,
    UNIT_BRIEF,
)
from creative_assets.stage_store import read_manifest
from creative_assets.storage_protocol import Storage
from creative_assets.units import UnitKey

#: the unit stages in pipeline order (storage folder names)
STAGE_ORDER = STAGE_NAMES
REASONS = (
    "missing",
    "brief_changed",
    "brand_kit_changed",
    "rules_changed",
    "code_changed",
    "out_of_order",
    "revision_pending",
)


@dataclass(frozen=True)
class UnitPlan:
    unit: UnitKey
    reasons: tuple[str, ...]
    details: tuple[str, ...] = field(default=())
    #: why the unit is not regenerated although it has no selection (a deterministic failure)
    blocked: str = ""


def blocking_failure(final_value: dict) -> str:
    """The blocking compliance failure that stopped a unit after its finals ('' if none): every
    candidate has a blocking ERROR finding (compliance.blocks_selection)."""
    from creative_assets.compliance import blocks_selection

    candidates = final_value.get("candidates", [])
    if not candidates:
        return ""
    failed_blocking: set[str] = set()
    for cand in candidates:
        errors = [
            o
            for report in cand.get("renders", {}).values()
            for o in report.get("compliance", [])
            if blocks_selection(o)
        ]
        if not errors:
            return ""  # a compliant candidate exists: the selection step can run
        failed_blocking |= {o["check"] for o in errors}
    return f"no compliant candidate ({', '.join(sorted(failed_blocking))} at ERROR)"


def live_campaigns(storage: Storage) -> list[BriefRecord]:
    return [r for r in (current_brief(storage, c) for c in registered_campaigns(storage)) if r is not None]


def _manifests(storage: Storage, unit: UnitKey) -> dict[str, dict]:
    out = {}
    for stage in STAGE_ORDER:
        manifest = read_manifest(storage, unit, stage)
        if manifest is not None:
            out[stage] = manifest
    return out


def unit_plan(
    storage: Storage,
    record: BriefRecord,
    unit: UnitKey,
    *,
    code_versions: dict[str, str],
    kit_fingerprint: str | None,
    knowledge_base_version: str,
) -> UnitPlan:
    """Why ``unit`` needs regenerating (empty ``reasons``: it does not)."""
    manifests = _manifests(storage, unit)
    reasons: list[str] = []
    details: list[str] = []
    missing = [s for s in STAGE_ORDER if s not in manifests]
    blocked = ""
    if missing == [SELECTED_CREATIVE]:  # a run that failed after its finals (before containment)
        blocked = blocking_failure(manifests[FINAL_CREATIVES]["value"])
    if missing and not blocked:
        return UnitPlan(unit, ("missing",), (f"no output for {', '.join(missing)}",))
    selection = manifests.get(SELECTED_CREATIVE, {}).get("value", {})
    if not missing and selection.get("status") == "blocked":
        # contained: the run succeeded and recorded the unit blocked, with no selection
        blocked = blocking_failure(manifests[FINAL_CREATIVES]["value"])
        if not blocked:  # not a compliance ERROR the same seed would repeat: try again
            reason = selection.get("blocked_reason") or "no candidate could be selected"
            return UnitPlan(unit, ("missing",), (f"selection blocked: {reason}",))
    stages = [s for s in STAGE_ORDER if s in manifests]
    brief = manifests[UNIT_BRIEF]["value"]
    if brief.get("input_fingerprint") != unit_fingerprint(record, unit):
        reasons.append("brief_changed")
        details.append(f"generated from brief v{brief.get('brief_version')}, live is v{record.version}")
    if kit_fingerprint is not None and brief.get("brand_fingerprint") != kit_fingerprint:
        reasons.append("brand_kit_changed")
        details.append(f"brand kit {brief.get('brand_fingerprint')} -> {kit_fingerprint}")
    used_rules = manifests[LOCALE_CONTEXT_PACK]["value"].get("knowledge_base_version")
    if used_rules != knowledge_base_version:
        reasons.append("rules_changed")
        details.append(f"knowledge base {used_rules} -> {knowledge_base_version}")
    changed = [
        s
        for s in stages
        if manifests[s].get("code_version") and manifests[s]["code_version"] != code_versions.get(s)
    ]
    if changed:
        reasons.append("code_changed")
        details.append("code version changed for " + ", ".join(changed))
    written = [manifests[s]["written_at"] for s in stages]
    if any(later < earlier for earlier, later in pairwise(written)):
        reasons.append("out_of_order")
        details.append("a stage was re-materialized without the stages after it")
    requested = review_state(storage, unit).revision_requested
    if requested > brief.get("revision", 0):
        reasons.append("revision_pending")
        details.append(f"revision {requested} requested, outputs are revision {brief.get('revision', 0)}")
    if blocked:
        if not reasons:  # same inputs, same seed: the same ERROR again
            return UnitPlan(unit, (), (f"blocked: {blocked}; not repeated until an input changes",), blocked)
        reasons.insert(0, "missing")
        details.insert(0, f"no selection ({blocked}), and an input changed")
    return UnitPlan(unit, tuple(reasons), tuple(details))


def plan_regeneration(
    storage: Storage,
    *,
    code_versions: dict[str, str],
    kit_fingerprint: Callable[[str], str | None],
    knowledge_base_version: str,
    campaigns: Iterable[BriefRecord] | None = None,
) -> list[UnitPlan]:
    """Every unit of every live brief that needs regenerating, in brief order; units blocked by a
    deterministic failure are included with no reasons (``plan.blocked`` says why), for the log."""
    plans = []
    for record in campaigns if campaigns is not None else live_campaigns(storage):
        fingerprint = kit_fingerprint(record.brief.brand)
        for unit in record.unit_keys():
            plan = unit_plan(
                storage,
                record,
                unit,
                code_versions=code_versions,
                kit_fingerprint=fingerprint,
                knowledge_base_version=knowledge_base_version,
            )
            if plan.reasons or plan.blocked:
                plans.append(plan)
    return plans
