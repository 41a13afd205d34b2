"""The IO manager: each stage of each unit becomes real files a person or another tool can open.

Layout (under the storage root, identical on local disk and in S3)::

    campaigns/<campaign>/<locale>/<product>/<stage>/manifest.json
    campaigns/<campaign>/<locale>/<product>/<stage>/<ratio>/candidate-<n>.<png|jpg>

Images are written first and ``manifest.json`` last, each write atomic, so a stage folder with a
manifest is complete; files a previous materialization left behind are removed after the manifest.
Assets return ``{partition_key: StageValue}`` so one step can materialize many units (batched runs).

A unit whose creative was approved and published (creative_assets/review/delivery.py) loses that
approval as soon as any of its stages is written again: the delivery is withdrawn, never carried
over to different pixels.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import dagster as dg

from creative_assets.partitions import UnitKey
from creative_assets.review.delivery import withdraw
from creative_assets.stages import STAGE_TYPES, StageValue
from resources.storage import CreativeStorage

MANIFEST = "manifest.json"


def stage_prefix(unit: UnitKey, stage: str) -> str:
    return f"{unit.storage_prefix}/{stage}"


def write_stage(
    storage: CreativeStorage, unit: UnitKey, value: StageValue, provenance: dict[str, str] | None = None
) -> dict[str, str]:
    """Write a stage value; return {file name: storage key} including the manifest. ``provenance``
    (run id, code version) is recorded in the manifest: review decisions cite it as lineage and the
    nightly schedule compares code versions with it."""
    prefix = stage_prefix(unit, value.STAGE)
    files: dict[str, dict] = {}
    keys: dict[str, str] = {}
    for name, data in value.encoded_files().items():
        key = f"{prefix}/{name}"
        storage.write_bytes(key, data)
        files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        keys[name] = key
    manifest = {
        "stage": value.STAGE,
        "unit": str(unit),
        "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **(provenance or {}),
        "files": files,
        "value": value.model_dump(mode="json"),
    }
    keys[MANIFEST] = f"{prefix}/{MANIFEST}"
    storage.write_text(keys[MANIFEST], json.dumps(manifest, ensure_ascii=False, indent=2))
    wanted = set(keys.values())
    for key in list(storage.list_keys(prefix)):
        if key not in wanted:
            storage.delete(key)
    return keys


def read_stage(storage: CreativeStorage, unit: UnitKey, stage: str) -> StageValue:
    prefix = stage_prefix(unit, stage)
    try:
        manifest = json.loads(storage.read_text(f"{prefix}/{MANIFEST}"))
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"stage {stage!r} of unit {unit} has not been materialized: no {storage.uri(prefix + '/' + MANIFEST)}"
        ) from exc
    value = STAGE_TYPES[manifest["stage"]].model_validate(manifest["value"])
    value.attach_reader(lambda name: storage.read_bytes(f"{prefix}/{name}"))
    return value


class CreativeIOManager(dg.ConfigurableIOManager):
    """Stores stage values as PNG/JPEG files plus a JSON manifest through the ``storage`` resource."""

    storage: CreativeStorage

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
