"""Stage 6: final creatives, every candidate at every ratio, with compliance asset checks."""

import dagster as dg

from creative_assets.assets.common import (
    check_evaluation,
    contact_sheet,
    file_links,
    for_each_unit,
    stage_asset_kwargs,
    thumbnail,
    withdraw_approval,
)
from creative_assets.assets.credentials_step import CREDENTIAL_CHECKS, UnitSigning, credential_evaluations
from creative_assets.checks import BLOCKING_CHECKS, DESCRIPTIONS, unit_verdicts
from creative_assets.compliance import CHECKS
from creative_assets.partitions import creative_units
from creative_assets.stages import (
    BrandedCandidates,
    ContextPack,
    ImageCandidates,
    LocalizedCopy,
    UnitBrief,
    encode_image,
)
from creative_assets.unit_work import candidate_file, final_creatives_value
from creative_assets.units import UnitKey
from resources.brand_kits import BrandKitLibrary
from resources.credentials import ContentCredentials
from resources.storage import CreativeStorage

COMPLIANCE_CHECKS = [
    dg.AssetCheckSpec(
        name,
        asset="final_creatives",
        partitions_def=creative_units,
        # Not Dagster-blocking: a blocking check fails the whole batched step (up to 24 units) for
        # one doomed unit. The checks in BLOCKING_CHECKS block *that unit's* selection instead:
        # selected_creative records it as blocked and selects every other unit (README "Checks").
        blocking=False,
        description=DESCRIPTIONS[name] + (" Blocks the unit's selection." if name in BLOCKING_CHECKS else ""),
    )
    for name in CHECKS
]


@dg.asset(
    **stage_asset_kwargs("final", "4", {"pillow", "png", "c2pa"}),
    check_specs=COMPLIANCE_CHECKS + CREDENTIAL_CHECKS,
)
def final_creatives(
    context: dg.AssetExecutionContext,
    branded_candidates: dict[str, BrandedCandidates],
    localized_copy: dict[str, LocalizedCopy],
    locale_context_pack: dict[str, ContextPack],
    unit_brief: dict[str, UnitBrief],
    image_candidates: dict[str, ImageCandidates],
    brand_kits: BrandKitLibrary,
    storage: CreativeStorage,
    credentials: ContentCredentials,
):
    """Exportable PNG creatives: copy fitted and shaped for the locale's script and direction, CTA
    button, legal line, scrim or panel only where contrast needs it; each judged by the compliance
    checks on its final pixels (results in the manifest and as per-unit asset checks); each signed
    with a C2PA Content Credential as it is encoded, and verified once stored."""
    verdicts_by_unit = {}
    status = credentials.status()  # the signer, once per step
    signing_by_unit: dict[str, UnitSigning] = {}

    def build(unit: UnitKey):
        key = str(unit)
        withdraw_approval(context, storage, unit)
        # popped: the unit's decoded branded pixels are freed once it is done (batched steps)
        brief, branded, copy = unit_brief[key], branded_candidates.pop(key), localized_copy[key]
        pack = locale_context_pack[key]
        kit = brand_kits.load(brief.brand)
        raw = image_candidates.pop(key)
        signing = signing_by_unit[key] = UnitSigning(
            unit, brief, raw, branded, pack, kit, storage, status, context.run.run_id
        )
        copy = signing.copy(copy)  # the market's visible AI label in the legal line, where required
        # the first candidate's ratios make the preview
        preview_names = {candidate_file(r, branded.candidates[0].index, "png") for r in brief.aspect_ratios}
        previews = []

        def hold(name: str, image):
            if name in preview_names:
                previews.append(image)
            return signing.seal(name, encode_image(image, name))  # kilobytes per image held

        value, outcomes = final_creatives_value(unit, branded, copy, pack, kit, hold)
        signing.finish(value)
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
            "content_credentials": signing.describe(),
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
    # An ERROR verdict (no compliant candidate) does not fail the step: the failure is contained to the
    # unit, which selected_creative records as blocked; the other units are selected in the same run.
    selected = {key.name for key in context.selected_asset_check_keys}
    for partition_key, verdicts in verdicts_by_unit.items():
        for name, verdict in verdicts.items():
            if name not in selected:
                continue
            yield check_evaluation(context, name, verdict, partition_key)
    # Content Credentials: every stored final read back and verified (contained per unit, like
    # compliance: selected_creative never selects a file whose credential is blocked)
    yield from credential_evaluations(context, storage, status, signing_by_unit)
    for spec in (
        COMPLIANCE_CHECKS + CREDENTIAL_CHECKS
    ):  # the step's check outputs (the evaluations above carry the results)
        if spec.name in selected:
            yield dg.Output(None, output_name=spec.get_python_identifier())
