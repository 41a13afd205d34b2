"""Review: decisions in storage, delivery, invalidation, revisions through the review sensor."""

from __future__ import annotations

import hashlib
import json

import dagster as dg
import pytest

from creative_assets.assets.rollup import campaign_summary
from creative_assets.jobs import unit_stages
from creative_assets.layout import delivery_file_key, delivery_manifest_key
from creative_assets.review.decisions import journal_since, replay, review_state, unit_events
from creative_assets.review.service import ReviewError, ReviewService
from creative_assets.stage_registry import STAGE_NAMES
from creative_assets.stage_store import read_stage
from creative_assets.units import UnitKey
from creative_assets_tests.pipeline_helpers import (
    pipeline_defs,
    pipeline_resources,
    register,
    run_range,
    small_brief,
)
from resources.storage import LocalCreativeStorage
from sensors.review import review_decision_sensor


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    """Two generated units (en-US x 2 products) on a persistent instance for the module."""
    tmp = tmp_path_factory.mktemp("review")
    storage = LocalCreativeStorage(root=str(tmp / "storage"))
    (tmp / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp / "home")) as instance:
        keys = register(storage, small_brief(tmp, locales=("en-US",)), instance)
        defs = pipeline_defs(storage)
        run_range(defs, instance, keys[0], keys[-1])
        yield storage, instance, defs, [UnitKey.parse(k) for k in keys]


def sha(storage, key):
    return hashlib.sha256(storage.read_bytes(key)).hexdigest()


def test_listing_shows_campaign_units_and_ranked_candidates(reviewed):
    storage, _instance, _defs, units = reviewed
    service = ReviewService(storage)
    [campaign] = service.campaigns()
    assert campaign.units == units
    view = service.unit(units[0])
    assert view.status == "needs_review"
    assert [c.rank for c in view.candidates] == [1, 2]
    assert set(view.selected.files) == {"1:1", "9:16", "16:9"}
    for ratio, key in view.selected.files.items():
        assert view.selected.content[ratio] == sha(storage, key)
    assert view.selected.copy["headline"]
    assert set(view.lineage) == set(STAGE_NAMES)
    assert all(view.lineage.values()), "every stage manifest records the run that wrote it"


def test_stale_page_and_bad_input_are_refused(reviewed):
    storage, *_rest, units = reviewed
    service = ReviewService(storage)
    view = service.unit(units[1])
    with pytest.raises(ReviewError, match="changed since you opened"):
        service.approve(units[1], "Ana", "0" * 20)
    with pytest.raises(ReviewError, match="feedback is required"):
        service.request_changes(units[1], "Ana", view.selected.content_hash, "   ")
    with pytest.raises(ReviewError, match="reviewer name"):
        service.approve(units[1], " ", view.selected.content_hash)
    assert unit_events(storage, units[1]) == []


def test_approve_alternate_publishes_exact_bytes_then_rematerialization_withdraws(reviewed):
    storage, instance, defs, units = reviewed
    unit = units[0]
    service = ReviewService(storage)
    view = service.unit(unit)
    alternate = view.candidates[1]
    event = service.approve(unit, "Ana Reviewer", alternate.content_hash, alternate.index, "alt reads better")
    assert event.candidate == alternate.index and event.rank == 2
    manifest = json.loads(storage.read_text(delivery_manifest_key(unit)))
    assert manifest["alternate"] is True and manifest["approval"]["actor"] == "Ana Reviewer"
    for ratio, source in alternate.files.items():
        delivered = delivery_file_key(unit, ratio)
        assert storage.read_bytes(delivered) == storage.read_bytes(source)
        assert manifest["files"][ratio]["sha256"] == alternate.content[ratio]
    index = json.loads(storage.read_text(f"approved/{unit.campaign_id}/index.json"))
    assert [u["unit"] for u in index["units"]] == [str(unit)]
    assert service.unit(unit).status == "approved"

    # any re-materialization of the unit takes the delivery down: never carried over
    run_range(defs, instance, str(unit), str(unit))
    assert not storage.exists(delivery_manifest_key(unit))
    assert not any(
        True for _ in storage.list_keys(f"approved/{unit.campaign_id}/{unit.locale}/{unit.product_id}")
    )
    state = review_state(storage, unit)
    assert state.approval is None and state.last.action == "withdraw"
    assert "re-materialized in run" in state.last.comment
    archived = (
        f"reviews/{unit.campaign_id}/{unit.locale}/{unit.product_id}/withdrawn/{event.id}/manifest.json"
    )
    assert storage.exists(archived), "withdrawn deliveries are kept for audit"
    after = service.unit(unit)
    assert after.status == "needs_review" and "withdrawn" in after.note
    assert json.loads(storage.read_text(f"approved/{unit.campaign_id}/index.json"))["units"] == []


