"""The production instance configuration and the pipeline against a real PostgreSQL server."""

from __future__ import annotations

import contextlib
import shutil
import uuid

import dagster as dg
import pytest
import sqlalchemy as sa

from creative_assets.partitions import campaigns, creative_units
from creative_assets_tests.helpers import REPO
from creative_assets_tests.pipeline_helpers import pipeline_defs, register, run_range, small_brief

pytestmark = pytest.mark.postgres

ASSETS = ("final_creatives", "selected_creative")


def query(server, dbname: str, sql: str, params=()):
    with contextlib.closing(server.connect(dbname)) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def materializations(instance: dg.DagsterInstance, asset: str, key: str) -> list:
    return instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[key]), limit=100
    ).records


def test_top_level_dagster_yaml_is_a_postgres_instance(tmp_path, monkeypatch, postgres_server, postgres_url):
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    text = (REPO / "dagster.yaml").read_text()
    # the documented scheme names the driver dagster-postgres ships: plain postgresql:// is psycopg3
    assert "postgresql+psycopg2://" in text
    assert sa.engine.make_url("postgresql://u:p@h/d").get_dialect().driver != "psycopg2"
    assert sa.engine.make_url(postgres_url).get_dialect().driver == "psycopg2"

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", postgres_url)
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.get_runs_count() == 0
        # the instance created Dagster's schema in the server's database
        tables = {
            name
            for (name,) in query(
                postgres_server, "dagster", "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        }
        assert {"runs", "event_logs", "jobs", "instigators", "dynamic_partitions"} <= tables


@pytest.fixture(scope="module")
def pg_pipeline(postgres_server, tmp_path_factory):
    """A small brief (2 locales x 2 products) materialized in one batched run on an instance whose
    storage is a fresh database on the session's PostgreSQL server."""
    from resources.storage import LocalCreativeStorage

    dbname = f"pipeline_{uuid.uuid4().hex[:8]}"
    url = postgres_server.create_database(dbname)
    tmp = tmp_path_factory.mktemp("pg_pipeline")
    storage = LocalCreativeStorage(root=str(tmp / "storage"))
    brief = small_brief(tmp, locales=("en-US", "ja-JP"), candidates=1)
    with dg.instance_for_test(overrides={"storage": {"postgres": {"postgres_url": url}}}) as instance:
        keys = register(storage, brief, instance)
        defs = pipeline_defs(storage)
        result = run_range(defs, instance, keys[0], keys[-1])
        yield {
            "instance": instance,
            "storage": storage,
            "brief": brief,
            "keys": keys,
            "defs": defs,
            "result": result,
            "dbname": dbname,
        }


def test_pipeline_end_to_end_on_postgres(pg_pipeline, postgres_server):
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

    instance, keys, result = pg_pipeline["instance"], pg_pipeline["keys"], pg_pipeline["result"]
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert result.success
    assert len(keys) == 4

    assert sorted(instance.get_dynamic_partitions(creative_units.name)) == sorted(keys)
    assert instance.get_dynamic_partitions(campaigns.name) == ["summer-splash-2026"]
    for asset in ASSETS:
        for key in keys:
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[key]), limit=1
            ).records
            assert records, (asset, key)
            assert records[0].asset_materialization.partition == key

    # straight from the server: the run, its events and the partitions are rows in PostgreSQL
    db = pg_pipeline["dbname"]
    assert query(postgres_server, db, "SELECT count(*) FROM runs")[0][0] > 0
    assert query(postgres_server, db, "SELECT status FROM runs WHERE run_id = %s", (result.run_id,)) == [
        ("SUCCESS",)
    ]
    stored = query(
        postgres_server,
        db,
        "SELECT partition FROM dynamic_partitions WHERE partitions_def_name = %s",
        (creative_units.name,),
    )
    assert sorted(p for (p,) in stored) == sorted(keys)
    assert (
        query(
            postgres_server,
            db,
            "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION' AND run_id = %s",
            (result.run_id,),
        )[0][0]
        >= len(keys) * 7
    )


def test_rerunning_the_range_on_the_same_instance(pg_pipeline, postgres_server):
    instance, keys, defs = pg_pipeline["instance"], pg_pipeline["keys"], pg_pipeline["defs"]
    db = pg_pipeline["dbname"]
    before = {(a, k): len(materializations(instance, a, k)) for a in ASSETS for k in keys}
    runs_before = query(postgres_server, db, "SELECT count(*) FROM runs")[0][0]
    assert all(before.values())

    # registering the unchanged brief again is idempotent: no duplicate partitions
    assert register(pg_pipeline["storage"], pg_pipeline["brief"], instance) == keys
    assert sorted(instance.get_dynamic_partitions(creative_units.name)) == sorted(keys)

    again = run_range(defs, instance, keys[0], keys[-1])
    assert again.success
    assert again.run_id != pg_pipeline["result"].run_id
    for (asset, key), count in before.items():
        records = materializations(instance, asset, key)
        assert len(records) == count + 1, (asset, key)
        assert records[0].run_id == again.run_id  # newest first
    assert query(postgres_server, db, "SELECT count(*) FROM runs")[0][0] == runs_before + 1
    assert query(postgres_server, db, "SELECT status FROM runs WHERE run_id = %s", (again.run_id,)) == [
        ("SUCCESS",)
    ]
