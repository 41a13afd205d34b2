"""Failure alerts: formats, each sink against loopback HTTP and SMTP servers, isolation of failing
sinks, configuration errors, and both sensors end to end on real pipeline runs."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import pytest
import yaml

from creative_assets.alerts import (
    Alert,
    AlertConfigError,
    EmailSink,
    LogSink,
    SlackSink,
    WebhookSink,
    cap_alerts,
    dispatch,
    email_message,
    json_payload,
    load_config_file,
    run_url,
    slack_payload,
    text_body,
)
from creative_assets_tests.alert_servers import HttpRecorder, SmtpRecorder, closed_port
from creative_assets_tests.helpers import EXAMPLES
from creative_assets_tests.pipeline_helpers import pipeline_defs, register, run_range, small_brief
from resources.alerts import AlertRouter, build_alert_router
from resources.providers import OfflineImageProvider
from resources.storage import LocalCreativeStorage
from sensors.alerts import check_failure_alert_sensor, error_text, run_failure_alert_sensor, scope
from sensors.run_scope import range_units, run_partitions

UNIT = "summer-splash-2026.de-DE.sparkling-water"
RUN_ID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
TOKEN = "tok-3f9a-super-secret"
PASSWORD = "smtp-pa55word-secret"


class RecordingLog:
    """Stands in for context.log / a logging.Logger."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, msg: str, *args, **kwargs) -> None:
        self.lines.append(("info", msg))

    def warning(self, msg: str, *args, **kwargs) -> None:
        self.lines.append(("warning", msg))

    def error(self, msg: str, *args, **kwargs) -> None:
        self.lines.append(("error", msg))

    def exception(self, msg: str, *args, **kwargs) -> None:
        self.lines.append(("exception", msg))

    @property
    def text(self) -> str:
        return "\n".join(msg for _, msg in self.lines)


def check_alert(**changes) -> Alert:
    values = dict(
        kind="check_failure",
        campaign="summer-splash-2026",
        locales=["de-DE"],
        products=["sparkling-water"],
        units=[UNIT],
        stage="final_creatives",
        check="copy_terms",
        error="no candidate is compliant: nothing can be selected.",
        findings=["candidate 1 @ 1:1: [ERROR] 'cure' (brand:lumen-skincare) in headline"],
        run_id=RUN_ID,
        run_url=run_url("http://dagster.example:3000/", RUN_ID),
        job="creative_pipeline",
        occurred_at=datetime(2026, 5, 1, 12, 30, tzinfo=timezone.utc),
    )
    return Alert(**{**values, **changes})


def run_alert() -> Alert:
    return check_alert(
        kind="run_failure",
        check=None,
        findings=[],
        stage="image_candidates",
        error="RuntimeError: image service quota exhausted (429)",
    )


# --------------------------------------------------------------------------- formats


def test_run_url_joins_the_ui_base():
    assert run_url("http://localhost:3000", "abc") == "http://localhost:3000/runs/abc"
    assert run_url("https://ops.example/dagster/", "abc") == "https://ops.example/dagster/runs/abc"


def test_json_payload_has_every_field():
    payload = json_payload(check_alert())
    assert payload["kind"] == "check_failure" and payload["source"] == "creative-assets"
    assert payload["campaign"] == "summer-splash-2026"
    assert payload["locales"] == ["de-DE"] and payload["products"] == ["sparkling-water"]
    assert payload["units"] == [UNIT] and payload["stage"] == "final_creatives"
    assert payload["check"] == "copy_terms" and "'cure'" in payload["findings"][0]
    assert payload["run_url"] == f"http://dagster.example:3000/runs/{RUN_ID}"
    assert payload["occurred_at"] == "2026-05-01T12:30:00Z"
    assert json.loads(json.dumps(payload)) == payload


def test_text_body_says_what_why_and_where():
    body = text_body(run_alert())
    for expected in (
        "Run failed at image_candidates: summer-splash-2026 / de-DE / sparkling-water",
        "Campaign: summer-splash-2026",
        "Locale: de-DE",
        "Product: sparkling-water",
        "Stage: image_candidates",
        "RuntimeError: image service quota exhausted (429)",
        f"Open the run: http://dagster.example:3000/runs/{RUN_ID}",
    ):
        assert expected in body, expected


