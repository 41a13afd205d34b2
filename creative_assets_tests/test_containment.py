"""Failure containment: one doomed unit in a batch is blocked on its own; every other unit of the batch
is selected in the same run; the blocked unit shows in campaign_summary and the review app, raises an
alert, and is re-run alone with one command. And kit fonts are found by the checks."""

from __future__ import annotations

import shutil

import dagster as dg
import yaml

from creative_assets.assets.rollup import summarise_campaign
from creative_assets.review.service import ReviewService
from creative_assets.stage_store import read_stage
from creative_assets.units import UnitKey
from creative_assets_tests.helpers import set_products
from creative_assets_tests.pipeline_helpers import pipeline_defs, register, run_range, small_brief
from resources.alerts import AlertRouter
from resources.storage import LocalCreativeStorage
from sensors.alerts import check_alerts_for_run


def _brief_with_one_doomed_unit(tmp_path):
    brief = small_brief(tmp_path, locales=("en-US",), candidates=2)
    data = yaml.safe_load(brief.read_text())
    data["aspect_ratios"] = ["1:1"]
    generated = data["products"][1]
    data["products"].append({**generated, "id": "miracle-cure", "name": "Miracle Cure Tonic"})
    data["products"].append({**generated, "id": "cool-mint", "name": "Cool Mint"})
    brief.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return brief


def test_a_doomed_unit_is_blocked_alone_and_every_good_unit_is_selected_in_the_same_run(tmp_path):
    brief = _brief_with_one_doomed_unit(tmp_path)
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    with dg.instance_for_test() as instance:
        # "cure" would be refused by the preflight; skipped, it dooms one unit on its final pixels
        keys = register(storage, brief, instance, preflight=False)
        doomed = next(k for k in keys if k.endswith(".miracle-cure"))
        good = [k for k in keys if k != doomed]
        assert len(keys) == 4
        result = run_range(pipeline_defs(storage), instance, keys[0], keys[-1], raise_on_error=False)
        assert result.success  # one run, all four units: the doomed one does not fail the batch

        for key in good:
            value = read_stage(storage, UnitKey.parse(key), "selected_creative")
            assert value.status == "selected" and value.files
            # the live manifest names the generation the selected files are in
            assert storage.exists(value.file_key("1x1.png"))
        blocked = read_stage(storage, UnitKey.parse(doomed), "selected_creative")
        assert blocked.status == "blocked" and blocked.files == {}
        assert "copy_terms" in blocked.blocked_reason and "cure" in blocked.blocked_reason
        assert not storage.exists(blocked.file_key("1x1.png"))
        # no selected image in any generation of the blocked unit
        selected_prefix = f"{UnitKey.parse(doomed).storage_prefix}/selected_creative/"
        assert not [k for k in storage.list_keys(selected_prefix) if k.endswith(".png")]

        # its check is ERROR (recorded on its own partition); the good units' checks are not
        key = dg.AssetCheckKey(dg.AssetKey("final_creatives"), "copy_terms")
        history = instance.event_log_storage.get_asset_check_execution_history(key, limit=10)
        by_unit = {r.partition: r.event.dagster_event.event_specific_data for r in history}
        assert not by_unit[doomed].passed and by_unit[doomed].severity == dg.AssetCheckSeverity.ERROR
        assert all(by_unit[k].passed for k in good)

        # it gets an alert, and only it
        alerts = check_alerts_for_run(instance, result.run_id, AlertRouter())
        assert [a.check for a in alerts] == ["copy_terms"]
        assert alerts[0].units == [doomed]

        # campaign_summary and the review app show it as blocked
        table = summarise_campaign(storage, UnitKey.parse(doomed).campaign_id).set_index("unit")
        assert table.loc[doomed, "status"] == "blocked"
        assert table.loc[doomed, "rerun"] == f"creative-assets rerun {doomed}"
        assert set(table.loc[good, "status"]) == {"selected"}
        view = ReviewService(storage).unit(UnitKey.parse(doomed))
        assert view.status == "blocked" and "copy_terms" in view.blocked_reason

        # re-running only it is one run of one partition: the good units are not touched again
        before = {k: read_stage(storage, UnitKey.parse(k), "selected_creative").model_dump() for k in good}
        rerun = (
            pipeline_defs(storage)
            .resolve_job_def("creative_pipeline")
            .execute_in_process(instance=instance, partition_key=doomed, raise_on_error=False)
        )
        assert rerun.success
        assert {e.partition for e in rerun.all_events if e.is_step_materialization} == {doomed}
        assert before == {
            k: read_stage(storage, UnitKey.parse(k), "selected_creative").model_dump() for k in good
        }


