"""The only place that uses Dagster APIs outside its documented public surface (kept small, so an
upgrade has one file to check). Everything else in the project uses the public API.

- :func:`mark_run_failed`: ``DagsterInstance.report_run_failed`` (what run monitoring itself calls)
  for runs of ``creative-assets run`` whose process died.
- :func:`instance_ref_of`, :func:`instance_from_ref`: the instance's ``InstanceRef`` (its serialized
  configuration), so a worker process of ``creative-assets run`` (run_pool) opens the same instance.
  ``DagsterInstance.get_ref`` is public; ``from_ref`` is documented but its ref type is not exported.
- :class:`PooledSqliteStorage`: the local instance's SQLite storage (the same files as Dagster's
  default ``storage: sqlite``) whose event log keeps each database's connection open
  (:class:`PooledSqliteEventLogStorage` overrides the private ``SqliteEventLogStorage._connect``,
  which opens a new engine and connection for every event and so, in WAL mode, checkpoints on every
  close: 20 ms an event, 13 % of a local run's wall; docs/BENCHMARKS.md).
- :func:`failed_ticks_since`, :func:`latest_failed_tick`: the instance's tick history of schedules
  and sensors (``all_instigator_state`` / ``get_ticks``), which has no public query API; the
  tick-failure alert sensor and the nightly catch-up sensor read it.
- :func:`partition_check_evaluation`, :func:`run_materializations`, :func:`check_outputs`: per-partition
  asset check results from a batched (multi-partition) step. ``AssetCheckEvaluation(partition=...)``
  is a preview API, ``AssetCheckEvaluationTargetMaterializationData`` is not exported, and an asset
  that yields evaluations itself must still yield one empty output per check
  (``AssetCheckSpec.get_python_identifier``). Written for :data:`CHECKS_API_VERSION`;
  ``creative_assets_tests/test_dagster_compat.py`` fails on any other Dagster minor version.
"""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from sqlalchemy import create_engine

#: The Dagster minor version the asset-check helpers were written (and tested) for.
CHECKS_API_VERSION = "1.13"


def mark_run_failed(instance: dg.DagsterInstance, run: dg.DagsterRun, message: str) -> None:
    """Record RUN_FAILURE for a run nobody is executing any more (status becomes FAILURE)."""
    instance.report_run_failed(run, message=message)


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's per-run SQLite event log, with one engine (and its open connection) kept per
    database for the last :attr:`ENGINES` databases used, instead of a new engine per statement.
    Statements still run one at a time per process under the storage's own lock, in their own
    transaction; other processes (the UI, the daemon, a ``run`` worker) share the files through
    SQLite's locking as before (WAL mode, the same busy timeout)."""

    ENGINES = 8

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self._engines: OrderedDict[str, Any] = OrderedDict()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: Any, config_value: Mapping[str, Any]
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @contextlib.contextmanager
    def _connect(self, shard: str) -> Iterator[Any]:
        with self._db_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = create_engine(
                    self.conn_string_for_shard(shard),
                    pool_size=1,
                    max_overflow=2,
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                )
                self._engines[shard] = engine
                while len(self._engines) > self.ENGINES:  # a long-lived UI or daemon sees many runs
                    self._engines.popitem(last=False)[1].dispose()
            else:
                self._engines.move_to_end(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        super().dispose()
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()


class PooledSqliteStorage(DagsterSqliteStorage):
    """``storage: sqlite`` (runs in ``history/``, event logs in ``history/runs/``, schedules in
    ``schedules/`` under ``base_dir``) with :class:`PooledSqliteEventLogStorage` as its event log.
    The local instance's ``dagster.yaml`` names it (local_instance.py)."""

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        super().__init__(base_dir, inst_data)
        self._event_log_storage = PooledSqliteEventLogStorage(os.path.join(base_dir, "history", "runs", ""))

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Mapping[str, Any]) -> PooledSqliteStorage:
        os.makedirs(config_value["base_dir"], exist_ok=True)
        return cls(inst_data=inst_data, **config_value)


def instance_ref_of(instance: dg.DagsterInstance) -> Any | None:
    """The instance's ref, picklable for another process; None for an in-memory instance."""
    if instance.is_ephemeral:
        return None
    try:
        return instance.get_ref()
    except Exception:  # an instance built from objects, not from a configuration
        return None


