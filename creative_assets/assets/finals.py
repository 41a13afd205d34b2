"""Stage 6: final creatives, every candidate at every ratio."""

import dagster as dg

from creative_assets.assets.common import (
    contact_sheet,
    file_links,
    for_each_unit,
    stage_asset_kwargs,
    thumbnail,
)
from creative_assets.partitions import UnitKey
from creative_assets.render.finals import LocaleText, render_final
from creative_assets.stages import (
    BrandedCandidates,
    FinalCandidate,
    FinalCreatives,
    LocalizedCopy,
    UnitBrief,
    ratio_dir,
)
from resources.brand_kits import BrandKitLibrary
from resources.storage import CreativeStorage


@dg.asset(**stage_asset_kwargs("final", "1", {"pillow", "png"}))
def final_creatives(
    context: dg.AssetExecutionContext,
    branded_candidates: dict[str, BrandedCandidates],
    localized_copy: dict[str, LocalizedCopy],
    unit_brief: dict[str, UnitBrief],
    brand_kits: BrandKitLibrary,
    storage: CreativeStorage,
) -> dict[str, FinalCreatives]:
    """Exportable PNG creatives: copy fitted and shaped for the locale's script and direction, CTA
    button, legal line, scrim or panel only where contrast needs it; with a render report per file."""

    def build(unit: UnitKey):
        key = str(unit)
        brief, branded, copy = unit_brief[key], branded_candidates[key], localized_copy[key]
        kit = brand_kits.load(brief.brand)
        loc = LocaleText(copy.language_code, copy.direction, copy.script, copy.line_breaking)
        variants = {v.candidate: v for v in copy.variants}
        value = FinalCreatives(locale=unit.locale, candidates=[])
        for cand in branded.candidates:
            renders = {}
            for ratio, render in cand.renders.items():
                image, report = render_final(
                    branded.image(render.file),
                    render.layout,
                    variants[cand.index],
                    kit,
                    loc,
                    render.logo,
                    render.product_bbox,
                )
                name = f"{ratio_dir(ratio)}/candidate-{cand.index + 1}.png"
                value.put_image(name, image)
                renders[ratio] = report.model_copy(update={"file": name})
            value.candidates.append(
                FinalCandidate(index=cand.index, seed=cand.seed, style=cand.style, renders=renders)
            )
        reports = [r for c in value.candidates for r in c.renders.values()]
        text_blocks = [b for r in reports for b in r.blocks]
        first = value.candidates[0]
        return value, {
            "creatives": len(reports),
            "ratios": ", ".join(brief.aspect_ratios),
            "all_text_fits": all(b.fits for b in text_blocks),
            "min_text_contrast": min(b.contrast for b in text_blocks),
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
                storage, unit, "final", first.renders[brief.aspect_ratios[0]].file, "first_creative"
            ),
            "preview": thumbnail(
                contact_sheet([value.image(r.file) for r in first.renders.values()], 200), 520
            ),
        }

    return for_each_unit(context, build)
