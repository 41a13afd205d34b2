"""What the review app shows and does, independent of HTTP: campaigns, units, the creative a
reviewer is looking at, and the two decisions (approve, request changes).

Everything is read from the stage manifests and the review log in storage, so the app needs no
Dagster instance and works the same on a local folder and on S3.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from creative_assets.brief_store import current_brief
from creative_assets.feedback import interpret_feedback
from creative_assets.partitions import UnitKey
from creative_assets.review.decisions import (
    ReviewEvent,
    ReviewState,
    append_event,
    content_hash,
    new_event,
    review_state,
)
from creative_assets.review.delivery import delivered_manifest, delivery_file_key, publish, withdraw
from resources.io_manager import read_manifest
from resources.storage import CreativeStorage

#: stages whose manifests identify the creative a reviewer decides on (lineage in every decision)
LINEAGE_STAGES = ("brief", "context", "raw", "branded", "copy", "final", "selected")
MAX_FEEDBACK = 2000
MAX_NAME = 80


class ReviewError(Exception):
    """A decision that cannot be taken; ``status`` is the HTTP status the app answers with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class CreativeView:
    """One candidate as the reviewer sees it."""

    index: int
    rank: int
    score: float
    compliant: bool
    breakdown: dict[str, float]
    files: dict[str, str]  # ratio -> storage key of the final PNG
    content: dict[str, str]  # ratio -> sha256
    copy: dict
    checks: dict[str, list[dict]]  # ratio -> compliance outcomes
    sizes: dict[str, tuple[int, int]]

    @property
    def content_hash(self) -> str:
        return content_hash(self.content)

    @property
    def failed_checks(self) -> list[str]:
        return sorted({o["check"] for outs in self.checks.values() for o in outs if not o["passed"]})


@dataclass
class UnitView:
    unit: UnitKey
    status: str  # not_generated | needs_review | regenerating | approved
    state: ReviewState
    revision: int = 0  # revision of the creatives on display
    brief_version: int | None = None
    feedback_read_as: str = ""
    direction: str = "ltr"
    candidates: list[CreativeView] = field(default_factory=list)  # ranked, best first
    lineage: dict[str, str] = field(default_factory=dict)
    delivery: dict | None = None
    note: str = ""  # why the status is what it is

    @property
    def selected(self) -> CreativeView | None:
        return self.candidates[0] if self.candidates else None

    def candidate(self, index: int) -> CreativeView:
        for c in self.candidates:
            if c.index == index:
                return c
        raise ReviewError(f"{self.unit} has no candidate {index + 1}", 404)


@dataclass
class CampaignView:
    campaign_id: str
    name: str
    brand: str
    brief_version: int
    units: list[UnitKey]
    locales: list[str]


