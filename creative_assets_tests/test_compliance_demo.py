"""The deliberately non-compliant example brief fails the right checks, readably, and blocks selection."""

import dagster as dg
import yaml

from creative_assets.stage_store import read_stage
from creative_assets.units import UnitKey
from creative_assets_tests.helpers import EXAMPLES
from creative_assets_tests.pipeline_helpers import pipeline_defs, register, run_range
from resources.storage import LocalCreativeStorage


def test_banned_word_and_vanishing_logo_fail_and_block_selection(tmp_path):
    source = EXAMPLES / "compliance-demo-2026" / "brief.yaml"
    data = yaml.safe_load(source.read_text())
    data.update(locales=["en-GB"], candidates=1, aspect_ratios=["1:1"])
    data["localized_messages"] = {}
    brief = tmp_path / "brief.yaml"
    brief.write_text(yaml.safe_dump(data))
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    with dg.instance_for_test() as instance:
        # the preflight refuses this brief ("cure"); skipped, the final-pixel checks must catch it too
        keys = register(storage, brief, instance, preflight=False)
        result = run_range(pipeline_defs(storage), instance, keys[0], keys[-1], raise_on_error=False)
        assert result.success  # contained: the unit is blocked, the run is not failed
        prefix = UnitKey.parse(keys[0]).storage_prefix
        assert storage.exists(f"{prefix}/final_creatives/manifest.json"), "creatives kept"
        selected = read_stage(storage, UnitKey.parse(keys[0]), "selected_creative")
        assert selected.status == "blocked" and selected.files == {}
        assert not [k for k in storage.list_keys(f"{prefix}/selected_creative/") if k.endswith(".png")]

        def evaluation(check):
            key = dg.AssetCheckKey(dg.AssetKey("final_creatives"), check)
            (record,) = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
            assert record.partition == keys[0]
            return record.event.dagster_event.event_specific_data

        terms = evaluation("copy_terms")
        assert not terms.passed and terms.severity == dg.AssetCheckSeverity.ERROR
        assert "cure" in terms.description and "brand:lumen-skincare" in terms.description
        logo = evaluation("logo")
        assert not logo.passed and logo.severity == dg.AssetCheckSeverity.ERROR
        assert evaluation("safe_zones").passed and evaluation("glyph_coverage").passed


def test_compliant_example_passes_every_blocking_check(tmp_path):
    """Regression: the Hebrew 9:16 trail creatives once lost their logo to a detector false negative."""
    from creative_assets.compliance import CHECKS
    from creative_assets_tests.helpers import TRAIL

    data = yaml.safe_load(TRAIL.read_text())
    data.update(locales=["he-IL"], products=data["products"][:1], aspect_ratios=["9:16"])
    data["localized_messages"] = {"he-IL": data["localized_messages"]["he-IL"]}
    brief = tmp_path / "brief.yaml"
    brief.write_text(yaml.safe_dump(data, allow_unicode=True))
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    with dg.instance_for_test() as instance:
        keys = register(storage, brief, instance)
        assert run_range(pipeline_defs(storage), instance, keys[0], keys[-1]).success
    finals = read_stage(storage, UnitKey.parse(keys[0]), "final_creatives")
    from creative_assets.compliance import BLOCKING_CHECKS

    for cand in finals.candidates:
        for report in cand.renders.values():
            for outcome in report.compliance:
                if outcome["check"] in BLOCKING_CHECKS:  # (brand_colours, copy_source: advisory)
                    assert outcome["passed"], (cand.index, outcome)
    assert len(CHECKS) == len(report.compliance)
