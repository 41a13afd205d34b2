"""``creative-assets status CAMPAIGN|DROP``: what became of an inbox drop, or of a campaign.

A DROP is an inbox drop's id (``<folder>-<sha12>``, the name of its ``rejected/`` folder and of its
status document); it prints that drop's status document (creative_assets/drop_status.py). A
CAMPAIGN prints the live brief version, each drop that registered the campaign, every unit's status
(selected, blocked with the reason, outdated, not built) and the notifications that could not be
delivered. ``--json`` prints the same as one document (docs/schemas/cli-output.schema.json).
Exit codes: 0 found, 2 no such drop or campaign.
"""

from __future__ import annotations

import argparse
import sys

from creative_assets import drop_status, notifications

DESCRIPTION = """\
What became of an inbox drop, or of a campaign.

A DROP is an inbox drop's id (<folder>-<sha12>: the name of its rejected/ folder and of its status
document); status prints that drop's status document: received, validated or rejected with the
problems, registered as version N, runs requested, units done and blocked, ready for review.
A CAMPAIGN prints the live brief version, each drop that registered it, every unit's status
(selected, blocked with the reason, outdated, not built) and notifications that failed to deliver.
--json prints the same as one document (docs/schemas/cli-output.schema.json)."""


def add_commands(sub) -> None:
    p = sub.add_parser(
        "status",
        help="what became of an inbox drop, or of a campaign's drops and units",
        description=DESCRIPTION,
        epilog="exit codes:\n  0    found\n  2    no such drop or campaign\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "target",
        metavar="CAMPAIGN|DROP",
        help="a campaign id (e.g. summer-splash-2026) or an inbox drop id (e.g. team-a-0123456789ab, "
        "as named in the sensor log, the rejected/ folder and brief.* notifications)",
    )
    p.add_argument("--out", help="local storage folder (default: $CREATIVE_ASSETS_ROOT or var/storage)")
    p.add_argument(
        "--json", action="store_true", help="print one JSON document (for scripts) instead of text"
    )
    p.set_defaults(func=cmd_status)


def _failed_for(storage, drop: str | None = None, campaign: str | None = None) -> list[dict]:
    return [
        r.model_dump()
        for r in notifications.failed_deliveries(storage)
        if (drop and r.drop == drop) or (campaign and r.campaign == campaign)
    ]


def drop_document(storage, status: drop_status.DropStatus) -> dict:
    pending = []
    for key in status.notifications:
        outcomes = notifications.deliveries(storage, key)
        pending += [r.model_dump() for r in outcomes if r.status == "failed"]
    return {
        "command": "status",
        "kind": "drop",
        "drop": status.model_dump(mode="json"),
        "failed_notifications": _failed_for(storage, drop=status.drop) + pending,
    }


def campaign_document(storage, record) -> dict:
    from creative_assets.assets.rollup import summarise_campaign
    from creative_assets.cli import _unit_rows

    units = _unit_rows(summarise_campaign(storage, record.campaign_id))
    drops = drop_status.campaign_drops(storage, record.campaign_id)
    return {
        "command": "status",
        "kind": "campaign",
        "campaign": record.campaign_id,
        "live_version": record.version,
        "registered_at": record.registered_at,
        "drops": [d.model_dump(mode="json") for d in drops],
        "units": units,
        "counts": {
            s: sum(1 for u in units if u["status"] == s) for s in sorted({u["status"] for u in units})
        },
        "failed_notifications": _failed_for(storage, campaign=record.campaign_id),
    }


def cmd_status(args: argparse.Namespace) -> int:
    from creative_assets.cli import _use_local_storage, emit_json

    _use_local_storage(args.out)
    from creative_assets.brief_store import current_brief
    from creative_assets.definitions import build_storage
    from creative_assets.layout import unsafe_key_reason

    target = args.target.strip()
    if not target or "/" in target or unsafe_key_reason(f"x/{target}.json"):
        return _unknown(args, target)
    with build_storage().process_config_and_initialize_cm() as storage:
        status = drop_status.read_status(storage, target)
        if status is not None:
            document = drop_document(storage, status)
        else:
            try:
                record = current_brief(storage, target)
            except ValueError:
                record = None
            if record is None:
                return _unknown(args, target)
            document = campaign_document(storage, record)
    if args.json:
        emit_json({**document, "ok": True, "exit_code": 0})
    elif document["kind"] == "drop":
        print_drop(document)
    else:
        print_campaign(document)
    return 0


def _unknown(args: argparse.Namespace, target: str) -> int:
    from creative_assets.cli import emit_json

    message = f"no inbox drop or campaign named {target!r}"
    if args.json:
        emit_json({"command": "status", "kind": "unknown", "ok": False, "exit_code": 2, "error": message})
    else:
        print(f"✗ {message}", file=sys.stderr)
    return 2


def _ui(run_id: str) -> str:
    from creative_assets.settings import dagster_ui_url

    return f"{dagster_ui_url().rstrip('/')}/runs/{run_id}"


def print_drop(document: dict, indent: str = "") -> None:
    d = document["drop"] if "drop" in document and isinstance(document["drop"], dict) else document
    print(f"{indent}Drop {d['drop']} ({d['inbox_key']}): {d['state'].replace('_', ' ')}")
    for entry in d["history"]:
        print(f"{indent}  {entry['at']}  {entry['state']:<18} {entry['detail']}")
    if d.get("rejected_record"):
        print(f"{indent}  rejected record: {d['rejected_record']}")
    for problem in d["problems"][:50]:
        print(f"{indent}  ✗ {problem.get('field')}: {problem.get('message', 'missing')}")
    if d.get("campaign"):
        print(
            f"{indent}  campaign {d['campaign']} v{d['version']}: {len(d['units'])} unit(s), "
            f"{len(d['changed'])} to build, {len(d['units_done'])} done, {len(d['units_blocked'])} blocked"
        )
    for run in d["runs"]:
        print(f"{indent}  run {run['run_id']} {run['status']}  {_ui(run['run_id'])}")
    for blocked in d["units_blocked"]:
        print(f"{indent}  ✗ {blocked['unit']} blocked: {blocked['reason'][:300]}")
    if d.get("ready_for_review"):
        print(f"{indent}  ready for review since {d['ready_at']}")
    for failed in document.get("failed_notifications", []):
        print(
            f"{indent}  ! notification {failed['type']} to {failed['sink']} {failed['status']}: {failed['error']}"
        )


def print_campaign(document: dict) -> None:
    counts = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in document["counts"].items())
    print(
        f"Campaign {document['campaign']}: live v{document['live_version']} ({document['registered_at']}); {counts}"
    )
    for unit in document["units"]:
        why = f": {unit['reason'][:200]}" if unit["reason"] else ""
        print(f"  {unit['unit']}  {unit['status']}{why}")
    for drop in document["drops"]:
        print()
        print_drop({"drop": drop, "failed_notifications": []}, indent="  ")
    for failed in document["failed_notifications"]:
        print(f"  ! notification {failed['type']} to {failed['sink']} {failed['status']}: {failed['error']}")
