"""``creative-assets migrate-layout``: a storage root written with the old stage folders (raw, final,
selected, ...) is moved to the stage names, readable afterwards, bytes unchanged."""

import json

import dagster as dg

from creative_assets.assets.rollup import summarise_campaign
from creative_assets.cli import main
from creative_assets.layout_migration import migrate_layout, rewrite_keys
from creative_assets.stage_registry import LEGACY_FOLDERS, STAGES
from creative_assets.stage_store import read_stage
from creative_assets.units import UnitKey
from creative_assets_tests.pipeline_helpers import pipeline_defs, register, run_range, small_brief
from resources.storage import LocalCreativeStorage

OLD = {new: old for old, new in LEGACY_FOLDERS.items()}


def _as_previous_version_wrote_it(storage: LocalCreativeStorage, unit: UnitKey) -> None:
    """The unit's stage folders under their legacy names, with the keys and stage names the previous
    version stored in its manifests."""
    base = unit.storage_prefix
    prefixes = {f"{base}/{new}/": f"{base}/{old}/" for new, old in OLD.items()}

    for new, old in prefixes.items():
        for key in list(storage.list_keys(new)):
            data = storage.read_bytes(key)
            if key.endswith("manifest.json"):
                manifest = rewrite_keys(json.loads(data), prefixes)
                manifest["stage"] = OLD[manifest["stage"]]
                data = json.dumps(manifest).encode()
            storage.write_bytes(old + key[len(new) :], data)
            storage.delete(key)


def test_an_old_layout_is_migrated_readable_and_byte_identical(tmp_path):
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    brief = small_brief(tmp_path, locales=("en-US",), candidates=1)
    with dg.instance_for_test() as instance:
        keys = register(storage, brief, instance)
        assert run_range(pipeline_defs(storage), instance, keys[0], keys[-1]).success
    units = [UnitKey.parse(k) for k in keys]

    def stored_files(unit):
        raw = read_stage(storage, unit, "image_candidates")
        selected = read_stage(storage, unit, "selected_creative")
        return {
            **{
                ("raw", r.file): raw.image_bytes_stored(r.file)
                for c in raw.candidates
                for r in c.renders.values()
            },
            **{("selected", f): selected.image_bytes_stored(f) for f in selected.files.values()},
        }

    pixels = {str(u): stored_files(u) for u in units}
    assert all(pixels.values())
    finals = {
        (str(u), r.file): read_stage(storage, u, "final_creatives").image_bytes_stored(r.file)
        for u in units
        for c in read_stage(storage, u, "final_creatives").candidates
        for r in c.renders.values()
    }
    summary_before = summarise_campaign(storage, units[0].campaign_id)["status"].tolist()
    for unit in units:
        _as_previous_version_wrote_it(storage, unit)
        assert not storage.exists(f"{unit.storage_prefix}/final_creatives/manifest.json")
        assert storage.exists(f"{unit.storage_prefix}/final/manifest.json")

    assert main(["migrate-layout", "--out", str(tmp_path / "storage")]) == 0

    for unit in units:
        assert not list(storage.list_keys(f"{unit.storage_prefix}/final/"))
        for stage in STAGES:  # every stage reads back (hash-checked) under its own name
            value = read_stage(storage, unit, stage.name)
            assert type(value) is stage.value_type
        selected = read_stage(storage, unit, "selected_creative")
        for scored in selected.ranking:  # stored keys point into the new folders
            for key in scored.files.values():
                assert "/final_creatives/gen/" in key and storage.exists(key)
    assert finals == {
        (str(u), r.file): read_stage(storage, u, "final_creatives").image_bytes_stored(r.file)
        for u in units
        for c in read_stage(storage, u, "final_creatives").candidates
        for r in c.renders.values()
    }, "final PNG bytes unchanged"
    assert pixels == {str(u): stored_files(u) for u in units}
    assert summarise_campaign(storage, units[0].campaign_id)["status"].tolist() == summary_before
    again = migrate_layout(storage)
    assert again.moved == {} and again.conflicts == []


def test_a_unit_already_written_in_the_new_layout_keeps_it_and_the_old_folder_is_reported(tmp_path):
    storage = LocalCreativeStorage(root=str(tmp_path))
    base = "campaigns/spring-2026/en-US/soda"
    storage.write_text(f"{base}/final_creatives/manifest.json", json.dumps({"stage": "final_creatives"}))
    storage.write_text(f"{base}/final/manifest.json", json.dumps({"stage": "final"}))
    report = migrate_layout(storage)
    assert report.conflicts == [f"{base}/final"] and report.moved == {}
    assert json.loads(storage.read_text(f"{base}/final_creatives/manifest.json")) == {
        "stage": "final_creatives"
    }
    assert storage.exists(f"{base}/final/manifest.json")
    assert main(["migrate-layout", "--out", str(tmp_path)]) == 1
