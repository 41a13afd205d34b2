"""Delivery: approved creatives published for hand-off to an ad platform, and withdrawn again when
the unit changes.

Layout::

    approved/<campaign>/<locale>/<product>/<ratio>/<campaign>_<locale>_<product>_<ratio>.png
    approved/<campaign>/<locale>/<product>/motion/<campaign>_<locale>_<product>_<placement>.mp4|webp|gif
    approved/<campaign>/<locale>/<product>/manifest.json     written last; deleted first on withdrawal
    approved/<campaign>/index.json                           every approved unit of the campaign

A unit folder with a ``manifest.json`` is complete and approved. File names repeat the unit so a
flattened upload to an ad platform stays unambiguous. When an approval is withdrawn (the unit was
re-materialized, or a reviewer asked for changes) the files move to
``reviews/<campaign>/<locale>/<product>/withdrawn/<approval id>/`` for audit: nothing is lost, and
nothing different from what was approved is ever delivered under an approval.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

from creative_assets import layout
from creative_assets.credentials import VerifyPolicy, check_deliverable
from creative_assets.review.decisions import ReviewEvent, append_event, new_event
from creative_assets.storage_protocol import Storage
from creative_assets.units import UnitKey


class StaleCreative(RuntimeError):
    """The files to publish are not the ones the reviewer approved."""


def delivery_key(unit: UnitKey, name: str) -> str:
    """Where an approved file is delivered, by its approval content name: a still by output key, a
    placement export by ``export/<name>``, a video by ``motion/<name>``."""
    if name.startswith(layout.MOTION_CONTENT_PREFIX):
        return layout.delivery_motion_key(unit, name[len(layout.MOTION_CONTENT_PREFIX) :])
    if name.startswith(layout.EXPORT_CONTENT_PREFIX):
        return layout.delivery_export_key(unit, name[len(layout.EXPORT_CONTENT_PREFIX) :])
    return layout.delivery_file_key(unit, name)


def publish(
    storage: Storage,
    unit: UnitKey,
    approval: ReviewEvent,
    sources: dict[str, str],
    details: dict,
    signed: dict[str, bool] | None = None,
    policy: VerifyPolicy | None = None,
) -> dict[str, str]:
    """Copy the approved candidate's final PNGs (``sources``: ratio -> storage key) to the delivery
    layout, verifying every byte against the hashes the approval recorded, then write the manifest.
    Byte copies, so each file's Content Credential survives: it is verified before the copy (a file
    whose credential is missing or broken is refused: ``credentials.CredentialRefused``) and read
    back from the delivery after it. ``signed``: ratio -> whether the pipeline signed that file.
    The approval is recorded beside the files (manifest.json), not inside them: a new C2PA manifest
    would change the bytes the reviewer approved and need the signing key in the review app.
    Motion files (keys ``motion/<placement>.<ext>``) are hashed, verified and copied the same way:
    each carries its own Content Credential (the still it animates is its ingredient).
    Returns ratio -> delivery key."""
    policy = policy or VerifyPolicy()
    signed = signed or {}
    claims = {"campaign": unit.campaign_id, "locale": unit.locale, "product": unit.product_id}
    files, delivered, checked = {}, {}, {}
    for ratio, source in sorted(sources.items()):  # every file checked before any is published
        data = storage.read_bytes(source)
        digest = hashlib.sha256(data).hexdigest()
        if approval.content.get(ratio) != digest:
            raise StaleCreative(
                f"{unit} {ratio}: {storage.uri(source)} changed since it was reviewed "
                f"(sha256 {digest[:12]}…, approved {approval.content.get(ratio, '?')[:12]}…)"
            )
        check_deliverable(data, source, signed.get(ratio, False), policy, claims)
        checked[ratio] = (source, data, digest)
    for ratio, (source, data, digest) in checked.items():
        key = delivery_key(unit, ratio)
        storage.write_bytes(key, data)
        delivered[ratio] = key
        # read back from the delivery: the bytes and their credential arrived intact
        back = storage.read_bytes(key)
        if hashlib.sha256(back).hexdigest() != digest:
            raise StaleCreative(f"{unit} {ratio}: {storage.uri(key)} does not read back as written")
        credential = check_deliverable(back, key, signed.get(ratio, False), policy, claims)
        files[ratio] = {
            "key": key,
            "sha256": digest,
            "bytes": len(data),
            "source": source,
            "content_credentials": credential,
        }
    manifest = {
        "unit": str(unit),
        "campaign": unit.campaign_id,
        "locale": unit.locale,
        "product": unit.product_id,
        "approval": approval.model_dump(mode="json", exclude={"delivered"}),
        "published_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "files": files,
        **details,
    }
    storage.write_text(layout.delivery_manifest_key(unit), json.dumps(manifest, ensure_ascii=False, indent=2))
    rebuild_campaign_index(storage, unit.campaign_id)
    return delivered


def delivered_manifest(storage: Storage, unit: UnitKey) -> dict | None:
    try:
        return json.loads(storage.read_text(layout.delivery_manifest_key(unit)))
    except FileNotFoundError:
        return None


def withdraw(storage: Storage, unit: UnitKey, reason: str, actor: str = "system") -> ReviewEvent | None:
    """Take a unit's delivery down (if it has one): manifest first, so consumers stop treating the
    folder as approved, then the files move under the review log. Records a ``withdraw`` event."""
    manifest = delivered_manifest(storage, unit)
    if manifest is None:
        return None
    approval_id = manifest["approval"]["id"]
    storage.delete(layout.delivery_manifest_key(unit))
    archive = layout.withdrawn_prefix(unit, approval_id)
    for key in list(storage.list_keys(layout.delivery_prefix(unit))):
        storage.write_bytes(
            f"{archive}/{key[len(layout.delivery_prefix(unit)) + 1 :]}", storage.read_bytes(key)
        )
        storage.delete(key)
    storage.write_text(f"{archive}/{layout.MANIFEST}", json.dumps(manifest, ensure_ascii=False, indent=2))
    event = new_event(
        unit,
        "withdraw",
        actor,
        comment=reason,
        withdraws=approval_id,
        content=manifest["approval"].get("content", {}),
        revision=manifest["approval"].get("revision", 0),
        brief_version=manifest["approval"].get("brief_version"),
    )
    append_event(storage, event)
    rebuild_campaign_index(storage, unit.campaign_id)
    return event


def rebuild_campaign_index(storage: Storage, campaign_id: str) -> dict:
    """``approved/<campaign>/index.json``: every unit whose delivery is complete, with its files."""
    units = []
    for key in storage.list_keys(layout.delivery_campaign_prefix(campaign_id)):
        if layout.is_delivery_manifest(key):
            manifest = json.loads(storage.read_text(key))
            units.append(
                {
                    "unit": manifest["unit"],
                    "locale": manifest["locale"],
                    "product": manifest["product"],
                    "approved_by": manifest["approval"]["actor"],
                    "approved_at": manifest["approval"]["at"],
                    "files": {r: f["key"] for r, f in manifest["files"].items()},
                    "manifest": key,
                }
            )
    index = {
        "campaign": campaign_id,
        "updated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "units": units,
    }
    storage.write_text(
        layout.delivery_index_key(campaign_id), json.dumps(index, ensure_ascii=False, indent=2)
    )
    return index