def test_batches_are_summarised_in_titles():
    many = run_alert().model_copy(
        update={"locales": ["de-DE", "en-US", "ja-JP"], "products": list("abcdefg")}
    )
    assert many.title.endswith("de-DE, en-US … (+1 more) / a, b … (+5 more)")
    assert "Products: a, b, c, d, e … (+2 more)" in text_body(many)


def test_slack_payload_has_text_and_blocks():
    payload = slack_payload(check_alert(error="contrast < 3:1 & logo hidden"))
    assert "Check copy_terms failed on final_creatives" in payload["text"]
    assert f"<http://dagster.example:3000/runs/{RUN_ID}|run>" in payload["text"]
    kinds = [b["type"] for b in payload["blocks"]]
    assert kinds == ["header", "section", "section", "context"]
    fields = " ".join(f["text"] for f in payload["blocks"][1]["fields"])
    assert "*Campaign*\nsummer-splash-2026" in fields and "*Check*\ncopy_terms" in fields
    why = payload["blocks"][2]["text"]["text"]
    assert "contrast &lt; 3:1 &amp; logo hidden" in why and "'cure'" in why  # escaped for mrkdwn
    assert RUN_ID[:8] in payload["blocks"][3]["elements"][0]["text"]


def test_email_message_headers_and_body():
    message = email_message(run_alert(), "alerts@example.com", ["a@example.com", "b@example.com"], "[ca]")
    assert message["Subject"].startswith("[ca] Run failed at image_candidates")
    assert message["To"] == "a@example.com, b@example.com"
    assert message["X-Creative-Assets-Run"] == RUN_ID
    assert "image service quota exhausted" in message.get_content()


def test_cap_alerts_folds_the_rest_into_a_summary():
    alerts = [check_alert(check=c, units=[f"summer-splash-2026.de-DE.p{i}"]) for i, c in enumerate("abcde")]
    assert cap_alerts(alerts, 5) == alerts
    capped = cap_alerts(alerts, 3)
    assert len(capped) == 3 and capped[:2] == alerts[:2]
    assert capped[2].check == "c, d, e" and "3 more failed check evaluation(s)" in capped[2].error
    assert len(capped[2].units) == 3


# --------------------------------------------------------------------------- sinks on loopback


def test_webhook_sink_posts_json_with_bearer_token():
    with HttpRecorder() as http:
        sink = WebhookSink(url=f"{http.url}/hook", headers={"X-Team": "ops"}, bearer_token=TOKEN)
        sink.send(check_alert())
    (request,) = http.on("/hook")
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}" and request.headers["X-Team"] == "ops"
    body = request.json()
    assert body["check"] == "copy_terms" and body["units"] == [UNIT]
    assert TOKEN not in repr(sink) and TOKEN not in sink.describe()


def test_slack_sink_posts_incoming_webhook_format():
    with HttpRecorder() as http:
        SlackSink(url=f"{http.url}/services/T0/B0/secret").send(run_alert())
    (request,) = http.on("/services/T0/B0/secret")
    body = request.json()
    assert set(body) == {"text", "blocks"} and "image_candidates" in body["text"]


def test_email_sink_delivers_over_smtp_with_login():
    with SmtpRecorder() as smtp:
        sink = EmailSink(
            host=smtp.host,
            port=smtp.port,
            security="none",
            username="alerts",
            password=PASSWORD,
            sender="alerts@example.com",
            recipients=["ops@example.com", "brand@example.com"],
        )
        sink.send(check_alert())
    (mail,) = smtp.mails
    assert mail.auth == ("alerts", PASSWORD)
    assert mail.sender == "alerts@example.com" and mail.recipients == ["ops@example.com", "brand@example.com"]
    message = mail.message
    assert message["Subject"] == (
        "[creative-assets] Check copy_terms failed on final_creatives: summer-splash-2026 / de-DE / sparkling-water"
    )
    assert "Findings:" in mail.body and "'cure'" in mail.body and f"/runs/{RUN_ID}" in mail.body
    assert PASSWORD not in repr(sink) and PASSWORD not in sink.describe()


