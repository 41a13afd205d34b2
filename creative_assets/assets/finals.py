"""Stage 6: final creatives, every candidate at every ratio, with compliance asset checks."""

import dagster as dg

from creative_assets.assets.common import (
    contact_sheet,
    file_links,
    for_each_unit,
    stage_asset_kwargs,
    thumbnail,
)
from creative_assets.checks import BLOCKING_CHECKS, DESCRIPTIONS, unit_verdicts
from creative_assets.compliance import CHECKS
from creative_assets.partitions import UnitKey, creative_units
from creative_assets.stages import BrandedCandidates, ContextPack, LocalizedCopy, UnitBrief, encode_image
from creative_assets.unit_work import candidate_file, final_creatives_value
from resources.brand_kits import BrandKitLibrary
from resources.storage import CreativeStorage

COMPLIANCE_CHECKS = [
    dg.AssetCheckSpec(
        name,
        asset="final_creatives",
        partitions_def=creative_units,
        blocking=name in BLOCKING_CHECKS,
        description=DESCRIPTIONS[name],
    )
    for name in CHECKS
]


@dg.asset(**stage_asset_kwargs("final", "3", {"pillow", "png"}), check_specs=COMPLIANCE_CHECKS)
def final_creatives(
    context: dg.AssetExecutionContext,
    branded_candidates: dict[str, BrandedCandidates],
    localized_copy: dict[str, LocalizedCopy],
    locale_context_pack: dict[str, ContextPack],
    unit_brief: dict[str, UnitBrief],
    brand_kits: BrandKitLibrary,
    storage: CreativeStorage,
):
    """Exportable PNG creatives: copy fitted and shaped for the locale's script and direction, CTA
    button, legal line, scrim or panel only where contrast needs it; each judged by the compliance
    checks on its final pixels (results in the manifest and as per-unit asset checks)."""
    verdicts_by_unit = {}

    def build(unit: UnitKey):
        key = str(unit)
        # popped: the unit's decoded branded pixels are freed once it is done (batched steps)
        brief, branded, copy = unit_brief[key], branded_candidates.pop(key), localized_copy[key]
        pack = locale_context_pack[key]
        kit = brand_kits.load(brief.brand)
        # the first candidate's ratios make the preview
        preview_names = {candidate_file(r, branded.candidates[0].index, "png") for r in brief.aspect_ratios}
        previews = []

        def hold(name: str, image):
            if name in preview_names:
                previews.append(image)
            return encode_image(image, name)  # kilobytes per image held in a batched step

        value, outcomes = final_creatives_value(unit, branded, copy, pack, kit, hold)
        verdicts_by_unit[key] = unit_verdicts(outcomes)
        reports = [r for c in value.candidates for r in c.renders.values()]
        text_blocks = [b for r in reports for b in r.blocks]
        first = value.candidates[0]
        return value, {
            "creatives": len(reports),
            "ratios": ", ".join(brief.aspect_ratios),
            "all_text_fits": all(b.fits for b in text_blocks),
            "min_text_contrast": min(b.contrast for b in text_blocks),
            "compliance": dg.MetadataValue.json(
                {name: ("pass" if v.passed else v.severity) for name, v in verdicts_by_unit[key].items()}
            ),
            "treatments": dg.MetadataValue.json(
                {
                    f"{c.index + 1}@{r.ratio}": r.treatment
                    for c in value.candidates
                    for r in c.renders.values()
                }
            ),
            "headline_sizes_px": dg.MetadataValue.json(
                {
                    r.ratio: next(b.size for b in r.blocks if b.role == "headline")
                    for r in first.renders.values()
                }
            ),
            **file_links(
                storage,
                unit,
                "final",
                first.renders[brief.aspect_ratios[0]].file,
                "first_creative",
                value.generation,
            ),
            "preview": thumbnail(contact_sheet(previews, 200), 520),
        }

    yield dg.Output(for_each_unit(context, build))
    # One evaluation per unit and check, recorded against the unit's partition even in batched runs.
    # A blocking check with an ERROR verdict fails this step after the output is stored, so
    # selected_creative does not run on creatives that cannot be delivered.
    selected = {key.name for key in context.selected_asset_check_keys}
    for partition_key, verdicts in verdicts_by_unit.items():
        for name, verdict in verdicts.items():
            if name not in selected:
                continue
            yield dg.AssetCheckEvaluation(
                asset_key=context.asset_key,
                check_name=name,
                passed=verdict.passed,
                severity=dg.AssetCheckSeverity.ERROR
                if verdict.severity == "ERROR"
                else dg.AssetCheckSeverity.WARN,
                description=verdict.description,
                metadata={
                    "figures": dg.MetadataValue.json(verdict.figures),
                    "findings": dg.MetadataValue.json(verdict.failing[:50]),
                    "findings_count": len(verdict.failing),
                },
                partition=partition_key,
                blocking=name in BLOCKING_CHECKS,
            )
    for spec in COMPLIANCE_CHECKS:  # the step's check outputs (the evaluations above carry the results)
        if spec.name in selected:
            yield dg.Output(None, output_name=spec.get_python_identifier())