def test_only_regenerated_creatives_withdraw_an_approval_not_an_earlier_stage(reviewed):
    """The withdrawal policy point (assets.common.withdraw_approval): rewriting an earlier stage
    leaves the delivered pixels alone, a new selection takes the delivery down."""
    storage, instance, _defs, units = reviewed
    unit = units[0]
    service = ReviewService(storage)
    selected = service.unit(unit).selected
    service.approve(unit, "Ana Reviewer", selected.content_hash)
    assert storage.exists(delivery_manifest_key(unit))

    def materialize(stage: str) -> None:
        result = dg.materialize(
            [*unit_stages, campaign_summary],
            selection=[stage],
            partition_key=str(unit),
            instance=instance,
            resources=pipeline_resources(storage),
        )
        assert result.success

    materialize("localized_copy")
    assert storage.exists(delivery_manifest_key(unit)), "an earlier stage alone changes no delivered pixel"
    assert review_state(storage, unit).approval is not None

    materialize("selected_creative")
    assert not storage.exists(delivery_manifest_key(unit))
    state = review_state(storage, unit)
    assert state.approval is None and state.last.action == "withdraw"
    assert state.last.comment.startswith("selected_creative re-materialized in run")


def test_revision_request_regenerates_through_the_sensor_with_feedback(reviewed):
    storage, instance, defs, units = reviewed
    unit = units[1]
    service = ReviewService(storage)
    before = service.unit(unit)
    old_brief = read_stage(storage, unit, "unit_brief")
    old_raw = read_stage(storage, unit, "image_candidates")
    event = service.request_changes(
        unit, "Ben", before.selected.content_hash, "Cleaner and more minimal, please"
    )
    requested = service.unit(unit)
    assert requested.status == "regeneration_requested", "no run has started on the request yet"
    assert "no run has started" in requested.note
    with pytest.raises(ReviewError, match="being regenerated"):
        service.approve(unit, "Ben", before.selected.content_hash)

    # the sensor records every decision as an observation and requests the revision run
    context = dg.build_sensor_context(instance=instance, resources={"storage": storage}, cursor=None)
    result = review_decision_sensor(context)
    assert result.cursor and result.cursor.endswith(f"{event.id}.json")
    observed = {(o.partition, o.metadata["review_action"].value) for o in result.asset_events}
    assert (str(unit), "request_changes") in observed
    [run] = result.run_requests
    assert (
        run.tags["dagster/asset_partition_range_start"]
        == str(unit)
        == run.tags["dagster/asset_partition_range_end"]
    )
    assert event.id in run.run_key

    execution = defs.resolve_job_def("creative_pipeline").execute_in_process(instance=instance, tags=run.tags)
    assert execution.success
    brief = read_stage(storage, unit, "unit_brief")
    assert (brief.revision, brief.feedback, brief.revision_decision) == (1, event.comment, event.id)
    assert brief.product_seed() == old_brief.product_seed(), "the first revision keeps the seed"
    raw = read_stage(storage, unit, "image_candidates")
    assert {c.style for c in raw.candidates} == {"studio"}, "'minimal'/'clean' pick the studio style"
    assert {c.style for c in old_raw.candidates} != {"studio"}
    assert "revision 1 feedback" in raw.candidates[0].prompt
    after = service.unit(unit)
    assert after.status == "needs_review" and after.revision == 1
    assert after.selected.content != before.selected.content

    # nothing new in the journal: the next tick requests nothing; a second request draws a new seed
    again = review_decision_sensor(
        dg.build_sensor_context(instance=instance, resources={"storage": storage}, cursor=result.cursor)
    )
    assert not again.run_requests
    service.request_changes(unit, "Ben", after.selected.content_hash, "still not right")
    run2 = review_decision_sensor(
        dg.build_sensor_context(instance=instance, resources={"storage": storage}, cursor=result.cursor)
    ).run_requests[0]
    assert (
        defs.resolve_job_def("creative_pipeline")
        .execute_in_process(instance=instance, tags=run2.tags)
        .success
    )
    brief2 = read_stage(storage, unit, "unit_brief")
    assert brief2.revision == 2 and brief2.product_seed() != old_brief.product_seed()
    history = [e.action for e in unit_events(storage, unit)]
    assert history == ["request_changes", "request_changes"]


def test_observations_land_on_the_unit_partition(reviewed):
    storage, instance, _defs, _units = reviewed
    entries = journal_since(storage, None, 100)
    assert entries, "earlier tests made decisions"
    context = dg.build_sensor_context(instance=instance, resources={"storage": storage}, cursor=None)
    result = review_decision_sensor(context)
    assert len(result.asset_events) == len(entries)
    assert all(o.asset_key == dg.AssetKey("selected_creative") for o in result.asset_events)


