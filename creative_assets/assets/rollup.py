"""Campaign rollup: one row per unit, read from the units' manifests (not through the IO manager)."""

import dagster as dg
import pandas as pd

from creative_assets import layout
from creative_assets.assets.common import GROUP
from creative_assets.assets.selected_creative import selected_creative
from creative_assets.brief_store import require_brief, unit_fingerprint
from creative_assets.partitions import campaigns
from creative_assets.stage_registry import STAGES
from creative_assets.stage_store import read_manifest, read_stage
from creative_assets.stages import SelectedCreative
from resources.storage import CreativeStorage


def unit_api_usage(storage: CreativeStorage, unit) -> dict[str, float]:
    """Provider spend of a unit's latest materializations (context, images, copy): the estimated
    cost and the answers paid for, retried ones included (resources/openai_providers.py)."""
    cost, answers = 0.0, 0
    for stage in (s.name for s in STAGES if s.provider):
        manifest = read_manifest(storage, unit, stage)
        if manifest is None:
            continue
        for call in manifest["value"].get("calls", []):
            if not call.get("cached"):
                cost += call.get("cost_usd", 0.0)
                answers += call.get("answers_paid", 1)
    return {"api_cost_usd_estimate": round(cost, 4), "api_answers_paid": answers}


def unit_api_cost(storage: CreativeStorage, unit) -> float:
    """Estimated provider spend of a unit's latest materializations (context, images, copy)."""
    return unit_api_usage(storage, unit)["api_cost_usd_estimate"]


def selection_status(storage: CreativeStorage, record, unit, selected: SelectedCreative) -> tuple[str, str]:
    """``selected`` when the unit's selection was made from the live brief and the live finals,
    else ``outdated`` with the reason (a newer brief version or newer finals are not selected yet:
    a run is pending, running or failed)."""
    brief = read_manifest(storage, unit, "unit_brief")
    if brief is None or brief["value"].get("input_fingerprint") != unit_fingerprint(record, unit):
        made = brief["value"].get("brief_version") if brief else "?"
        return "outdated", f"made from brief v{made}, live is v{record.version}"
    final = read_manifest(storage, unit, "final_creatives")
    if selected.final_generation and final and final.get("generation") != selected.final_generation:
        return "outdated", "the final creatives were re-made after this selection"
    selected_manifest = read_manifest(storage, unit, "selected_creative") or {}
    if selected_manifest.get("written_at", "") < brief.get("written_at", ""):
        return "outdated", "the unit brief was re-made after this selection"
    return "selected", ""


def summarise_campaign(storage: CreativeStorage, campaign_id: str) -> pd.DataFrame:
    """A row per unit of the live brief: status, selected candidate, score and output locations.
    Only a selection made from the live brief and the live finals counts as ``selected``."""
    record = require_brief(storage, campaign_id)
    rows = []
    for unit in record.unit_keys():
        row = {"unit": str(unit), "locale": unit.locale, "product": unit.product_id}
        try:
            selected = read_stage(storage, unit, "selected_creative")
        except FileNotFoundError:
            rows.append({**row, "status": "missing"})
            continue
        assert isinstance(selected, SelectedCreative)
        best = selected.ranking[0]
        if selected.status == "blocked":
            rows.append(
                {
                    **row,
                    "status": "blocked",
                    "blocked_reason": selected.blocked_reason,
                    "rerun": f"creative-assets rerun {unit}",
                    **unit_api_usage(storage, unit),
                }
            )
            continue
        status, why = selection_status(storage, record, unit, selected)
        row.update(
            status=status,
            status_detail=why,
            selected_candidate=selected.best + 1,
            score=best.score,
            alternates=len(selected.ranking) - 1,
        )
        row.update(unit_api_usage(storage, unit))
        for ratio, name in selected.files.items():
            row[f"selected_{ratio}"] = storage.uri(selected.file_key(name))
        # the selected candidate's videos (motion_creatives), beside its stills under selected_creative/motion/
        row["videos"] = " ".join(storage.uri(selected.file_key(m.file)) for m in selected.motion)
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
    """Every unit of the campaign's live brief with its status (selected, blocked, missing), selected
    candidate, score and output locations; a blocked unit carries its reason and the command that
    re-runs it alone. Written as summary.csv and summary.json next to the creatives."""
    campaign_id = context.partition_key
    table = summarise_campaign(storage, campaign_id)
    csv_key = layout.campaign_file(campaign_id, "summary.csv")
    storage.write_text(csv_key, table.to_csv(index=False))
    storage.write_text(
        layout.campaign_file(campaign_id, "summary.json"), table.to_json(orient="records", indent=2)
    )
    done = int((table["status"] == "selected").sum()) if "status" in table else 0
    blocked = sorted(table.loc[table["status"] == "blocked", "unit"]) if "status" in table else []
    if blocked:
        context.log.error(f"{len(blocked)} unit(s) blocked (no compliant candidate): {', '.join(blocked)}")
    return dg.MaterializeResult(
        metadata={
            "units": len(table),
            "units_selected": done,
            "units_blocked": len(blocked),
            "blocked_units": dg.MetadataValue.json(blocked),
            "units_missing": len(table) - done - len(blocked),
            "api_cost_usd_estimate": round(float(table["api_cost_usd_estimate"].sum()), 4)
            if "api_cost_usd_estimate" in table
            else 0.0,
            "api_answers_paid": int(table["api_answers_paid"].sum()) if "api_answers_paid" in table else 0,
            "summary_csv": dg.MetadataValue.path(storage.uri(csv_key)),
            "summary": dg.MetadataValue.md(
                table.drop(columns=[c for c in table.columns if c.startswith("selected_")]).to_markdown(
                    index=False
                )
            ),
        }
    )


