"""The IO manager: stores and loads stage values, nothing else.

Each asset returns ``{partition_key: StageValue}`` (one step can materialize many units: batched
runs); every value is written through ``stage_store.write_stage`` (new immutable generation, live
manifest switched last; layout in creative_assets/layout.py) and read back through
``stage_store.read_stage``. Business policy (withdrawing approvals when a unit's creatives are
regenerated) lives in the assets layer, not here.
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from creative_assets import stage_registry
from creative_assets.stage_store import DEFAULT_GRACE_HOURS, read_stage, write_stage
from creative_assets.stages import StageValue
from creative_assets.units import UnitKey
from resources.storage import CreativeStorage


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
        provenance = {"run_id": context.run_id, "code_version": context.asset_spec.code_version or ""}
        for partition_key in context.asset_partition_keys:
            if partition_key not in obj:
                raise KeyError(f"{context.asset_key.to_user_string()} produced no value for {partition_key}")
            write_stage(
                self.storage,
                UnitKey.parse(partition_key),
                obj[partition_key],
                provenance,
                grace_hours=self.generation_grace_hours,
            )

    def load_input(self, context: dg.InputContext) -> dict[str, StageValue]:
        # the upstream asset's name is its stage's storage folder (stage_registry: one name per stage)
        stage = stage_registry.stage(context.asset_key.path[-1]).name
        return {pk: read_stage(self.storage, UnitKey.parse(pk), stage) for pk in context.asset_partition_keys}
