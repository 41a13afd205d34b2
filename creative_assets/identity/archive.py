"""Daily retention copies of the audit log in object storage, and system events from the pipeline.

``audit/daily/<YYYY-MM-DD>.jsonl`` holds one day's records (UTC) exactly as stored, hashes included,
so a copy can be verified on its own (:func:`creative_assets.audit.verify_chain` from the day's first
``prev_hash``); ``audit/daily/<YYYY-MM-DD>.json`` summarises it (count, first/last sequence number,
last hash, SHA-256 of the .jsonl). Written through the ``storage`` resource by the
``audit_archive_sensor`` (and ``creative-assets audit archive``), once per completed day.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta, timezone

from creative_assets import audit, layout
from creative_assets.brief_store import current_brief
from creative_assets.identity.store import IdentityStore
from creative_assets.review.decisions import DamagedEvent, journal_since
from creative_assets.storage_protocol import Storage
from creative_assets.units import UnitKey


def archive_day(store: IdentityStore, storage: Storage, day: date) -> dict:
    """Write ``day``'s records (and the summary) to storage; returns the summary."""
    since = f"{day.isoformat()}T00:00:00.000000Z"
    until = f"{(day + timedelta(days=1)).isoformat()}T00:00:00.000000Z"
    records = store.audit_records(since=since, until=until)
    body = audit.to_json_lines(records)
    storage.write_text(layout.audit_day_key(day), body, "application/x-ndjson")
    summary = {
        "day": day.isoformat(),
        "count": len(records),
        "first_seq": records[0]["seq"] if records else None,
        "last_seq": records[-1]["seq"] if records else None,
        "first_prev_hash": records[0]["prev_hash"] if records else None,
        "last_hash": records[-1]["hash"] if records else None,
        "sha256": hashlib.sha256(body.encode()).hexdigest(),
        "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    storage.write_text(layout.audit_day_summary_key(day), json.dumps(summary, indent=2))
    return summary


def archive_pending(store: IdentityStore, storage: Storage, after: date | None, today: date) -> list[date]:
    """Archive every completed day after ``after`` (None: from the first record) before ``today``."""
    if after is None:
        first = store.audit_records(limit=1)
        if not first:
            return []
        after = date.fromisoformat(first[0]["at"][:10]) - timedelta(days=1)
    done = []
    day = after + timedelta(days=1)
    while day < today:
        archive_day(store, storage, day)
        done.append(day)
        day += timedelta(days=1)
    return done


def record_system_events(
    store: IdentityStore, storage: Storage, after_key: str | None, limit: int = 500
) -> str | None:
    """Audit the decisions the pipeline takes by itself (withdrawals on re-materialization), read from
    the review journal after ``after_key``; returns the new cursor. People's decisions are audited by
    the review app when they are taken."""
    brands: dict[str, str] = {}
    last = after_key
    for key, event in journal_since(storage, after_key, limit):
        last = key
        if isinstance(event, DamagedEvent) or event.actor != "system":
            continue
        unit = UnitKey.parse(event.unit)
        if unit.campaign_id not in brands:
            record = current_brief(storage, unit.campaign_id)
            brands[unit.campaign_id] = record.brief.brand if record else ""
        store.audit(
            f"delivery.{event.action}",
            "system",
            "pipeline",
            brand=brands[unit.campaign_id],
            target=event.unit,
            reason=event.comment,
            approval=event.withdraws,
            decision=event.id,
        )
    return last


def compare_with_archive(store: IdentityStore, storage: Storage) -> list[audit.ChainProblem]:
    """Every record of the daily copies in storage that the database no longer holds as it was: finds
    a chain rewritten from some record on (which ``verify`` alone cannot see: it is self-consistent)."""
    problems: list[audit.ChainProblem] = []
    for key in storage.list_keys(layout.AUDIT_ARCHIVE_PREFIX):
        if not key.endswith(".jsonl"):
            continue
        copy = [json.loads(line) for line in storage.read_text(key).splitlines() if line.strip()]
        if not copy:
            continue
        day = key.rsplit("/", 1)[1].removesuffix(".jsonl")
        for problem in audit.verify_chain(copy, start_hash=copy[0]["prev_hash"], start_seq=copy[0]["seq"]):
            problems.append(
                audit.ChainProblem(problem.seq, f"the daily copy {day} is damaged: {problem.reason}")
            )
        stored = {r["seq"]: r for r in store.audit_records(since=copy[0]["at"], until=_after(copy[-1]["at"]))}
        for record in copy:
            now = stored.get(record["seq"])
            if now is None:
                problems.append(
                    audit.ChainProblem(record["seq"], f"is in the daily copy {day} but not in the database")
                )
            elif now["hash"] != record["hash"]:
                problems.append(
                    audit.ChainProblem(record["seq"], f"differs from the daily copy {day} (rewritten)")
                )
    return sorted(problems, key=lambda p: p.seq)


def _after(at: str) -> str:
    """The smallest timestamp after ``at`` (an exclusive upper bound that includes ``at``)."""
    return at + "~"  # "~" sorts after every character of a timestamp
