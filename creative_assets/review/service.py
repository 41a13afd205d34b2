"""What the review app shows and does, independent of HTTP: campaigns, units, the creative a
reviewer is looking at, and the decisions (approve a stage, request changes, reopen a stage).

Approvals are staged (creative_assets/review/approvals.py): the unit's brand kit declares the stages;
the creative is published for delivery only when the last required stage is approved.

Everything is read from the stage manifests and the review log in storage, so the app needs no
Dagster instance and works the same on a local folder and on S3.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from creative_assets import layout
from creative_assets.brand_kit import BrandKit, brand_kits_dir, load_brand_kit
from creative_assets.brief_store import current_brief, registered_campaigns, unit_fingerprint
from creative_assets.credentials import CredentialRefused, VerifyPolicy, check_deliverable
from creative_assets.feedback import interpret_feedback
from creative_assets.render.phash import phash
from creative_assets.review import approvals
from creative_assets.review.approvals import ApprovalPolicy, ApprovalRefused, Decision, StageState
from creative_assets.review.decisions import (
    ReviewEvent,
    ReviewState,
    append_event,
    content_hash,
    new_event,
    review_state,
)
from creative_assets.review.delivery import delivered_manifest, delivery_key, publish, withdraw
from creative_assets.stage_registry import FINAL_CREATIVES, SELECTED_CREATIVE, STAGE_NAMES, UNIT_BRIEF
from creative_assets.stage_store import read_manifest
from creative_assets.storage_protocol import Storage
from creative_assets.units import UnitKey

#: a revision was requested and its creatives are not there yet: nothing can be approved
REGENERATION_STATUSES = frozenset({"regeneration_requested", "regenerating"})
#: stages whose manifests identify the creative a reviewer decides on (lineage in every decision)
LINEAGE_STAGES = STAGE_NAMES
MAX_FEEDBACK = 2000
MAX_NAME = 80


class ReviewError(Exception):
    """A decision that cannot be taken; ``status`` is the HTTP status the app answers with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Actor:
    """Who decides: the account's login (recorded and checked against stage approvers), its display
    name (shown), and its groups (stage approvers may name groups)."""

    login: str
    name: str
    groups: tuple[str, ...] = ()

    @classmethod
    def of(cls, actor: Actor | str) -> Actor:
        if isinstance(actor, Actor):
            return actor
        name = _clean_name(actor)
        return cls(login=name.lower(), name=name)


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
    #: ratio -> what the pipeline recorded signing (final manifest) and, on the unit page, the
    #: credential read back from the file now ("live"): the review app's Content Credentials panel
    credentials: dict[str, dict] = field(default_factory=dict)
    #: the candidate's videos that pass their checks (motion_creatives, made from the same finals):
    #: name (``<placement>.<ext>``), key, sha256, poster (output key of its still), container, size;
    #: each is in ``content`` as ``motion/<name>`` too, so an approval covers them byte for byte
    motion: list[dict] = field(default_factory=list)
    #: the candidate's placement exports (the files within each placement's byte budget): name
    #: (``<output>.<ext>``) -> key, sha256, ratio (its output key), format, bytes; in ``content`` as
    #: ``export/<name>``
    exports: dict[str, dict] = field(default_factory=dict)

    @property
    def sources(self) -> dict[str, str]:
        """Every file an approval delivers: the stills by output key, the placement exports by
        ``export/<name>`` and the videos by ``motion/<name>``."""
        return {
            **self.files,
            **{layout.EXPORT_CONTENT_PREFIX + n: e["key"] for n, e in self.exports.items()},
            **{layout.MOTION_CONTENT_PREFIX + m["name"]: m["key"] for m in self.motion},
        }

    def signed(self, name: str) -> bool:
        """Whether the pipeline recorded signing the file ``name`` (a ratio, or ``motion/<name>``)."""
        if name.startswith(layout.MOTION_CONTENT_PREFIX):
            motion = name[len(layout.MOTION_CONTENT_PREFIX) :]
            return any(m["signed"] for m in self.motion if m["name"] == motion)
        if name.startswith(layout.EXPORT_CONTENT_PREFIX):
            export = self.exports.get(name[len(layout.EXPORT_CONTENT_PREFIX) :], {})
            return bool(self.credentials.get(export.get("ratio", ""), {}).get("signed"))
        return bool(self.credentials.get(name, {}).get("signed"))

    @property
    def content_hash(self) -> str:
        return content_hash(self.content)

    @property
    def failed_checks(self) -> list[str]:
        return sorted({o["check"] for outs in self.checks.values() for o in outs if not o["passed"]})