def instance_from_ref(ref: Any) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_ref(ref)


@dataclass(frozen=True)
class FailedTick:
    name: str  # schedule or sensor name
    kind: str  # "schedule" | "sensor"
    timestamp: float
    tick_id: int
    error: str


def failed_ticks_since(instance: dg.DagsterInstance, after: float, limit: int = 50) -> Iterator[FailedTick]:
    """Failed schedule and sensor ticks with a timestamp after ``after`` (oldest first)."""
    from dagster._core.scheduler.instigation import InstigatorType, TickStatus

    ticks: list[FailedTick] = []
    for state in instance.all_instigator_state():
        kind = "schedule" if state.instigator_type == InstigatorType.SCHEDULE else "sensor"
        for tick in instance.get_ticks(
            state.instigator_origin_id,
            state.selector_id,
            after=after,
            limit=limit,
            statuses=[TickStatus.FAILURE],
        ):
            error = tick.error.to_string() if tick.error else "the tick failed"
            ticks.append(FailedTick(state.instigator_name, kind, tick.timestamp, tick.tick_id, error))
    yield from sorted(ticks, key=lambda t: (t.timestamp, t.tick_id))


def latest_failed_tick(instance: dg.DagsterInstance, name: str) -> FailedTick | None:
    """The latest tick of the schedule or sensor ``name`` if that tick failed, else None."""
    from dagster._core.scheduler.instigation import InstigatorType, TickStatus

    for state in instance.all_instigator_state():
        if state.instigator_name != name:
            continue
        ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
        if ticks and ticks[0].status == TickStatus.FAILURE:
            tick = ticks[0]
            kind = "schedule" if state.instigator_type == InstigatorType.SCHEDULE else "sensor"
            error = tick.error.to_string() if tick.error else "the tick failed"
            return FailedTick(name, kind, tick.timestamp, tick.tick_id, error)
    return None


def run_materializations(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, run_id: str, partition_keys: Sequence[str]
) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    """partition key -> its materialization of ``asset_key`` in run ``run_id`` (storage id, run id,
    timestamp): what an evaluation of that partition targets. Dagster fills this in for
    ``AssetCheckResult`` of single-partition steps only; without it the UI's Partitions tab of a
    check shows every partition Missing (the evaluation does not name the latest materialization)."""
    found: dict[str, AssetCheckEvaluationTargetMaterializationData] = {}
    wanted = set(partition_keys)
    cursor = None
    while wanted - set(found):
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=sorted(wanted - set(found))),
            limit=max(100, len(wanted)),
            cursor=cursor,
        )
        for record in page.records:  # newest first: the first one per partition in this run wins
            partition = record.partition_key
            if record.run_id == run_id and partition in wanted and partition not in found:
                found[partition] = AssetCheckEvaluationTargetMaterializationData(
                    storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
                )
        if not page.has_more:
            break
        cursor = page.cursor
    return found


def partition_check_evaluation(
    asset_key: dg.AssetKey,
    check_name: str,
    *,
    partition_key: str,
    passed: bool,
    severity: str,
    description: str,
    metadata: Mapping[str, Any],
    target: AssetCheckEvaluationTargetMaterializationData | None,
) -> dg.AssetCheckEvaluation:
    """One partition's result of one check, naming the materialization it judged (``target``).
    Never Dagster-blocking (an ERROR is contained to its unit by the caller)."""
    return dg.AssetCheckEvaluation(
        asset_key=asset_key,
        check_name=check_name,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR if severity == "ERROR" else dg.AssetCheckSeverity.WARN,
        description=description,
        metadata=metadata,
        target_materialization_data=target,
        partition=partition_key,
        blocking=False,
    )


def check_outputs(
    specs: Iterable[dg.AssetCheckSpec], selected: Iterable[dg.AssetCheckKey]
) -> Iterator[dg.Output]:
    """The empty output Dagster expects for each selected check of an asset that yields its check
    evaluations itself (the evaluations carry the results)."""
    chosen = set(selected)
    for spec in specs:
        if spec.key in chosen:
            yield dg.Output(None, output_name=spec.get_python_identifier())
