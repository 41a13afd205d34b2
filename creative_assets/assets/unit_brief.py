"""Stage 1: the validated brief, sliced per creative unit."""

import dagster as dg

from creative_assets.assets.common import for_each_unit, stage_asset_kwargs
from creative_assets.assets.sources import SOURCES
from creative_assets.brief_store import require_brief
from creative_assets.review.decisions import review_state
from creative_assets.stages import UnitBrief
from creative_assets.unit_work import unit_brief_value
from creative_assets.units import UnitKey
from resources.brand_kits import BrandKitLibrary
from resources.storage import CreativeStorage


@dg.asset(**stage_asset_kwargs("unit_brief", "3", {"python", "json"}), deps=SOURCES)
def unit_brief(
    context: dg.AssetExecutionContext, storage: CreativeStorage, brand_kits: BrandKitLibrary
) -> dict[str, UnitBrief]:
    """The campaign brief as it applies to one unit: campaign, brand, locale, product, copy and
    seeds, read from the campaign's live registered brief version, plus the revision and feedback
    of any changes a reviewer requested."""

    def build(unit: UnitKey):
        record = require_brief(storage, unit.campaign_id)
        brief = record.brief
        if unit not in record.unit_keys():
            raise dg.Failure(
                f"unit {unit} is not in brief v{record.version} of {unit.campaign_id}: the brief dropped "
                f"locale {unit.locale!r} or product {unit.product_id!r}",
                metadata={"brief_version": record.version},
                allow_retries=False,
            )
        kit = brand_kits.load(brief.brand)
        review = review_state(storage, unit)  # revisions requested in the review app
        value = unit_brief_value(record, unit, kit, review)
        metadata = {
            "campaign": brief.campaign_id,
            "brief_version": record.version,
            "brief_sha256": record.sha,
            "brief_source": record.source,
            "registered_at": record.registered_at,
            "brand": brief.brand,
            "brand_kit_fingerprint": value.brand_fingerprint,
            "product_images": dg.MetadataValue.json([storage.uri(k) for k in value.product_asset_keys]),
            "translation_supplied": unit.locale in brief.localized_messages,
            "candidates": brief.candidates,
            "ratios": ", ".join(brief.aspect_ratios),
            "revision": value.revision,
            "product_seed": value.product_seed(),
        }
        if review.request is not None:
            metadata["revision_feedback"] = review.request.comment
            metadata["revision_requested_by"] = f"{review.request.actor} at {review.request.at}"
            metadata["revision_decision"] = review.request.id
        return value, metadata

    return for_each_unit(context, build)
