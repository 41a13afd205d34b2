"""Review decisions: an append-only log per unit, in the same storage as the creatives.

Layout::

    reviews/<campaign>/<locale>/<product>/events/<time>-<id>.json   one file per decision, never rewritten
    reviews/_journal/<time>-<id>.json                               global index of every event (sensor cursor)

An event is an *approve* or a *request_changes* (of one approval stage, see approvals.py), a *reopen*
of an approved stage, or a *withdraw* (a delivery taken down because the unit was re-materialized). Every event records who, when, what and the exact creative version
it refers to: the SHA-256 of every final PNG involved, the stage manifests' run ids (lineage) and the
brief version and revision. Nothing is ever updated in place, so two reviewers acting at once never
overwrite each other; the unit's state is the replay of its log (:func:`replay`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from creative_assets import layout
from creative_assets.stage_registry import current_name
from creative_assets.storage_protocol import Storage
from creative_assets.units import UnitKey

Action = Literal["approve", "request_changes", "reopen", "withdraw"]
Status = Literal["not_generated", "needs_review", "approved", "changes_requested"]


class ReviewEvent(BaseModel):
    """One decision about one unit."""

    id: str
    unit: str
    action: Action
    actor: str  # the reviewer's display name, or "system" for withdrawals
    actor_login: str = ""  # the reviewer's account (creative_assets/identity); empty before accounts
    stage: str | None = None  # the approval stage decided on (None: the default single stage)
    #: what the decision saw (creative, lineage, brief version, brand kit): a later change of any of
    #: them sends the stage back to needs review (approvals.stage_states)
    fingerprint: str = ""
    at: str  # ISO 8601 UTC
    comment: str = ""  # the feedback of a request, the note of an approval, the reason of a withdrawal
    candidate: int | None = None  # 0-based candidate index the decision is about
    rank: int | None = None  # that candidate's rank at decision time (1 = selected)
    revision: int = 0  # the unit revision the reviewer looked at
    brief_version: int | None = None
    #: ratio -> SHA-256 of the final PNG the decision refers to
    content: dict[str, str] = Field(default_factory=dict)
    #: ratio -> perceptual hash (render/phash.py) of that PNG: a revision never selects a near copy
    phash: dict[str, str] = Field(default_factory=dict)
    #: the decided candidate's scene style and ratio -> layout variant (a revision moves away from them)
    style: str | None = None
    layouts: dict[str, str] = Field(default_factory=dict)
    content_hash: str = ""  # hash over ``content`` (what the UI shows and forms echo back)
    #: stage -> run id of the manifest the reviewer saw (lineage of the decided creative)
    lineage: dict[str, str] = Field(default_factory=dict)
    #: approvals: ratio -> delivery key of the published file
    delivered: dict[str, str] = Field(default_factory=dict)
    withdraws: str | None = None  # the approval a withdrawal invalidates

    @field_validator("lineage", mode="before")
    @classmethod
    def _stage_names(cls, lineage: dict) -> dict:
        """Events recorded before the stage rename name stages by their old folders ("final")."""
        return {current_name(stage): run for stage, run in (lineage or {}).items()}

    @property
    def key(self) -> str:
        return layout.review_event_key(UnitKey.parse(self.unit), self.stamp, self.id)

    @property
    def stamp(self) -> str:
        return _stamp(datetime.fromisoformat(self.at))


def content_hash(content: dict[str, str]) -> str:
    """One hash over a creative's per-ratio file hashes (order-independent)."""
    body = json.dumps(sorted(content.items()), separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:20]


def _stamp(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def new_event(unit: UnitKey, action: Action, actor: str, **fields) -> ReviewEvent:
    now = datetime.now(timezone.utc)
    content = fields.pop("content", {})
    return ReviewEvent(
        id=secrets.token_hex(6),
        unit=str(unit),
        action=action,
        actor=actor,
        at=now.isoformat(timespec="microseconds"),
        content=content,
        content_hash=content_hash(content) if content else "",
        **fields,
    )


def append_event(storage: Storage, event: ReviewEvent) -> str:
    """Write the event to the unit's log, then to the journal. Returns the event's key."""
    body = event.model_dump_json(indent=2)
    storage.write_text(event.key, body)
    storage.write_text(layout.journal_key(event.stamp, event.id), body)
    return event.key


class DamagedEvent(ValueError):
    """A decision file that is not a valid event (edited by hand, truncated by a broken copy)."""


def read_event(storage: Storage, key: str) -> ReviewEvent:
    try:
        return ReviewEvent.model_validate_json(storage.read_text(key))
    except ValueError as exc:
        raise DamagedEvent(f"{storage.uri(key)} is not a valid review decision: {exc}") from exc


def unit_events(storage: Storage, unit: UnitKey) -> list[ReviewEvent]:
    """The unit's decisions, oldest first. A damaged file is an error naming it: the unit's revision
    and approval cannot be known without it."""
    keys = storage.list_keys(layout.review_events_prefix(unit))
    return [read_event(storage, k) for k in keys if k.endswith(".json")]


def journal_since(
    storage: Storage, after_key: str | None, limit: int
) -> list[tuple[str, ReviewEvent | DamagedEvent]]:
    """Up to ``limit`` journal entries after ``after_key``, oldest first (the sensor's cursor). A
    damaged entry is returned as its error, so a reader can report it and move past it."""
    out: list[tuple[str, ReviewEvent | DamagedEvent]] = []
    for key in storage.list_keys(layout.JOURNAL_PREFIX, start_after=after_key):
        if not key.endswith(".json"):
            continue
        try:
            out.append((key, read_event(storage, key)))
        except DamagedEvent as exc:
            out.append((key, exc))
        if len(out) >= limit:
            break
    return out


class ReviewState(BaseModel):
    """A unit's review state: the replay of its event log."""

    unit: str
    #: revisions requested so far (= request_changes events); the next generation uses this number
    revision_requested: int = 0
    feedback: str | None = None  # of the latest request
    request: ReviewEvent | None = None  # the latest request
    #: every creative a reviewer asked to change, oldest first (a revision never returns to one)
    rejected: list[ReviewEvent] = Field(default_factory=list)
    approval: ReviewEvent | None = None  # the approval in force, if any
    last: ReviewEvent | None = None
    history: list[ReviewEvent] = Field(default_factory=list)


def replay(unit: UnitKey, events: list[ReviewEvent]) -> ReviewState:
    state = ReviewState(unit=str(unit), history=list(events))
    for event in events:
        state.last = event
        if event.action == "request_changes":
            state.revision_requested += 1
            state.feedback = event.comment
            state.request = event
            state.rejected.append(event)
            state.approval = None
        elif event.action == "approve":
            state.approval = event
        elif event.action == "withdraw" and state.approval and event.withdraws == state.approval.id:
            state.approval = None
    return state


def review_state(storage: Storage, unit: UnitKey) -> ReviewState:
    return replay(unit, unit_events(storage, unit))
