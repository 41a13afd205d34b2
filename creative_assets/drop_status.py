"""The status document of an inbox drop: what became of one brief dropped into the inbox.

One JSON document per drop (``_inbox/status/<drop>.json``, creative_assets/layout.py), written
by the sensors as the drop moves on:

``received`` -> ``waiting_for_images`` -> ``rejected`` (with the problems)
                                       -> ``accepted`` (registered as version N, or identical to it)
                                       -> ``running`` (run ids of the version's runs)
                                       -> ``ready_for_review`` (every unit selected or blocked)

Every write replaces the whole document in one atomic write, and each step is idempotent (a replayed
tick writes the same state again), so a crash between two updates leaves the previous, consistent
state. An accepted drop also leaves a pointer under ``briefs/<campaign>/drops/`` (for ``status
CAMPAIGN``) and, until its version is ready for review, a tracking entry the status sensor follows.
``creative-assets status CAMPAIGN|DROP`` prints the documents (``--json`` for scripts; the schema is
docs/schemas/status.schema.json).

Pure: no Dagster; storage is passed in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from creative_assets import layout

if TYPE_CHECKING:  # pragma: no cover
    from creative_assets.storage_protocol import Storage

State = Literal["received", "waiting_for_images", "rejected", "accepted", "running", "ready_for_review"]
SCHEMA_VERSION = 1


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class HistoryEntry(BaseModel):
    at: str
    state: State
    detail: str = ""


class RunInfo(BaseModel):
    run_id: str
    status: str
    units: int = 0


class BlockedUnit(BaseModel):
    unit: str
    reason: str


class DropStatus(BaseModel):
    schema_version: int = SCHEMA_VERSION
    drop: str
    inbox_key: str
    state: State = "received"
    received_at: str = Field(default_factory=now_iso)
    updated_at: str = Field(default_factory=now_iso)
    #: validation problems (``rejected``) or the images still missing (``waiting_for_images``)
    problems: list[dict[str, Any]] = Field(default_factory=list)
    #: where the rejected copy and its error.json are
    rejected_record: str | None = None
    campaign: str | None = None
    version: int | None = None
    #: False when the drop was identical to the live version (nothing new to run)
    registered_new_version: bool | None = None
    units: list[str] = Field(default_factory=list)
    #: units this version (re)builds
    changed: list[str] = Field(default_factory=list)
    runs: list[RunInfo] = Field(default_factory=list)
    units_done: list[str] = Field(default_factory=list)
    units_blocked: list[BlockedUnit] = Field(default_factory=list)
    ready_for_review: bool = False
    ready_at: str | None = None
    #: idempotency keys of the lifecycle notifications sent about this drop
    notifications: list[str] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)

    def moved(self, state: State, detail: str = "") -> DropStatus:
        """A copy in ``state``; history records each state once per distinct detail (replays add nothing)."""
        history = list(self.history)
        if not history or (history[-1].state, history[-1].detail) != (state, detail):
            history.append(HistoryEntry(at=now_iso(), state=state, detail=detail))
        return self.model_copy(update={"state": state, "updated_at": now_iso(), "history": history})


def read_status(storage: Storage, drop: str) -> DropStatus | None:
    try:
        return DropStatus.model_validate_json(storage.read_text(layout.drop_status_key(drop)))
    except FileNotFoundError:
        return None


def write_status(storage: Storage, status: DropStatus) -> None:
    storage.write_text(layout.drop_status_key(status.drop), status.model_dump_json(indent=2))


def _base(storage: Storage, drop: str, inbox_key: str) -> DropStatus:
    return read_status(storage, drop) or DropStatus(drop=drop, inbox_key=inbox_key).moved("received")


def record_waiting(storage: Storage, drop: str, inbox_key: str, missing: Sequence[str]) -> DropStatus:
    status = _base(storage, drop, inbox_key)
    if status.state != "waiting_for_images" or status.problems != [{"field": m} for m in missing]:
        status = status.moved("waiting_for_images", f"waiting for {', '.join(missing)}")
        status = status.model_copy(update={"problems": [{"field": m} for m in missing]})
        write_status(storage, status)
    return status


def record_rejected(
    storage: Storage,
    drop: str,
    inbox_key: str,
    problems: Iterable[Mapping[str, Any]],
    record: str,
    notification: str | None,
) -> DropStatus:
    problems = [dict(p) for p in problems]
    status = _base(storage, drop, inbox_key).moved("rejected", f"{len(problems)} problem(s)")
    status = status.model_copy(
        update={
            "problems": problems,
            "rejected_record": record,
            "notifications": _added(status.notifications, notification),
        }
    )
    write_status(storage, status)
    return status


def record_accepted(
    storage: Storage,
    drop: str,
    inbox_key: str,
    campaign: str,
    version: int,
    created: bool,
    units: Sequence[str],
    changed: Sequence[str],
    notification: str | None,
) -> DropStatus:
    """The drop registered ``campaign`` v``version`` (or matched it). Order: the document, the
    campaign pointer, then (if there is anything to wait for) the tracking entry; every step is
    idempotent, so a crash in between is repaired by the next tick's repeat."""
    status = _base(storage, drop, inbox_key)
    if status.state in ("running", "ready_for_review") and status.version == version:
        return status  # a replay of an accepted drop that has moved on
    detail = f"registered as {campaign} v{version}" if created else f"identical to live {campaign} v{version}"
    status = status.moved("accepted", detail).model_copy(
        update={
            "problems": [],
            "campaign": campaign,
            "version": version,
            "registered_new_version": created,
            "units": list(units),
            "changed": list(changed),
            "notifications": _added(status.notifications, notification),
        }
    )
    write_status(storage, status)
    storage.write_text(
        layout.campaign_drop_key(campaign, drop),
        json.dumps({"drop": drop, "version": version, "at": now_iso()}),
    )
    if created:
        storage.write_text(layout.tracking_key(drop), json.dumps({"drop": drop}))
    return status


