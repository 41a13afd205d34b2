"""Stage 5: localized short copy."""

import dagster as dg

from creative_assets.assets.common import call_metadata, for_each_unit, prefetch, stage_asset_kwargs
from creative_assets.stages import BrandedCandidates, LocaleContextPack, LocalizedCopy, UnitBrief
from creative_assets.units import UnitKey
from resources.providers import CopyProvider


@dg.asset(**stage_asset_kwargs("localized_copy", "2", {"python", "json"}, pool="text_generation"))
def localized_copy(
    context: dg.AssetExecutionContext,
    unit_brief: dict[str, UnitBrief],
    locale_context_pack: dict[str, LocaleContextPack],
    branded_candidates: dict[str, BrandedCandidates],
    copy_provider: CopyProvider,
) -> dict[str, LocalizedCopy]:
    """Headline, sub-line, CTA and legal line per candidate in the unit's locale, with the source of
    every string; untranslated fallbacks are flagged as warnings."""

    def fetch(unit: UnitKey) -> LocalizedCopy:
        key = str(unit)
        return copy_provider.write(unit_brief[key], locale_context_pack[key], branded_candidates[key])

    # remote providers: every unit's request at once, up to the provider's request limit
    fetched = prefetch(context.partition_keys, fetch, copy_provider.parallelism)

    def build(unit: UnitKey):
        key = str(unit)
        copy, fetch_s = fetched.pop(key, None) or (fetch(unit), None)
        for warning in copy.warnings:
            context.log.warning(f"{key}: {warning}")
        first = copy.variants[0]
        return copy, {
            **({"provider_s": fetch_s} if fetch_s is not None else {}),
            "provider": copy.provider,
            "model": copy.model,
            "headline": first.headline,
            "cta": first.cta,
            "subline": first.subline,
            "disclaimer": first.disclaimer or "",
            "badge": first.badge or "",
            "sources": dg.MetadataValue.json(copy.sources),
            "warnings": dg.MetadataValue.json(copy.warnings),
            "machine_translated": copy.machine_translated,
            **call_metadata(copy.calls),
        }

    return for_each_unit(context, build)