def test_a_failing_sink_does_not_stop_the_others():
    log = RecordingLog()
    with HttpRecorder() as http, SmtpRecorder() as smtp:
        http.statuses["/broken"] = 500
        sinks = [
            WebhookSink(url=f"http://127.0.0.1:{closed_port()}/hook", name="refused", bearer_token=TOKEN),
            SlackSink(url=f"{http.url}/broken", name="slack-500"),
            EmailSink(
                host=smtp.host, port=closed_port(), security="none", sender="a@x.io", recipients=["b@x.io"]
            ),
            WebhookSink(url=f"{http.url}/ok", name="ok-webhook"),
            EmailSink(
                host=smtp.host, port=smtp.port, security="none", sender="a@x.io", recipients=["b@x.io"]
            ),
            LogSink(logger=log),
        ]
        results = dispatch(run_alert(), sinks, log)
    assert [(r.sink, r.ok) for r in results] == [
        ("refused", False),
        ("slack-500", False),
        ("email", False),
        ("ok-webhook", True),
        ("email", True),
        ("log", True),
    ]
    assert "HTTP Error 500" in results[1].error and "refused" in results[0].error.lower()
    assert len(http.on("/ok")) == 1 and len(smtp.mails) == 1
    assert "ALERT Run failed at image_candidates" in log.text  # the log sink got it too
    assert TOKEN not in log.text and "/broken" not in log.text


def test_a_sink_that_failed_is_skipped_for_the_rest_of_the_tick(tmp_path):
    log = RecordingLog()
    with HttpRecorder() as http:
        router = AlertRouter(
            webhook_url=f"http://127.0.0.1:{closed_port()}/hook", slack_webhook_url=f"{http.url}/slack"
        )
        first, second = router.send_all([run_alert(), check_alert()], log)
    assert [(r.sink, r.ok) for r in first] == [("webhook", False), ("slack", True), ("log", True)]
    assert second[0].error == "skipped: failed earlier in this tick" and second[1].ok
    assert len(http.on("/slack")) == 2


# --------------------------------------------------------------------------- configuration


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "alerts.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def test_example_config_loads(monkeypatch):
    env = {
        "SLACK_CREATIVE_OPS_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/x",
        "ALERT_WEBHOOK_TOKEN": TOKEN,
        "ALERT_SMTP_PASSWORD": PASSWORD,
    }
    configs = load_config_file(EXAMPLES / "alerts.yaml", env)
    assert [(c.type, c.name) for c in configs] == [
        ("slack", "creative-ops-slack"),
        ("webhook", "incident-webhook"),
        ("email", "brand-team-email"),
    ]
    email = configs[2]
    assert email.password.get_secret_value() == PASSWORD and len(email.to) == 2
    assert PASSWORD not in repr(configs) and TOKEN not in repr(configs)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"sinks": [{"type": "teams", "url": "https://x"}]}, "sinks[0].type", "must be one of webhook"),
        ({"sinks": [{"type": "webhook"}]}, "sinks[0].url", "is required"),
        ({"sinks": [{"type": "slack", "url": "hooks.slack.com/x"}]}, "sinks[0].url", "http:// or https://"),
        (
            {"sinks": [{"type": "log"}, {"type": "email", "host": "smtp", "from": "a@b.c", "to": "nobody"}]},
            "sinks[1].to",
            "not email addresses: nobody",
        ),
        (
            {"sinks": [{"type": "email", "host": "smtp", "from": "a@b.c", "to": ["x@y.z"], "port": 0}]},
            "sinks[0].port",
            "greater than or equal to 1 (got 0)",
        ),
        (
            {"sinks": [{"type": "webhook", "url": "https://x", "retries": 3}]},
            "sinks[0].retries",
            "not a known field",
        ),
        (
            {"sinks": [{"type": "webhook", "url": "${NOT_SET_ANYWHERE}"}]},
            "sinks[0].url",
            "NOT_SET_ANYWHERE is not set",
        ),
        ({"sink": []}, "sink", "not a known field"),
        ({"sinks": [{"type": "log"}, {"type": "log"}]}, "sinks", "'log' is used 2 times"),
        ("sinks: [type: webhook\n", "line 2, column 1", "is not valid YAML"),
    ],
)
def test_config_errors_name_the_file_and_field(tmp_path, data, field, message):
    path = write(tmp_path, data)
    with pytest.raises(AlertConfigError) as raised:
        load_config_file(path, env={})
    text = str(raised.value)
    assert text.startswith(f"{path}: invalid alerts configuration"), text
    assert f"{field}: " in text and message in text, text


def test_config_errors_do_not_echo_secrets(tmp_path):
    path = write(tmp_path, {"sinks": [{"type": "slack", "url": "not-a-url-but-a-secret-token"}]})
    with pytest.raises(AlertConfigError) as raised:
        load_config_file(path, env={})
    assert "secret-token" not in str(raised.value)


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(
        AlertConfigError, match=r"nope\.yaml: invalid alerts configuration\n  - \(file\): cannot"
    ):
        load_config_file(tmp_path / "nope.yaml")


