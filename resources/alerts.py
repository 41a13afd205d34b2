"""Where failure alerts go: the ``alerts`` resource of the alert sensors (sensors/alerts.py).

Sinks come from two places, both optional and combined: a YAML file (``config_file``, see
examples/alerts.yaml) and shortcuts for the common cases (one webhook, one Slack webhook, one SMTP
mailbox) set from ``CREATIVE_ASSETS_ALERT_*`` variables by :func:`build_alert_router`. The log sink is
always on. Sinks are built when an alert is sent, never at import time, so secrets are read only then.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg
from pydantic import Field, ValidationError

from creative_assets.alerts import (
    Alert,
    AlertConfigError,
    EmailSinkConfig,
    LoggerLike,
    Sink,
    SinkConfig,
    SinkResult,
    SlackSinkConfig,
    WebhookSinkConfig,
    build_sinks,
    dispatch,
    load_config_file,
    run_url,
    split_addresses,
)
from creative_assets.vocabulary import Problem
from resources.env import env_int_or_none, env_or_default

#: resource field -> the environment variable build_alert_router() reads it from
ENV_NAMES = {
    "ui_url": "CREATIVE_ASSETS_UI_URL",
    "config_file": "CREATIVE_ASSETS_ALERTS_CONFIG",
    "webhook_url": "CREATIVE_ASSETS_ALERT_WEBHOOK_URL",
    "webhook_token": "CREATIVE_ASSETS_ALERT_WEBHOOK_TOKEN",
    "slack_webhook_url": "CREATIVE_ASSETS_ALERT_SLACK_WEBHOOK_URL",
    "smtp_host": "CREATIVE_ASSETS_ALERT_SMTP_HOST",
    "smtp_port": "CREATIVE_ASSETS_ALERT_SMTP_PORT",
    "smtp_security": "CREATIVE_ASSETS_ALERT_SMTP_SECURITY",
    "smtp_username": "CREATIVE_ASSETS_ALERT_SMTP_USERNAME",
    "smtp_password": "CREATIVE_ASSETS_ALERT_SMTP_PASSWORD",
    "email_from": "CREATIVE_ASSETS_ALERT_EMAIL_FROM",
    "email_to": "CREATIVE_ASSETS_ALERT_EMAIL_TO",
}
#: sink config field -> resource field, per shortcut sink (for error messages)
_SHORTCUT_FIELDS = {
    "webhook": {"url": "webhook_url", "bearer_token": "webhook_token"},
    "slack": {"url": "slack_webhook_url"},
    "email": {
        "host": "smtp_host",
        "port": "smtp_port",
        "security": "smtp_security",
        "username": "smtp_username",
        "password": "smtp_password",
        "from": "email_from",
        "to": "email_to",
    },
}
DEFAULT_UI_URL = "http://localhost:3000"


class AlertRouter(dg.ConfigurableResource):
    """Sends failure alerts to the configured sinks (webhook, Slack, email) and the log."""

    ui_url: str = Field(DEFAULT_UI_URL, description="Dagster UI base URL, for links to runs.")
    config_file: str | None = Field(None, description="YAML file listing alert sinks (optional).")
    webhook_url: str | None = Field(None, description="Generic JSON webhook (shortcut).")
    webhook_token: str | None = Field(None, description="Bearer token for webhook_url (secret).")
    slack_webhook_url: str | None = Field(None, description="Slack-compatible incoming webhook (secret).")
    smtp_host: str | None = Field(None, description="SMTP server for email alerts (shortcut).")
    smtp_port: int | None = Field(None, description="SMTP port; default by security: 587, 465 or 25.")
    smtp_security: str = Field("starttls", description="starttls, ssl or none.")
    smtp_username: str | None = Field(None, description="SMTP login (optional).")
    smtp_password: str | None = Field(None, description="SMTP password (secret).")
    email_from: str | None = Field(None, description="Sender address of alert emails.")
    email_to: str | None = Field(None, description="Recipients, comma-separated.")
    timeout_seconds: float = Field(10.0, gt=0, le=60, description="Per-request timeout of a sink.")
    max_check_alerts_per_run: int = Field(
        20, ge=1, le=500, description="Check-failure alerts per run; the rest are folded into one summary."
    )

    def run_url(self, run_id: str) -> str:
        return run_url(self.ui_url, run_id)

    def shortcut_configs(self) -> list[SinkConfig]:
        """Sinks from the shortcut fields; raises AlertConfigError naming the field and its variable."""
        raw: list[tuple[str, dict]] = []
        timeout = {"timeout_seconds": self.timeout_seconds}
        if self.webhook_url:
            raw.append(("webhook", {"url": self.webhook_url, "bearer_token": self.webhook_token, **timeout}))
        if self.slack_webhook_url:
            raw.append(("slack", {"url": self.slack_webhook_url, **timeout}))
        if self.smtp_host or self.email_to:
            email = {
                "host": self.smtp_host or "",
                "port": self.smtp_port,
                "security": (self.smtp_security or "starttls").strip().lower(),
                "username": self.smtp_username or None,
                "password": self.smtp_password or None,
                "from": self.email_from or "",
                "to": split_addresses(self.email_to or ""),
            }
            raw.append(("email", {**email, **timeout}))
        models = {"webhook": WebhookSinkConfig, "slack": SlackSinkConfig, "email": EmailSinkConfig}
        configs: list[SinkConfig] = []
        problems: list[Problem] = []
        for kind, values in raw:
            try:
                configs.append(models[kind].model_validate({"type": kind, **values}))
            except ValidationError as exc:
                for err in exc.errors(include_url=False):
                    name = _SHORTCUT_FIELDS[kind].get(str(err["loc"][0]), str(err["loc"][0]))
                    message = (
                        "is required"
                        if err["type"] == "missing"
                        else err["msg"].removeprefix("Value error, ")
                    )
                    if kind == "email" and err["type"] in ("string_too_short", "too_short"):
                        message = "is required for email alerts"
                    problems.append(Problem(f"{name} ({ENV_NAMES.get(name, '-')})", message))
        if problems:
            raise AlertConfigError("alerts resource", problems)
        return configs

    def file_configs(self) -> list[SinkConfig]:
        return load_config_file(self.config_file) if self.config_file else []

    def sink_configs(self) -> list[SinkConfig]:
        """The config file's sinks, then the shortcuts' (raises AlertConfigError)."""
        return unique_names([*self.file_configs(), *self.shortcut_configs()])

    def sinks(self, log: LoggerLike) -> list[Sink]:
        """The sinks, never raising: a bad part of the configuration is logged and left out, so alerts
        still reach the log and every valid sink."""
        configs: list[SinkConfig] = []
        for part in (self.file_configs, self.shortcut_configs):
            try:
                configs += part()
            except AlertConfigError as exc:
                log.error(f"alert sinks left out, fix the configuration:\n{exc}")
        return build_sinks(unique_names(configs), log)

    def send(self, alert: Alert, log: LoggerLike) -> list[SinkResult]:
        """Deliver one alert to every sink; failures are logged and returned, never raised."""
        return self.send_all([alert], log)[0]

    def send_all(self, alerts: Sequence[Alert], log: LoggerLike) -> list[list[SinkResult]]:
        """Deliver alerts in order; a sink that fails is skipped for the rest of the batch."""
        if not alerts:
            return []
        sinks = self.sinks(log)
        log.info(f"sending {len(alerts)} alert(s) to {', '.join(s.describe() for s in sinks)}")
        tripped: set[str] = set()
        return [dispatch(alert, sinks, log, tripped) for alert in alerts]


def unique_names(configs: list[SinkConfig]) -> list[SinkConfig]:
    """Sink names must be unique (a failing sink is skipped by name): number repeats."""
    seen: dict[str, int] = {}
    out = []
    for config in configs:
        seen[config.name] = seen.get(config.name, 0) + 1
        out.append(
            config
            if seen[config.name] == 1
            else config.model_copy(update={"name": f"{config.name}-{seen[config.name]}"})
        )
    return out


def build_alert_router() -> AlertRouter:
    """The ``alerts`` resource from ``CREATIVE_ASSETS_UI_URL``, ``CREATIVE_ASSETS_ALERTS_CONFIG`` and the
    ``CREATIVE_ASSETS_ALERT_*`` shortcuts. Set values become EnvVars, resolved at run time."""
    port = ENV_NAMES["smtp_port"]
    return AlertRouter(
        ui_url=env_or_default(ENV_NAMES["ui_url"], DEFAULT_UI_URL),
        config_file=env_or_default(ENV_NAMES["config_file"], None),
        webhook_url=env_or_default(ENV_NAMES["webhook_url"], None),
        webhook_token=env_or_default(ENV_NAMES["webhook_token"], None),
        slack_webhook_url=env_or_default(ENV_NAMES["slack_webhook_url"], None),
        smtp_host=env_or_default(ENV_NAMES["smtp_host"], None),
        smtp_port=env_int_or_none(port),
        smtp_security=env_or_default(ENV_NAMES["smtp_security"], "starttls"),
        smtp_username=env_or_default(ENV_NAMES["smtp_username"], None),
        smtp_password=env_or_default(ENV_NAMES["smtp_password"], None),
        email_from=env_or_default(ENV_NAMES["email_from"], None),
        email_to=env_or_default(ENV_NAMES["email_to"], None),
    )
