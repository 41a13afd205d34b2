"""The brief inbox sensor against a real S3 endpoint (moto server over HTTP)."""

import json
from pathlib import Path

import dagster as dg
import pytest
import yaml

from creative_assets.brief_store import current_brief
from creative_assets.layout import PENDING_PREFIX
from creative_assets.partitions import campaigns, creative_units
from creative_assets.settings import FIRST_BATCH_ENV
from creative_assets.stage_store import read_stage
from creative_assets.units import UnitKey
from creative_assets_tests.helpers import set_products
from creative_assets_tests.pipeline_helpers import pipeline_defs, small_brief
from resources.brand_kits import BrandKitLibrary
from resources.inbox import BriefInbox
from sensors.brief_inbox import brief_inbox_sensor


def _upload_folder(client, bucket, folder: Path, prefix: str) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            client.put_object(
                Bucket=bucket,
                Key=f"tenant-a/{prefix}/{path.relative_to(folder).as_posix()}",
                Body=path.read_bytes(),
            )


def _tick(instance, storage, cursor=None, **inbox):
    with dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"storage": storage, "inbox": BriefInbox(**inbox), "brand_kits": BrandKitLibrary()},
    ) as context:
        return brief_inbox_sensor(context)


def _apply(instance, result: dg.SensorResult) -> None:
    """Do what the daemon does with a tick's partition requests."""
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))


def _run(instance, storage, request: dg.RunRequest):
    job = pipeline_defs(storage).resolve_job_def(request.job_name)
    return job.execute_in_process(instance=instance, tags=request.tags, partition_key=request.partition_key)


def _keys(client, bucket, prefix):
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"tenant-a/{prefix}")
    return [o["Key"][len("tenant-a/") :] for page in pages for o in page.get("Contents", [])]


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture(autouse=True)
def one_run_per_batch(monkeypatch):
    """These tests count one run per brief batch; the lead run a new brief starts with
    (settings.first_batch_units) is tested on its own below."""
    monkeypatch.setenv(FIRST_BATCH_ENV, "0")


def test_dropped_brief_becomes_creatives_in_the_bucket(
    tmp_path, instance, s3_storage, s3_client, bucket, monkeypatch
):
    monkeypatch.setenv(FIRST_BATCH_ENV, "1")  # the default: a one-unit lead run, then the rest
    brief = small_brief(tmp_path, locales=("en-US", "ar-AE"), candidates=2)
    _upload_folder(s3_client, bucket, brief.parent, "inbox/summer")

    result = _tick(instance, s3_storage)
    _apply(instance, result)
    units = instance.get_dynamic_partitions(creative_units.name)
    assert len(units) == 4 and instance.get_dynamic_partitions(campaigns.name) == ["summer-splash-2026"]
    assert len(result.run_requests) == 2
    lead, rest = result.run_requests
    assert lead.tags["dagster/asset_partition_range_start"] == units[0]
    assert lead.tags["dagster/asset_partition_range_end"] == units[0]
    assert lead.run_key == f"summer-splash-2026:v1:{units[0]}:{units[0]}"
    assert rest.tags["dagster/asset_partition_range_start"] == units[1]
    assert rest.tags["dagster/asset_partition_range_end"] == units[-1]
    assert rest.run_key == f"summer-splash-2026:v1:{units[1]}:{units[-1]}"
    # the brief left the inbox (its images stay) and is stored as version 1
    assert not [k for k in _keys(s3_client, bucket, "inbox/") if k.endswith(".yaml")]
    assert "briefs/summer-splash-2026/v0001/source.yaml" in _keys(s3_client, bucket, "briefs/")

    # the lead run alone gives the first unit its selected creatives
    assert _run(instance, s3_storage, lead).success
    assert read_stage(s3_storage, UnitKey.parse(units[0]), "selected_creative").files
    assert _run(instance, s3_storage, rest).success
    for unit in units:
        c, loc, p = unit.split(".")
        selected = read_stage(s3_storage, UnitKey.parse(unit), "selected_creative")
        for ratio in ("1x1", "9x16", "16x9"):
            key = f"tenant-a/{selected.file_key(ratio + '.png')}"
            head = s3_client.head_object(Bucket=bucket, Key=key)
            assert head["ContentType"] == "image/png" and head["ContentLength"] > 10_000
        manifest = json.loads(
            s3_client.get_object(
                Bucket=bucket, Key=f"tenant-a/campaigns/{c}/{loc}/{p}/final_creatives/manifest.json"
            )["Body"].read()
        )
        assert len(manifest["value"]["candidates"]) == 2
    # metadata links to the objects (s3 URI and a presigned URL)
    record = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("final_creatives"), asset_partitions=[units[0]]), limit=1
    ).records[0]
    metadata = record.asset_materialization.metadata
    assert metadata["first_creative"].value.startswith(f"s3://{bucket}/tenant-a/campaigns/")
    link = metadata["first_creative_url"].value
    assert link.startswith("http://127.0.0.1") and "Signature=" in link


