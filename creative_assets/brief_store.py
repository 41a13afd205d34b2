"""Registered briefs in storage: versioned, canonical, with content-addressed product images.

Layout::

    briefs/<campaign>/current.json            pointer to the live version (written last)
    briefs/<campaign>/v0001/brief.json        canonical brief; asset references rewritten to keys
    briefs/<campaign>/v0001/source.<ext>      the brief exactly as submitted
    briefs/<campaign>/assets/<sha256>.<ext>   product images, stored once by content

Registering the same brief content twice is a no-op (same version), so retries are idempotent.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import PurePosixPath

from creative_assets import layout
from creative_assets.brief import Brief, LoadedBrief
from creative_assets.storage_protocol import Storage
from creative_assets.units import UnitKey, unit_keys_for


@dataclass(frozen=True)
class BriefRecord:
    """The live version of a campaign's brief."""

    campaign_id: str
    version: int
    sha: str
    brief: Brief
    #: product id -> storage keys of its images, in the brief's order
    asset_keys: dict[str, list[str]]
    registered_at: str
    source: str

    def unit_keys(self) -> list[UnitKey]:
        return unit_keys_for(self.campaign_id, list(self.brief.locales), [p.id for p in self.brief.products])


def register_brief(
    storage: Storage, loaded: LoadedBrief, source_bytes: bytes | None = None
) -> tuple[BriefRecord, bool]:
    """Store ``loaded`` as the campaign's live brief. Returns (record, created) where ``created`` is
    False when the identical content was already the live version."""
    record, _previous, created = register_brief_version(storage, loaded, source_bytes)
    return record, created


def register_brief_version(
    storage: Storage, loaded: LoadedBrief, source_bytes: bytes | None = None
) -> tuple[BriefRecord, BriefRecord | None, bool]:
    """Like :func:`register_brief`, also returning the version it replaced (None for a new campaign)."""
    record, previous, created = prepare_brief_version(storage, loaded, source_bytes)
    if created:
        commit_brief_version(storage, record)
    return record, previous, created


def prepare_brief_version(
    storage: Storage, loaded: LoadedBrief, source_bytes: bytes | None = None
) -> tuple[BriefRecord, BriefRecord | None, bool]:
    """Write everything of a new version except the live pointer: images (content-addressed), the
    source and ``vNNNN/brief.json``. Nothing reads a version before :func:`commit_brief_version`
    points ``current.json`` at it, so a crash anywhere in here leaves the previous version live and
    repeating the call (same content) rewrites the same files. Returns (record, previous, created);
    ``created`` is False, and nothing is written, when the identical content is already live."""
    brief = loaded.brief
    sha = loaded.content_hash()
    existing = current_brief(storage, brief.campaign_id)
    if existing is not None and existing.sha == sha:
        return existing, existing, False
    version = (existing.version + 1) if existing else 1
    asset_keys: dict[str, list[str]] = {}
    for product_id, items in loaded.assets.items():
        for ref, data in items:
            digest = hashlib.sha256(data).hexdigest()
            key = layout.brief_asset_key(brief.campaign_id, digest, PurePosixPath(ref).suffix.lower())
            if not storage.exists(key):
                storage.write_bytes(key, data)
            asset_keys.setdefault(product_id, []).append(key)
    folder = layout.brief_version_prefix(brief.campaign_id, version)
    if source_bytes is not None:
        storage.write_bytes(
            f"{folder}/source{PurePosixPath(loaded.source).suffix.lower() or '.yaml'}", source_bytes
        )
    record = {
        "campaign_id": brief.campaign_id,
        "version": version,
        "sha": sha,
        "brief": brief.model_dump(mode="json"),
        "asset_keys": asset_keys,
        "registered_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": loaded.source,
    }
    storage.write_text(f"{folder}/brief.json", _record_body(record))
    return _record_from_json(record), existing, True


def commit_brief_version(storage: Storage, record: BriefRecord) -> None:
    """Make a prepared version live: one atomic write of ``current.json`` (a single PUT on S3)."""
    body = _record_body(
        {
            "campaign_id": record.campaign_id,
            "version": record.version,
            "sha": record.sha,
            "brief": record.brief.model_dump(mode="json"),
            "asset_keys": record.asset_keys,
            "registered_at": record.registered_at,
            "source": record.source,
        }
    )
    storage.write_text(layout.brief_current_key(record.campaign_id), body)


def _record_body(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True)


def _record_from_json(data: dict) -> BriefRecord:
    return BriefRecord(
        campaign_id=data["campaign_id"],
        version=int(data["version"]),
        sha=data["sha"],
        brief=Brief.model_validate(data["brief"]),
        asset_keys={k: list(v) for k, v in data.get("asset_keys", {}).items()},
        registered_at=data.get("registered_at", ""),
        source=data.get("source", ""),
    )


def current_brief(storage: Storage, campaign_id: str) -> BriefRecord | None:
    try:
        data = json.loads(storage.read_text(layout.brief_current_key(campaign_id)))
    except FileNotFoundError:
        return None
    return _record_from_json(data)


def registered_campaigns(storage: Storage) -> list[str]:
    """Every campaign with a live brief version, sorted."""
    found = (layout.brief_campaign_of(k) for k in storage.list_keys(layout.BRIEFS_ROOT))
    return sorted({c for c in found if c})


def require_brief(storage: Storage, campaign_id: str) -> BriefRecord:
    record = current_brief(storage, campaign_id)
    if record is None:
        raise LookupError(
            f"campaign {campaign_id!r} has no registered brief ({storage.uri(layout.brief_current_key(campaign_id))} is "
            "missing); register it with `creative-assets run BRIEF` or the brief inbox"
        )
    return record


def unit_fingerprint(record: BriefRecord, unit: UnitKey) -> str:
    """Hash of everything in the brief that affects ``unit``'s outputs: campaign-wide fields, the
    unit's product (and its image keys, which are content hashes) and its locale's copy. Two versions
    of a brief that give a unit the same fingerprint produce the same creatives for it."""
    brief = record.brief
    campaign_wide = brief.model_dump(mode="json", exclude={"locales", "products", "localized_messages"})
    if brief.motion == type(brief.motion)():  # briefs without motion settings keep their fingerprint
        campaign_wide.pop("motion")
    product = next(p for p in brief.products if p.id == unit.product_id)
    localized = brief.localized_messages.get(unit.locale)
    payload = {
        "campaign": campaign_wide,
        "product": product.model_dump(mode="json"),
        "product_assets": record.asset_keys.get(unit.product_id, []),
        "locale": unit.locale,
        "localized": localized.model_dump(mode="json") if localized else None,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def changed_units(previous: BriefRecord | None, current: BriefRecord) -> list[UnitKey]:
    """Units of ``current`` that are new or whose inputs differ from ``previous``."""
    if previous is None:
        return current.unit_keys()
    before = set(previous.unit_keys())
    return [
        u
        for u in current.unit_keys()
        if u not in before or unit_fingerprint(previous, u) != unit_fingerprint(current, u)
    ]


def dropped_units(previous: BriefRecord | None, current: BriefRecord) -> list[UnitKey]:
    """Units the previous version had and the current one does not."""
    if previous is None:
        return []
    now = set(current.unit_keys())
    return [u for u in previous.unit_keys() if u not in now]
