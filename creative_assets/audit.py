"""The audit log's hash chain (pure: no database, no Dagster).

Every record carries the SHA-256 of the previous record; its own hash covers its canonical JSON
(sorted keys, no whitespace) including that link, so changing, removing or reordering any stored
record breaks the chain at that record. :func:`verify_chain` names the first record that does not
match.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass

GENESIS = "0" * 64
FIELDS = ("seq", "at", "actor", "ip", "action", "outcome", "brand", "target", "details", "prev_hash")


def canonical(record: dict) -> bytes:
    body = {k: record[k] for k in FIELDS}
    if isinstance(body["details"], str):
        body["details"] = json.loads(body["details"])
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(record: dict) -> str:
    return hashlib.sha256(canonical(record)).hexdigest()


def canonical_details(details: dict) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"audit record {self.seq}: {self.reason}"


def verify_chain(
    records: Iterable[dict], start_hash: str = GENESIS, start_seq: int = 1
) -> list[ChainProblem]:
    """Every problem in the chain, in order (empty: intact). Records are dicts with FIELDS + ``hash``."""
    problems: list[ChainProblem] = []
    prev, expected_seq = start_hash, start_seq
    for record in records:
        seq = record["seq"]
        if seq != expected_seq:
            problems.append(ChainProblem(expected_seq, f"missing (next stored record is {seq})"))
        if record["prev_hash"] != prev:
            problems.append(ChainProblem(seq, "does not link to the record before it (prev_hash differs)"))
        actual = record_hash(record)
        if actual != record["hash"]:
            problems.append(
                ChainProblem(
                    seq, f"content was changed (sha256 {actual[:12]}…, stored {record['hash'][:12]}…)"
                )
            )
        prev, expected_seq = record["hash"], seq + 1
    return problems


def to_json_lines(records: Iterable[dict]) -> str:
    return "".join(json.dumps(_plain(r), ensure_ascii=False, sort_keys=True) + "\n" for r in records)


def to_csv(records: Iterable[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=[*FIELDS, "hash"], lineterminator="\n")
    writer.writeheader()
    for r in records:
        writer.writerow(
            {
                **r,
                "details": r["details"] if isinstance(r["details"], str) else canonical_details(r["details"]),
            }
        )
    return buf.getvalue()


def _plain(record: dict) -> dict:
    out = dict(record)
    if isinstance(out.get("details"), str):
        out["details"] = json.loads(out["details"])
    return out
