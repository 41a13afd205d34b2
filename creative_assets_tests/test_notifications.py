"""Lifecycle notifications: signing, delivery with retries, subscriptions, and every event type end
to end through the sensors (inbox, drop status, review decisions, delivery) against loopback
receivers."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from creative_assets import notifications as nt
from creative_assets.alerts import AlertConfigError, EmailSink, SlackSink, WebhookSink, parse_sinks
from creative_assets.drop_status import read_status
from creative_assets.inbox import drop_id
from creative_assets.review.service import ReviewService
from creative_assets.units import UnitKey
from creative_assets_tests.alert_servers import HttpRecorder, SmtpRecorder
from creative_assets_tests.pipeline_helpers import pipeline_defs, small_brief
from creative_assets_tests.test_alerts import RecordingLog
from resources.alerts import AlertRouter
from resources.brand_kits import BrandKitLibrary
from resources.inbox import BriefInbox
from resources.storage import LocalCreativeStorage
from sensors.brief_inbox import brief_inbox_sensor
from sensors.notifications import drop_status_sensor, notification_delivery_sensor, review_notification_sensor

SECRET = "whsec-test-0123456789"
ROOT = Path(__file__).resolve().parents[1]


def _receiver_module():
    spec = importlib.util.spec_from_file_location(
        "webhook_receiver", ROOT / "examples" / "webhook_receiver.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _note() -> nt.Notification:
    return nt.brief_rejected(
        "team-a-0123456789ab", "inbox/team-a/brief.yaml", [{"field": "x", "message": "y"}], "r"
    )


# --------------------------------------------------------------------------- signing


def test_signature_verifies_and_refuses_tampering_wrong_secret_and_old_timestamps():
    body = nt.encode_body(nt.webhook_body(_note()))
    now = int(time.time())
    header = nt.sign(SECRET, now, body)
    assert header.startswith(f"t={now},v1=") and len(header.split("v1=")[1]) == 64
    assert nt.verify_signature(SECRET, header, body)
    assert not nt.verify_signature(SECRET, header, body.replace(b"team-a", b"team-b"))
    assert not nt.verify_signature("another-secret", header, body)
    old = nt.sign(SECRET, now - nt.SIGNATURE_TOLERANCE_SECONDS - 5, body)
    assert not nt.verify_signature(SECRET, old, body)
    assert not nt.verify_signature(SECRET, "v1=abc", body)
    # the README's receiver (examples/webhook_receiver.py) agrees with the library on all of these
    receiver = _receiver_module()
    assert receiver.verify(SECRET, header, body)
    assert not receiver.verify(SECRET, header, body + b" ")
    assert not receiver.verify(SECRET, old, body)


def test_webhook_body_is_versioned_with_an_idempotency_key_and_the_readme_receiver_accepts_it():
    received: list[dict] = []
    server = _receiver_module().make_server(SECRET, 0, received.append)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        note = _note()
        WebhookSink(url=url, signing_secret=SECRET).notify(note)
        WebhookSink(url=url, signing_secret=SECRET).notify(note)  # a re-send: de-duplicated by the key
        with pytest.raises(Exception, match="401"):
            WebhookSink(url=url, signing_secret="not-the-secret").notify(note)
    finally:
        server.shutdown()
        server.server_close()
    assert len(received) == 1
    body = received[0]
    assert body["schema_version"] == nt.SCHEMA_VERSION == 1
    assert body["idempotency_key"] == note.key and body["type"] == "brief.rejected"
    assert body["subject"]["drop"] == "team-a-0123456789ab"
    assert body["data"]["problems"] == [{"field": "x", "message": "y"}]


# --------------------------------------------------------------------------- delivery


def _outbox(storage) -> list[str]:
    return list(storage.list_keys("_notifications/outbox"))


def test_a_500_is_retried_with_backoff_then_delivered_once(tmp_path):
    storage = LocalCreativeStorage(root=str(tmp_path))
    note = _note()
    assert nt.enqueue(storage, note) and not nt.enqueue(storage, note), "a replayed enqueue is a no-op"
    waits: list[float] = []
    with HttpRecorder() as http:
        http.script["/hook"] = [500, 503]
        sink = WebhookSink(url=f"{http.url}/hook", signing_secret=SECRET, events=("brief.*",))
        policy = nt.DeliveryPolicy(attempts=3, backoff_seconds=0.5)
        report = nt.deliver_pending(storage, lambda _t: [sink], RecordingLog(), policy, sleep=waits.append)
        assert report.delivered == 1 and report.done == 1
        assert [r.path for r in http.requests] == ["/hook"] * 3
        assert waits == [0.5, 1.0], "exponential backoff between the tries"
        record = nt.read_delivery(storage, note.key, "webhook")
        assert record.status == "delivered" and record.attempts == 3 and record.error is None
        # every try carried the same key; the last one (200) is signed over its exact body
        assert {r.headers["Idempotency-Key"] for r in http.requests} == {note.key}
        last = http.requests[-1]
        assert nt.verify_signature(SECRET, last.headers[nt.SIGNATURE_HEADER], last.body)
        assert _outbox(storage) == []
        # a replay (the producer enqueues again, the delivery pass runs again) sends nothing
        assert not nt.enqueue(storage, note)
        nt.deliver_pending(storage, lambda _t: [sink], RecordingLog(), policy, sleep=waits.append)
        assert len(http.requests) == 3


def test_a_receiver_that_keeps_failing_is_recorded_retried_next_pass_then_given_up(tmp_path):
    storage = LocalCreativeStorage(root=str(tmp_path))
    note = _note()
    nt.enqueue(storage, note)
    log = RecordingLog()
    with HttpRecorder() as http:
        http.statuses["/down"] = 500
        http.statuses["/gone"] = 404
        down = WebhookSink(url=f"{http.url}/down", name="down", events=("*",))
        gone = WebhookSink(url=f"{http.url}/gone", name="gone", events=("*",))
        policy = nt.DeliveryPolicy(attempts=2, backoff_seconds=0, max_passes=2)
        first = nt.deliver_pending(storage, lambda _t: [down, gone], log, policy, sleep=lambda _s: None)
        assert first.failed == 2 and first.done == 0 and _outbox(storage), "kept for the next pass"
        assert len(http.on("/down")) == 2 and len(http.on("/gone")) == 1, "a 404 is not retried in a pass"
        assert nt.read_delivery(storage, note.key, "down").status == "failed"
        second = nt.deliver_pending(storage, lambda _t: [down, gone], log, policy, sleep=lambda _s: None)
        assert second.gave_up == 2 and second.done == 1 and not _outbox(storage)
    failed = nt.failed_deliveries(storage)
    assert sorted(r.sink for r in failed) == ["down", "gone"]
    down_record = next(r for r in failed if r.sink == "down")
    assert down_record.passes == 2 and down_record.attempts == 4 and "500" in down_record.error
    assert down_record.drop == note.drop
    assert any(level == "error" and "gave up" in line for level, line in log.lines)


def test_subscriptions_pick_the_sinks_and_unknown_event_names_are_refused():
    configs = parse_sinks(
        {
            "sinks": [
                {
                    "type": "webhook",
                    "name": "ops",
                    "url": "https://x.example/h",
                    "events": ["brief.*", "alert.*"],
                },
                {
                    "type": "slack",
                    "name": "review",
                    "url": "https://s.example/h",
                    "events": "campaign.*, unit.*",
                },
                {"type": "webhook", "name": "legacy", "url": "https://y.example/h"},
            ]
        },
        "test",
    )
    by_name = {c.name: c.build(RecordingLog()) for c in configs}
    assert nt.subscribes(by_name["ops"].events, "brief.rejected")
    assert not nt.subscribes(by_name["ops"].events, "unit.approved")
    assert nt.subscribes(by_name["review"].events, "unit.delivered")
    assert nt.subscribes(by_name["legacy"].events, "alert.run_failure")
    assert not nt.subscribes(by_name["legacy"].events, "brief.accepted"), "failure alerts only by default"
    with pytest.raises(AlertConfigError, match=r"sinks\[0\]\.events.*'unit\.aproved' matches no event"):
        parse_sinks({"sinks": [{"type": "log", "events": ["unit.aproved"]}]}, "test")


def test_slack_and_email_sinks_carry_the_summary_and_the_key():
    note = nt.campaign_ready(
        "d-1", "summer", 3, ["summer.en-US.a"], [{"unit": "summer.en-US.b", "reason": "logo"}], "http://r/c"
    )
    with HttpRecorder() as http, SmtpRecorder() as smtp:
        SlackSink(url=f"{http.url}/slack").notify(note)
        EmailSink(
            host=smtp.host, port=smtp.port, security="none", sender="a@x.io", recipients=["b@x.io"]
        ).notify(note)
    payload = http.requests[0].json()
    assert "summer v3 is ready for review" in payload["text"] and "<http://r/c|review>" in payload["text"]
    (mail,) = smtp.mails
    assert mail.message["X-Creative-Assets-Idempotency-Key"].strip() == note.key
    assert "ready for review" in mail.message["Subject"]
    assert "summer.en-US.b: logo" in mail.body


# --------------------------------------------------------------------------- end to end


def _context(instance, storage, alerts, cursor=None):
    return dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={
            "storage": storage,
            "inbox": BriefInbox(upload_grace_seconds=0),
            "brand_kits": BrandKitLibrary(),
            "alerts": alerts,
        },
    )


def _tick(sensor, instance, storage, alerts, cursor=None) -> dg.SensorResult:
    with _context(instance, storage, alerts, cursor) as context:
        return sensor(context)


def test_every_event_type_reaches_its_subscribers_once(tmp_path):
    root = tmp_path / "storage"
    storage = LocalCreativeStorage(root=str(root))
    brief = small_brief(tmp_path, locales=("en-US",), candidates=1)
    good = root / "inbox" / "team-a"
    (good / "assets").mkdir(parents=True)
    (good / "brief.yaml").write_bytes(brief.read_bytes())
    for image in (brief.parent / "assets").iterdir():
        (good / "assets" / image.name).write_bytes(image.read_bytes())
    (root / "inbox" / "team-b").mkdir()
    (root / "inbox" / "team-b" / "brief.yaml").write_text("campaign_id: Not A Slug\n")
    good_drop = drop_id("inbox/team-a/brief.yaml", brief.read_bytes(), "inbox/")

    with HttpRecorder() as http, dg.instance_for_test() as instance:
        alerts = AlertRouter(
            webhook_url=f"{http.url}/hook",
            webhook_signing_secret=SECRET,
            shortcut_events="brief.*,campaign.*,unit.*",
            review_url="http://review.test",
            delivery_backoff_seconds=0,
        )

        def received(kind=None):
            bodies = [r.json() for r in http.on("/hook")]
            return [b for b in bodies if kind is None or b["type"] == kind]

        review_cursor = _tick(review_notification_sensor, instance, storage, alerts).cursor
        inbox = _tick(brief_inbox_sensor, instance, storage, alerts)
        for request in inbox.dynamic_partitions_requests:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        _tick(notification_delivery_sensor, instance, storage, alerts)
        (accepted,) = received("brief.accepted")
        assert accepted["subject"] == {
            "campaign": "summer-splash-2026",
            "brief_version": 1,
            "unit": None,
            "drop": good_drop,
        }
        (rejected,) = received("brief.rejected")
        assert any(p["field"] == "campaign_id" for p in rejected["data"]["problems"])
        for request in http.on("/hook"):
            assert nt.verify_signature(SECRET, request.headers[nt.SIGNATURE_HEADER], request.body)

        # replay: the same tick again (daemon restarted before committing), the same drop again
        _tick(brief_inbox_sensor, instance, storage, alerts)
        (good / "brief.yaml").write_bytes(brief.read_bytes())
        for image in (brief.parent / "assets").iterdir():
            (good / "assets" / image.name).write_bytes(image.read_bytes())
        _tick(brief_inbox_sensor, instance, storage, alerts)
        _tick(notification_delivery_sensor, instance, storage, alerts)
        assert len(received("brief.accepted")) == 1 and len(received("brief.rejected")) == 1

        # the run path: not ready while nothing ran, ready once every unit is selected or blocked
        _tick(drop_status_sensor, instance, storage, alerts)
        assert read_status(storage, good_drop).state == "accepted"
        lead, rest = inbox.run_requests  # a one-unit lead run (settings.first_batch_units), then the rest
        job = pipeline_defs(storage).resolve_job_def(lead.job_name)
        results = []
        for request in (lead, rest):
            result = job.execute_in_process(instance=instance, tags=request.tags)
            assert result.success
            results.append(result)
            _tick(drop_status_sensor, instance, storage, alerts)
            if request is lead:  # one unit of two selected: not ready yet
                assert not read_status(storage, good_drop).ready_for_review
        status = read_status(storage, good_drop)
        assert status.state == "ready_for_review" and status.ready_for_review
        assert sorted(r.run_id for r in status.runs) == sorted(r.run_id for r in results)
        assert all(r.status == "SUCCESS" for r in status.runs)
        assert sorted(status.units_done) == sorted(status.units) and len(status.units) == 2
        assert not storage.exists(f"_inbox/tracking/{good_drop}.json")
        _tick(drop_status_sensor, instance, storage, alerts)  # replay: nothing new
        _tick(notification_delivery_sensor, instance, storage, alerts)
        (ready,) = received("campaign.ready_for_review")
        assert ready["links"]["review"] == "http://review.test/campaigns/summer-splash-2026"
        assert sorted(ready["data"]["selected"]) == sorted(status.units)

        # review decisions: approve (and deliver) one unit, request changes on the other
        service = ReviewService(storage)
        first, second = (UnitKey.parse(u) for u in sorted(status.units))
        service.approve(first, "Ana", service.unit(first).selected.content_hash, comment="ship it")
        service.request_changes(second, "Ben", service.unit(second).selected.content_hash, "warmer light")
        for _ in range(2):  # the second tick is a replay from the same cursor
            _tick(review_notification_sensor, instance, storage, alerts, review_cursor)
        _tick(notification_delivery_sensor, instance, storage, alerts)
        (approved,) = received("unit.approved")
        assert approved["subject"]["unit"] == str(first) and approved["data"]["actor"] == "Ana"
        assert approved["data"]["comment"] == "ship it"
        (delivered,) = received("unit.delivered")
        assert delivered["data"]["files"] and all(
            f.startswith("approved/") for f in delivered["data"]["files"]
        )
        (changes,) = received("unit.changes_requested")
        assert changes["subject"]["unit"] == str(second) and changes["data"]["comment"] == "warmer light"
        keys = [b["idempotency_key"] for b in received()]
        assert len(keys) == len(set(keys)) == 6, "each event once"
        assert {b["type"] for b in received()} == set(nt.EVENT_TYPES)
        assert json.loads(http.on("/hook")[0].body)["schema_version"] == 1


def test_drop_status_sensor_takes_tracked_drops_round_robin(tmp_path, monkeypatch):
    """Drops whose units are still pending stay tracked; each tick looks at the next ones, so a
    backlog of stuck drops never starves later ones."""
    from creative_assets import drop_status
    from creative_assets.brief import load_brief
    from creative_assets.brief_store import register_brief
    from sensors import notifications as sensor_module

    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    brief = small_brief(tmp_path, locales=("en-US",), candidates=1)
    record, _ = register_brief(storage, load_brief(brief), brief.read_bytes())
    units = [str(u) for u in record.unit_keys()]
    drops = ["a-000000000001", "b-000000000002", "c-000000000003"]
    for drop in drops:
        drop_status.record_accepted(
            storage, drop, f"inbox/{drop}/brief.yaml", record.campaign_id, 1, True, units, units, None
        )
    monkeypatch.setattr(sensor_module, "DROPS_PER_TICK", 2)
    alerts = AlertRouter()
    with dg.instance_for_test() as instance:
        first = _tick(drop_status_sensor, instance, storage, alerts)
        second = _tick(drop_status_sensor, instance, storage, alerts, first.cursor)
        third = _tick(drop_status_sensor, instance, storage, alerts, second.cursor)
    assert (first.cursor, second.cursor, third.cursor) == (drops[1], drops[0], drops[2])
    assert drop_status.tracked_drops(storage) == drops, "nothing is ready: all stay tracked"
    assert all(drop_status.read_status(storage, d).state == "accepted" for d in drops)


def test_a_sink_that_fails_is_tried_once_per_pass_not_once_per_notification(tmp_path):
    storage = LocalCreativeStorage(root=str(tmp_path))
    first = _note()
    second = nt.brief_rejected("team-z-0123456789ab", "inbox/team-z/brief.yaml", [], "r")
    nt.enqueue(storage, first)
    nt.enqueue(storage, second)
    with HttpRecorder() as http:
        http.statuses["/down"] = 503
        http.script["/up"] = []
        down = WebhookSink(url=f"{http.url}/down", name="down", events=("*",))
        up = WebhookSink(url=f"{http.url}/up", name="up", events=("*",))
        policy = nt.DeliveryPolicy(attempts=2, backoff_seconds=0, max_passes=3)
        report = nt.deliver_pending(
            storage, lambda _t: [down, up], RecordingLog(), policy, sleep=lambda _s: None
        )
        assert len(http.on("/down")) == 2, "one round of tries in the pass, then skipped"
        assert len(http.on("/up")) == 2, "the healthy sink still gets both"
        assert report.delivered == 2 and report.failed == 1 and len(_outbox(storage)) == 2
        http.statuses["/down"] = 200
        nt.deliver_pending(storage, lambda _t: [down, up], RecordingLog(), policy, sleep=lambda _s: None)
    assert len(http.on("/down")) == 4 and len(http.on("/up")) == 2 and _outbox(storage) == []