@dataclass
class UnitView:
    unit: UnitKey
    #: not_generated | needs_review | regeneration_requested (no run has started on the request yet)
    #: | regenerating (its run has started) | approved | blocked
    status: str
    state: ReviewState
    revision: int = 0  # revision of the creatives on display
    brief_version: int | None = None
    feedback_read_as: str = ""
    direction: str = "ltr"
    candidates: list[CreativeView] = field(default_factory=list)  # ranked, best first
    lineage: dict[str, str] = field(default_factory=dict)
    delivery: dict | None = None
    note: str = ""  # why the status is what it is
    blocked_reason: str = ""  # when no candidate is compliant (selected_creative recorded "blocked")
    brand: str = ""
    policy: ApprovalPolicy = field(default_factory=ApprovalPolicy)
    stages: dict[str, StageState] = field(default_factory=dict)  # approval stage -> its state
    fingerprint: str = ""  # the creative, lineage, brief version and kit on display

    @property
    def missing_stages(self) -> list[str]:
        return approvals.missing(self.stages)

    @property
    def chosen_hash(self) -> str | None:
        """The candidate the approved stages agreed on; later stages approve that one."""
        return approvals.chosen_hash(self.stages)

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
    def __init__(
        self,
        storage: Storage,
        credentials: VerifyPolicy | None = None,
        brand_kits: Path | None = None,
    ):
        self.storage = storage
        self.credentials = credentials or VerifyPolicy()
        self.brand_kits = brand_kits
        self._kits: dict[str, tuple[tuple, BrandKit | None, str]] = {}

    def _kit(self, brand: str) -> tuple[BrandKit | None, str]:
        root = self.brand_kits or brand_kits_dir()
        try:  # reloaded when any file of the kit folder changes
            stamp = (
                str(root),
                tuple(sorted((e.name, e.stat().st_mtime_ns) for e in os.scandir(root / brand))),
            )
        except OSError:
            stamp = (str(root), ())
        cached = self._kits.get(brand)
        if cached is None or cached[0] != stamp:
            try:
                kit = load_brand_kit(brand, root)
                cached = (stamp, kit, kit.fingerprint())
            except Exception:  # a broken kit blocks approvals (fingerprint "") but not viewing
                cached = (stamp, None, "")
            self._kits[brand] = cached
        return cached[1], cached[2]

    def kit(self, brand: str) -> BrandKit | None:
        """The brand's kit; None when it cannot be loaded."""
        return self._kit(brand)[0]

    def brand_of(self, campaign_id: str) -> str | None:
        record = current_brief(self.storage, campaign_id)
        return record.brief.brand if record else None

    # -- reading ---------------------------------------------------------------------------------
    def campaigns(self) -> list[CampaignView]:
        out = []
        for campaign_id in registered_campaigns(self.storage):
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

    def _motion(self, unit: UnitKey, final_generation: str | None) -> dict[int, list[dict]]:
        """Per candidate, its videos that pass their checks, from the motion_creatives generation made
        from ``final_generation`` (videos of other stills are never shown or approved with these)."""
        manifest = self._manifest(unit, "motion_creatives")
        if manifest is None or manifest["value"].get("final_generation") != final_generation:
            return {}
        prefix = layout.files_prefix(unit, "motion_creatives", manifest)
        out: dict[int, list[dict]] = {}
        for f in manifest["value"].get("files", []):
            if not f.get("passed"):
                continue
            out.setdefault(f["candidate"], []).append(
                {
                    "name": f"{f['placement']}.{f['container']}",
                    "key": f"{prefix}/{f['file']}",
                    "sha256": manifest["files"][f["file"]]["sha256"],
                    "poster": f["ratio"],
                    "container": f["container"],
                    "width": f["width"],
                    "height": f["height"],
                    "duration_s": f["duration_s"],
                    "signed": bool(f.get("credentials", {}).get("signed")),
                    "credentials": f.get("credentials", {}),
                }
            )
        return out

    def unit(self, unit: UnitKey, *, full: bool = True) -> UnitView:
        """The unit's creatives and review state. ``full=False`` skips lineage (for list pages)."""
        state = review_state(self.storage, unit)
        brief_record = current_brief(self.storage, unit.campaign_id)
        brand = brief_record.brief.brand if brief_record else ""
        kit, kit_fingerprint = self._kit(brand) if brand else (None, "")
        policy = kit.approvals if kit else ApprovalPolicy()
        selected = self._manifest(unit, "selected_creative")
        final = self._manifest(unit, "final_creatives") if selected else None
        made_from = (selected or {}).get("value", {}).get("final_generation")
        if final and made_from and final.get("generation") != made_from:
            # the finals were rewritten after this selection: show (and let reviewers decide on) the
            # generation the selection ranked, never its files with the newer manifest's hashes
            final = self._manifest(unit, "final_creatives", made_from)
        brief = self._manifest(unit, "unit_brief") if selected else None
        if not (selected and final and brief):
            return UnitView(
                unit=unit,
                status="not_generated",
                state=state,
                note="no selected creative yet",
                brand=brand,
                policy=policy,
                stages=approvals.stage_states(policy, [], ""),
            )
        copy = self._manifest(unit, "localized_copy")
        variants = {v["candidate"]: v for v in (copy or {}).get("value", {}).get("variants", [])}
        final_files = final["files"]
        by_index = {c["index"]: c for c in final["value"]["candidates"]}
        motion_by_candidate = self._motion(unit, final.get("generation"))
        candidates = []
        final_prefix = layout.files_prefix(unit, "final_creatives", final)
        for scored in selected["value"]["ranking"]:
            renders = by_index[scored["index"]]["renders"]
            motion = motion_by_candidate.get(scored["index"], [])
            exports = _exports(renders, final_files, final_prefix)
            candidates.append(
                CreativeView(
                    index=scored["index"],
                    rank=scored["rank"],
                    score=scored["score"],
                    compliant=scored.get("compliant", True),
                    breakdown=scored["breakdown"],
                    files=scored["files"],
                    content={
                        **{r: final_files[rep["file"]]["sha256"] for r, rep in renders.items()},
                        **{layout.EXPORT_CONTENT_PREFIX + n: e["sha256"] for n, e in exports.items()},
                        **{layout.MOTION_CONTENT_PREFIX + m["name"]: m["sha256"] for m in motion},
                    },
                    motion=motion,
                    exports=exports,
                    copy=variants.get(scored["index"], {}),
                    checks={r: rep.get("compliance", []) for r, rep in renders.items()},
                    sizes={r: (rep["width"], rep["height"]) for r, rep in renders.items()},
                    credentials={
                        r: dict(final["value"].get("credentials", {}).get(rep["file"], {}))
                        for r, rep in renders.items()
                    },
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
            lineage={SELECTED_CREATIVE: selected.get("run_id", ""), FINAL_CREATIVES: final.get("run_id", "")},
            brand=brand,
            policy=policy,
        )
        if view.revision and value.get("feedback"):
            view.feedback_read_as = interpret_feedback(value["feedback"]).describe()
        if full:
            for c in candidates:
                for ratio, record in c.credentials.items():
                    record["live"] = self._read_credential(c.files[ratio])
            for stage in LINEAGE_STAGES:
                manifest = {SELECTED_CREATIVE: selected, FINAL_CREATIVES: final, UNIT_BRIEF: brief}.get(stage)
                manifest = manifest or self._manifest(unit, stage) or {}
                view.lineage[stage] = manifest.get("run_id", "")
        view.delivery = delivered_manifest(self.storage, unit)
        inputs = (
            unit_fingerprint(brief_record, unit)
            if brief_record and unit in brief_record.unit_keys()
            else None
        )
        view.fingerprint = _fingerprint(view, kit_fingerprint, inputs)
        view.stages = approvals.stage_states(policy, _decisions(state), view.fingerprint)
        self._status(view, in_progress=selected["written_at"] < brief["written_at"])
        if view.status == "needs_review" and selected["value"].get("status") == "blocked":
            view.status = "blocked"
            view.blocked_reason = selected["value"].get("blocked_reason", "")
            view.note = "no compliant candidate: nothing can be approved; request changes to regenerate it"
        return view

    def _read_credential(self, key: str) -> dict:
        from creative_assets import credentials as c2

        try:
            data = self.storage.read_bytes(key)
        except FileNotFoundError:
            return {"present": False, "error": "file missing"}
        cred = c2.read_credential(data, c2.mime_type(key), self.credentials.trust_anchors)
        return {**cred.summary(), "intact": cred.present and not cred.integrity_failures}

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
            # the request's run writes unit_brief (at the requested revision) first, so until then no
            # run has started: the review sensor has not launched it (is dagster-daemon running?)
            view.status = "regeneration_requested"
            view.note = (
                f"revision {state.revision_requested} requested by {state.request.actor}; no run has "
                "started on it yet (the review sensor launches it when dagster-daemon runs)"
            )
            return
        approval = state.approval
        missing = view.missing_stages
        if approval is not None and not missing:
            chosen = next((c for c in view.candidates if c.index == approval.candidate), None)
            same_pixels = chosen is not None and chosen.content == approval.content
            same_lineage = all(
                approval.lineage.get(s) == view.lineage.get(s) for s in (FINAL_CREATIVES, SELECTED_CREATIVE)
            )
            if (
                view.delivery
                and view.delivery["approval"]["id"] == approval.id
                and same_pixels
                and same_lineage
            ):
                view.status = "approved"
                view.note = f"approved by {approval.actor} at {approval.at}"
                return
        if state.last is not None and state.last.action == "withdraw":
            view.note = f"approval withdrawn: {state.last.comment}"
            return
        done = [n for n, st in view.stages.items() if st.state == approvals.APPROVED]
        reasons = sorted({st.reason for st in view.stages.values() if st.reason})
        if done or reasons:
            view.note = "; ".join(
                [
                    *([f"approved: {', '.join(done)}"] if done else []),
                    f"missing: {', '.join(missing)}",
                    *reasons,
                ]
            )

    # -- deciding --------------------------------------------------------------------------------
    def _checked(self, unit: UnitKey, seen_hash: str, allow_blocked: bool = False) -> UnitView:
        view = self.unit(unit)
        if view.status == "not_generated":
            raise ReviewError(f"{unit} has no creatives to review yet", 409)
        if view.status == "blocked" and not allow_blocked:
            raise ReviewError(f"{unit} is blocked: no candidate is compliant, so none can be approved", 409)
        if view.status in REGENERATION_STATUSES:
            raise ReviewError(
                f"{unit} is being regenerated; wait for revision {view.state.revision_requested}", 409
            )
        if seen_hash not in {c.content_hash for c in view.candidates}:
            raise ReviewError(
                f"the creatives of {unit} changed since you opened the page; reload and review again", 409
            )
        return view

    def approve(
        self,
        unit: UnitKey,
        reviewer: Actor | str,
        seen_hash: str,
        candidate: int | None = None,
        comment: str = "",
        stage: str | None = None,
    ) -> ReviewEvent:
        """Approve one stage for the selected creative (or the alternate ``candidate``); when it is
        the last required stage, publish the creative for delivery. ``stage`` None: the first stage
        the reviewer may approve now."""
        actor = Actor.of(reviewer)
        view = self._checked(unit, seen_hash)
        chosen = view.selected if candidate is None else view.candidate(candidate)
        if chosen.content_hash != seen_hash:
            raise ReviewError("the approval must name the creative shown on the page; reload and retry", 409)
        if not view.fingerprint:
            raise ReviewError(f"the brand kit {view.brand!r} cannot be loaded; approvals wait for it", 409)
        pending = self._undelivered_approval(view, chosen)
        if pending is not None:  # every stage approved this creative, but its delivery never landed
            self._refuse_undeliverable(unit, chosen)
            self._publish(unit, pending, chosen, view, self._signoffs(view))
            return pending
        stage = stage or self._default_stage(view, actor, "approve", chosen.content_hash)
        self._check(view, "approve", stage, actor, chosen.content_hash)
        self._refuse_undeliverable(unit, chosen)  # refuse before recording anything
        if view.delivery is not None:  # a stale delivery (its stages went back to review) goes first
            withdraw(self.storage, unit, f"superseded by a new approval from {actor.name}", actor=actor.name)
        event = new_event(
            unit,
            "approve",
            actor.name,
            actor_login=actor.login,
            stage=stage,
            fingerprint=view.fingerprint,
            comment=comment.strip()[:MAX_FEEDBACK],
            candidate=chosen.index,
            rank=chosen.rank,
            revision=view.revision,
            brief_version=view.brief_version,
            content=chosen.content,
            lineage=view.lineage,
            delivered={name: delivery_key(unit, name) for name in chosen.sources},
        )
        remaining = [s for s in view.missing_stages if s != stage]
        if remaining:  # an earlier stage: recorded; delivery waits for the rest
            event.delivered = {}
            append_event(self.storage, event)
            return event
        signoffs = [
            *self._signoffs(view),
            {"stage": stage, "by": actor.login, "at": event.at, "decision": event.id},
        ]
        # the decision first, the delivery second: a crash in between leaves an approval without a
        # delivery (the app asks to approve again), never a delivery nobody approved
        append_event(self.storage, event)
        try:
            self._publish(unit, event, chosen, view, signoffs)
        except CredentialRefused as exc:  # checked above; only a file changed in between gets here
            raise ReviewError(f"not delivered: the Content Credential does not verify ({exc})", 409) from exc
        return event

    @staticmethod
    def _signoffs(view: UnitView) -> list[dict]:
        return [
            {"stage": n, "by": st.decision.actor, "at": st.decision.at, "decision": st.decision.id}
            for n, st in view.stages.items()
            if st.state == approvals.APPROVED and st.decision
        ]

    @staticmethod
    def _undelivered_approval(view: UnitView, chosen: CreativeView) -> ReviewEvent | None:
        """The recorded final approval of ``chosen`` when every stage is approved but no delivery of it
        exists: a crash between recording the decision and publishing it. Approving again completes
        the delivery of that same decision (crash-safety contract, docs/ARCHITECTURE.md)."""
        approval = view.state.approval
        if view.missing_stages or approval is None or approval.candidate != chosen.index:
            return None
        if approval.content != chosen.content:
            return None
        if view.delivery is not None and view.delivery["approval"]["id"] == approval.id:
            return None
        return approval

    def _refuse_undeliverable(self, unit: UnitKey, chosen: CreativeView) -> None:
        """Every file is still the one the reviewer saw and its Content Credential verifies."""
        policy = self.credentials or VerifyPolicy()
        claims = {"campaign": unit.campaign_id, "locale": unit.locale, "product": unit.product_id}
        stored = {name: self.storage.read_bytes(source) for name, source in chosen.sources.items()}
        for name, data in stored.items():  # a changed file is reported before a credential problem
            if hashlib.sha256(data).hexdigest() != chosen.content.get(name):
                raise ReviewError(f"{unit} {name}: the stored creative changed; reload and review again", 409)
        for name, source in chosen.sources.items():
            try:
                check_deliverable(stored[name], source, chosen.signed(name), policy, claims)
            except CredentialRefused as exc:
                raise ReviewError(
                    f"not delivered: the Content Credential does not verify ({exc})", 409
                ) from exc

    def _publish(
        self, unit: UnitKey, event: ReviewEvent, chosen: CreativeView, view: UnitView, signoffs: list[dict]
    ) -> dict:
        return publish(
            self.storage,
            unit,
            event,
            chosen.sources,
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
                "approval_stages": signoffs,
            },
            signed={name: chosen.signed(name) for name in chosen.sources},
            policy=self.credentials,
        )

    def reopen(self, unit: UnitKey, reviewer: Actor | str, stage: str, reason: str) -> ReviewEvent:
        """Reopen an approved stage: every stage needs review again and any delivery is withdrawn."""
        actor = Actor.of(reviewer)
        reason = " ".join(reason.split())[:MAX_FEEDBACK]
        if not reason:
            raise ReviewError("say why: a reason is required to reopen a stage")
        view = self.unit(unit)
        self._check(view, "reopen", stage, actor, "")
        if view.delivery is not None:
            withdraw(
                self.storage, unit, f"stage {stage} reopened by {actor.name}: {reason}", actor=actor.name
            )
        event = new_event(
            unit,
            "reopen",
            actor.name,
            actor_login=actor.login,
            stage=stage,
            fingerprint=view.fingerprint,
            comment=reason,
            revision=view.revision,
            brief_version=view.brief_version,
        )
        append_event(self.storage, event)
        return event

    def _default_stage(self, view: UnitView, actor: Actor, action: str, content_hash: str) -> str:
        first_error: ApprovalRefused | None = None
        for name in view.policy.names:
            try:
                approvals.check(
                    view.policy, view.stages, action, name, actor.login, actor.groups, content_hash
                )
                return name
            except ApprovalRefused as exc:
                first_error = first_error or exc
        raise ReviewError(str(first_error), 409)

    def _check(self, view: UnitView, action: str, stage: str, actor: Actor, content_hash: str) -> None:
        try:
            approvals.check(view.policy, view.stages, action, stage, actor.login, actor.groups, content_hash)
        except ApprovalRefused as exc:
            raise ReviewError(str(exc), 403 if "you are not one of them" in str(exc) else 409) from exc

    def request_changes(
        self, unit: UnitKey, reviewer: Actor | str, seen_hash: str, feedback: str, stage: str | None = None
    ) -> ReviewEvent:
        """Ask for a revision with feedback (recorded at ``stage``, default the first open one). The
        review sensor (sensors/review.py) regenerates the unit; any delivery is taken down now."""
        actor = Actor.of(reviewer)
        reviewer = actor.name
        feedback = " ".join(feedback.split())
        if not feedback:
            raise ReviewError("say what should change: feedback is required for a revision")
        if len(feedback) > MAX_FEEDBACK:
            raise ReviewError(f"feedback is limited to {MAX_FEEDBACK} characters")
        view = self._checked(unit, seen_hash, allow_blocked=True)  # regenerating a blocked unit: one click
        shown = next(c for c in view.candidates if c.content_hash == seen_hash)
        stage = stage or next(
            (n for n, st in view.stages.items() if st.state != approvals.APPROVED), view.policy.names[-1]
        )
        if view.status == "approved":
            raise ReviewError(
                "the creative is approved and delivered: reopen a stage first to request changes", 409
            )
        self._check_transition(view, "request_changes", stage)
        final = (self._manifest(unit, "final_creatives") or {}).get("value", {})
        rendered = next((c for c in final.get("candidates", []) if c["index"] == shown.index), {})
        if view.delivery is not None:
            withdraw(self.storage, unit, f"changes requested by {reviewer}", actor=reviewer)
        event = new_event(
            unit,
            "request_changes",
            reviewer,
            actor_login=actor.login,
            stage=stage,
            fingerprint=view.fingerprint,
            comment=feedback,
            candidate=shown.index,
            rank=shown.rank,
            revision=view.revision,
            brief_version=view.brief_version,
            content=shown.content,
            lineage=view.lineage,
            # what the revision must move away from: the pixels (perceptually), the style, the layouts
            phash={
                r: phash(Image.open(io.BytesIO(self.storage.read_bytes(k)))) for r, k in shown.files.items()
            },
            style=rendered.get("style"),
            layouts={r: rep["layout"]["variant"] for r, rep in rendered.get("renders", {}).items()},
        )
        append_event(self.storage, event)
        return event

    def _check_transition(self, view: UnitView, action: str, stage: str) -> None:
        try:
            st = view.stages[view.policy.stage(stage).name]
        except ApprovalRefused as exc:
            raise ReviewError(str(exc), 404) from exc
        if (st.state, action) not in approvals.TRANSITIONS:
            raise ReviewError(
                f"stage {stage} {approvals.REFUSALS.get((st.state, action), 'cannot change now')}", 409
            )

    def reconcile(self, unit: UnitKey) -> ReviewEvent | None:
        """Withdraw a delivery whose stages are no longer all approved (the brand kit or the brief
        changed after the approval; the pipeline's own re-materializations withdraw at once)."""
        view = self.unit(unit)
        if view.delivery is None or view.status == "approved" or not view.missing_stages:
            return None
        reasons = sorted({st.reason for st in view.stages.values() if st.reason}) or ["the approval is stale"]
        return withdraw(self.storage, unit, "; ".join(reasons))

    def delivered_units(self) -> list[UnitKey]:
        keys = self.storage.list_keys(layout.DELIVERY_ROOT)
        return [UnitKey(*parts) for k in keys if (parts := layout.delivered_unit_parts(k))]

    def read_creative(self, unit: UnitKey, index: int, ratio: str) -> bytes:
        """The PNG of one candidate at one ratio: keys come from the manifests, never from the URL."""
        view = self.unit(unit, full=False)
        if view.status == "not_generated":
            raise ReviewError(f"{unit} has no creatives", 404)
        chosen = view.candidate(index)
        if ratio not in chosen.files:
            raise ReviewError(f"candidate {index + 1} of {unit} has no {ratio} render", 404)
        return self.storage.read_bytes(chosen.files[ratio])


