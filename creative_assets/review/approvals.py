"""Staged approvals: the stages a brand kit declares, and the per-unit, per-stage state machine.

Pure: no Dagster, no storage. The review service replays a unit's decision log through
:func:`stage_states` and asks :func:`check` before recording a decision.

States and the transitions the state machine accepts (anything else is refused with a message)::

    pending         --approve-->          approved
    pending         --request_changes-->  changes_requested
    needs_review    --approve-->          approved
    needs_review    --request_changes-->  changes_requested
    approved        --reopen-->           needs_review   (and every other stage: needs_review)
    any             --cascade-->          needs_review   (new pixels, new brief version, new kit,
                                                          a withdrawal; derived from the fingerprint)

A stage may require earlier stages (``after``); stages without an order between them are parallel.
``approvers`` names the accounts or groups that may approve a stage (empty: any approver of the
brand). With ``separation_of_duties`` one person cannot approve two stages of the same creative.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, model_validator

from creative_assets.slugs import SLUG_PATTERN

PENDING, APPROVED, CHANGES_REQUESTED, NEEDS_REVIEW = (
    "pending",
    "approved",
    "changes_requested",
    "needs_review",
)
STATE_LABELS = {
    PENDING: "Pending",
    APPROVED: "Approved",
    CHANGES_REQUESTED: "Changes requested",
    NEEDS_REVIEW: "Needs review",
}
TRANSITIONS: dict[tuple[str, str], str] = {
    (PENDING, "approve"): APPROVED,
    (PENDING, "request_changes"): CHANGES_REQUESTED,
    (NEEDS_REVIEW, "approve"): APPROVED,
    (NEEDS_REVIEW, "request_changes"): CHANGES_REQUESTED,
    (APPROVED, "reopen"): NEEDS_REVIEW,
}
REFUSALS = {
    (APPROVED, "approve"): "is already approved",
    (APPROVED, "request_changes"): "is approved: reopen it first to request changes",
    (CHANGES_REQUESTED, "approve"): "has changes requested: wait for the regenerated creatives",
    (CHANGES_REQUESTED, "request_changes"): "already has changes requested",
    (CHANGES_REQUESTED, "reopen"): "is not approved, so there is nothing to reopen",
    (PENDING, "reopen"): "is not approved, so there is nothing to reopen",
    (NEEDS_REVIEW, "reopen"): "is not approved, so there is nothing to reopen",
}
DEFAULT_STAGE = "review"


class ApprovalStage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=SLUG_PATTERN, description="Stage name, e.g. brand, legal, market.")
    label: str = ""
    after: list[str] = Field(default_factory=list, description="Stages that must be approved first.")
    approvers: list[str] = Field(
        default_factory=list,
        description="Accounts (login) or groups allowed to approve; empty: every approver of the brand.",
    )

    @property
    def title(self) -> str:
        return self.label or self.name.replace("-", " ").capitalize()


class ApprovalPolicy(BaseModel):
    """``approvals:`` in brand.yaml. Without it a unit needs one ``review`` approval."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stages: list[ApprovalStage] = Field(
        default_factory=lambda: [ApprovalStage(name=DEFAULT_STAGE)], min_length=1
    )
    separation_of_duties: bool = Field(False, description="One person may not approve two stages of a unit.")

    @model_validator(mode="after")
    def _ordered(self) -> ApprovalPolicy:
        seen: set[str] = set()
        for stage in self.stages:
            if stage.name in seen:
                raise ValueError(f"approval stage {stage.name!r} is declared twice")
            unknown = [a for a in stage.after if a not in seen]
            if unknown:
                raise ValueError(
                    f"stage {stage.name!r}: 'after' must name stages declared before it, not {unknown}"
                )
            seen.add(stage.name)
        return self

    def stage(self, name: str) -> ApprovalStage:
        for s in self.stages:
            if s.name == name:
                return s
        raise ApprovalRefused(f"there is no approval stage {name!r} (stages: {', '.join(self.names)})")

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]


class ApprovalRefused(ValueError):
    """A decision the state machine or the policy does not allow; the message says why."""