def test_bad_config_keeps_the_valid_sinks_and_the_log(tmp_path):
    log = RecordingLog()
    path = write(tmp_path, {"sinks": [{"type": "webhook", "url": "ftp://x"}]})
    with HttpRecorder() as http:
        router = AlertRouter(config_file=str(path), slack_webhook_url=f"{http.url}/slack")
        (results,) = router.send_all([run_alert()], log)
    assert [(r.sink, r.ok) for r in results] == [("slack", True), ("log", True)]
    assert f"{path}: invalid alerts configuration" in log.text and "sinks[0].url" in log.text


def test_shortcut_errors_name_the_environment_variable():
    router = AlertRouter(smtp_host="smtp.example.com", email_to="ops@example.com", smtp_security="tls")
    with pytest.raises(AlertConfigError) as raised:
        router.shortcut_configs()
    text = str(raised.value)
    assert "email_from (CREATIVE_ASSETS_ALERT_EMAIL_FROM): is required for email alerts" in text
    assert "smtp_security (CREATIVE_ASSETS_ALERT_SMTP_SECURITY)" in text


def test_file_and_shortcut_sinks_combine_with_unique_names(tmp_path):
    path = write(tmp_path, {"sinks": [{"type": "webhook", "url": "https://a.example/x"}]})
    router = AlertRouter(config_file=str(path), webhook_url="https://b.example/y")
    assert [c.name for c in router.sink_configs()] == ["webhook", "webhook-2"]


# --------------------------------------------------------------------------- run scope


def test_run_partitions_from_tags():
    ordered = ["c.en-US.a", "c.en-US.b", "c.de-DE.a", "c.de-DE.b"]
    assert range_units("c.en-US.b", "c.de-DE.b", ordered) == ordered[1:]
    assert range_units("x.en-US.a", "x.en-US.b", ordered) == ["x.en-US.a", "x.en-US.b"]
    tags = {
        "dagster/asset_partition_range_start": "c.en-US.b",
        "dagster/asset_partition_range_end": "c.de-DE.a",
    }
    assert run_partitions(tags, lambda: ordered) == ordered[1:3]
    assert run_partitions({"dagster/partition": "c.de-DE.a"}, lambda: pytest.fail("not needed")) == [
        "c.de-DE.a"
    ]
    assert run_partitions({}, lambda: ordered) == []


def test_scope_of_units_and_of_a_rollup():
    units = ["spring-2026.en-US.tea", "spring-2026.en-US.soda", "spring-2026.de-DE.tea"]
    assert scope({"creative_assets/brief_version": "3"}, units) == {
        "campaign": "spring-2026",
        "locales": ["en-US", "de-DE"],
        "products": ["tea", "soda"],
        "units": units,
        "brief_version": "3",
    }
    assert scope({}, ["summer-splash-2026"])["campaign"] == "summer-splash-2026"  # campaign_rollup


# --------------------------------------------------------------------------- sensors end to end


class ExplodingImageProvider(OfflineImageProvider):
    """The image service is down."""

    def draw(self, *args, **kwargs):
        raise RuntimeError("image service quota exhausted (429 Too Many Requests)")


