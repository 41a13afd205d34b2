"""Stage 4: brand composition (logo placement and legibility)."""

import dagster as dg

from creative_assets.assets.common import contact_sheet, for_each_unit, stage_asset_kwargs, thumbnail
from creative_assets.layout import ratio_dir
from creative_assets.stages import BrandedCandidates, ImageCandidates, UnitBrief, encode_image
from creative_assets.unit_work import brand_candidates
from creative_assets.units import UnitKey
from resources.brand_kits import BrandKitLibrary


@dg.asset(**stage_asset_kwargs("branded_candidates", "4", {"pillow", "python"}))
def branded_candidates(
    context: dg.AssetExecutionContext,
    image_candidates: dict[str, ImageCandidates],
    unit_brief: dict[str, UnitBrief],
    brand_kits: BrandKitLibrary,
) -> dict[str, BrandedCandidates]:
    """Each candidate with the brand logo placed per the kit's corner, size and clear-space rules; the
    logo variant (full colour, light, dark, or on a plate) is chosen by measured contrast."""

    def build(unit: UnitKey):
        brief = unit_brief[str(unit)]
        raw = image_candidates.pop(str(unit))  # its decoded pixels are freed once this unit is done
        kit = brand_kits.load(brief.brand)
        first_ratio = ratio_dir(brief.aspect_ratios[0])
        previews = []

        def hold(name: str, image):
            if name.startswith(first_ratio + "/"):
                previews.append(image)
            return encode_image(image, name)  # kilobytes per image held in a batched step

        value = brand_candidates(raw, kit, hold)
        logos = [r.logo for c in value.candidates for r in c.renders.values()]
        return value, {
            "brand": kit.display_name,
            "brand_kit_fingerprint": value.brand_fingerprint,
            "logo_variants": ", ".join(sorted({lg.variant for lg in logos})),
            "logo_plates": sum(lg.plate for lg in logos),
            "min_logo_contrast": min(lg.contrast for lg in logos),
            "preview": thumbnail(contact_sheet(previews), 480),
        }

    return for_each_unit(context, build)