@dataclass(frozen=True)
class Decision:
    """One stage decision from the log, reduced to what the state machine needs."""

    id: str
    action: str  # approve | request_changes | reopen | withdraw
    stage: str | None
    actor: str  # account login
    at: str
    fingerprint: str = ""  # what the decision saw: content, lineage, brief version, kit
    content_hash: str = ""


@dataclass
class StageState:
    name: str
    title: str
    state: str = PENDING
    decision: Decision | None = None  # the decision behind the state (None: pending)
    reason: str = ""  # why it is needs_review
    history: list[Decision] = field(default_factory=list)

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]


def stage_states(policy: ApprovalPolicy, decisions: list[Decision], current: str) -> dict[str, StageState]:
    """Replay the decisions; then every stage decided on another fingerprint than ``current`` (the
    creative, lineage, brief version and kit now on display) is back to needs review."""
    states = {s.name: StageState(s.name, s.title) for s in policy.stages}
    for d in decisions:
        if d.action == "withdraw":  # the delivery was taken down: the unit is reviewed again
            for st in states.values():
                if st.state != PENDING:
                    st.state, st.reason = NEEDS_REVIEW, "the approved creative was withdrawn"
            continue
        stage = d.stage or (DEFAULT_STAGE if DEFAULT_STAGE in states else None)
        if stage not in states:
            continue  # a stage the kit no longer declares: history only
        st = states[stage]
        st.history.append(d)
        if d.action == "reopen":
            for other in states.values():
                if other.state != PENDING:
                    other.state, other.reason = NEEDS_REVIEW, f"stage {st.name} was reopened by {d.actor}"
            st.decision = d
            continue
        if d.action == "request_changes":
            st.state, st.decision, st.reason = CHANGES_REQUESTED, d, ""
            for other in states.values():  # the creative will change: every other stage reviews again
                if other is not st and other.state == APPROVED:
                    other.state, other.reason = NEEDS_REVIEW, f"changes requested at stage {st.name}"
        elif d.action == "approve":
            st.state, st.decision, st.reason = APPROVED, d, ""
    for st in states.values():
        if st.state in (APPROVED, CHANGES_REQUESTED) and st.decision and st.decision.fingerprint != current:
            st.state, st.reason = NEEDS_REVIEW, "the creative, brief or brand kit changed since the decision"
    return states


def check(
    policy: ApprovalPolicy,
    states: dict[str, StageState],
    action: str,
    stage_name: str,
    login: str,
    groups: tuple[str, ...] = (),
    content_hash: str = "",
) -> None:
    """Raise :class:`ApprovalRefused` unless ``login`` may take ``action`` at ``stage_name`` now."""
    stage = policy.stage(stage_name)
    st = states[stage.name]
    if (st.state, action) not in TRANSITIONS:
        raise ApprovalRefused(
            f"stage {stage.name} {REFUSALS.get((st.state, action), f'cannot {action} now')}"
        )
    allowed = login in stage.approvers or bool(set(groups) & set(stage.approvers))
    if action in ("approve", "reopen") and stage.approvers and not allowed:
        raise ApprovalRefused(
            f"stage {stage.name} is approved by {', '.join(stage.approvers)}; you are not one of them"
        )
    if action == "approve":
        missing = [a for a in stage.after if states[a].state != APPROVED]
        if missing:
            raise ApprovalRefused(f"stage {stage.name} comes after {', '.join(missing)}: approve that first")
        for other in states.values():
            if other is st or other.state != APPROVED or other.decision is None:
                continue
            if policy.separation_of_duties and other.decision.actor == login:
                raise ApprovalRefused(
                    f"separation of duties: you approved stage {other.name}, so another person must approve {stage.name}"
                )
            if content_hash and other.decision.content_hash != content_hash:
                raise ApprovalRefused(
                    f"stage {other.name} approved another candidate; approve that one, or reopen {other.name}"
                )


def missing(states: dict[str, StageState]) -> list[str]:
    return [name for name, st in states.items() if st.state != APPROVED]


def chosen_hash(states: dict[str, StageState]) -> str | None:
    """The creative the approved stages agreed on (later stages must approve the same one)."""
    for st in states.values():
        if st.state == APPROVED and st.decision:
            return st.decision.content_hash
    return None
