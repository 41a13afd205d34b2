"""The asset graph end to end on a test instance, asserting real properties of the outputs."""

import json

import dagster as dg
import numpy as np
import pytest
from PIL import Image

from creative_assets.assets.rollup import campaign_summary
from creative_assets.jobs import unit_stages
from creative_assets.stage_store import read_stage
from creative_assets.units import UnitKey
from creative_assets_tests.helpers import set_products
from creative_assets_tests.pipeline_helpers import (
    pipeline_defs,
    pipeline_resources,
    register,
    run_range,
    small_brief,
)


@pytest.fixture(scope="module")
def materialized(tmp_path_factory):
    """Register a 3-locale x 2-product brief and materialize it in one batched run."""
    from resources.storage import LocalCreativeStorage

    tmp = tmp_path_factory.mktemp("pipeline")
    storage = LocalCreativeStorage(root=str(tmp / "storage"))
    brief = small_brief(tmp)
    with dg.instance_for_test() as instance:
        keys = register(storage, brief, instance)
        defs = pipeline_defs(storage)
        result = run_range(defs, instance, keys[0], keys[-1])
        assert result.success
        rollup = defs.resolve_job_def("campaign_rollup").execute_in_process(
            instance=instance, partition_key="summer-splash-2026"
        )
        assert rollup.success
        yield storage, keys, instance, defs


def test_every_unit_has_every_candidate_at_every_ratio(materialized):
    storage, keys, _, _ = materialized
    assert len(keys) == 6
    for key in keys:
        unit = UnitKey.parse(key)
        finals = read_stage(storage, unit, "final_creatives")
        assert len(finals.candidates) == 2
        for cand in finals.candidates:
            assert set(cand.renders) == {"1:1", "9:16", "16:9"}
            for ratio, report in cand.renders.items():
                path = storage.local_path(finals.file_key(report.file))
                with Image.open(path) as im:
                    assert im.format == "PNG"
                    assert im.size == {"1:1": (1080, 1080), "9:16": (1080, 1920), "16:9": (1920, 1080)}[ratio]


def test_text_is_never_clipped_and_always_readable(materialized):
    storage, keys, _, _ = materialized
    for key in keys:
        finals = read_stage(storage, UnitKey.parse(key), "final_creatives")
        for cand in finals.candidates:
            for report in cand.renders.values():
                for block in report.blocks:
                    assert block.fits, (key, report.ratio, block.role, block.text)
                    x0, y0, x1, y1 = block.ink_bbox
                    assert 0 <= x0 < x1 <= report.width and 0 <= y0 < y1 <= report.height
                    bx0, _, bx1, _ = block.box
                    assert bx0 - 2 <= x0 and x1 <= bx1 + 2, f"{block.role} ink leaves its box"
                    assert block.contrast >= 4.5, (key, block)
                assert report.logo.contrast >= 3.0
                assert report.logo.width_px >= report.logo.min_width_px


def test_locale_copy_and_direction(materialized):
    storage, keys, _, _ = materialized
    ar = read_stage(storage, UnitKey.parse(next(k for k in keys if ".ar-AE." in k)), "localized_copy")
    ja = read_stage(storage, UnitKey.parse(next(k for k in keys if ".ja-JP." in k)), "localized_copy")
    assert ar.direction == "rtl" and ja.direction == "ltr"
    assert any("\u0600" <= ch <= "\u06ff" for ch in ar.variants[0].headline)
    assert ja.line_breaking == "cjk"
    finals = read_stage(storage, UnitKey.parse(next(k for k in keys if ".ar-AE." in k)), "final_creatives")
    report = finals.candidates[0].renders["1:1"]
    headline = next(b for b in report.blocks if b.role == "headline")
    # right-to-left: the headline hugs the right edge of its column
    assert report.width - headline.ink_bbox[2] < headline.ink_bbox[0]


def test_candidates_differ_and_supplied_products_are_reused(materialized):
    storage, keys, _, _ = materialized
    for key in keys:
        raw = read_stage(storage, UnitKey.parse(key), "image_candidates")
        a = np.asarray(raw.image(raw.candidates[0].renders["1:1"].file).convert("L").resize((64, 64)), float)
        b = np.asarray(raw.image(raw.candidates[1].renders["1:1"].file).convert("L").resize((64, 64)), float)
        diff = np.abs(a - b).mean()
        assert diff > 12, f"candidates of {key} look alike"
        assert len({c.seed for c in raw.candidates}) == 2
        expected = "supplied" if "sparkling-citrus" in key else "generated"
        assert {c.source for c in raw.candidates} == {expected}


