"""The runs of ``creative-assets run`` on several processes at once, and what each run did.

A brief's batches (run_tags.unit_batches) go through one queue. This process executes them in
turn, starting with the lead run (its modules are imported already, so the first creative is not
delayed), while ``slots - 1`` worker processes take the others. A worker is spawned once per slot,
imports the definitions once and executes one run at a time against the same instance and storage.
Each process has its own GIL, so one run's event writes and Python work overlap the other's pixel
work (docs/BENCHMARKS.md, "Third round"). A run is the same run wherever it executes: the same
job, units and tags, so the same bytes (creative_assets_tests/test_run_pool.py).

A worker that dies (OOM kill, SIGKILL) loses nothing: its run is marked failed at once
(local_instance.fail_dead_cli_runs, by the worker's pid tag), its units are reported not built
(``creative-assets run`` again builds them), and the other slots finish the queue.
"""

from __future__ import annotations

import multiprocessing
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import dagster as dg

from creative_assets.run_tags import BATCH_TAG, UnitBatch
from creative_assets.settings import cores_shared_by


@dataclass(frozen=True)
class CheckFinding:
    """A failed asset check of one unit in a run."""

    check: str
    severity: str
    unit: str
    text: str
    blocking: bool


@dataclass(frozen=True)
class RunOutcome:
    """What one batch's run did, wherever it executed (picklable: it crosses the process pipe)."""

    run_id: str
    success: bool
    failed_steps: tuple[tuple[str, str], ...]  # (step key, why, in words)
    findings: tuple[CheckFinding, ...]
    seconds: float


def outcome_of(result: Any, seconds: float) -> RunOutcome:
    """A run result (``execute_in_process`` or ``execute_job``) as a :class:`RunOutcome`."""
    from creative_assets.compliance.registry import blocks_selection

    findings, failed = [], []
    for event in result.all_events:
        if event.event_type_value == dg.DagsterEventType.ASSET_CHECK_EVALUATION.value:
            evaluation = event.event_specific_data
            if evaluation.passed:
                continue
            severity = evaluation.severity.value
            outcome = {"check": evaluation.check_name, "passed": False, "severity": severity}
            findings.append(
                CheckFinding(
                    check=evaluation.check_name,
                    severity=severity,
                    unit=str(evaluation.partition),
                    text=(evaluation.description or "")[:400],
                    blocking=blocks_selection(outcome),  # the registry says which checks block
                )
            )
        elif event.is_step_failure:
            failed.append((event.step_key, failure_reason(event)))
    return RunOutcome(
        run_id=result.run_id,
        success=bool(result.success),
        failed_steps=tuple(failed),
        findings=tuple(findings),
        seconds=seconds,
    )


def failure_reason(event: Any) -> str:
    """Why a step failed, in words: the innermost error's message, no stack trace and no Dagster
    class names. A blocking compliance failure names its checks (the findings are printed above)."""
    err = event.step_failure_data.error if event.step_failure_data else None
    if err is None:
        return "failed"
    if err.cls_name == "DagsterAssetCheckFailedError":
        text = " ".join(strip_class(err.message).split())
        return f"blocking compliance check(s) failed (see the ✗ lines above): {text[:300]}"
    while err.cause is not None and err.cls_name in (
        "DagsterExecutionStepExecutionError",
        "DagsterUserCodeExecutionError",
    ):
        err = err.cause
    first = next((line.strip() for line in strip_class(err.message).splitlines() if line.strip()), "")
    # dg.Failure is how the assets report a failure in words (assets/common.py): no class to add
    return f"{first[:300]} ({err.cls_name})" if err.cls_name not in (None, "", "Failure") else first[:300]


def strip_class(message: str) -> str:
    """``dagster._core.errors.SomeError: text`` -> ``text``."""
    return re.sub(r"^\s*[\w.]+(Error|Exception|Failure): ", "", message.strip())


def execute_batch(
    job: dg.JobDefinition, instance: dg.DagsterInstance, tags: Mapping[str, str], run_config: dict
):
    """One ``creative_pipeline`` run of a batch in this process, as a :class:`RunOutcome`. The
    executor tags name this process, so a run whose process dies is reaped (local_instance)."""
    from creative_assets.execution import execute_pipeline
    from creative_assets.local_instance import cli_run_tags

    started = time.perf_counter()
    result = execute_pipeline(job, instance, run_config=run_config, tags={**tags, **cli_run_tags()})
    return outcome_of(result, time.perf_counter() - started)


