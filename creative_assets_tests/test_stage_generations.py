"""A stage write is atomic as a whole (issue 11, item 2): a process that dies while a stage is being
rewritten leaves the previous generation live and intact, on local disk and on S3 (no rename), and
readers never combine files of two generations. Superseded generations are collected after the
grace period; approved ones are kept."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime, timedelta, timezone
from typing import ClassVar

import dagster as dg
import pytest
import yaml
from PIL import Image

from creative_assets.assets.rollup import summarise_campaign
from creative_assets.brief import load_brief
from creative_assets.brief_store import register_brief
from creative_assets.jobs import unit_stages
from creative_assets.layout import GENERATIONS, stage_prefix
from creative_assets.review.decisions import append_event, new_event
from creative_assets.stage_store import (
    StageIntegrityError,
    collect_generations,
    read_manifest,
    read_stage,
    write_stage,
)
from creative_assets.stages import SelectedCreative
from creative_assets.units import UnitKey
from creative_assets_tests.helpers import set_products
from creative_assets_tests.pipeline_helpers import pipeline_resources, register, small_brief
from resources.storage import LocalCreativeStorage

UNIT = UnitKey.parse("crash-test.en-US.can")


class Crash(BaseException):
    pass


def _png(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buf, "PNG")
    return buf.getvalue()


def _selection(colour, best: int) -> SelectedCreative:
    value = SelectedCreative(
        unit=str(UNIT), best=best, files={"1:1": "1x1.png", "9:16": "9x16.png"}, ranking=[], weights={}
    )
    value.put_image("1x1.png", _png(colour))
    value.put_image("9x16.png", _png(tuple(255 - c for c in colour)))
    return value


def _crash_at(storage, n: int) -> dict:
    """Make ``storage`` die at its n-th write from now on (puts and deletes)."""
    state = {"writes": 0}
    put, delete = storage.write_bytes, storage.delete

    def count():
        state["writes"] += 1
        if state["writes"] == n:
            raise Crash(f"killed at write {n}")

    def crashing_put(key, data, content_type=None):
        count()
        return put(key, data, content_type)

    def crashing_delete(key):
        count()
        return delete(key)

    object.__setattr__(storage, "write_bytes", crashing_put)
    object.__setattr__(storage, "delete", crashing_delete)
    return state


def _restore(storage) -> None:
    for name in ("write_bytes", "delete"):
        storage.__dict__.pop(name, None)


@pytest.fixture(params=["local", "s3"])
def any_storage(request, storage):
    return storage if request.param == "local" else request.getfixturevalue("s3_storage")


def _consistent(storage) -> SelectedCreative:
    """Read the live generation and check every file against its manifest."""
    value = read_stage(storage, UNIT, "selected_creative")
    manifest = read_manifest(storage, UNIT, "selected_creative")
    for name, entry in manifest["files"].items():
        data = storage.read_bytes(value.file_key(name))
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], f"{name} does not match the manifest"
        assert value.image_bytes_stored(name) == data
    return value


@pytest.mark.parametrize("crash_at", [1, 2, 3, 4])  # each write of the rewrite: 2 images, copy, switch
def test_a_crash_during_a_rewrite_leaves_the_previous_generation_whole(any_storage, crash_at):
    write_stage(any_storage, UNIT, _selection((200, 30, 30), best=0))
    _restore(any_storage)
    state = _crash_at(any_storage, crash_at)
    try:
        with pytest.raises(Crash):
            write_stage(any_storage, UNIT, _selection((30, 30, 200), best=1))
    finally:
        _restore(any_storage)
    assert state["writes"] == crash_at
    value = _consistent(any_storage)
    assert value.best == 0, "the old manifest stays live with its own files"
    assert value.image("1x1.png").getpixel((0, 0)) == (200, 30, 30)
    # the next write goes through, and its generation replaces the old one completely
    write_stage(any_storage, UNIT, _selection((30, 200, 30), best=1))
    value = _consistent(any_storage)
    assert value.best == 1 and value.image("1x1.png").getpixel((0, 0)) == (30, 200, 30)


def test_a_damaged_file_is_refused_not_mixed_in(storage):
    write_stage(storage, UNIT, _selection((10, 10, 10), best=0))
    value = read_stage(storage, UNIT, "selected_creative")
    storage.write_bytes(value.file_key("1x1.png"), _png((99, 99, 99)))
    with pytest.raises(StageIntegrityError, match="does not match the selected_creative manifest"):
        read_stage(storage, UNIT, "selected_creative").image("1x1.png")


def test_superseded_generations_are_collected_after_the_grace_period_approved_kept(storage):
    runs = ["run-approved", "run-old", "run-live"]
    for n, run in enumerate(runs):
        write_stage(storage, UNIT, _selection((n * 50, 0, 0), best=0), {"run_id": run})
    gens = sorted(
        {
            k.split("/")[6]
            for k in storage.list_keys(f"{stage_prefix(UNIT, 'selected_creative')}/{GENERATIONS}")
        }
    )
    assert len(gens) == 3, "within the grace period every generation is kept"
    append_event(
        storage, new_event(UNIT, "approve", "ana", candidate=0, lineage={"selected": "run-approved"})
    )
    live = read_manifest(storage, UNIT, "selected_creative")["generation"]
    later = datetime.now(timezone.utc) + timedelta(hours=25)
    deleted = collect_generations(storage, UNIT, "selected_creative", keep=live, now=later)
    assert deleted == [gens[1]], "the superseded, unapproved generation goes"
    left = sorted(
        {
            k.split("/")[6]
            for k in storage.list_keys(f"{stage_prefix(UNIT, 'selected_creative')}/{GENERATIONS}")
        }
    )
    assert left == [gens[0], gens[2]]
    _consistent(storage)


class DiesOnKeys(LocalCreativeStorage):
    """Local storage that dies when it is about to write one of ``die_on`` (shared by the copies
    Dagster makes of the resource)."""

    die_on: ClassVar[set[str]] = set()

    def write_bytes(self, key, data, content_type=None):
        if key in self.die_on:
            raise Crash(f"killed before writing {key}")
        return super().write_bytes(key, data, content_type)


def test_summary_does_not_report_a_selection_of_an_older_version_as_selected(tmp_path):
    """Version 2 of the brief is being built when the process dies before the new selection's
    manifest: the summary must say the unit is outdated, not selected."""
    storage = DiesOnKeys(root=str(tmp_path / "storage"))
    DiesOnKeys.die_on = set()
    path = small_brief(tmp_path, locales=("en-US",), candidates=1)
    data = yaml.safe_load(path.read_text())
    set_products(data, data["products"][:1])
    data["aspect_ratios"] = ["1:1"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    with dg.instance_for_test() as instance:
        (key,) = register(storage, path, instance)
        assert dg.materialize(
            unit_stages, partition_key=key, instance=instance, resources=pipeline_resources(storage)
        ).success
        assert list(summarise_campaign(storage, "summer-splash-2026")["status"]) == ["selected"]

        data["message"] = "A brand new message"
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
        assert register_brief(storage, load_brief(path))[0].version == 2
        unit = UnitKey.parse(key)
        DiesOnKeys.die_on = {f"{stage_prefix(unit, 'selected_creative')}/manifest.json"}
        try:
            with pytest.raises(Crash):
                dg.materialize(
                    unit_stages, partition_key=key, instance=instance, resources=pipeline_resources(storage)
                )
        finally:
            DiesOnKeys.die_on = set()
        table = summarise_campaign(storage, "summer-splash-2026")
        assert list(table["status"]) == ["outdated"], table.to_dict("records")
        assert "re-made after this selection" in table["status_detail"][0]
        # the old selection is still whole (its files are the ones its manifest hashes)
        old = read_stage(storage, unit, "selected_creative")
        manifest = read_manifest(storage, unit, "selected_creative")
        for name, entry in manifest["files"].items():
            assert hashlib.sha256(storage.read_bytes(old.file_key(name))).hexdigest() == entry["sha256"]
        # once a run completes, the unit is selected again
        assert dg.materialize(
            unit_stages, partition_key=key, instance=instance, resources=pipeline_resources(storage)
        ).success
        assert list(summarise_campaign(storage, "summer-splash-2026")["status"]) == ["selected"]
