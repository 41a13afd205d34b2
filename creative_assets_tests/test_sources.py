"""The external inputs are observable source assets with content-hash data versions, upstream of
unit_brief (assets/sources.py, source_versions.py)."""

import shutil

import dagster as dg

from creative_assets.assets.sources import SOURCES, brand_kits, campaign_briefs, locale_knowledge_base
from creative_assets.assets.unit_brief import unit_brief
from creative_assets.brand_kit import DEFAULT_BRAND_KITS_DIR
from creative_assets.jobs import observe_sources
from creative_assets.locales import knowledge_base_version
from creative_assets_tests.pipeline_helpers import pipeline_resources, register, small_brief
from resources.brand_kits import BrandKitLibrary
from resources.storage import LocalCreativeStorage


def _observe(instance, resources) -> None:
    """Runs the project's observe_sources job (what its schedule launches)."""
    defs = dg.Definitions(assets=SOURCES, jobs=[observe_sources], resources=resources)
    assert defs.resolve_job_def("observe_sources").execute_in_process(instance=instance).success


def _observed(instance, source, resources) -> str:
    _observe(instance, resources)
    return instance.get_latest_data_version_record(source.key).asset_observation.data_version


def test_changing_a_kit_changes_the_observed_data_version(tmp_path):
    kits = tmp_path / "kits"
    shutil.copytree(DEFAULT_BRAND_KITS_DIR, kits)
    resources = {
        "brand_kits": BrandKitLibrary(root=str(kits)),
        "storage": LocalCreativeStorage(root=str(tmp_path)),
    }
    with dg.instance_for_test() as instance:
        first = _observed(instance, brand_kits, resources)
        assert _observed(instance, brand_kits, resources) == first, "nothing changed: same version"
        brand = kits / "aurora-beverages" / "brand.yaml"
        brand.write_text(brand.read_text().replace('accent: "#FF6F59"', 'accent: "#FF7F59"'))
        changed = _observed(instance, brand_kits, resources)
        assert changed != first
        (kits / "aurora-beverages" / "logo.png").write_bytes(b"not the logo any more")  # a referenced file
        assert _observed(instance, brand_kits, resources) not in (first, changed)


def test_a_new_brief_version_changes_the_briefs_data_version(tmp_path):
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    resources = {"storage": storage, "brand_kits": BrandKitLibrary()}
    with dg.instance_for_test() as instance:
        empty = _observed(instance, campaign_briefs, resources)
        brief = small_brief(tmp_path, locales=("en-US",), candidates=1)
        register(storage, brief, instance)
        one = _observed(instance, campaign_briefs, resources)
        assert one != empty
        brief.write_text(brief.read_text().replace("candidates: 1", "candidates: 2"))
        register(storage, brief, instance)  # v0002 goes live
        assert _observed(instance, campaign_briefs, resources) not in (empty, one)
        assert _observed(instance, locale_knowledge_base, resources) == knowledge_base_version()


def test_unit_brief_records_the_versions_of_its_sources(tmp_path):
    """unit_brief has real upstreams: each materialization records the data version of every source
    it was built from, which is what the UI compares to mark a unit stale when a kit changes."""
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    brief = small_brief(tmp_path, locales=("en-US",), candidates=1)
    resources = pipeline_resources(storage)
    with dg.instance_for_test() as instance:
        keys = register(storage, brief, instance)
        _observe(instance, resources)
        result = dg.materialize(
            [*SOURCES, unit_brief],
            selection=[unit_brief],
            partition_key=keys[0],
            instance=instance,
            resources=resources,
        )
        assert result.success
        (materialization,) = result.asset_materializations_for_node("unit_brief")
        for source in SOURCES:
            observed = instance.get_latest_data_version_record(source.key).asset_observation.data_version
            assert (
                materialization.tags[f"dagster/input_data_version/{source.key.to_user_string()}"] == observed
            )