class ReviewService:
    def __init__(self, storage: CreativeStorage):
        self.storage = storage

    # -- reading ---------------------------------------------------------------------------------
    def campaigns(self) -> list[CampaignView]:
        ids = sorted(
            {k.split("/")[1] for k in self.storage.list_keys("briefs") if k.endswith("/current.json")}
        )
        out = []
        for campaign_id in ids:
            record = current_brief(self.storage, campaign_id)
            if record is None:
                continue
            out.append(
                CampaignView(
                    campaign_id=campaign_id,
                    name=record.brief.name,
                    brand=record.brief.brand,
                    brief_version=record.version,
                    units=record.unit_keys(),
                    locales=list(record.brief.locales),
                )
            )
        return out

    def campaign(self, campaign_id: str) -> CampaignView:
        for c in self.campaigns():
            if c.campaign_id == campaign_id:
                return c
        raise ReviewError(f"no campaign {campaign_id!r}", 404)

    def require_unit(self, unit: UnitKey) -> None:
        """404 unless ``unit`` belongs to its campaign's current brief (URLs name only known units)."""
        record = current_brief(self.storage, unit.campaign_id)
        if record is None or unit not in record.unit_keys():
            raise ReviewError(f"no unit {unit} in a registered brief", 404)

    def _manifest(self, unit: UnitKey, stage: str, generation: str | None = None) -> dict | None:
        return read_manifest(self.storage, unit, stage, generation)

    def unit(self, unit: UnitKey, *, full: bool = True) -> UnitView:
        """The unit's creatives and review state. ``full=False`` skips lineage (for list pages)."""
        state = review_state(self.storage, unit)
        selected = self._manifest(unit, "selected")
        final = self._manifest(unit, "final") if selected else None
        made_from = (selected or {}).get("value", {}).get("final_generation")
        if final and made_from and final.get("generation") != made_from:
            # the finals were rewritten after this selection: show (and let reviewers decide on) the
            # generation the selection ranked, never its files with the newer manifest's hashes
            final = self._manifest(unit, "final", made_from)
        brief = self._manifest(unit, "brief") if selected else None
        if not (selected and final and brief):
            return UnitView(unit=unit, status="not_generated", state=state, note="no selected creative yet")
        copy = self._manifest(unit, "copy")
        variants = {v["candidate"]: v for v in (copy or {}).get("value", {}).get("variants", [])}
        final_files = final["files"]
        by_index = {c["index"]: c for c in final["value"]["candidates"]}
        candidates = []
        for scored in selected["value"]["ranking"]:
            renders = by_index[scored["index"]]["renders"]
            candidates.append(
                CreativeView(
                    index=scored["index"],
                    rank=scored["rank"],
                    score=scored["score"],
                    compliant=scored.get("compliant", True),
                    breakdown=scored["breakdown"],
                    files=scored["files"],
                    content={r: final_files[rep["file"]]["sha256"] for r, rep in renders.items()},
                    copy=variants.get(scored["index"], {}),
                    checks={r: rep.get("compliance", []) for r, rep in renders.items()},
                    sizes={r: (rep["width"], rep["height"]) for r, rep in renders.items()},
                )
            )
        value = brief["value"]
        view = UnitView(
            unit=unit,
            status="needs_review",
            state=state,
            revision=value.get("revision", 0),
            brief_version=value.get("brief_version"),
            direction=(copy or {}).get("value", {}).get("direction", "ltr"),
            candidates=candidates,
            lineage={"selected": selected.get("run_id", ""), "final": final.get("run_id", "")},
        )
        if view.revision and value.get("feedback"):
            view.feedback_read_as = interpret_feedback(value["feedback"]).describe()
        if full:
            for stage in LINEAGE_STAGES:
                manifest = {"selected": selected, "final": final, "brief": brief}.get(stage)
                manifest = manifest or self._manifest(unit, stage) or {}
                view.lineage[stage] = manifest.get("run_id", "")
        view.delivery = delivered_manifest(self.storage, unit)
        self._status(view, in_progress=selected["written_at"] < brief["written_at"])
        return view

    def _status(self, view: UnitView, in_progress: bool = False) -> None:
        state = view.state
        if in_progress:
            view.status = "regenerating"
            view.note = (
                "new outputs are being generated (the brief stage is newer than the selection); if this "
                "persists, the last run failed: see the Dagster UI"
            )
            return
        if state.revision_requested > view.revision:
            view.status = "regenerating"
            view.note = (
                f"revision {state.revision_requested} requested by {state.request.actor}; "
                "waiting for the regenerated creatives"
            )
            return
        approval = state.approval
        if approval is not None:
            chosen = next((c for c in view.candidates if c.index == approval.candidate), None)
            same_pixels = chosen is not None and chosen.content == approval.content
            same_lineage = all(approval.lineage.get(s) == view.lineage.get(s) for s in ("final", "selected"))
            if (
                view.delivery
                and view.delivery["approval"]["id"] == approval.id
                and same_pixels
                and same_lineage
            ):
                view.status = "approved"
                view.note = f"approved by {approval.actor} at {approval.at}"
                return
            view.note = "the approval no longer matches these creatives: review again"
            return
        if state.last is not None and state.last.action == "withdraw":
            view.note = f"approval withdrawn: {state.last.comment}"

    # -- deciding --------------------------------------------------------------------------------
    def _checked(self, unit: UnitKey, seen_hash: str) -> UnitView:
        view = self.unit(unit)
        if view.status == "not_generated":
            raise ReviewError(f"{unit} has no creatives to review yet", 409)
        if view.status == "regenerating":
            raise ReviewError(
                f"{unit} is being regenerated; wait for revision {view.state.revision_requested}", 409
            )
        if seen_hash not in {c.content_hash for c in view.candidates}:
            raise ReviewError(
                f"the creatives of {unit} changed since you opened the page; reload and review again", 409
            )
        return view

    def approve(
        self, unit: UnitKey, reviewer: str, seen_hash: str, candidate: int | None = None, comment: str = ""
    ) -> ReviewEvent:
        """Approve the selected creative (or the alternate ``candidate``) and publish it for delivery."""
        reviewer = _clean_name(reviewer)
        view = self._checked(unit, seen_hash)
        chosen = view.selected if candidate is None else view.candidate(candidate)
        if chosen.content_hash != seen_hash:
            raise ReviewError("the approval must name the creative shown on the page; reload and retry", 409)
        for ratio, source in chosen.files.items():  # refuse before recording anything
            if hashlib.sha256(self.storage.read_bytes(source)).hexdigest() != chosen.content.get(ratio):
                raise ReviewError(
                    f"{unit} {ratio}: the stored creative changed; reload and review again", 409
                )
        if view.delivery is not None:
            withdraw(self.storage, unit, f"superseded by a new approval from {reviewer}", actor=reviewer)
        event = new_event(
            unit,
            "approve",
            reviewer,
            comment=comment.strip()[:MAX_FEEDBACK],
            candidate=chosen.index,
            rank=chosen.rank,
            revision=view.revision,
            brief_version=view.brief_version,
            content=chosen.content,
            lineage=view.lineage,
            delivered={ratio: delivery_file_key(unit, ratio) for ratio in chosen.files},
        )
        # the decision first, the delivery second: a crash in between leaves an approval without a
        # delivery (the app asks to approve again), never a delivery nobody approved
        append_event(self.storage, event)
        publish(
            self.storage,
            unit,
            event,
            chosen.files,
            {
                "candidate": chosen.index + 1,
                "rank": chosen.rank,
                "alternate": chosen.rank != 1,
                "score": chosen.score,
                "revision": view.revision,
                "brief_version": view.brief_version,
                "copy": chosen.copy,
                "sizes": {r: list(s) for r, s in chosen.sizes.items()},
                "checks": {
                    r: [{k: o[k] for k in ("check", "passed", "severity")} for o in outs]
                    for r, outs in chosen.checks.items()
                },
                "lineage": view.lineage,
            },
        )
        return event

    def request_changes(self, unit: UnitKey, reviewer: str, seen_hash: str, feedback: str) -> ReviewEvent:
        """Ask for a revision with feedback. The review sensor (sensors/review.py) regenerates the
        unit; any delivery of an earlier approval is taken down now."""
        reviewer = _clean_name(reviewer)
        feedback = " ".join(feedback.split())
        if not feedback:
            raise ReviewError("say what should change: feedback is required for a revision")
        if len(feedback) > MAX_FEEDBACK:
            raise ReviewError(f"feedback is limited to {MAX_FEEDBACK} characters")
        view = self._checked(unit, seen_hash)
        shown = next(c for c in view.candidates if c.content_hash == seen_hash)
        if view.delivery is not None:
            withdraw(self.storage, unit, f"changes requested by {reviewer}", actor=reviewer)
        event = new_event(
            unit,
            "request_changes",
            reviewer,
            comment=feedback,
            candidate=shown.index,
            rank=shown.rank,
            revision=view.revision,
            brief_version=view.brief_version,
            content=shown.content,
            lineage=view.lineage,
        )
        append_event(self.storage, event)
        return event

    def read_creative(self, unit: UnitKey, index: int, ratio: str) -> bytes:
        """The PNG of one candidate at one ratio: keys come from the manifests, never from the URL."""
        view = self.unit(unit, full=False)
        if view.status == "not_generated":
            raise ReviewError(f"{unit} has no creatives", 404)
        chosen = view.candidate(index)
        if ratio not in chosen.files:
            raise ReviewError(f"candidate {index + 1} of {unit} has no {ratio} render", 404)
        return self.storage.read_bytes(chosen.files[ratio])


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())[:MAX_NAME]
    if not name:
        raise ReviewError("a reviewer name is required", 401)
    return name