def record_progress(
    storage: Storage,
    status: DropStatus,
    runs: Sequence[RunInfo],
    done: Sequence[str],
    blocked: Sequence[BlockedUnit],
    ready_notification: str | None,
) -> DropStatus:
    """Runs and units of a tracked drop; once every unit is selected or blocked, ``ready_for_review``
    (the tracking entry is removed last)."""
    ready = ready_notification is not None
    updates: dict[str, Any] = {"runs": list(runs), "units_done": list(done), "units_blocked": list(blocked)}
    if ready:
        new = status.moved("ready_for_review", f"{len(done)} selected, {len(blocked)} blocked")
        updates |= {
            "ready_for_review": True,
            "ready_at": now_iso(),
            "notifications": _added(status.notifications, ready_notification),
        }
    elif runs:
        new = status.moved(
            "running", f"{len(runs)} run(s), {len(done) + len(blocked)}/{len(status.units)} units"
        )
    else:
        new = status
    new = new.model_copy(update=updates)
    if new.model_dump(exclude={"updated_at", "history"}) != status.model_dump(
        exclude={"updated_at", "history"}
    ):
        write_status(storage, new)
    if ready:
        storage.delete(layout.tracking_key(status.drop))
    return new


def tracked_drops(storage: Storage) -> list[str]:
    return sorted(
        layout.record_stem(k) for k in storage.list_keys(layout.TRACKING_PREFIX) if k.endswith(".json")
    )


def campaign_drops(storage: Storage, campaign: str) -> list[DropStatus]:
    """Status documents of the drops that registered (or re-sent) ``campaign``, oldest first."""
    out = []
    for key in storage.list_keys(layout.campaign_drops_prefix(campaign)):
        status = read_status(storage, layout.record_stem(key))
        if status is not None:
            out.append(status)
    return sorted(out, key=lambda s: s.received_at)


def _added(items: list[str], item: str | None) -> list[str]:
    return items if item is None or item in items else [*items, item]