def _fingerprint(view: UnitView, kit: str, inputs: str | None) -> str:
    """What a decision sees: every candidate's pixels, the runs that wrote them, the brief version
    they were made from, the unit's inputs in the current brief (a new brief version that changes
    this unit sends its approvals back to review before it is even regenerated; one that changes
    other units does not), and the brand kit. Empty when the kit cannot be loaded (then nothing can
    be approved)."""
    if not kit:
        return ""
    body = json.dumps(
        {
            "candidates": sorted(c.content_hash for c in view.candidates),
            "lineage": [view.lineage.get(FINAL_CREATIVES, ""), view.lineage.get(SELECTED_CREATIVE, "")],
            "brief_version": view.brief_version,
            "inputs": inputs,
            "revision": view.revision,
            "kit": kit,
        },
        sort_keys=True,
    )
    return hashlib.sha256(body.encode()).hexdigest()[:24]


def _decisions(state: ReviewState) -> list[Decision]:
    return [
        Decision(
            id=e.id,
            action=e.action,
            stage=e.stage,
            actor=e.actor_login or e.actor.lower(),
            at=e.at,
            fingerprint=e.fingerprint,
            content_hash=e.content_hash,
        )
        for e in state.history
    ]


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())[:MAX_NAME]
    if not name:
        raise ReviewError("a reviewer name is required", 401)
    return name


def _exports(renders: dict, final_files: dict, final_prefix: str) -> dict[str, dict]:
    """A candidate's placement exports from its final renders (``export`` records, final manifest)."""
    out = {}
    for ratio, rep in renders.items():
        export = rep.get("export") or {}
        if not export.get("file") or export["file"] not in final_files:
            continue
        name = f"{layout.ratio_dir(ratio)}.{export['file'].rsplit('.', 1)[-1]}"
        out[name] = {
            "key": f"{final_prefix}/{export['file']}",
            "sha256": final_files[export["file"]]["sha256"],
            "ratio": ratio,
            "format": export["format"],
            "bytes": export["bytes"],
        }
    return out