BROKEN = {
    "bad-yaml.yaml": "campaign_id: x\nlocales: [en-US\n",
    "schema.yaml": yaml.safe_dump(
        {
            "campaign_id": "ok-id",
            "name": "N",
            "brand": "aurora-beverages",
            "message": "m",
            "cta": "c",
            "locales": ["en-US", "xx-YY"],
            "products": [{"id": "Bad Id", "name": "P"}],
        }
    ),
    "missing-image.yaml": yaml.safe_dump(
        {
            "campaign_id": "missing-img",
            "name": "N",
            "brand": "aurora-beverages",
            "message": "m",
            "cta": "c",
            "locales": ["en-US"],
            "products": [{"id": "p1", "name": "P", "assets": ["assets/nope.png"]}],
        }
    ),
    "escape.yaml": yaml.safe_dump(
        {
            "campaign_id": "escape",
            "name": "N",
            "brand": "aurora-beverages",
            "message": "m",
            "cta": "c",
            "locales": ["en-US"],
            "products": [{"id": "p1", "name": "P", "assets": ["sub/../../../secret.png"]}],
        }
    ),
}


def test_broken_briefs_are_set_aside_with_reports_while_a_good_one_runs(
    tmp_path, instance, s3_storage, s3_client, bucket
):
    s3_client.put_object(Bucket=bucket, Key="tenant-a/secret.png", Body=b"outside the inbox")
    for name, text in BROKEN.items():
        s3_client.put_object(Bucket=bucket, Key=f"tenant-a/inbox/broken/{name}", Body=text.encode())
    good = small_brief(tmp_path, locales=("en-US",), candidates=1)
    _upload_folder(s3_client, bucket, good.parent, "inbox/good")

    result = _tick(instance, s3_storage, upload_grace_seconds=0)
    assert len(result.run_requests) == 1
    assert not [k for k in _keys(s3_client, bucket, "inbox/") if k.endswith(".yaml")]
    rejected = _keys(s3_client, bucket, "rejected/")
    reports = {}
    for key in rejected:
        if key.endswith("error.json"):
            report = json.loads(s3_storage.read_text(key))
            reports[Path(report["file"]).name] = {p["field"]: p["message"] for p in report["problems"]}
    assert set(reports) == set(BROKEN)
    for name in BROKEN:  # the original is kept beside its report
        assert any(k.endswith(f"/{name}") for k in rejected), name
    assert "line" in reports["bad-yaml.yaml"]["(file)"]
    assert "products[0].id" in reports["schema.yaml"] and "locales[1]" in reports["schema.yaml"]
    assert "cannot read" in reports["missing-image.yaml"]["products[0].assets[0]"]
    assert "products[0].assets[0]" in reports["escape.yaml"]


def test_interrupted_tick_is_replayed_without_duplicates(tmp_path, instance, s3_storage, s3_client, bucket):
    _upload_folder(
        s3_client, bucket, small_brief(tmp_path, locales=("en-US",), candidates=1).parent, "inbox/a"
    )
    first = _tick(instance, s3_storage)
    # the daemon died before committing tick 1: partitions and cursor were not stored
    replay = _tick(instance, s3_storage, cursor=None)
    assert [r.run_key for r in replay.run_requests] == [r.run_key for r in first.run_requests]
    _apply(instance, replay)
    # the next tick sees its markers acknowledged in the cursor and clears them
    done = _tick(instance, s3_storage, cursor=replay.cursor)
    assert not done.run_requests
    assert not list(s3_storage.list_keys(PENDING_PREFIX))