# --- a worker process ---------------------------------------------------------------------------
_worker: dict[str, Any] = {}


def _start_worker(instance_ref: Any) -> None:
    """Once per worker process: the definitions (from the inherited environment) and the instance."""
    from creative_assets.dagster_compat import instance_from_ref
    from creative_assets.definitions import build_definitions

    _worker["job"] = build_definitions().resolve_job_def("creative_pipeline")
    _worker["instance"] = instance_from_ref(instance_ref)


def _run_in_worker(tags: dict[str, str], run_config: dict) -> RunOutcome:
    return execute_batch(_worker["job"], _worker["instance"], tags, run_config)


# --- the queue ----------------------------------------------------------------------------------
def execute_batches(
    batches: Sequence[UnitBatch],
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    run_config: dict,
    slots: int,
    on_start: Callable[[int, UnitBatch, str], None],
    on_done: Callable[[int, UnitBatch, RunOutcome], None],
) -> list[RunOutcome]:
    """Execute ``batches`` on up to ``slots`` processes (this one and ``slots - 1`` workers), the
    first batch here; returns their outcomes in batch order. ``on_start(i, batch, where)`` and
    ``on_done(i, batch, outcome)`` are called as runs start and end, from any thread, never twice
    at once. A worker that dies fails its run and stops its slot; the others go on."""
    from creative_assets.dagster_compat import instance_ref_of

    queue = deque(enumerate(batches))
    lock = threading.Lock()  # the queue and the callbacks
    outcomes: dict[int, RunOutcome] = {}
    ref = instance_ref_of(instance)  # None: an in-memory instance, which no other process can open
    workers = max(0, min(slots, len(batches)) - 1) if ref is not None else 0

    def take() -> tuple[int, UnitBatch] | None:
        with lock:
            return queue.popleft() if queue else None

    def finish(i: int, batch: UnitBatch, outcome: RunOutcome) -> None:
        with lock:
            outcomes[i] = outcome
            on_done(i, batch, outcome)

    def slot(number: int) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process holding threads
        died = None
        with ProcessPoolExecutor(1, mp_context=context, initializer=_start_worker, initargs=(ref,)) as pool:
            while (item := take()) is not None:
                i, batch = item
                with lock:
                    on_start(i, batch, f"worker {number}")
                started = time.perf_counter()
                try:
                    outcome = pool.submit(_run_in_worker, batch.tags, run_config).result()
                except BrokenProcessPool:
                    died = (i, batch, started)
                    break  # this slot is gone; the queue is left to the others
                except Exception as exc:  # the worker could not execute it (e.g. its import failed)
                    finish(i, batch, _not_run(f"worker {number}: {exc}", time.perf_counter() - started))
                    continue
                finish(i, batch, outcome)
        if died is not None:  # the pool has shut down: the dead process is reaped, its pid is gone
            i, batch, started = died
            finish(i, batch, _worker_died(instance, batch, time.perf_counter() - started))

    threads = [
        threading.Thread(target=slot, args=(n,), name=f"run-slot-{n}", daemon=True)
        for n in range(1, workers + 1)
    ]
    with cores_shared_by(workers + 1):  # this process and its workers split the cores
        first = take()  # the lead run is this process's: its first creative comes without a new import
        for thread in threads:
            thread.start()
        item = first
        while item is not None:
            i, batch = item
            with lock:
                on_start(i, batch, "this process")
            finish(i, batch, execute_batch(job, instance, batch.tags, run_config))
            item = take()
        for thread in threads:
            thread.join()
    return [outcomes[i] for i in range(len(batches))]


def _worker_died(instance: dg.DagsterInstance, batch: UnitBatch, seconds: float) -> RunOutcome:
    """The outcome of a batch whose worker process died; its run (if it started) is marked failed."""
    from creative_assets.local_instance import fail_dead_cli_runs

    reaped = fail_dead_cli_runs(instance)  # the dead worker's run, found by its pid tag
    run_id = next(
        (r for r in reaped if instance.get_run_by_id(r).tags.get(BATCH_TAG) == batch.tags.get(BATCH_TAG)),
        "",
    )
    return RunOutcome(
        run_id=run_id,
        success=False,
        failed_steps=(("worker", "the worker process executing this run died (killed, or out of memory)"),),
        findings=(),
        seconds=seconds,
    )


def _not_run(why: str, seconds: float) -> RunOutcome:
    return RunOutcome("", False, (("worker", why[:300]),), (), seconds)