def compliance_table(storage: CreativeStorage, campaign_id: str) -> pd.DataFrame:
    """One row per unit and candidate: every check's worst result over the ratios, key figures, score."""
    from creative_assets.compliance import CHECKS

    record = require_brief(storage, campaign_id)
    rows = []
    for unit in record.unit_keys():
        try:
            finals = read_stage(storage, unit, "final_creatives")
        except FileNotFoundError:
            continue
        try:
            selected = read_stage(storage, unit, "selected_creative")
            ranking = {s.index: s for s in selected.ranking}
            best = selected.best
        except FileNotFoundError:
            ranking, best = {}, None
        for cand in finals.candidates:
            row = {
                "unit": str(unit),
                "locale": unit.locale,
                "product": unit.product_id,
                "candidate": cand.index + 1,
            }
            scored = ranking.get(cand.index)
            row.update(
                rank=scored.rank if scored else None,
                score=scored.score if scored else None,
                selected=cand.index == best,
            )
            findings = []
            for check in CHECKS:
                worst = "pass"
                for ratio, report in cand.renders.items():
                    outcome = report.compliance_by_check().get(check)
                    if outcome is None:
                        worst = "not run"
                        continue
                    if not outcome["passed"]:
                        worst = "ERROR" if outcome["severity"] == "ERROR" or worst == "ERROR" else "WARN"
                        findings += [f"{ratio} {f['message']}" for f in outcome["findings"]]
                row[check] = worst
            contrasts = [b.contrast for r in cand.renders.values() for b in r.blocks]
            row["min_text_contrast"] = min(contrasts) if contrasts else None
            row["findings"] = " | ".join(findings)
            rows.append(row)
    return pd.DataFrame(rows)


@dg.asset(
    partitions_def=campaigns,
    deps=[
        dg.AssetDep("final_creatives", partition_mapping=dg.AllPartitionMapping()),
        dg.AssetDep(selected_creative, partition_mapping=dg.AllPartitionMapping()),
    ],
    group_name=GROUP,
    code_version="1",
    kinds={"pandas", "csv"},
)
def campaign_compliance_report(
    context: dg.AssetExecutionContext, storage: CreativeStorage
) -> dg.MaterializeResult:
    """Every unit and candidate of the campaign with each compliance check's result (worst over the
    ratios), the measured text contrast, score, rank and the findings; written as compliance.csv."""
    campaign_id = context.partition_key
    table = compliance_table(storage, campaign_id)
    key = layout.campaign_file(campaign_id, "compliance.csv")
    storage.write_text(key, table.to_csv(index=False))
    from creative_assets.compliance import CHECKS

    failing = {c: int((table[c] != "pass").sum()) for c in CHECKS if c in table} if not table.empty else {}
    shown = table.drop(columns=["findings"]) if "findings" in table else table
    return dg.MaterializeResult(
        metadata={
            "rows": len(table),
            "candidates_with_errors": int((table[list(failing)] == "ERROR").any(axis=1).sum())
            if failing
            else 0,
            "failing_by_check": dg.MetadataValue.json(failing),
            "compliance_csv": dg.MetadataValue.path(storage.uri(key)),
            "report": dg.MetadataValue.md(
                shown.head(300).to_markdown(index=False) if not shown.empty else "(empty)"
            ),
        }
    )
