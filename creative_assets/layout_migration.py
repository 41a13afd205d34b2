"""``creative-assets migrate-layout``: move a storage root written before stages had one name.

Stage folders were ``brief context raw branded copy final selected``; they are now the stage names
(``unit_brief`` ... ``selected_creative``, stage_registry.py). For every unit folder with a legacy
stage folder this copies each file to the new folder, rewrites the stored keys inside JSON manifests
(the stage name; keys such as a selection's ``campaigns/<unit>/final/gen/<g>/1x1/candidate-1.png``),
writes each live ``manifest.json`` last, then deletes the old folder's keys (live manifest first). A
crash anywhere leaves a root the next run completes: copies are idempotent, and the old folder stays
readable until its own manifest is gone. Pixels and file bytes are copied unchanged; a final's C2PA
credential keeps the ingredient names it was signed with (``raw/1x1/candidate-2.jpg``).

A unit whose new folder already has a live manifest (the pipeline ran after the upgrade) keeps it:
the legacy folder is reported as a conflict and left in place. Pure: runs on the ``Storage``
protocol, local folder and S3 alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from creative_assets import layout
from creative_assets.stage_registry import LEGACY_FOLDERS
from creative_assets.storage_protocol import Storage

#: ``campaigns/<campaign>/<locale>/<product>/<stage>/...``: where the stage folder sits in a key
_STAGE_PART = 4


@dataclass
class MigrationReport:
    moved: dict[str, int] = field(default_factory=dict)  # "<unit folder>/<old> -> <new>" -> files
    conflicts: list[str] = field(default_factory=list)  # legacy folders left in place
    rewritten: int = 0  # delivery manifests whose keys were rewritten

    def summary(self) -> str:
        files = sum(self.moved.values())
        text = f"{len(self.moved)} stage folder(s), {files} file(s) moved"
        if self.rewritten:
            text += f"; {self.rewritten} delivery manifest(s) updated"
        if self.conflicts:
            text += (
                f"; {len(self.conflicts)} left in place (already written in the new layout): "
                + ", ".join(self.conflicts)
            )
        return text


def _legacy_folders(storage: Storage) -> dict[str, list[str]]:
    """``campaigns/<c>/<l>/<p>/<old>`` -> its keys, for every legacy stage folder in the root."""
    found: dict[str, list[str]] = {}
    for key in storage.list_keys(f"{layout.CAMPAIGNS_ROOT}/"):
        parts = key.split("/")
        if len(parts) > _STAGE_PART + 1 and parts[_STAGE_PART] in LEGACY_FOLDERS:
            found.setdefault("/".join(parts[: _STAGE_PART + 1]), []).append(key)
    return found


def rewrite_keys(value: Any, renames: dict[str, str]) -> Any:
    """Every string that starts with an old stage folder's prefix, pointed at the new folder."""
    if isinstance(value, str):
        for old, new in renames.items():
            if value.startswith(old):
                return new + value[len(old) :]
        return value
    if isinstance(value, list):
        return [rewrite_keys(v, renames) for v in value]
    if isinstance(value, dict):
        return {k: rewrite_keys(v, renames) for k, v in value.items()}
    return value


def _manifest_bytes(data: bytes, renames: dict[str, str], stage: str | None) -> bytes:
    manifest = rewrite_keys(json.loads(data), renames)
    if stage is not None and isinstance(manifest, dict) and "stage" in manifest:
        manifest["stage"] = stage
    return json.dumps(manifest, indent=2, sort_keys=True).encode()


def migrate_layout(storage: Storage) -> MigrationReport:
    """Move every legacy stage folder of the root to its stage's name (see the module docstring)."""
    report = MigrationReport()
    legacy = _legacy_folders(storage)
    renames = {
        f"{folder}/": f"{folder.rsplit('/', 1)[0]}/{LEGACY_FOLDERS[folder.rsplit('/', 1)[1]]}/"
        for folder in legacy
    }
    for folder, keys in sorted(legacy.items()):
        old_prefix = f"{folder}/"
        new_prefix = renames[old_prefix]
        stage = new_prefix.rstrip("/").rsplit("/", 1)[1]
        live_old = f"{old_prefix}{layout.MANIFEST}"
        if storage.exists(f"{new_prefix}{layout.MANIFEST}") and not storage.exists(f"{new_prefix}.migrating"):
            report.conflicts.append(folder)
            continue
        storage.write_text(f"{new_prefix}.migrating", folder)  # this folder is ours until it is done
        # files first, then the generations' manifest copies, the live manifest last
        ordered = sorted(keys, key=lambda k: (k == live_old, k.endswith(f"/{layout.MANIFEST}"), k))
        for key in ordered:
            data = storage.read_bytes(key)
            if key.endswith(f"/{layout.MANIFEST}"):
                data = _manifest_bytes(data, renames, stage)
            storage.write_bytes(new_prefix + key[len(old_prefix) :], data)
        for key in sorted(keys, key=lambda k: k != live_old):  # the old live manifest first
            storage.delete(key)
        storage.delete(f"{new_prefix}.migrating")
        report.moved[f"{folder} -> {stage}"] = len(keys)
    # manifests outside the stage folders that name stage files (a delivery's sources)
    for key in list(storage.list_keys(f"{layout.DELIVERY_ROOT}/")):
        if not key.endswith(".json"):
            continue
        data = storage.read_bytes(key)
        rewritten = _manifest_bytes(data, renames, None)
        if json.loads(rewritten) != json.loads(data):
            storage.write_bytes(key, rewritten)
            report.rewritten += 1
    return report
