"""Stage values in storage: each stage of each unit as real files a person or another tool can open.

Where things are is ``layout.py``'s (``<stage>/manifest.json`` the live generation,
``<stage>/gen/<generation>/`` its immutable files and a copy of its manifest); this module reads and
writes them through the ``Storage`` protocol. The IO manager (resources/io_manager.py), the rollup,
the review service, regeneration, sensors and the benchmark all go through it.

**A stage write is atomic as a whole** (docs/ARCHITECTURE.md "Crash-safety contract"), on local
disk and on S3 alike, without renames: every materialization writes its files into a new, immutable
generation folder (``gen/<UTC time>-<random>``), then that generation's manifest, and switches the
stage's ``manifest.json`` (one atomic write: a single PUT on S3) to it last. A process that dies
earlier leaves the previous manifest pointing at the previous, untouched files; readers resolve
every file through the manifest's generation and check its SHA-256, so they never combine two
generations. Superseded generations are deleted after ``grace_hours`` (readers that started on them
finish), except generations an approval was made from and the final generation the live selection
was made from. Stages without files (brief, context, copy) are only the manifest. Manifests written
before generations existed (no ``generation`` field) are still read, their files directly under the
stage folder; the next write replaces them.

Pure: no Dagster, no resources.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

from creative_assets import layout, stage_registry
from creative_assets.review.decisions import unit_events
from creative_assets.stages import StageValue, generation_time
from creative_assets.storage_protocol import Storage
from creative_assets.units import UnitKey

#: superseded generations are kept this long for readers that started on them
DEFAULT_GRACE_HOURS = 24.0


class StageIntegrityError(RuntimeError):
    """A stage file does not match its manifest (damaged or tampered storage)."""


def read_manifest(storage: Storage, unit: UnitKey, stage: str, generation: str | None = None) -> dict | None:
    """The live manifest of a stage (or the kept copy of one ``generation``); None if there is none."""
    try:
        return json.loads(storage.read_text(layout.manifest_key(unit, stage, generation)))
    except FileNotFoundError:
        return None


def write_stage(
    storage: Storage,
    unit: UnitKey,
    value: StageValue,
    provenance: dict[str, str] | None = None,
    grace_hours: float = DEFAULT_GRACE_HOURS,
) -> dict[str, str]:
    """Write a stage value as a new generation and make it live; return {file name: storage key}
    including the manifest. ``provenance`` (run id, code version) is recorded in the manifest:
    review decisions cite it as lineage and the nightly schedule compares code versions with it."""
    # a value read back from storage is written as a new generation, never into its old one
    generation = value.generation if value.stored_generation is None else value.renew_generation()
    gen_prefix = layout.generation_prefix(unit, value.STAGE, generation)
    files: dict[str, dict] = {}
    keys: dict[str, str] = {}
    for name, data in value.encoded_files().items():
        key = f"{gen_prefix}/{name}"
        storage.write_bytes(key, data)
        files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        keys[name] = key
    manifest = layout.stage_manifest(
        value.STAGE,
        unit,
        generation,
        datetime.now(timezone.utc).isoformat(timespec="seconds"),
        provenance,
        files,
        value.model_dump(mode="json"),
    )
    body = json.dumps(manifest, ensure_ascii=False, indent=2)
    if files:  # the generation describes itself (garbage collection and lineage read it)
        storage.write_text(layout.manifest_key(unit, value.STAGE, generation), body)
    keys[layout.MANIFEST] = layout.manifest_key(unit, value.STAGE)
    storage.write_text(keys[layout.MANIFEST], body)  # the switch: from here on readers see this generation
    collect_generations(storage, unit, value.STAGE, keep=generation, grace_hours=grace_hours)
    return keys


def read_stage(storage: Storage, unit: UnitKey, stage: str) -> StageValue:
    """The live generation of a stage as its value; its files are read lazily, hash-checked."""
    manifest = read_manifest(storage, unit, stage)
    if manifest is None:
        raise FileNotFoundError(
            f"stage {stage!r} of unit {unit} has not been materialized: "
            f"no {storage.uri(layout.manifest_key(unit, stage))}"
        )
    value = stage_registry.stage(manifest["stage"]).value_type.model_validate(manifest["value"])
    base = layout.files_prefix(unit, stage, manifest)
    expected = manifest.get("files", {})

    def read(name: str) -> bytes:
        data = storage.read_bytes(f"{base}/{name}")
        want = expected.get(name, {}).get("sha256")
        if want and hashlib.sha256(data).hexdigest() != want:
            raise StageIntegrityError(
                f"{storage.uri(base + '/' + name)} does not match the {stage} manifest of {unit} "
                f"(generation {manifest.get('generation', '-')}); re-materialize the stage"
            )
        return data

    value.attach_reader(read)
    value.attach_location(base, manifest.get("generation"))
    return value


def collect_generations(
    storage: Storage,
    unit: UnitKey,
    stage: str,
    keep: str,
    grace_hours: float = DEFAULT_GRACE_HOURS,
    now: datetime | None = None,
) -> list[str]:
    """Delete what the live generation ``keep`` superseded: files of the pre-generation layout at
    once, generations older than ``grace_hours`` unless an approval or the live selection refers to
    them. Each generation loses its manifest copy first, so a half-deleted one never looks complete.
    Returns the generations deleted."""
    now = now or datetime.now(timezone.utc)
    live_manifest = layout.manifest_key(unit, stage)
    by_generation: dict[str, list[str]] = {}
    for key in list(storage.list_keys(layout.stage_prefix(unit, stage))):
        generation = layout.generation_of(unit, stage, key)
        if generation is not None:
            by_generation.setdefault(generation, []).append(key)
        elif key != live_manifest:
            storage.delete(key)  # the layout before generations: superseded by the live manifest
    cutoff = now - timedelta(hours=grace_hours)
    old = [g for g in by_generation if g != keep and (generation_time(g) or now) <= cutoff]
    if not old:
        return []
    protected = _protected_generations(storage, unit, stage, old)
    deleted = []
    for generation in sorted(set(old) - protected):
        copy = layout.manifest_key(unit, stage, generation)
        for key in sorted(by_generation[generation], key=lambda k: k != copy):  # the manifest copy first
            storage.delete(key)
        deleted.append(generation)
    return deleted


def _protected_generations(storage: Storage, unit: UnitKey, stage: str, candidates: list[str]) -> set[str]:
    """Of ``candidates``, the generations an approval was made from (its lineage names the run that
    wrote them) and, for final creatives, the one the live selection ranks."""
    protected: set[str] = set()
    if stage == stage_registry.FINAL_CREATIVES:
        selected = read_manifest(storage, unit, "selected_creative")
        if selected and selected.get("value", {}).get("final_generation"):
            protected.add(selected["value"]["final_generation"])
    approved_runs = {e.lineage.get(stage) for e in unit_events(storage, unit) if e.action == "approve"}
    approved_runs.discard(None)
    approved_runs.discard("")
    if approved_runs:
        for generation in candidates:
            copy = read_manifest(storage, unit, stage, generation)
            if copy is None or copy.get("run_id") in approved_runs:
                protected.add(generation)  # no readable copy: not ours to judge, keep it
    return protected