def test_new_version_rebuilds_only_changed_units(tmp_path, instance, s3_storage, s3_client, bucket):
    path = small_brief(tmp_path, locales=("en-US", "de-DE"), candidates=1)
    _upload_folder(s3_client, bucket, path.parent, "inbox/v1")
    _apply(instance, first := _tick(instance, s3_storage))
    data = yaml.safe_load(path.read_text())
    data["localized_messages"]["de-DE"]["message"] = "Leuchtend durch den Sommer"
    set_products(data, data["products"][:1])  # drops the generated product
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    _upload_folder(s3_client, bucket, path.parent, "inbox/v2")
    second = _tick(instance, s3_storage, cursor=first.cursor)
    assert current_brief(s3_storage, "summer-splash-2026").version == 2
    (request,) = second.run_requests
    assert request.tags["dagster/asset_partition_range_start"] == "summer-splash-2026.de-DE.sparkling-citrus"
    assert request.tags["dagster/asset_partition_range_end"] == "summer-splash-2026.de-DE.sparkling-citrus"
    assert request.run_key.startswith("summer-splash-2026:v2:")


def test_identical_brief_again_requests_nothing(tmp_path, instance, s3_storage, s3_client, bucket):
    folder = small_brief(tmp_path, locales=("en-US",), candidates=1).parent
    _upload_folder(s3_client, bucket, folder, "inbox/once")
    _apply(instance, first := _tick(instance, s3_storage))
    _upload_folder(s3_client, bucket, folder, "inbox/twice")
    again = _tick(instance, s3_storage, cursor=first.cursor)
    assert not again.run_requests
    assert not [k for k in _keys(s3_client, bucket, "inbox/") if k.endswith(".yaml")]


def test_work_per_tick_is_capped(tmp_path, instance, s3_storage, s3_client, bucket):
    folder = small_brief(tmp_path, locales=("en-US",), candidates=1).parent
    for i in range(3):
        data = yaml.safe_load((folder / "brief.yaml").read_text())
        data["campaign_id"] = f"capped-{i}"
        s3_client.put_object(
            Bucket=bucket, Key=f"tenant-a/inbox/c{i}/brief.yaml", Body=yaml.safe_dump(data).encode()
        )
        _upload_folder(s3_client, bucket, folder / "assets", f"inbox/c{i}/assets")
    first = _tick(instance, s3_storage, max_briefs_per_tick=2)
    assert len(first.run_requests) == 2
    second = _tick(instance, s3_storage, cursor=first.cursor, max_briefs_per_tick=2)
    assert [r.tags["creative_assets/campaign"] for r in second.run_requests] == ["capped-2"]


def test_empty_inbox_skips(instance, s3_storage):
    result = _tick(instance, s3_storage)
    assert result.skip_reason and not result.run_requests


def test_rollup_catches_up_with_every_finished_campaign_in_one_tick(instance):
    """A backlog of successful runs across many campaigns: one tick requests one rollup per campaign
    (the run-status sensor handled one run per tick: 180 successes gave 34 rollups)."""
    from sensors.brief_inbox import campaign_rollup_sensor

    @dg.op
    def noop():
        return None

    @dg.job(name="creative_pipeline")
    def stand_in():
        noop()

    def tick(cursor):
        with dg.build_sensor_context(instance=instance, cursor=cursor) as context:
            return campaign_rollup_sensor(context)

    first = tick(None)  # starts at the latest success: history is not replayed
    assert not first.run_requests
    stand_in.execute_in_process(instance=instance, tags={"creative_assets/campaign": "before"})
    names = [f"c-{n:02d}" for n in range(12)]
    instance.add_dynamic_partitions("campaigns", names)
    last = {}
    for n in range(30):
        campaign = names[n % len(names)]
        last[campaign] = stand_in.execute_in_process(
            instance=instance, tags={"creative_assets/campaign": campaign}
        ).run_id
    stand_in.execute_in_process(instance=instance)  # launched by hand: no campaign tag, no rollup
    result = tick(first.cursor)  # "before" is not a campaign partition: skipped with a warning
    assert {r.partition_key: r.run_key for r in result.run_requests} == {
        c: f"rollup:{c}:{run_id}" for c, run_id in last.items()
    }
    assert not tick(result.cursor).run_requests, "nothing new: nothing requested"


