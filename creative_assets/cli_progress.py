"""Live per-unit progress of ``creative-assets run``: which unit finished which stage, as it happens.

:class:`RunProgress` watches the Dagster instance's event log from a background thread while the run
executes in the foreground (in process, or on the Celery workers): each ``ASSET_MATERIALIZATION``
of a unit stage is one unit finishing one stage. The runs are found by a tag unique to this
invocation (:data:`PROGRESS_TAG`), so the same code follows ``execute_in_process``, ``execute_job``
and runs executing at once in worker processes (run_pool). On a
terminal (stderr is a TTY) it draws a ``rich`` progress bar; otherwise it prints one plain line per
unit and stage, flushed at once, so a log file or a pipe sees progress while the run works.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import uuid
from collections.abc import Sequence
from typing import TextIO

import dagster as dg

#: run tag naming one CLI batch, so the watcher finds its run before the run id is known
PROGRESS_TAG = "creative_assets/cli_batch"
POLL_SECONDS = 0.4


class _PlainReporter:
    def __init__(self, stream: TextIO, total: int) -> None:
        self.stream, self.total, self.done = stream, total, 0

    def advance(self, unit: str, stage: str, finished_unit: bool) -> None:
        self.done += 1
        tail = " (unit done)" if finished_unit else ""
        print(f"  · [{self.done}/{self.total}] {unit}: {stage}{tail}", file=self.stream, flush=True)

    def close(self) -> None:
        pass


class _RichReporter:
    def __init__(self, stream: TextIO, total: int, label: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("  {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[last]}"),
            console=Console(file=stream),
            transient=False,
        )
        self.task = self.progress.add_task(label, total=total, last="")
        self.progress.start()

    def advance(self, unit: str, stage: str, finished_unit: bool) -> None:
        self.progress.update(self.task, advance=1, last=f"{unit}: {stage}" + (" ✓" if finished_unit else ""))

    def close(self) -> None:
        self.progress.stop()


class RunProgress:
    """Context manager: ``tags`` (add them to the run) identify the batch; progress is reported from
    a daemon thread until the block ends, then every event not yet shown is drained."""

    def __init__(
        self,
        instance: dg.DagsterInstance,
        units: Sequence[str],
        stages: Sequence[str],
        stream: TextIO | None = None,
        fancy: bool | None = None,
        label: str = "units x stages",
    ) -> None:
        self.instance = instance
        self.units = set(units)
        self.stages = list(stages)
        self.stream = stream or sys.stderr
        self.fancy = self.stream.isatty() if fancy is None else fancy
        self.label = label
        self.batch = uuid.uuid4().hex
        self.tags = {PROGRESS_TAG: self.batch}
        self.seen: set[tuple[str, str]] = set()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one poll at a time: the watcher's, or a catch-up
        self._cursors: dict[str, str | None] = {}  # run id -> event cursor
        self._drained: set[str] = set()  # finished runs whose every event was read: not polled again
        self._thread = threading.Thread(target=self._watch, name="creative-assets-progress", daemon=True)
        total = len(self.units) * len(self.stages)
        self.reporter = (
            _RichReporter(self.stream, total, label) if self.fancy else _PlainReporter(self.stream, total)
        )

    def __enter__(self) -> RunProgress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.catch_up()  # whatever landed between the last poll and the end of the runs
        self.reporter.close()

    def catch_up(self) -> None:
        """Report every stage finished so far (a run just ended: its lines come before its verdict)."""
        with self._lock, contextlib.suppress(Exception):  # progress is a nicety: never fail a run
            self._poll()

    def _watch(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                with self._lock:
                    self._poll()
            except Exception:  # e.g. the run's event shard is not created yet: try again
                continue

    def _poll(self) -> None:
        for record in self.instance.get_run_records(filters=dg.RunsFilter(tags=self.tags)):
            run_id = record.dagster_run.run_id
            if run_id in self._drained:
                continue
            self._poll_run(run_id)
            if record.dagster_run.is_finished:  # finished before this read: every event is in
                self._drained.add(run_id)

    def _poll_run(self, run_id: str) -> None:
        while True:
            connection = self.instance.get_records_for_run(
                run_id,
                cursor=self._cursors.get(run_id),
                of_type=dg.DagsterEventType.ASSET_MATERIALIZATION,
                limit=200,
            )
            for record in connection.records:
                event = record.event_log_entry.dagster_event
                materialization = event.event_specific_data.materialization
                stage = materialization.asset_key.to_user_string()
                unit = materialization.partition
                if unit in self.units and stage in self.stages and (unit, stage) not in self.seen:
                    self.seen.add((unit, stage))
                    finished = all((unit, s) in self.seen for s in self.stages)
                    self.reporter.advance(unit, stage, finished)
            self._cursors[run_id] = connection.cursor
            if not connection.has_more:
                return