def test_replay_is_order_based_and_withdrawals_only_cancel_their_approval():
    from creative_assets.review.decisions import new_event

    unit = UnitKey("c-1", "en-US", "p-1")
    a1 = new_event(unit, "approve", "x", candidate=0, content={"1:1": "aa"})
    w_other = new_event(unit, "withdraw", "system", withdraws="not-a1")
    state = replay(unit, [a1, w_other])
    assert state.approval == a1
    r = new_event(unit, "request_changes", "y", comment="bigger logo")
    state = replay(unit, [a1, r])
    assert state.approval is None and state.revision_requested == 1 and state.feedback == "bigger logo"


def test_a_damaged_decision_file_is_reported_and_skipped_never_stuck(tmp_path):
    from creative_assets.layout import JOURNAL_PREFIX
    from creative_assets.review.decisions import DamagedEvent, append_event, new_event

    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    unit = UnitKey("c-1", "en-US", "p-1")
    storage.write_text(f"{JOURNAL_PREFIX}/20260101T000000000000Z-bad.json", '{"id": "trunc')
    good = new_event(unit, "approve", "Ana", candidate=0, content={"1:1": "aa"})
    append_event(storage, good)
    entries = journal_since(storage, None, 10)
    assert isinstance(entries[0][1], DamagedEvent) and "-bad.json" in str(entries[0][1])
    assert entries[1][1] == good
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        instance.add_dynamic_partitions("creative_units", [str(unit)])
        result = review_decision_sensor(
            dg.build_sensor_context(instance=instance, resources={"storage": storage}, cursor=None)
        )
    assert [o.partition for o in result.asset_events] == [str(unit)]
    assert result.cursor == entries[-1][0], "the cursor moves past the damaged entry"


class _Crash(BaseException):
    pass


def _crashing_copy(storage, root, crash_at):
    """A copy of ``storage`` at ``root`` whose ``crash_at``-th write or delete dies (kill -9)."""
    import shutil

    shutil.copytree(storage.root, root)
    copy = LocalCreativeStorage(root=str(root))
    state = {"n": 0}
    put, delete = copy.write_bytes, copy.delete

    def count():
        state["n"] += 1
        if state["n"] == crash_at:
            raise _Crash(f"killed at write {crash_at}")

    object.__setattr__(copy, "write_bytes", lambda k, d, c=None: (count(), put(k, d, c))[1])
    object.__setattr__(copy, "delete", lambda k: (count(), delete(k))[1])
    return copy, state


#: writes of approving after the stage was reopened (delivery already withdrawn): the approval event
#: x2 (unit log, journal), 3 stills and their 3 placement exports, the delivery manifest, the
#: campaign index
APPROVE_WRITES = 10


@pytest.mark.parametrize("crash_at", range(1, APPROVE_WRITES + 1))
def test_a_crash_at_any_write_of_an_approval_never_delivers_an_unapproved_creative(
    reviewed, tmp_path, crash_at
):
    storage, _, _, units = reviewed
    unit = units[1]
    base = LocalCreativeStorage(root=str(tmp_path / "base"))
    import shutil

    shutil.copytree(storage.root, base.root)
    first = ReviewService(base)
    view = first.unit(unit)
    if view.status != "approved":
        first.approve(unit, "Ana", view.selected.content_hash)
    # staged approvals (issue 19): an approved stage is reopened (its delivery withdrawn) before a
    # different candidate can be approved
    first.reopen(unit, "Ana", first.unit(unit).policy.names[-1], "the alternate reads better")
    view = first.unit(unit)
    alternate = view.candidates[1]
    crashing, _ = _crashing_copy(base, tmp_path / "crash", crash_at)
    if crash_at == APPROVE_WRITES:  # the parametrization covers every write, and no more
        counted, tally = _crashing_copy(base, tmp_path / "count", None)
        ReviewService(counted).approve(unit, "Ben", alternate.content_hash, alternate.index)
        assert tally["n"] == APPROVE_WRITES
    with pytest.raises(_Crash):
        ReviewService(crashing).approve(unit, "Ben", alternate.content_hash, alternate.index)
    plain = LocalCreativeStorage(root=crashing.root)
    # at the crash point: whatever is delivered was approved (its approval is in the unit's log)
    delivered = plain.exists(delivery_manifest_key(unit)) and json.loads(
        plain.read_text(delivery_manifest_key(unit))
    )
    approvals = {e.id for e in unit_events(plain, unit) if e.action == "approve"}
    if delivered:
        assert delivered["approval"]["id"] in approvals
        for entry in delivered["files"].values():
            assert sha(plain, entry["key"]) == entry["sha256"]
    # clicking again completes it: the alternate is approved and delivered
    service = ReviewService(plain)
    again = service.unit(unit)
    chosen = again.candidate(alternate.index)
    if again.status != "approved" or again.state.approval.candidate != alternate.index:
        service.approve(unit, "Ben", chosen.content_hash, alternate.index)
    final = service.unit(unit)
    assert final.status == "approved" and final.state.approval.candidate == alternate.index
    assert (
        json.loads(plain.read_text(delivery_manifest_key(unit)))["approval"]["id"] == final.state.approval.id
    )
