"""Stage 2: the locale context pack."""

import dagster as dg

from creative_assets.assets.common import call_metadata, for_each_unit, prefetch, stage_asset_kwargs
from creative_assets.stages import LocaleContextPack, UnitBrief
from creative_assets.units import UnitKey
from resources.brand_kits import BrandKitLibrary
from resources.providers import ContextProvider


@dg.asset(**stage_asset_kwargs("locale_context_pack", "2", {"python", "json"}, pool="text_generation"))
def locale_context_pack(
    context: dg.AssetExecutionContext,
    unit_brief: dict[str, UnitBrief],
    context_provider: ContextProvider,
    brand_kits: BrandKitLibrary,
) -> dict[str, LocaleContextPack]:
    """Language, script, direction, tone, culture do/don't, legal notes and the layered banned-term
    rules (global -> language -> market -> brand -> campaign) for the unit's locale."""

    def fetch(unit: UnitKey) -> LocaleContextPack:
        brief = unit_brief[str(unit)]
        return context_provider.build(brief, brand_kits.load(brief.brand))

    # remote providers: every unit's request at once, up to the provider's request limit
    fetched = prefetch(context.partition_keys, fetch, context_provider.parallelism)

    def build(unit: UnitKey):
        pack, fetch_s = fetched.pop(str(unit), None) or (fetch(unit), None)
        loc = pack.locale
        return pack, {
            **({"provider_s": fetch_s} if fetch_s is not None else {}),
            "provider": pack.provider,
            "knowledge_base_version": pack.knowledge_base_version,
            "language": f"{loc['language']} ({loc['language_code']})",
            "script": loc["script"],
            "direction": loc["direction"],
            "formality": loc["formality"],
            "rules": len(pack.rules),
            "rule_layers": ", ".join(sorted({r.layer for r in pack.rules})),
            "disclaimer": pack.disclaimer or "",
            "notes": dg.MetadataValue.json(pack.notes),
            **call_metadata(pack.calls),
        }

    return for_each_unit(context, build)