@pytest.fixture
def sinks_env(monkeypatch):
    """Loopback HTTP and SMTP servers, wired into the alerts resource through the environment."""
    with HttpRecorder() as http, SmtpRecorder() as smtp:
        env = {
            "CREATIVE_ASSETS_UI_URL": "http://dagster.test:3000",
            "CREATIVE_ASSETS_ALERT_WEBHOOK_URL": f"{http.url}/hook",
            "CREATIVE_ASSETS_ALERT_WEBHOOK_TOKEN": TOKEN,
            "CREATIVE_ASSETS_ALERT_SLACK_WEBHOOK_URL": f"{http.url}/slack",
            "CREATIVE_ASSETS_ALERT_SMTP_HOST": smtp.host,
            "CREATIVE_ASSETS_ALERT_SMTP_PORT": str(smtp.port),
            "CREATIVE_ASSETS_ALERT_SMTP_SECURITY": "none",
            "CREATIVE_ASSETS_ALERT_SMTP_USERNAME": "alerts",
            "CREATIVE_ASSETS_ALERT_SMTP_PASSWORD": PASSWORD,
            "CREATIVE_ASSETS_ALERT_EMAIL_FROM": "alerts@example.com",
            "CREATIVE_ASSETS_ALERT_EMAIL_TO": "ops@example.com, brand@example.com",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield http, smtp


def test_run_failure_sensor_alerts_every_sink(tmp_path, sinks_env, caplog):
    http, smtp = sinks_env
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    brief = small_brief(tmp_path, locales=("de-DE",), candidates=1)
    with dg.instance_for_test() as instance:
        keys = register(storage, brief, instance)
        defs = pipeline_defs(storage, image_provider=ExplodingImageProvider())
        result = run_range(defs, instance, keys[0], keys[-1], raise_on_error=False)
        assert not result.success
        (record,) = instance.fetch_run_status_changes(dg.DagsterEventType.RUN_FAILURE, limit=5).records
        context = dg.build_run_status_sensor_context(
            sensor_name=run_failure_alert_sensor.name,
            dagster_event=record.event_log_entry.dagster_event,
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(result.run_id),
            resources={"alerts": build_alert_router()},
        )
        run_failure_alert_sensor(context)

    run_link = f"http://dagster.test:3000/runs/{result.run_id}"
    products = [k.rsplit(".", 1)[1] for k in keys]
    (hook,) = http.on("/hook")
    assert hook.headers["Authorization"] == f"Bearer {TOKEN}"
    payload = hook.json()
    assert payload["kind"] == "run_failure" and payload["job"] == "creative_pipeline"
    assert payload["campaign"] == "summer-splash-2026" and payload["locales"] == ["de-DE"]
    assert payload["products"] == products and payload["units"] == keys
    assert payload["stage"] == "image_candidates"
    assert payload["error"] == "RuntimeError: image service quota exhausted (429 Too Many Requests)"
    assert payload["run_url"] == run_link

    (slack,) = http.on("/slack")
    slack_text = json.dumps(slack.json())
    for expected in (
        "summer-splash-2026",
        "de-DE",
        *products,
        "image_candidates",
        "quota exhausted",
        run_link,
    ):
        assert expected in slack_text, expected

    (mail,) = smtp.mails
    assert mail.auth == ("alerts", PASSWORD) and mail.recipients == ["ops@example.com", "brand@example.com"]
    assert mail.message["Subject"].startswith("[creative-assets] Run failed at image_candidates")
    for expected in ("Campaign: summer-splash-2026", "Locale: de-DE", "Stage: image_candidates", run_link):
        assert expected in mail.body, expected
    assert "RuntimeError: image service quota exhausted" in mail.body
    assert PASSWORD not in caplog.text and TOKEN not in caplog.text


def test_a_run_launched_from_the_ui_alerts_too(tmp_path, sinks_env):
    """Regression: the sensor watched creative_pipeline and campaign_rollup only, so a UI
    materialization or backfill (the implicit asset job) that failed alerted nobody. Evaluated as the
    daemon does (a tick over the instance's run-failure events, job matching included)."""
    http, _ = sinks_env
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    brief = small_brief(tmp_path, locales=("de-DE",), candidates=1)
    with dg.instance_for_test() as instance:
        keys = register(storage, brief, instance)
        defs = pipeline_defs(storage, image_provider=ExplodingImageProvider())
        resources = {"alerts": build_alert_router()}
        with dg.build_sensor_context(instance=instance, resources=resources, definitions=defs) as context:
            cursor = run_failure_alert_sensor.evaluate_tick(context).cursor  # starts from now
        ui_job = defs.resolve_implicit_global_asset_job_def()
        result = ui_job.execute_in_process(
            instance=instance,
            partition_key=keys[0],
            asset_selection=[
                dg.AssetKey(k) for k in ("unit_brief", "locale_context_pack", "image_candidates")
            ],
            raise_on_error=False,
        )
        assert not result.success and result.dagster_run.job_name == "__ASSET_JOB"
        with dg.build_sensor_context(
            instance=instance, cursor=cursor, resources=resources, definitions=defs
        ) as context:
            run_failure_alert_sensor.evaluate_tick(context)
    (hook,) = http.on("/hook")
    payload = hook.json()
    assert payload["kind"] == "run_failure" and payload["job"] == "__ASSET_JOB"
    assert payload["run_id"] == result.run_id and payload["units"] == [keys[0]]
    assert payload["campaign"] == "summer-splash-2026" and payload["stage"] == "image_candidates"


def test_error_text_unwraps_user_code_errors():
    from dagster._utils.error import SerializableErrorInfo

    cause = SerializableErrorInfo("builtins.ValueError: bad logo\n", [], "ValueError")
    wrapper = SerializableErrorInfo(
        'dagster._core.errors.DagsterExecutionStepExecutionError: Error in op "x"\n',
        [],
        "DagsterExecutionStepExecutionError",
        cause=cause,
    )
    assert error_text(wrapper) == "ValueError: bad logo"


def compliance_brief(tmp_path: Path) -> Path:
    data = yaml.safe_load((EXAMPLES / "compliance-demo-2026" / "brief.yaml").read_text())
    data.update(locales=["en-GB"], candidates=1, aspect_ratios=["1:1"])
    data["localized_messages"] = {}
    path = tmp_path / "brief.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_check_failure_sensor_alerts_once_per_unit_and_check(tmp_path, sinks_env):
    http, smtp = sinks_env
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    router = build_alert_router()
    with dg.instance_for_test() as instance:

        def tick(cursor):
            context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"alerts": router})
            return check_failure_alert_sensor(context)

        first = tick(None)  # starts from now
        assert not http.requests
        # the preflight would refuse it ("cure"); skipped, its final pixels fail the checks
        keys = register(storage, compliance_brief(tmp_path), instance, preflight=False)
        result = run_range(pipeline_defs(storage), instance, keys[0], keys[-1], raise_on_error=False)
        assert result.success  # the unit is blocked, contained: the run itself does not fail
        second = tick(first.cursor)
        third = tick(second.cursor)

    assert "2 check alert(s) for 1 finished run(s)" in second.skip_reason.skip_message
    hooks = [r.json() for r in http.on("/hook")]
    assert sorted(h["check"] for h in hooks) == ["copy_terms", "logo"]
    for hook in hooks:
        assert hook["kind"] == "check_failure" and hook["stage"] == "final_creatives"
        assert hook["campaign"] == "compliance-demo-2026" and hook["locales"] == ["en-GB"]
        assert hook["products"] == ["night-serum"] and hook["units"] == keys
        assert hook["run_url"] == f"http://dagster.test:3000/runs/{result.run_id}"
        assert "no candidate is compliant" in hook["error"] and hook["findings"]
    terms = next(h for h in hooks if h["check"] == "copy_terms")
    assert any("[ERROR] 'cure'" in f and "brand:lumen-skincare" in f for f in terms["findings"])
    assert len(http.on("/slack")) == 2 and len(smtp.mails) == 2
    assert any("Check: logo" in m.body and "not legible" in m.body for m in smtp.mails)
    assert "0 check alert(s) for 0 finished run(s)" in third.skip_reason.skip_message
    assert len(http.on("/hook")) == 2, "the cursor moved past the run: nothing is sent twice"


