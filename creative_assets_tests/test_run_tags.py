"""Unit batching and run tags: one helper for every sensor, the schedule, the CLI and the benchmark."""

from __future__ import annotations

import dagster as dg

from creative_assets import run_tags
from creative_assets.run_requests import unit_run_requests
from creative_assets.run_tags import CAMPAIGN_TAG, RANGE_END_TAG, RANGE_START_TAG, unit_batches

ORDERED = [f"c-{c}.en-US.p{n}" for c in (1, 2) for n in range(5)]


def test_batches_are_contiguous_bounded_and_tagged():
    wanted = [ORDERED[i] for i in (0, 1, 2, 4, 5, 6)]  # a gap at 3: two ranges in campaign 1
    batches = unit_batches(ORDERED, wanted, {"x": "1"}, lambda units: {"n": str(len(units))}, size=2)
    assert [b.units for b in batches] == [
        (ORDERED[0], ORDERED[1]),
        (ORDERED[2],),
        (ORDERED[4], ORDERED[5]),
        (ORDERED[6],),
    ]
    first = batches[0].tags
    assert first[RANGE_START_TAG] == ORDERED[0] and first[RANGE_END_TAG] == ORDERED[1]
    assert first[CAMPAIGN_TAG] == "c-1" and first["x"] == "1" and first["n"] == "2"
    assert batches[3].tags[CAMPAIGN_TAG] == "c-2"
    assert all(run_tags.RUN_RETRY_TAGS.items() <= b.tags.items() for b in batches)


def test_the_batch_size_is_the_units_per_run_setting(monkeypatch):
    monkeypatch.setenv("CREATIVE_ASSETS_UNITS_PER_RUN", "3")
    assert [len(b.units) for b in unit_batches(ORDERED, ORDERED)] == [3, 3, 3, 1]
    monkeypatch.delenv("CREATIVE_ASSETS_UNITS_PER_RUN")
    assert [len(b.units) for b in unit_batches(ORDERED, ORDERED)] == [10]


def test_run_requests_carry_the_batch_tags_and_key():
    [request] = unit_run_requests(ORDERED, ORDERED[:3], lambda b: f"k:{b.first}:{b.last}", {"t": "v"})
    assert isinstance(request, dg.RunRequest)
    assert request.job_name == "creative_pipeline"
    assert request.run_key == f"k:{ORDERED[0]}:{ORDERED[2]}"
    assert request.tags["t"] == "v" and request.tags[RANGE_END_TAG] == ORDERED[2]


def test_a_lead_run_holds_the_first_units_and_the_rest_follow_in_full_batches():
    ordered = [f"camp.en-US.product-{i:02d}" for i in range(30)]
    batches = unit_batches(ordered, ordered, size=24, lead=1)
    assert [len(b.units) for b in batches] == [1, 23, 6]
    assert [u for b in batches for u in b.units] == ordered  # every unit once, in order
    assert batches[0].tags[RANGE_START_TAG] == batches[0].tags[RANGE_END_TAG] == ordered[0]
    assert batches[1].tags[RANGE_START_TAG] == ordered[1]
    # nothing to split: a batch no longer than the lead, or no lead
    assert [len(b.units) for b in unit_batches(ordered[:1], ordered[:1], size=24, lead=1)] == [1]
    assert [len(b.units) for b in unit_batches(ordered, ordered, size=24, lead=0)] == [24, 6]
    # the lead is cut from the first contiguous range, even when the wanted units have gaps
    wanted = ordered[3:6] + ordered[10:12]
    assert [b.units for b in unit_batches(ordered, wanted, size=24, lead=2)] == [
        tuple(ordered[3:5]),
        (ordered[5],),
        tuple(ordered[10:12]),
    ]


def test_runs_after_the_lead_are_a_multiple_of_the_slots_and_even():
    ordered = [f"camp.en-US.product-{i:03d}" for i in range(100)]
    sizes = lambda batches: [len(b.units) for b in batches]  # noqa: E731
    # 20 units, two runs at once: the lead, then two even runs (one process each)
    twenty = unit_batches(ordered[:20], ordered[:20], size=24, lead=1, slots=2)
    assert sizes(twenty) == [1, 10, 9]
    assert [u for b in twenty for u in b.units] == ordered[:20]  # every unit once, in order
    # 100 units: five runs of 24 would leave one process alone at the end: six even runs
    assert sizes(unit_batches(ordered, ordered, size=24, lead=1, slots=2)) == [1, 17, 17, 17, 17, 17, 14]
    assert sizes(unit_batches(ordered, ordered, size=24, lead=0, slots=3)) == [17, 17, 17, 17, 17, 15]
    # one slot: as before; never more than the batch size
    assert sizes(unit_batches(ordered[:20], ordered[:20], size=24, lead=1, slots=1)) == [1, 19]
    assert max(sizes(unit_batches(ordered, ordered, size=5, lead=1, slots=2))) <= 5
    # gaps in the wanted units: every run stays contiguous in the partition order
    wanted = ordered[3:9] + ordered[40:46]
    cut = unit_batches(ordered, wanted, size=24, lead=1, slots=2)
    assert [u for b in cut for u in b.units] == wanted
    for batch in cut:
        first = ordered.index(batch.first)
        assert list(batch.units) == ordered[first : first + len(batch.units)]
    # a single unit: one run
    assert sizes(unit_batches(ordered[:1], ordered[:1], size=24, lead=1, slots=2)) == [1]
