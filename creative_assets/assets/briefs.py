"""Stage 1: the validated brief, sliced per creative unit."""

import dagster as dg

from creative_assets.assets.common import for_each_unit, stage_asset_kwargs
from creative_assets.brief_store import require_brief, unit_fingerprint
from creative_assets.partitions import UnitKey
from creative_assets.review.decisions import review_state
from creative_assets.stages import UnitBrief
from resources.brand_kits import BrandKitLibrary
from resources.storage import CreativeStorage


@dg.asset(**stage_asset_kwargs("brief", "1", {"python", "json"}))
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
            )
        product = next(p for p in brief.products if p.id == unit.product_id)
        kit = brand_kits.load(brief.brand)
        review = review_state(storage, unit)  # revisions requested in the review app
        value = UnitBrief(
            unit=str(unit),
            campaign_id=brief.campaign_id,
            campaign_name=brief.name,
            brand=brief.brand,
            brand_fingerprint=kit.fingerprint(),
            locale=unit.locale,
            source_locale=brief.source_locale,
            product=product,
            message=brief.message,
            cta=brief.cta,
            localized=brief.localized_messages.get(unit.locale),
            audience=brief.audience,
            disclaimer=brief.disclaimer,
            banned_words=brief.banned_words,
            visual_direction=brief.visual_direction,
            candidates=brief.candidates,
            aspect_ratios=list(brief.aspect_ratios),
            sizes={r: brief.size_for(r) for r in brief.aspect_ratios},
            base_seed=brief.base_seed(),
            brief_version=record.version,
            brief_sha=record.sha,
            input_fingerprint=unit_fingerprint(record, unit),
            product_asset_keys=record.asset_keys.get(product.id, []),
            revision=review.revision_requested,
            feedback=review.feedback,
            revision_decision=review.request.id if review.request else None,
        )
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
