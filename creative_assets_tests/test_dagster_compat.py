"""The non-public Dagster API the project uses (creative_assets/dagster_compat.py), pinned to the
Dagster version it was written for: an upgrade fails here first, with the helper to re-check."""

import dagster as dg

from creative_assets import dagster_compat as compat

UNITS = dg.StaticPartitionsDefinition(["a", "b", "c"])
SPECS = [
    dg.AssetCheckSpec(name, asset="thing", partitions_def=UNITS, blocking=False) for name in ("one", "two")
]


def test_written_for_this_dagster_minor_version():
    major_minor = ".".join(dg.__version__.split(".")[:2])
    assert major_minor == compat.CHECKS_API_VERSION, (
        f"dagster {dg.__version__}: re-check AssetCheckEvaluation(partition=, target_materialization_data=), "
        "AssetCheckEvaluationTargetMaterializationData, AssetCheckSpec.get_python_identifier and "
        "SqliteEventLogStorage._connect (PooledSqliteEventLogStorage) in "
        "creative_assets/dagster_compat.py, then update CHECKS_API_VERSION"
    )


@dg.asset(partitions_def=UNITS, check_specs=SPECS, backfill_policy=dg.BackfillPolicy.single_run())
def thing(context: dg.AssetExecutionContext):
    """A batched asset that yields its own per-partition check evaluations, like final_creatives."""
    yield dg.Output({key: key for key in context.partition_keys})
    targets = compat.run_materializations(
        context.instance, context.asset_key, context.run.run_id, context.partition_keys
    )
    for key in context.partition_keys:
        for spec in SPECS:
            yield compat.partition_check_evaluation(
                context.asset_key,
                spec.name,
                partition_key=key,
                passed=key != "b",
                severity="ERROR",
                description=f"{spec.name} on {key}",
                metadata={"key": key},
                target=targets.get(key),
            )
    yield from compat.check_outputs(SPECS, context.selected_asset_check_keys)


class _Memory(dg.IOManager):
    def handle_output(self, context, obj):
        pass

    def load_input(self, context):
        return None


def test_batched_step_records_each_partition_against_its_materialization():
    with dg.instance_for_test() as instance:
        first = dg.materialize(
            [thing], instance=instance, partition_key="a", resources={"io_manager": _Memory()}
        )
        assert first.success
        result = dg.materialize(
            [thing],
            instance=instance,
            resources={"io_manager": _Memory()},
            tags={"dagster/asset_partition_range_start": "a", "dagster/asset_partition_range_end": "c"},
        )
        assert result.success  # an ERROR result is not Dagster-blocking
        materialized = {m.partition: m for m in result.asset_materializations_for_node("thing")}
        assert set(materialized) == {"a", "b", "c"}
        keys = [dg.AssetCheckKey(dg.AssetKey("thing"), spec.name) for spec in SPECS]
        infos = instance.event_log_storage.get_asset_check_partition_info(keys)
        assert {(i.check_key.name, i.partition_key) for i in infos} == {
            (s.name, p) for s in SPECS for p in "abc"
        }
        for info in infos:
            # the latest evaluation names the partition's latest materialization: this run's
            assert info.is_current, info
            record = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey("thing"), asset_partitions=[info.partition_key]),
                limit=1,
            ).records[0]
            assert record.run_id == result.run_id
            assert info.latest_target_materialization_storage_id == record.storage_id
        evaluations = {(e.check_name, e.partition): e for e in result.get_asset_check_evaluations()}
        assert not evaluations[("one", "b")].passed and evaluations[("one", "a")].passed
        assert evaluations[("two", "c")].target_materialization_data.run_id == result.run_id


def test_run_materializations_ignores_other_runs_and_missing_partitions():
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [thing], instance=instance, partition_key="a", resources={"io_manager": _Memory()}
        )
        found = compat.run_materializations(instance, dg.AssetKey("thing"), result.run_id, ["a", "b"])
        assert set(found) == {"a"}
        assert compat.run_materializations(instance, dg.AssetKey("thing"), "another-run", ["a"]) == {}


def test_the_local_storage_keeps_connections_and_the_files_of_dagsters_default(tmp_path):
    from creative_assets.local_instance import write_local_config

    @dg.asset(partitions_def=UNITS)
    def thing(context: dg.AssetExecutionContext) -> None:
        context.log.info(f"built {context.partition_key}")

    home = tmp_path / "home"
    write_local_config(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        events = instance.event_log_storage
        assert isinstance(events, compat.PooledSqliteEventLogStorage)
        run_ids = []
        for key in ["a", "b", "c"] * 4:  # more runs than engines kept open
            result = dg.materialize([thing], instance=instance, partition_key=key)
            assert result.success
            run_ids.append(result.run_id)
        assert len(events._engines) <= events.ENGINES  # bounded for a long-lived UI or daemon
        logged = [r for r in instance.all_logs(run_ids[0]) if "built a" in (r.user_message or "")]
        assert len(logged) == 1
    # Dagster's own default storage on the same folder reads every run, event and materialization
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_config(str(home)) as default:
        assert type(default.event_log_storage).__name__ == "SqliteEventLogStorage"
        assert {r.run_id for r in default.get_runs()} == set(run_ids)
        assert len(default.all_logs(run_ids[-1], of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)) == 1
        latest = default.get_latest_materialization_event(dg.AssetKey("thing"))
        assert latest is not None and latest.run_id == run_ids[-1]
