"""Stage 6: final creatives, every candidate at every ratio, with compliance asset checks."""

import dagster as dg

from creative_assets.assets.common import (
    contact_sheet,
    file_links,
    for_each_unit,
    stage_asset_kwargs,
    thumbnail,
    withdraw_approval,
)
from creative_assets.assets.compliance_checks import CHECK_SPECS, check_results
from creative_assets.assets.credentials_step import UnitSigning, credential_verdicts
from creative_assets.compliance import unit_verdicts
from creative_assets.stages import (
    BrandedCandidates,
    ImageCandidates,
    LocaleContextPack,
    LocalizedCopy,
    UnitBrief,
    encode_image,
)
from creative_assets.unit_work import candidate_file, final_creatives_value
from creative_assets.units import UnitKey
from resources.brand_kits import BrandKitLibrary
from resources.credentials import ContentCredentials
from resources.storage import CreativeStorage


@dg.asset(
    **stage_asset_kwargs("final_creatives", "7", {"pillow", "png", "c2pa"}),
    check_specs=CHECK_SPECS,
)
def final_creatives(
    context: dg.AssetExecutionContext,
    branded_candidates: dict[str, BrandedCandidates],
    localized_copy: dict[str, LocalizedCopy],
    locale_context_pack: dict[str, LocaleContextPack],
    unit_brief: dict[str, UnitBrief],
    image_candidates: dict[str, ImageCandidates],
    brand_kits: BrandKitLibrary,
    storage: CreativeStorage,
    credentials: ContentCredentials,
):
    """Exportable PNG creatives: copy fitted and shaped for the locale's script and direction, CTA
    button, legal line, and the template's first text treatment whose measured contrast reads;
    each judged by the compliance checks on its final pixels (results in the manifest and as per-unit asset checks); each signed
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

        value, outcomes = final_creatives_value(unit, branded, copy, pack, kit, hold, signing.seal_export)
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
                    f"{c.index + 1}@{r.ratio}": {"chosen": r.treatment, "measured": r.treatment_contrasts}
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
                "final_creatives",
                first.renders[brief.aspect_ratios[0]].file,
                "first_creative",
                value.generation,
            ),
            "preview": thumbnail(contact_sheet(previews, 200), 520),
        }

    yield dg.Output(for_each_unit(context, build))
    # Once the output is stored (its materializations recorded): one evaluation per unit and check,
    # recorded against the unit's partition even in batched runs. An ERROR verdict (no compliant
    # candidate) does not fail the step: the failure is contained to the unit, which
    # selected_creative records as blocked; the other units are selected in the same run. The
    # Content Credentials checks read every stored final back and verify it.
    credentials_by_unit = credential_verdicts(context, storage, status, signing_by_unit)
    yield from check_results(
        context, {key: {**verdicts_by_unit[key], **credentials_by_unit[key]} for key in verdicts_by_unit}
    )