def test_rollup_covers_runs_launched_from_the_ui_and_backfills(instance):
    """Regression: only creative_pipeline runs with a campaign tag were rolled up, so a UI
    materialization or backfill (the implicit asset job, no campaign tag) never refreshed the
    campaign summary. Their campaigns come from the unit partitions they targeted."""
    from sensors.brief_inbox import campaign_rollup_sensor

    @dg.op
    def noop():
        return None

    @dg.job(name="__ASSET_JOB")
    def ui_job():
        noop()

    @dg.job(name="campaign_rollup")
    def rollup_job():
        noop()

    units = [
        "spring-2026.en-US.soda",
        "spring-2026.de-DE.soda",
        "summer-2026.en-US.soda",
        "autumn-2026.en-US.soda",
    ]
    instance.add_dynamic_partitions("creative_units", units)
    instance.add_dynamic_partitions("campaigns", ["spring-2026", "summer-2026", "autumn-2026"])

    def tick(cursor):
        with dg.build_sensor_context(instance=instance, cursor=cursor) as context:
            return campaign_rollup_sensor(context)

    first = tick(None)
    single = ui_job.execute_in_process(
        instance=instance, tags={"dagster/partition": "autumn-2026.en-US.soda"}
    ).run_id
    backfill = ui_job.execute_in_process(  # a backfill range across two campaigns
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": "spring-2026.de-DE.soda",
            "dagster/asset_partition_range_end": "summer-2026.en-US.soda",
            "dagster/backfill": "abcdefgh",
        },
    ).run_id
    rollup_job.execute_in_process(instance=instance, tags={"dagster/partition": "spring-2026"})  # no loop
    result = tick(first.cursor)
    assert {r.partition_key: r.run_key for r in result.run_requests} == {
        "spring-2026": f"rollup:spring-2026:{backfill}",
        "summer-2026": f"rollup:summer-2026:{backfill}",
        "autumn-2026": f"rollup:autumn-2026:{single}",
    }


def test_brief_waits_for_images_still_uploading(tmp_path, instance, s3_storage, s3_client, bucket):
    folder = small_brief(tmp_path, locales=("en-US",), candidates=1).parent
    s3_client.put_object(
        Bucket=bucket, Key="tenant-a/inbox/late/brief.yaml", Body=(folder / "brief.yaml").read_bytes()
    )
    first = _tick(instance, s3_storage)  # images not there yet: deferred, not rejected
    assert not first.run_requests
    assert "inbox/late/brief.yaml" in _keys(s3_client, bucket, "inbox/")
    assert not _keys(s3_client, bucket, "rejected/")
    _upload_folder(s3_client, bucket, folder / "assets", "inbox/late/assets")
    second = _tick(instance, s3_storage, cursor=first.cursor)
    assert len(second.run_requests) == 1
    # past the grace period a missing image is an error like any other
    s3_client.put_object(
        Bucket=bucket,
        Key="tenant-a/inbox/never/brief.yaml",
        Body=(folder / "brief.yaml").read_bytes().replace(b"summer-splash-2026", b"never-2026"),
    )
    _tick(instance, s3_storage, cursor=second.cursor, upload_grace_seconds=0)
    assert any(k.endswith("error.json") for k in _keys(s3_client, bucket, "rejected/"))


def test_damaged_marker_is_set_aside_and_does_not_block(tmp_path, instance, s3_storage, s3_client, bucket):
    s3_storage.write_text(f"{PENDING_PREFIX}/broken-v0001.json", "{not json")
    _upload_folder(
        s3_client, bucket, small_brief(tmp_path, locales=("en-US",), candidates=1).parent, "inbox/ok"
    )
    result = _tick(instance, s3_storage)
    assert len(result.run_requests) == 1
    assert "_inbox/broken/broken-v0001.json" in _keys(s3_client, bucket, "_inbox/")
    assert json.loads(result.cursor) == [f"{PENDING_PREFIX}/summer-splash-2026-v0001.json"]


