"""Campaign rollup: one row per unit, read from the units' manifests (not through the IO manager)."""

import dagster as dg
import pandas as pd

from creative_assets.assets.common import GROUP
from creative_assets.assets.selection import selected_creative
from creative_assets.brief_store import require_brief
from creative_assets.partitions import campaigns
from creative_assets.stages import SelectedCreative
from resources.io_manager import read_stage, stage_prefix
from resources.storage import CreativeStorage


def summarise_campaign(storage: CreativeStorage, campaign_id: str) -> pd.DataFrame:
    """A row per unit of the live brief: status, selected candidate, score and output locations."""
    record = require_brief(storage, campaign_id)
    rows = []
    for unit in record.unit_keys():
        row = {"unit": str(unit), "locale": unit.locale, "product": unit.product_id}
        try:
            selected = read_stage(storage, unit, "selected")
        except FileNotFoundError:
            rows.append({**row, "status": "missing"})
            continue
        assert isinstance(selected, SelectedCreative)
        best = selected.ranking[0]
        row.update(
            status="selected",
            selected_candidate=selected.best + 1,
            score=best.score,
            alternates=len(selected.ranking) - 1,
        )
        for ratio, name in selected.files.items():
            row[f"selected_{ratio}"] = storage.uri(f"{stage_prefix(unit, 'selected')}/{name}")
        rows.append(row)
    return pd.DataFrame(rows)


@dg.asset(
    partitions_def=campaigns,
    deps=[dg.AssetDep(selected_creative, partition_mapping=dg.AllPartitionMapping())],
    group_name=GROUP,
    code_version="1",
    kinds={"pandas", "csv"},
)
def campaign_summary(context: dg.AssetExecutionContext, storage: CreativeStorage) -> dg.MaterializeResult:
    """Every unit of the campaign's live brief with its status, selected candidate, score and output
    locations; written as summary.csv and summary.json next to the creatives."""
    campaign_id = context.partition_key
    table = summarise_campaign(storage, campaign_id)
    csv_key = f"campaigns/{campaign_id}/summary.csv"
    storage.write_text(csv_key, table.to_csv(index=False))
    storage.write_text(f"campaigns/{campaign_id}/summary.json", table.to_json(orient="records", indent=2))
    done = int((table["status"] == "selected").sum()) if "status" in table else 0
    return dg.MaterializeResult(
        metadata={
            "units": len(table),
            "units_selected": done,
            "units_missing": len(table) - done,
            "summary_csv": dg.MetadataValue.path(storage.uri(csv_key)),
            "summary": dg.MetadataValue.md(
                table.drop(columns=[c for c in table.columns if c.startswith("selected_")]).to_markdown(
                    index=False
                )
            ),
        }
    )