def test_selected_is_a_byte_copy_of_the_best_final(materialized):
    storage, keys, _, _ = materialized
    for key in keys:
        unit = UnitKey.parse(key)
        selected = read_stage(storage, unit, "selected_creative")
        assert [s.rank for s in selected.ranking] == [1, 2]
        assert selected.ranking[0].score >= selected.ranking[1].score
        best = selected.ranking[0]
        for ratio, name in selected.files.items():
            copied = storage.read_bytes(selected.file_key(name))
            assert copied == storage.read_bytes(best.files[ratio])
        manifest = json.loads(storage.read_text(f"{unit.storage_prefix}/selected_creative/manifest.json"))
        assert manifest["value"]["best"] == selected.best
        assert set(manifest["value"]["ranking"][0]["breakdown"]) >= {"legibility", "logo", "brand_colour_fit"}


def test_materializations_carry_audit_metadata(materialized):
    _, keys, instance, _ = materialized
    for asset, fields in {
        "unit_brief": {"brief_version", "brief_sha256", "brand_kit_fingerprint"},
        "image_candidates": {
            "provider",
            "model",
            "seeds",
            "prompts",
            "input_hashes",
            "preview",
            "duration_s",
        },
        "final_creatives": {"all_text_fits", "min_text_contrast", "first_creative", "preview"},
        "selected_creative": {"best_candidate", "ranking", "selected"},
    }.items():
        for key in keys:
            event = instance.get_latest_materialization_event(dg.AssetKey(asset))
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[key]), limit=1
            ).records
            assert records, (asset, key)
            metadata = records[0].asset_materialization.metadata
            assert fields <= set(metadata), (asset, fields - set(metadata))
            assert event is not None
    preview = records[0].asset_materialization.metadata["preview"].value
    assert preview.startswith("![preview](data:image/jpeg;base64,") and len(preview) < 60_000


def test_campaign_summary_lists_every_unit(materialized):
    storage, keys, _, _ = materialized
    csv = storage.read_text("campaigns/summer-splash-2026/summary.csv")
    for key in keys:
        assert key in csv
    assert csv.count("selected") >= len(keys)


def test_single_unit_rerun_is_deterministic(materialized, tmp_path):
    """A unit materialized on its own equals the same unit from the batched run: the same pixels and,
    apart from the C2PA manifest (it names the run and its own instance ids), the same bytes (XMP
    included). The credentials differ exactly in their run id."""
    from creative_assets import credentials as c2
    from resources.storage import LocalCreativeStorage

    storage, keys, _, _ = materialized
    other = LocalCreativeStorage(root=str(tmp_path / "again"))
    unit = UnitKey.parse(keys[-1])
    with dg.instance_for_test() as instance:
        register(other, small_brief(tmp_path), instance)
        result = dg.materialize(
            unit_stages, partition_key=keys[-1], instance=instance, resources=pipeline_resources(other)
        )
        assert result.success
    ours, theirs = read_stage(storage, unit, "final_creatives"), read_stage(other, unit, "final_creatives")
    for cand in ours.candidates:
        for report in cand.renders.values():
            # each storage resolves the file through its own live generation (their folders differ)
            key, their_key = ours.file_key(report.file), theirs.file_key(report.file)
            a = Image.open(storage.local_path(key))
            b = Image.open(other.local_path(their_key))
            assert a.tobytes() == b.tobytes(), key
            signed_a, signed_b = storage.read_bytes(key), other.read_bytes(their_key)
            assert signed_a != signed_b  # each run signs its own credential
            assert c2.unsigned_content(signed_a, "image/png") == c2.unsigned_content(signed_b, "image/png"), (
                key
            )
            work_a, work_b = (
                c2.read_credential(d, "image/png").assertion(c2.WORK_ASSERTION) for d in (signed_a, signed_b)
            )
            assert work_a["run_id"] != work_b["run_id"]
            assert {**work_a, "run_id": ""} == {**work_b, "run_id": ""}


def test_rematerializing_one_stage_keeps_the_rest(materialized):
    storage, keys, instance, _ = materialized
    unit = UnitKey.parse(keys[0])
    before = storage.read_bytes(f"{unit.storage_prefix}/image_candidates/manifest.json")
    result = dg.materialize(
        [*unit_stages, campaign_summary],
        selection=["final_creatives"],
        partition_key=keys[0],
        instance=instance,
        resources=pipeline_resources(storage),
    )
    assert result.success
    assert storage.read_bytes(f"{unit.storage_prefix}/image_candidates/manifest.json") == before