def test_check_failure_sensor_is_quiet_on_passing_runs(tmp_path):
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    with HttpRecorder() as http, dg.instance_for_test() as instance:
        router = AlertRouter(webhook_url=f"{http.url}/hook")
        context = dg.build_sensor_context(instance=instance, resources={"alerts": router})
        cursor = check_failure_alert_sensor(context).cursor
        keys = register(storage, small_brief(tmp_path, locales=("en-US",), candidates=1), instance)
        assert run_range(pipeline_defs(storage), instance, keys[0], keys[-1]).success
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"alerts": router})
        result = check_failure_alert_sensor(context)
    assert "0 check alert(s) for 1 finished run(s)" in result.skip_reason.skip_message
    assert not http.requests


def test_sensors_load_with_the_pipeline_definitions(tmp_path, monkeypatch):
    """What definitions.py wires: both sensors, the jobs they monitor and the env-built resource."""
    for name in ("CREATIVE_ASSETS_ALERT_WEBHOOK_URL", "CREATIVE_ASSETS_ALERT_SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    base = pipeline_defs(storage)
    defs = dg.Definitions.merge(
        base,
        dg.Definitions(
            sensors=[run_failure_alert_sensor, check_failure_alert_sensor],
            resources={"alerts": build_alert_router()},
        ),
    )
    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    for sensor in (run_failure_alert_sensor, check_failure_alert_sensor):
        loaded = repo.get_sensor_def(sensor.name)
        assert loaded.default_status == dg.DefaultSensorStatus.RUNNING and loaded.description
