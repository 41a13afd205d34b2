"""The IO manager: each stage of each unit becomes real files a person or another tool can open.

Layout (under the storage root, identical on local disk and in S3)::

    campaigns/<campaign>/<locale>/<product>/<stage>/manifest.json                 the live generation
    campaigns/<campaign>/<locale>/<product>/<stage>/gen/<generation>/manifest.json  a copy, kept with
    campaigns/<campaign>/<locale>/<product>/<stage>/gen/<generation>/<ratio>/candidate-<n>.<png|jpg>

**A stage write is atomic as a whole** (docs/ARCHITECTURE.md "Crash-safety contract"), on local
disk and on S3 alike, without renames: every materialization writes its files into a new, immutable
generation folder (``gen/<UTC time>-<random>``), then that generation's manifest, and switches the
stage's ``manifest.json`` (one atomic write: a single PUT on S3) to it last. A process that dies
earlier leaves the previous manifest pointing at the previous, untouched files; readers resolve
every file through the manifest's generation and check its SHA-256, so they never combine two
generations. Superseded generations are deleted after ``generation_grace_hours`` (readers that
started on them finish), except generations an approval was made from and the final generation the
live selection was made from. Stages without files (brief, context, copy) are only the manifest.
Manifests written before generations existed (no ``generation`` field) are still read, their files
directly under the stage folder; the next write replaces them.

Assets return ``{partition_key: StageValue}`` so one step can materialize many units (batched runs).

A unit whose creative was approved and published (creative_assets/review/delivery.py) loses that
approval as soon as any of its stages is written again: the delivery is withdrawn, never carried
over to different pixels.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import dagster as dg
from pydantic import Field

from creative_assets.partitions import UnitKey
from creative_assets.review.decisions import unit_events
from creative_assets.review.delivery import withdraw
from creative_assets.stages import STAGE_TYPES, StageValue, generation_time
from resources.storage import CreativeStorage

MANIFEST = "manifest.json"
GENERATIONS = "gen"
#: superseded generations are kept this long for readers that started on them
DEFAULT_GRACE_HOURS = 24.0


class StageIntegrityError(RuntimeError):
    """A stage file does not match its manifest (damaged or tampered storage)."""


def stage_prefix(unit: UnitKey, stage: str) -> str:
    return f"{unit.storage_prefix}/{stage}"


def generation_prefix(unit: UnitKey, stage: str, generation: str) -> str:
    return f"{stage_prefix(unit, stage)}/{GENERATIONS}/{generation}"


def files_prefix(unit: UnitKey, stage: str, manifest: dict) -> str:
    """Where the files of the generation ``manifest`` describes are (legacy: the stage folder)."""
    generation = manifest.get("generation")
    return generation_prefix(unit, stage, generation) if generation else stage_prefix(unit, stage)


def read_manifest(
    storage: CreativeStorage, unit: UnitKey, stage: str, generation: str | None = None
) -> dict | None:
    """The live manifest of a stage (or the kept copy of one ``generation``); None if there is none."""
    base = generation_prefix(unit, stage, generation) if generation else stage_prefix(unit, stage)
    try:
        return json.loads(storage.read_text(f"{base}/{MANIFEST}"))
    except FileNotFoundError:
        return None


def write_stage(
    storage: CreativeStorage,
    unit: UnitKey,
    value: StageValue,
    provenance: dict[str, str] | None = None,
    grace_hours: float = DEFAULT_GRACE_HOURS,
) -> dict[str, str]:
    """Write a stage value as a new generation and make it live; return {file name: storage key}
    including the manifest. ``provenance`` (run id, code version) is recorded in the manifest:
    review decisions cite it as lineage and the nightly schedule compares code versions with it."""
    prefix = stage_prefix(unit, value.STAGE)
    # a value read back from storage is written as a new generation, never into its old one
    generation = value.generation if value.stored_generation is None else value.renew_generation()
    gen_prefix = generation_prefix(unit, value.STAGE, generation)
    files: dict[str, dict] = {}
    keys: dict[str, str] = {}
    for name, data in value.encoded_files().items():
        key = f"{gen_prefix}/{name}"
        storage.write_bytes(key, data)
        files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        keys[name] = key
    manifest = {
        "stage": value.STAGE,
        "unit": str(unit),
        "generation": generation,
        "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **(provenance or {}),
        "files": files,
        "value": value.model_dump(mode="json"),
    }
    body = json.dumps(manifest, ensure_ascii=False, indent=2)
    if files:  # the generation describes itself (garbage collection and lineage read it)
        storage.write_text(f"{gen_prefix}/{MANIFEST}", body)
    keys[MANIFEST] = f"{prefix}/{MANIFEST}"
    storage.write_text(keys[MANIFEST], body)  # the switch: from here on readers see this generation
    collect_generations(storage, unit, value.STAGE, keep=generation, grace_hours=grace_hours)
    return keys


def read_stage(storage: CreativeStorage, unit: UnitKey, stage: str) -> StageValue:
    prefix = stage_prefix(unit, stage)
    manifest = read_manifest(storage, unit, stage)
    if manifest is None:
        raise FileNotFoundError(
            f"stage {stage!r} of unit {unit} has not been materialized: no {storage.uri(prefix + '/' + MANIFEST)}"
        )
    value = STAGE_TYPES[manifest["stage"]].model_validate(manifest["value"])
    base = files_prefix(unit, stage, manifest)
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
    storage: CreativeStorage,
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
    prefix = stage_prefix(unit, stage)
    now = now or datetime.now(timezone.utc)
    gen_root = f"{prefix}/{GENERATIONS}/"
    by_generation: dict[str, list[str]] = {}
    for key in list(storage.list_keys(prefix)):
        if key.startswith(gen_root):
            by_generation.setdefault(key[len(gen_root) :].split("/", 1)[0], []).append(key)
        elif key != f"{prefix}/{MANIFEST}":
            storage.delete(key)  # the layout before generations: superseded by the live manifest
    cutoff = now - timedelta(hours=grace_hours)
    old = [g for g in by_generation if g != keep and (generation_time(g) or now) <= cutoff]
    if not old:
        return []
    protected = _protected_generations(storage, unit, stage, old)
    deleted = []
    for generation in sorted(set(old) - protected):
        keys = by_generation[generation]
        manifest_key = f"{gen_root}{generation}/{MANIFEST}"
        for key in sorted(keys, key=lambda k: k != manifest_key):  # the manifest copy first
            storage.delete(key)
        deleted.append(generation)
    return deleted


def _protected_generations(
    storage: CreativeStorage, unit: UnitKey, stage: str, candidates: list[str]
) -> set[str]:
    """Of ``candidates``, the generations an approval was made from (its lineage names the run that
    wrote them) and, for final creatives, the one the live selection ranks."""
    protected: set[str] = set()
    if stage == "final":
        selected = read_manifest(storage, unit, "selected")
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


class CreativeIOManager(dg.ConfigurableIOManager):
    """Stores stage values as PNG/JPEG files plus a JSON manifest through the ``storage`` resource."""

    storage: CreativeStorage
    generation_grace_hours: float = Field(
        DEFAULT_GRACE_HOURS,
        ge=0,
        description="Superseded stage generations are deleted after this long (approved ones are kept).",
    )

    def handle_output(self, context: dg.OutputContext, obj: dict[str, StageValue]) -> None:
        if obj is None:
            return
        if not isinstance(obj, dict):
            raise TypeError(f"{context.asset_key.to_user_string()} must return {{partition_key: StageValue}}")
        for partition_key in context.asset_partition_keys:
            if partition_key not in obj:
                raise KeyError(f"{context.asset_key.to_user_string()} produced no value for {partition_key}")
            unit = UnitKey.parse(partition_key)
            code_version = context.asset_spec.code_version or ""
            write_stage(
                self.storage,
                unit,
                obj[partition_key],
                {"run_id": context.run_id, "code_version": code_version},
                grace_hours=self.generation_grace_hours,
            )
            # an approval covers exact pixels: new outputs for the unit take its delivery down
            withdrawal = withdraw(
                self.storage,
                unit,
                f"{context.asset_key.to_user_string()} re-materialized in run {context.run_id}",
            )
            if withdrawal is not None:
                context.log.warning(
                    f"{unit}: approval {withdrawal.withdraws} withdrawn; the unit needs review again"
                )

    def load_input(self, context: dg.InputContext) -> dict[str, StageValue]:
        stage = context.upstream_output.definition_metadata.get("stage") if context.upstream_output else None
        if not stage:
            raise ValueError(f"asset {context.asset_key.to_user_string()} declares no 'stage' metadata")
        return {pk: read_stage(self.storage, UnitKey.parse(pk), stage) for pk in context.asset_partition_keys}