def test_the_review_app_refuses_to_approve_a_blocked_unit_but_regenerates_it(tmp_path):
    import pytest

    from creative_assets.review.service import ReviewError

    brief = _brief_with_one_doomed_unit(tmp_path)
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    with dg.instance_for_test() as instance:
        keys = register(storage, brief, instance, preflight=False)
        doomed = next(k for k in keys if k.endswith(".miracle-cure"))
        assert run_range(pipeline_defs(storage), instance, doomed, doomed).success
    service = ReviewService(storage)
    unit = UnitKey.parse(doomed)
    view = service.unit(unit)
    # the page shows it blocked, with the reason, and offers only "request changes"
    from starlette.testclient import TestClient

    from creative_assets.identity.config import IdentitySettings
    from creative_assets.identity.store import IdentityStore
    from creative_assets.review.app import create_app
    from creative_assets_tests.review_helpers import PASSWORD, populate

    identity = IdentityStore.open(f"sqlite:///{tmp_path / 'identity.sqlite'}")
    populate(identity)
    # an approver of the brand: the approve form is withheld only because the unit is blocked
    app = create_app(storage, identity, IdentitySettings(db_url="unused"))
    client = TestClient(app, follow_redirects=False)
    login = {"login": "bruno@example.com", "password": PASSWORD, "next": "/"}
    assert client.post("/login", data=login).status_code == 303
    page = client.get(f"/units/{doomed}").text
    assert 'data-status="blocked"' in page and "Blocked" in page
    assert 'id="blocked-reason"' in page and "copy_terms" in page
    assert 'id="approve-form"' not in page and 'id="changes-form"' in page
    assert f"creative-assets rerun {doomed}" in page
    campaign = client.get(f"/campaigns/{unit.campaign_id}").text
    assert 'data-status="blocked"' in campaign
    with pytest.raises(ReviewError, match="blocked"):
        service.approve(unit, "Ana", view.selected.content_hash)
    event = service.request_changes(unit, "Ana", view.selected.content_hash, "different layout please")
    assert event.action == "request_changes"


def test_glyph_coverage_finds_the_kit_s_own_font_files(tmp_path):
    """Regression: unit_work called evaluate_creative without a font resolver, so a kit that ships its
    own (OFL) font rendered correctly and then failed every creative with 'font file not found'."""
    from creative_assets.brand_kit import DEFAULT_BRAND_KITS_DIR
    from creative_assets.render.fonts import BUNDLED_FONTS_DIR

    kits = tmp_path / "kits"
    shutil.copytree(DEFAULT_BRAND_KITS_DIR / "aurora-beverages", kits / "aurora-beverages")
    kit_dir = kits / "aurora-beverages"
    (kit_dir / "fonts").mkdir()
    # an OFL font shipped by the kit under its own name (Noto Sans Display, renamed)
    shutil.copy(BUNDLED_FONTS_DIR / "NotoSansDisplay-Bold.ttf", kit_dir / "fonts" / "AuroraDisplay-Bold.ttf")
    kit = yaml.safe_load((kit_dir / "brand.yaml").read_text())
    kit["fonts"]["headline"]["default"] = "AuroraDisplay-Bold.ttf"
    (kit_dir / "brand.yaml").write_text(yaml.safe_dump(kit, allow_unicode=True))

    from creative_assets.brief import load_brief
    from creative_assets.brief_store import register_brief
    from creative_assets.partitions import campaigns, creative_units
    from resources.brand_kits import BrandKitLibrary

    brief = small_brief(tmp_path, locales=("en-US",), candidates=1)
    data = yaml.safe_load(brief.read_text())
    data["aspect_ratios"] = ["1:1"]
    set_products(data, data["products"][1:])
    brief.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    record, _ = register_brief(storage, load_brief(brief, brand_kits_root=kits), brief.read_bytes())
    (key,) = [str(u) for u in record.unit_keys()]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(creative_units.name, [key])
        instance.add_dynamic_partitions(campaigns.name, [record.campaign_id])
        defs = pipeline_defs(storage, brand_kits=BrandKitLibrary(root=str(kits)))
        assert run_range(defs, instance, key, key).success
    finals = read_stage(storage, UnitKey.parse(key), "final_creatives")
    report = finals.candidates[0].renders["1:1"]
    assert report.blocks[0].font == "AuroraDisplay-Bold.ttf"  # rendered with the kit's font
    glyphs = next(o for o in report.compliance if o["check"] == "glyph_coverage")
    assert glyphs["passed"], glyphs["findings"]
    assert read_stage(storage, UnitKey.parse(key), "selected_creative").status == "selected"


def test_cli_names_the_blocked_unit_and_reruns_only_it(tmp_path, monkeypatch, capsys):
    from creative_assets.cli import main

    brief = small_brief(tmp_path, locales=("en-US",), candidates=1)
    data = yaml.safe_load(brief.read_text())
    data["aspect_ratios"] = ["1:1"]
    generated = data["products"][1]
    set_products(data, [generated, {**generated, "id": "miracle-cure", "name": "Miracle Cure Tonic"}])
    brief.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    out, home = tmp_path / "out", tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert main(["run", str(brief), "--out", str(out), "--skip-preflight"]) == 1  # a unit is blocked
    err = capsys.readouterr().err
    doomed = "summer-splash-2026.en-US.miracle-cure"
    assert f"✗ {doomed} blocked: no candidate is compliant" in err
    assert f"re-run it alone: creative-assets rerun {doomed}" in err
    good = LocalCreativeStorage(root=str(out))
    good_key = UnitKey.parse(f"summer-splash-2026.en-US.{generated['id']}")
    before = read_stage(good, good_key, "selected_creative").model_dump()

    assert main(["rerun", doomed, "--out", str(out)]) == 1  # re-run alone; still blocked (same brief)
    captured = capsys.readouterr()
    assert f"✓ {doomed}: run" in captured.out and "blocked" in captured.err
    assert read_stage(good, good_key, "selected_creative").model_dump() == before  # the good unit untouched
    assert main(["rerun", "summer-splash-2026.en-US.nope", "--out", str(out)]) == 2