def test_a_brief_that_breaks_the_validator_is_still_set_aside(
    instance, s3_storage, s3_client, bucket, monkeypatch
):
    import creative_assets.inbox as inbox_module

    def explode(*args, **kwargs):
        raise RuntimeError("validator bug")

    monkeypatch.setattr(inbox_module, "validate_brief", explode)
    s3_client.put_object(Bucket=bucket, Key="tenant-a/inbox/x/brief.yaml", Body=b"campaign_id: x-1\n")
    _tick(instance, s3_storage)
    reports = [k for k in _keys(s3_client, bucket, "rejected/") if k.endswith("error.json")]
    assert len(reports) == 1
    assert "validator bug" in s3_storage.read_text(reports[0])


def test_identical_invalid_briefs_each_get_their_own_rejected_record(instance, s3_storage, s3_client, bucket):
    text = BROKEN["schema.yaml"].encode()
    for drop in ("team-a", "team-b"):
        s3_client.put_object(Bucket=bucket, Key=f"tenant-a/inbox/{drop}/brief.yaml", Body=text)
    s3_client.put_object(Bucket=bucket, Key="tenant-a/inbox/loose.yaml", Body=text)
    _tick(instance, s3_storage)
    reports = {}
    for key in _keys(s3_client, bucket, "rejected/"):
        if key.endswith("/error.json"):
            reports[key.split("/")[1]] = json.loads(s3_storage.read_text(key))
    assert sorted(reports[f]["file"] for f in reports) == [
        "inbox/loose.yaml",
        "inbox/team-a/brief.yaml",
        "inbox/team-b/brief.yaml",
    ]
    folders = sorted(reports)
    assert [f.rsplit("-", 1)[0] for f in folders] == ["loose", "team-a", "team-b"]
    assert all(len(f.rsplit("-", 1)[1]) == 12 for f in folders)
    for folder, report in reports.items():  # each record holds its own copy of the brief
        assert s3_storage.read_bytes(f"rejected/{folder}/{report['file'].rsplit('/', 1)[1]}") == text


def test_briefs_waiting_for_images_do_not_use_up_the_tick(tmp_path, instance, s3_storage, s3_client, bucket):
    folder = small_brief(tmp_path, locales=("en-US",), candidates=1).parent
    data = yaml.safe_load((folder / "brief.yaml").read_text())
    for i in range(3):  # listed first, and all still waiting for their images
        waiting = {**data, "campaign_id": f"a-waiting-{i}"}
        s3_client.put_object(
            Bucket=bucket, Key=f"tenant-a/inbox/a{i}/brief.yaml", Body=yaml.safe_dump(waiting).encode()
        )
    for i in range(2):
        ready = {**data, "campaign_id": f"ready-{i}"}
        s3_client.put_object(
            Bucket=bucket, Key=f"tenant-a/inbox/r{i}/brief.yaml", Body=yaml.safe_dump(ready).encode()
        )
        _upload_folder(s3_client, bucket, folder / "assets", f"inbox/r{i}/assets")
    result = _tick(instance, s3_storage, max_briefs_per_tick=2)
    assert sorted(r.tags["creative_assets/campaign"] for r in result.run_requests) == ["ready-0", "ready-1"]
    assert len([k for k in _keys(s3_client, bucket, "inbox/") if k.endswith(".yaml")]) == 3


def test_many_briefs_are_accepted_in_one_tick_with_one_partition_request(
    tmp_path, instance, s3_storage, s3_client, bucket
):
    folder = small_brief(tmp_path, locales=("en-US", "de-DE"), candidates=1).parent
    data = yaml.safe_load((folder / "brief.yaml").read_text())
    set_products(data, [p for p in data["products"] if not p.get("assets")])
    for i in range(30):
        s3_client.put_object(
            Bucket=bucket,
            Key=f"tenant-a/inbox/b{i:02d}/brief.yaml",
            Body=yaml.safe_dump({**data, "campaign_id": f"batch-{i:02d}"}).encode(),
        )
    result = _tick(instance, s3_storage)
    assert len(result.run_requests) == 30
    by_name = {r.partitions_def_name: r for r in result.dynamic_partitions_requests}
    assert len(result.dynamic_partitions_requests) == 2
    assert len(by_name["creative_units"].partition_keys) == 60
    assert list(by_name["campaigns"].partition_keys) == [f"batch-{i:02d}" for i in range(30)]
