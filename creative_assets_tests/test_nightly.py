"""The nightly regeneration schedule: exactly the units that need it, and nothing else."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone

import dagster as dg
import pytest
import yaml
from dagster._core.utils import make_new_run_id

from creative_assets.brand_kit import brand_kits_dir
from creative_assets.brief import load_brief
from creative_assets.brief_store import register_brief
from creative_assets.layout import delivery_manifest_key, stage_prefix
from creative_assets.regeneration import plan_regeneration
from creative_assets.review.service import ReviewService
from creative_assets.stage_store import read_stage
from creative_assets.units import UnitKey
from creative_assets_tests.helpers import EXAMPLES
from creative_assets_tests.pipeline_helpers import pipeline_defs, register, run_range, small_brief
from resources.brand_kits import BrandKitLibrary
from resources.storage import LocalCreativeStorage
from sensors.nightly import build_nightly_schedule, stage_code_versions

NIGHT = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)


def evaluate(schedule, instance, storage, kits_root=""):
    # a with block: the context opens its own instance from the ref and must close it
    with dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=NIGHT,
        resources={"storage": storage, "brand_kits": BrandKitLibrary(root=kits_root)},
    ) as context:
        return schedule(context)


def units_of(requests, ordered):
    out = []
    for r in requests:
        first, last = (
            r.tags["dagster/asset_partition_range_start"],
            r.tags["dagster/asset_partition_range_end"],
        )
        out.extend(ordered[ordered.index(first) : ordered.index(last) + 1])
    return out


def edit_manifest(storage, unit, stage, **changes):
    key = f"{stage_prefix(unit, stage)}/manifest.json"
    manifest = json.loads(storage.read_text(key))
    for path, value in changes.items():
        target = manifest
        *parents, leaf = path.split("__")
        for p in parents:
            target = target[p]
        target[leaf] = value
    storage.write_text(key, json.dumps(manifest))


def test_schedule_configuration_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("CREATIVE_ASSETS_NIGHTLY_CRON", "30 3 * * 1-5")
    monkeypatch.setenv("CREATIVE_ASSETS_NIGHTLY_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("CREATIVE_ASSETS_NIGHTLY_ENABLED", "0")
    schedule = build_nightly_schedule()
    assert schedule.cron_schedule == "30 3 * * 1-5"
    assert schedule.execution_timezone == "Europe/Berlin"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    monkeypatch.delenv("CREATIVE_ASSETS_NIGHTLY_CRON")
    monkeypatch.delenv("CREATIVE_ASSETS_NIGHTLY_TIMEZONE")
    monkeypatch.delenv("CREATIVE_ASSETS_NIGHTLY_ENABLED")
    default = build_nightly_schedule()
    assert (default.cron_schedule, default.execution_timezone) == ("0 2 * * *", "UTC")
    assert default.default_status == dg.DefaultScheduleStatus.RUNNING


def test_nightly_regenerates_exactly_what_changed(tmp_path):
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    (tmp_path / "home").mkdir()
    brief_path = small_brief(tmp_path, locales=("en-US", "de-DE"))
    schedule = build_nightly_schedule()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        keys = register(storage, brief_path, instance)
        units = [UnitKey.parse(k) for k in keys]
        defs = pipeline_defs(storage)
        run_range(defs, instance, keys[0], keys[-1])

        # 1. everything fresh: nothing to do
        skipped = evaluate(schedule, instance, storage)
        assert isinstance(skipped, dg.SkipReason) and "up to date" in skipped.skip_message

        # an approved unit that does not change must keep its approval through the night
        service = ReviewService(storage)
        approved = units[3]
        service.approve(approved, "Ana", service.unit(approved).selected.content_hash)

        # 2. make one unit need work for each reason
        data = yaml.safe_load(brief_path.read_text())
        product = data["products"][0]["id"]
        data["products"][0]["description"] += " Now with more fizz."
        brief_path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
        register_brief(storage, load_brief(brief_path), brief_path.read_bytes())  # v2: product 0 changed
        changed_brief = {u for u in units if u.product_id == product}
        revision = units[1]  # en-US x the second product
        view = service.unit(revision)
        service.request_changes(revision, "Ben", view.selected.content_hash, "more minimal")
        missing = units[2]
        storage.delete(f"{stage_prefix(missing, 'selected_creative')}/manifest.json")
        plans = {
            str(p.unit): set(p.reasons)
            for p in plan_regeneration(
                storage,
                code_versions=stage_code_versions(),
                kit_fingerprint=lambda slug: BrandKitLibrary().load(slug).fingerprint(),
                knowledge_base_version=json.loads(
                    storage.read_text(f"{stage_prefix(units[0], 'locale_context_pack')}/manifest.json")
                )["value"]["knowledge_base_version"],
            )
        }
        expected = {str(u): {"brief_changed"} for u in changed_brief}
        expected[str(revision)] = {"revision_pending"}
        expected[str(missing)] = {"missing"}
        assert plans == expected

        result = evaluate(schedule, instance, storage)
        assert isinstance(result, list) and result
        covered = units_of(result, instance.get_dynamic_partitions("creative_units"))
        assert sorted(covered) == sorted(expected), "only the units that need it, no neighbours in ranges"
        assert str(approved) not in covered
        for request in result:
            assert request.run_key.startswith("nightly:2026-11-22T0200:")
            assert request.tags["creative_assets/trigger"] == "nightly"

        # 3. end to end: run what the schedule asked for; then the next night has nothing to do
        job = defs.resolve_job_def("creative_pipeline")
        for request in result:
            assert job.execute_in_process(instance=instance, tags=request.tags).success
        again = evaluate(schedule, instance, storage)
        assert isinstance(again, dg.SkipReason), again
        assert service.unit(approved).status == "approved"
        assert storage.exists(delivery_manifest_key(approved))
        assert service.unit(revision).revision == 1


@pytest.mark.parametrize(
    ("reason", "tamper"),
    [
        ("code_changed", lambda s, u: edit_manifest(s, u, "final_creatives", code_version="0")),
        (
            "rules_changed",
            lambda s, u: edit_manifest(s, u, "locale_context_pack", value__knowledge_base_version="old"),
        ),
        (
            "out_of_order",
            lambda s, u: edit_manifest(s, u, "image_candidates", written_at="2999-01-01T00:00:00+00:00"),
        ),
    ],
)
def test_code_rules_and_partial_reruns_are_detected(tmp_path, reason, tamper):
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        keys = register(storage, small_brief(tmp_path, locales=("en-US",), candidates=1), instance)
        run_range(pipeline_defs(storage), instance, keys[0], keys[-1])
        unit = UnitKey.parse(keys[0])
        tamper(storage, unit)
        result = evaluate(build_nightly_schedule(), instance, storage)
        assert units_of(result, instance.get_dynamic_partitions("creative_units")) == [keys[0]]
        assert reason in result[0].tags["creative_assets/reasons"]


def test_brand_kit_edits_regenerate_the_brand_units(tmp_path):
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    (tmp_path / "home").mkdir()
    kits = tmp_path / "kits"
    shutil.copytree(brand_kits_dir(), kits)
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        keys = register(storage, small_brief(tmp_path, locales=("en-US",), candidates=1), instance)
        defs = pipeline_defs(storage, brand_kits=BrandKitLibrary(root=str(kits)))
        run_range(defs, instance, keys[0], keys[-1])
        assert isinstance(evaluate(build_nightly_schedule(), instance, storage, str(kits)), dg.SkipReason)
        brand = json.loads(
            storage.read_text(f"{stage_prefix(UnitKey.parse(keys[0]), 'unit_brief')}/manifest.json")
        )
        kit_yaml = kits / brand["value"]["brand"] / "brand.yaml"
        edited = kit_yaml.read_text().replace("tagline: Sparkle on.", "tagline: Sparkle on, always.", 1)
        assert edited != kit_yaml.read_text(), "the kit edit must change brand.yaml"
        kit_yaml.write_text(edited)
        result = evaluate(build_nightly_schedule(), instance, storage, str(kits))
        assert sorted(units_of(result, instance.get_dynamic_partitions("creative_units"))) == sorted(keys)
        assert result[0].tags["creative_assets/reasons"] == "brand_kit_changed"


def _queue_run(instance, first: str, last: str, status=dg.DagsterRunStatus.STARTING) -> None:
    """A run of creative_pipeline over first..last in ``status`` (QUEUED runs need a code location
    origin to be stored; the nightly treats QUEUED, NOT_STARTED, STARTING and STARTED alike)."""
    instance.add_run(
        dg.DagsterRun(
            job_name="creative_pipeline",
            run_id=make_new_run_id(),
            status=status,
            tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
        )
    )


def test_nightly_skips_units_already_queued_or_running(tmp_path):
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    schedule = build_nightly_schedule()
    with dg.instance_for_test() as instance:
        keys = register(storage, small_brief(tmp_path, locales=("en-US", "de-DE", "fr-FR")), instance)
        assert len(keys) == 6  # nothing generated yet: every unit is missing
        _queue_run(instance, keys[0], keys[2])
        _queue_run(instance, keys[3], keys[3], dg.DagsterRunStatus.STARTED)
        _queue_run(instance, keys[4], keys[5], dg.DagsterRunStatus.FAILURE)  # finished: not busy
        result = evaluate(schedule, instance, storage)
        assert units_of(result, keys) == keys[4:], "only the units without a queued or running run"
        _queue_run(instance, keys[4], keys[5], dg.DagsterRunStatus.NOT_STARTED)
        skipped = evaluate(schedule, instance, storage)
        assert (
            isinstance(skipped, dg.SkipReason)
            and "6 unit(s) already queued or running" in skipped.skip_message
        )


def test_a_deterministic_failure_is_not_repeated_until_an_input_changes(tmp_path):
    source = EXAMPLES / "compliance-demo-2026" / "brief.yaml"
    data = yaml.safe_load(source.read_text())
    data.update(locales=["en-GB"], candidates=1, aspect_ratios=["1:1"])
    data["localized_messages"] = {}
    brief = tmp_path / "brief.yaml"
    brief.write_text(yaml.safe_dump(data))
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    schedule = build_nightly_schedule()
    with dg.instance_for_test() as instance:
        # the health claim would be refused by the preflight; skipped, it blocks on the final pixels
        keys = register(storage, brief, instance, preflight=False)
        # contained: the run succeeds and records the unit with the blocking ERROR as blocked
        assert run_range(pipeline_defs(storage), instance, keys[0], keys[-1], raise_on_error=False).success
        statuses = [read_stage(storage, UnitKey.parse(k), "selected_creative").status for k in keys]
        assert "blocked" in statuses
        skipped = evaluate(schedule, instance, storage)
        assert isinstance(skipped, dg.SkipReason), "the same seed would give the same blocking ERROR"
        assert "blocked by a deterministic failure" in skipped.skip_message
        # an input changes (the campaign message): the unit is tried again
        data["message"] = data["message"] + " today"
        brief.write_text(yaml.safe_dump(data))
        register_brief(storage, load_brief(brief, preflight=False), brief.read_bytes())
        again = evaluate(schedule, instance, storage)
        assert isinstance(again, list) and units_of(again, keys) == keys
        assert "brief_changed" in again[0].tags["creative_assets/reasons"]


def _failed_tick(instance, name: str, when: datetime, error: str) -> None:
    """What the daemon records when a schedule evaluation raises (internal API, test set-up only)."""
    from dagster._core.remote_origin import (
        RegisteredCodeLocationOrigin,
        RemoteInstigatorOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.scheduler.instigation import (
        InstigatorState,
        InstigatorStatus,
        InstigatorType,
        ScheduleInstigatorData,
        TickData,
        TickStatus,
    )
    from dagster._utils.error import SerializableErrorInfo

    origin = RemoteInstigatorOrigin(
        RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("creative_assets"), "__repository__"), name
    )
    state = InstigatorState(
        origin, InstigatorType.SCHEDULE, InstigatorStatus.RUNNING, ScheduleInstigatorData("0 2 * * *")
    )
    if instance.get_instigator_state(origin.get_id(), state.selector_id) is None:
        instance.add_instigator_state(state)
    instance.create_tick(
        TickData(
            instigator_origin_id=origin.get_id(),
            instigator_name=name,
            instigator_type=InstigatorType.SCHEDULE,
            status=TickStatus.FAILURE,
            timestamp=when.timestamp(),
            selector_id=state.selector_id,
            error=SerializableErrorInfo(error, [], "EndpointConnectionError"),
        )
    )


def test_a_failed_nightly_tick_is_alerted_and_caught_up_the_same_day(tmp_path):
    from creative_assets_tests.alert_servers import HttpRecorder
    from resources.alerts import AlertRouter
    from sensors.alerts import tick_failure_alert_sensor
    from sensors.nightly import nightly_catchup_sensor

    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    with dg.instance_for_test() as instance:
        keys = register(storage, small_brief(tmp_path, locales=("en-US",)), instance)
        resources = {"storage": storage, "brand_kits": BrandKitLibrary()}
        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            assert not nightly_catchup_sensor(context).run_requests  # no failed tick: nothing to do
        _failed_tick(instance, "nightly_regeneration", NIGHT, "Could not connect to the endpoint URL")

        # the failure is alerted (here to a webhook on loopback), once
        with HttpRecorder() as http:
            router = AlertRouter(webhook_url=f"{http.url}/hook")
            with dg.build_sensor_context(
                instance=instance, cursor=str(NIGHT.timestamp() - 60), resources={"alerts": router}
            ) as context:
                cursor = tick_failure_alert_sensor(context).cursor
            with dg.build_sensor_context(
                instance=instance, cursor=cursor, resources={"alerts": router}
            ) as context:
                tick_failure_alert_sensor(context)
        (alert,) = [r.json() for r in http.requests]
        assert alert["title"] == "Schedule nightly_regeneration failed its tick: nothing was launched"
        assert "Could not connect to the endpoint URL" in alert["error"] and alert["kind"] == "tick_failure"

        # and the night is caught up: same stamp, so its run keys cannot launch twice
        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            result = nightly_catchup_sensor(context)
        assert units_of(result.run_requests, keys) == keys
        assert all(r.run_key.startswith("nightly:2026-11-22T0200:") for r in result.run_requests)
        with dg.build_sensor_context(instance=instance, cursor=result.cursor, resources=resources) as context:
            assert not nightly_catchup_sensor(context).run_requests, "caught up once"


def test_a_sensor_failing_every_tick_is_alerted_once_then_at_most_hourly(tmp_path):
    from creative_assets_tests.alert_servers import HttpRecorder
    from resources.alerts import AlertRouter
    from sensors.alerts import tick_failure_alert_sensor

    now = datetime.now(timezone.utc)
    with dg.instance_for_test() as instance, HttpRecorder() as http:
        router = AlertRouter(webhook_url=f"{http.url}/hook")

        def tick(cursor):
            with dg.build_sensor_context(
                instance=instance, cursor=cursor, resources={"alerts": router}
            ) as context:
                return tick_failure_alert_sensor(context).cursor

        cursor = json.dumps({"after": now.timestamp() - 600, "alerted": {}, "held": {}})
        for minutes in (5, 4, 3):  # storage down: the inbox sensor fails tick after tick
            _failed_tick(
                instance, "brief_inbox_sensor", now - timedelta(minutes=minutes), "storage unreachable"
            )
        cursor = tick(cursor)
        _failed_tick(instance, "brief_inbox_sensor", now - timedelta(minutes=1), "storage unreachable")
        tick(cursor)
    (alert,) = [r.json() for r in http.requests]
    assert alert["stage"] == "brief_inbox_sensor" and "3 failed ticks since the last alert" in alert["error"]
