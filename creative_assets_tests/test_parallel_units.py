"""Batched steps build their units on threads (assets/common.for_each_unit, issue 15): the files
written are the same as one unit after another, and failures still surface in unit order."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from bench.campaign import SMALL_SIZES, write_campaign
from creative_assets import parallel
from creative_assets.assets import common
from creative_assets.settings import CPU_WORKERS_ENV, cpu_workers
from creative_assets.stage_registry import STAGES
from creative_assets_tests.pipeline_helpers import comparable, pipeline_defs, register, run_range
from resources.storage import LocalCreativeStorage


def stored_files(root: Path) -> dict[str, bytes]:
    """What the steps wrote (the brief record is written at registration, with its time)."""
    files = {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    return {k: v for k, v in files.items() if not k.startswith("briefs/")}


def materialize(tmp: Path, brief: Path, workers: int, monkeypatch, seen: list) -> dict[str, object]:
    monkeypatch.setenv(CPU_WORKERS_ENV, str(workers))
    root = tmp / "storage"
    storage = LocalCreativeStorage(root=str(root))
    with dg.instance_for_test() as instance:
        keys = register(storage, brief, instance)
        real = common.in_unit_order

        def spy(keys_, work, workers_):
            seen.append(workers_)  # one entry per batched step
            yield from real(keys_, work, workers_)

        monkeypatch.setattr(common, "in_unit_order", spy)
        result = run_range(pipeline_defs(storage), instance, keys[0], keys[-1])
        monkeypatch.setattr(common, "in_unit_order", real)
        assert result.success
    return comparable(stored_files(root), str(root).lstrip("/"))


def test_threaded_steps_write_the_same_bytes_as_serial_ones(tmp_path, monkeypatch):
    brief = write_campaign(tmp_path / "brief", 2, candidates=2, sizes=SMALL_SIZES, motion=True)
    serial_seen: list[int] = []
    parallel_seen: list[int] = []
    serial = materialize(tmp_path / "serial", brief, 1, monkeypatch, serial_seen)
    parallel = materialize(tmp_path / "parallel", brief, 2, monkeypatch, parallel_seen)
    # every CPU-bound stage ran its 2 units on 2 threads in the parallel run, on 1 in the serial one
    cpu_bound = sum(s.cpu_bound for s in STAGES)
    assert sorted(parallel_seen) == [1] * (len(STAGES) - cpu_bound) + [2] * cpu_bound
    assert serial_seen == [1] * len(STAGES)
    assert sorted(serial) == sorted(parallel)
    differing = [k for k in serial if serial[k] != parallel[k]]
    assert not differing, f"{len(differing)} file(s) differ, e.g. {differing[:5]}"
    # the comparison sees the creatives themselves (not only manifests), stills and videos
    assert sum(k.endswith(".png") for k in serial) >= 2 * 2 * 3
    assert sum(k.endswith(".mp4") for k in serial) >= 2


def test_units_come_back_in_order_and_really_overlap():
    both = threading.Barrier(2, timeout=10)  # broken (an error) unless a and b run at the same time

    def work(key: str) -> str:
        if key in ("a", "b"):
            both.wait()
        if key == "a":
            time.sleep(0.1)  # the first unit finishes after the others
        return key.upper()

    assert list(parallel.in_unit_order(["a", "b", "c", "d"], work, 2)) == [
        ("a", "A"),
        ("b", "B"),
        ("c", "C"),
        ("d", "D"),
    ]
    # the control: one worker runs a alone, so its barrier times out
    solo = threading.Barrier(2, timeout=0.5)
    with pytest.raises(threading.BrokenBarrierError):
        list(parallel.in_unit_order(["a", "b"], lambda _key: solo.wait(), 1))


def test_the_first_failing_unit_in_order_is_raised_and_later_units_are_cancelled():
    ran: list[str] = []

    def work(key: str) -> str:
        ran.append(key)
        if key == "b":
            raise ValueError("b is broken")  # fails at once, while "a" is still working
        time.sleep(0.2)
        return key

    results = parallel.in_unit_order(["a", "b", "c", "d", "e", "f"], work, 2)
    assert next(results) == ("a", "a")  # units before the failure come back first
    with pytest.raises(ValueError, match="b is broken"):
        next(results)
    assert "f" not in ran  # not started when b's turn came: cancelled
    assert set(ran[:2]) == {"a", "b"}


def test_cpu_workers_default_to_the_cores_and_are_bounded(monkeypatch):
    monkeypatch.delenv(CPU_WORKERS_ENV, raising=False)
    assert 1 <= cpu_workers() <= 8
    monkeypatch.setenv(CPU_WORKERS_ENV, "1")
    assert cpu_workers() == 1
    monkeypatch.setenv(CPU_WORKERS_ENV, "0")
    with pytest.raises(ValueError, match=CPU_WORKERS_ENV):
        cpu_workers()
