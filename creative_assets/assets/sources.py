"""The pipeline's external inputs as observable source assets, upstream of ``unit_brief``: the live
briefs, the brand kits and the locale knowledge base. Each observation records a data version (a
content hash, creative_assets/source_versions.py), so when a kit or a brief changes the UI marks the
unit stages built from the old version stale. ``observe_sources`` observes them on a schedule
(definitions.py) and on demand (*Observe sources* in the UI)."""

import dagster as dg

from creative_assets.source_versions import brand_kits_version, briefs_version, knowledge_base_data_version
from resources.brand_kits import BrandKitLibrary
from resources.storage import CreativeStorage

GROUP = "sources"


@dg.observable_source_asset(
    group_name=GROUP, description="Every campaign's live brief version (storage briefs/)."
)
def campaign_briefs(context: dg.OpExecutionContext, storage: CreativeStorage) -> dg.ObserveResult:
    version, campaigns = briefs_version(storage)
    return dg.ObserveResult(
        data_version=dg.DataVersion(version),
        metadata={"campaigns": len(campaigns), "versions": dg.MetadataValue.json(campaigns)},
    )


@dg.observable_source_asset(
    group_name=GROUP, description="The brand kits: brand.yaml and every file it references."
)
def brand_kits(context: dg.OpExecutionContext, brand_kits: BrandKitLibrary) -> dg.ObserveResult:
    version, kits = brand_kits_version(brand_kits.root_path())
    return dg.ObserveResult(
        data_version=dg.DataVersion(version), metadata={"kits": dg.MetadataValue.json(kits)}
    )


@dg.observable_source_asset(
    group_name=GROUP, description="The built-in locale knowledge base (knowledge.yaml)."
)
def locale_knowledge_base(context: dg.OpExecutionContext) -> dg.ObserveResult:
    return dg.ObserveResult(data_version=dg.DataVersion(knowledge_base_data_version()))


SOURCES = [campaign_briefs, brand_kits, locale_knowledge_base]
