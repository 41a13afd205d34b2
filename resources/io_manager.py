"""The IO manager: each stage of each unit becomes real files a person or another tool can open.

Layout (under the storage root, identical on local disk and in S3)::

    campaigns/<campaign>/<locale>/<product>/<stage>/manifest.json
    campaigns/<campaign>/<locale>/<product>/<stage>/<ratio>/candidate-<n>.<png|jpg>

Images are written first and ``manifest.json`` last, each write atomic, so a stage folder with a
manifest is complete; files a previous materialization left behind are removed after the manifest.
Assets return ``{partition_key: StageValue}`` so one step can materialize many units (batched runs).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import dagster as dg

from creative_assets.partitions import UnitKey
from creative_assets.stages import STAGE_TYPES, StageValue
from resources.storage import CreativeStorage

MANIFEST = "manifest.json"


def stage_prefix(unit: UnitKey, stage: str) -> str:
    return f"{unit.storage_prefix}/{stage}"


def write_stage(storage: CreativeStorage, unit: UnitKey, value: StageValue) -> dict[str, str]:
    """Write a stage value; return {file name: storage key} including the manifest."""
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
            write_stage(self.storage, UnitKey.parse(partition_key), obj[partition_key])

    def load_input(self, context: dg.InputContext) -> dict[str, StageValue]:
        stage = context.upstream_output.definition_metadata.get("stage") if context.upstream_output else None
        if not stage:
            raise ValueError(f"asset {context.asset_key.to_user_string()} declares no 'stage' metadata")
        return {pk: read_stage(self.storage, UnitKey.parse(pk), stage) for pk in context.asset_partition_keys}