def _check_records(instance, check: str) -> dict[str, object]:
    key = dg.AssetCheckKey(dg.AssetKey("final_creatives"), check)
    records = instance.event_log_storage.get_asset_check_execution_history(key, limit=200)
    latest = {}
    for record in records:  # newest first
        latest.setdefault(record.partition, record)
    return latest


def test_compliance_checks_are_recorded_per_unit_in_batched_runs(materialized):
    from creative_assets.compliance import CHECKS

    storage, keys, instance, _ = materialized
    for check in CHECKS:
        latest = _check_records(instance, check)
        assert set(keys) <= set(latest), f"{check}: no evaluation for {set(keys) - set(latest)}"
        if check != "brand_colours":
            for key in keys:
                evaluation = latest[key].event.dagster_event.event_specific_data
                assert evaluation.passed, (check, key, evaluation.description)
    finals = read_stage(storage, UnitKey.parse(keys[0]), "final_creatives")
    report = finals.candidates[0].renders["1:1"]
    assert [c["check"] for c in report.compliance] == list(CHECKS)


def test_compliance_report_has_a_row_per_unit_and_candidate(materialized):
    import io

    import pandas as pd

    storage, keys, instance, defs = materialized
    result = defs.resolve_job_def("campaign_rollup").execute_in_process(
        instance=instance, partition_key="summer-splash-2026"
    )
    assert result.success
    table = pd.read_csv(io.StringIO(storage.read_text("campaigns/summer-splash-2026/compliance.csv")))
    assert len(table) == len(keys) * 2
    assert {"copy_terms", "logo", "text_legibility", "safe_zones", "glyph_coverage", "score", "rank"} <= set(
        table
    )
    assert table["selected"].sum() == len(keys)


# Registers a second brief version on the shared storage: keep it last in this module.
def test_units_dropped_by_a_new_brief_version_refuse_to_rebuild(materialized, tmp_path):
    import yaml

    from creative_assets.brief import load_brief
    from creative_assets.brief_store import register_brief

    storage, keys, instance, _ = materialized
    path = small_brief(tmp_path)
    data = yaml.safe_load(path.read_text())
    set_products(data, data["products"][:1])
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    record, created = register_brief(storage, load_brief(path))
    assert created and record.version == 2
    dropped = next(k for k in keys if k.endswith(".mango-mint"))
    result = dg.materialize(
        [*unit_stages, campaign_summary],
        selection=["unit_brief"],
        partition_key=dropped,
        instance=instance,
        resources=pipeline_resources(storage),
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert (
        "mango-mint" in failure.step_failure_data.error.message
        and "v2" in failure.step_failure_data.error.message
    )
    assert storage.exists(f"{UnitKey.parse(dropped).storage_prefix}/selected_creative/manifest.json"), (
        "outputs kept"
    )


def test_check_results_show_per_partition_in_the_ui(materialized):
    """Regression: the checks' Partitions tab showed every unit Missing. The UI resolves a partition's
    status from the event log's per-partition check records (``AssetCheckState``, from
    ``get_asset_check_partition_info``): Passed/Failed only when the latest evaluation targets the
    partition's latest materialization; an evaluation without a target counts as Missing."""
    from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
    from dagster._core.storage.asset_check_state import AssetCheckExecutionResolvedStatus, AssetCheckState

    from creative_assets.compliance import REGISTRY

    _, keys, instance, _ = materialized
    check_keys = [dg.AssetCheckKey(dg.AssetKey("final_creatives"), check.name) for check in REGISTRY]
    infos = instance.event_log_storage.get_asset_check_partition_info(check_keys, partition_keys=keys)
    by_key = {(info.check_key.name, info.partition_key): info for info in infos}
    finished = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}
    for check in REGISTRY:
        for key in keys:
            info = by_key[(check.name, key)]
            assert info.latest_execution_status in finished, (check.name, key)
            assert info.latest_target_materialization_storage_id is not None, (check.name, key)
            assert info.is_current, (check.name, key, info)
    # what the GraphQL layer builds from those records (AssetCheckState): every unit Passed or Failed
    from dagster._core.definitions.partitions.context import partition_loading_context

    from creative_assets.partitions import creative_units

    resolved = {AssetCheckExecutionResolvedStatus.SUCCEEDED, AssetCheckExecutionResolvedStatus.FAILED}
    with partition_loading_context(dynamic_partitions_store=instance):
        for check_key in check_keys:
            state = AssetCheckState.empty().with_updates(
                check_key, creative_units, [i for i in infos if i.check_key == check_key], {}
            )
            shown = set()
            for status in resolved:
                subset = state.subsets[status]
                shown |= set(subset.subset_value.get_partition_keys()) if not subset.is_empty else set()
            assert set(keys) <= shown, (check_key.name, set(keys) - shown)
