"""Failure alerts: what an alert says, how each sink formats it, and delivery that tolerates failing sinks.

An :class:`Alert` says *what* failed (campaign, locales, products, stage, check), *why* (the error or
the check's findings) and *where to look* (a link to the run in the Dagster UI). Sinks deliver it:

- :class:`WebhookSink`: a generic JSON POST (:func:`json_payload`), optional headers and bearer token;
- :class:`SlackSink`: a Slack-compatible incoming webhook (:func:`slack_payload`: ``text`` + ``blocks``);
- :class:`EmailSink`: a plain-text email over SMTP (:func:`email_message`);
- :class:`LogSink`: the sensor's log (always on, so an alert is never lost entirely).

:func:`dispatch` sends to every sink and catches each sink's failure; a failing sink never stops the
others. Sinks come from a YAML file (:func:`load_config_file`, ``${VAR}`` reads the environment, so
secrets stay out of the file) plus environment shortcuts (see ``resources/alerts.py``).

No I/O happens at import time, and secrets (SMTP password, webhook tokens and URLs) are never logged:
sinks describe themselves without them and delivery errors are scrubbed of them.
"""

from __future__ import annotations

import json
import logging
import re
import smtplib
import ssl
import urllib.request
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from creative_assets import settings
from creative_assets.vocabulary import Problem, field_path, validation_problems

AlertKind = Literal["run_failure", "check_failure", "tick_failure"]

#: Longest error or findings text carried by an alert (stack traces are not alert material).
MAX_ERROR_CHARS = 4000
#: Items of a list shown in human-readable formats before "… (+N more)".
SHOWN_ITEMS = 5

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- the alert


class Alert(BaseModel):
    """One failure, with enough context to act on it without opening the UI first."""

    model_config = ConfigDict(frozen=True)

    kind: AlertKind
    campaign: str | None = None
    locales: list[str] = Field(default_factory=list)
    products: list[str] = Field(default_factory=list)
    #: creative-unit partition keys (``<campaign>.<locale>.<product>``) concerned
    units: list[str] = Field(default_factory=list)
    #: the asset (pipeline stage) that failed, or whose check failed
    stage: str | None = None
    check: str | None = None
    #: why: the error (run failures) or the check's verdict (check failures)
    error: str = ""
    findings: list[str] = Field(default_factory=list)
    run_id: str
    run_url: str
    job: str | None = None
    brief_version: str | None = None
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def title(self) -> str:
        where = " / ".join(filter(None, [self.campaign, shorten(self.locales, 2), shorten(self.products, 2)]))
        if self.kind == "check_failure":
            return f"Check {self.check or '?'} failed on {self.stage or '?'}: {where or 'unknown unit'}"
        if self.kind == "tick_failure":
            return f"{(self.job or 'automation').capitalize()} {self.stage or '?'} failed its tick: nothing was launched"
        return f"Run failed at {self.stage or 'unknown stage'}: {where or 'unknown campaign'}"

    def facts(self) -> list[tuple[str, str]]:
        """(label, value) pairs for human-readable formats, empty values left out."""
        pairs = [
            ("Campaign", self.campaign or ""),
            ("Locale" + ("s" if len(self.locales) > 1 else ""), shorten(self.locales)),
            ("Product" + ("s" if len(self.products) > 1 else ""), shorten(self.products)),
            ("Stage", self.stage or ""),
            ("Check", self.check or ""),
            ("Units", str(len(self.units)) if len(self.units) > 1 else ""),
            ("Job", self.job or ""),
            ("Brief version", self.brief_version or ""),
            ("Run" if self.kind != "tick_failure" else "Tick", self.run_id),
            ("When", self.occurred_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")),
        ]
        return [(label, value) for label, value in pairs if value]


def shorten(items: Sequence[str], shown: int = SHOWN_ITEMS) -> str:
    """``a, b, c … (+4 more)``."""
    head = ", ".join(items[:shown])
    return head + (f" … (+{len(items) - shown} more)" if len(items) > shown else "")


def truncate(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def run_url(ui_url: str, run_id: str) -> str:
    """Link to a run in the Dagster UI (``ui_url`` may carry a path prefix)."""
    return f"{ui_url.rstrip('/')}/runs/{run_id}"


def cap_alerts(alerts: list[Alert], limit: int) -> list[Alert]:
    """At most ``limit`` alerts: the first ``limit - 1`` as they are, the rest folded into one summary
    (a batch of 24 units failing 5 checks should not post 120 messages)."""
    if len(alerts) <= limit:
        return alerts
    kept, rest = alerts[: max(limit - 1, 0)], alerts[max(limit - 1, 0) :]
    counts = Counter(a.check or "?" for a in rest)
    first = rest[0]
    summary = first.model_copy(
        update={
            "check": ", ".join(sorted(counts)),
            "locales": sorted({loc for a in rest for loc in a.locales}),
            "products": sorted({p for a in rest for p in a.products}),
            "units": sorted({u for a in rest for u in a.units}),
            "error": f"{len(rest)} more failed check evaluation(s) in this run: "
            + ", ".join(f"{name} x{n}" for name, n in sorted(counts.items()))
            + ". See the run for the findings.",
            "findings": [],
        }
    )
    return [*kept, summary]


# --------------------------------------------------------------------------- formats


def json_payload(alert: Alert) -> dict[str, Any]:
    """The generic webhook body: every field, machine-readable."""
    return {"source": "creative-assets", "title": alert.title, **alert.model_dump(mode="json")}


def text_body(alert: Alert) -> str:
    """Plain text: the facts, why, findings and the run link (email body, log line)."""
    lines = [alert.title, ""]
    lines += [f"{label}: {value}" for label, value in alert.facts()]
    lines += ["", "Error:" if alert.kind == "run_failure" else "Verdict:", alert.error or "(no message)"]
    if alert.findings:
        lines += ["", "Findings:", *(f"  - {f}" for f in alert.findings)]
    lines += ["", f"Open {'the run' if alert.kind != 'tick_failure' else 'its ticks'}: {alert.run_url}"]
    return "\n".join(lines)


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(alert: Alert) -> dict[str, Any]:
    """Incoming-webhook message: ``text`` (notifications, fallback) plus Block Kit ``blocks``."""
    icon = ":warning:" if alert.kind == "check_failure" else ":rotating_light:"
    why = alert.error or "(no message)"
    if alert.findings:
        why += "\n" + "\n".join(f"• {f}" for f in alert.findings[:10])
    fields = [
        {"type": "mrkdwn", "text": truncate(f"*{label}*\n{_slack_escape(value)}", 2000)}
        for label, value in alert.facts()
        if label not in ("Run", "Tick", "When")
    ][:10]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(alert.title, 150)}},
        {"type": "section", "fields": fields},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": truncate(f"```{_slack_escape(why)}```", 3000)},
        },
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"<{alert.run_url}|Open run {alert.run_id[:8]} in Dagster>"}
            ],
        },
    ]
    text = f"{icon} {alert.title}: {truncate(alert.error, 300)} <{alert.run_url}|run>"
    return {"text": text, "blocks": blocks}


def email_message(alert: Alert, sender: str, recipients: Sequence[str], prefix: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = truncate(f"{prefix} {alert.title}".strip(), 200)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["X-Creative-Assets-Run"] = alert.run_id
    message.set_content(text_body(alert))
    return message


# --------------------------------------------------------------------------- sinks


class Sink(Protocol):
    name: str

    def send(self, alert: Alert) -> None: ...

    def describe(self) -> str:
        """What the sink is, safe to log (no secrets)."""
        ...

    def secrets(self) -> list[str]:
        """Values that must never appear in logs or errors."""
        ...


class LoggerLike(Protocol):
    def info(self, msg: str, *args: Any, **kwargs: Any) -> Any: ...
    def warning(self, msg: str, *args: Any, **kwargs: Any) -> Any: ...
    def error(self, msg: str, *args: Any, **kwargs: Any) -> Any: ...


def redact_url(url: str) -> str:
    """``https://hooks.slack.com/services/T0/B0/secret`` -> ``https://hooks.slack.com/…``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{f':{parts.port}' if parts.port else ''}/…"


def post_json(url: str, payload: Mapping[str, Any], headers: Mapping[str, str], timeout: float) -> int:
    """POST JSON; returns the HTTP status, raises on network errors and non-2xx answers."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json; charset=utf-8")
    request.add_header("User-Agent", "creative-assets-alerts/1")
    for name, value in headers.items():
        request.add_header(name, value)
    with urllib.request.urlopen(request, timeout=timeout) as response:  # HTTPError on 4xx/5xx
        return response.status


@dataclass
class WebhookSink:
    url: str = field(repr=False)
    name: str = "webhook"
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    bearer_token: str | None = field(default=None, repr=False)
    timeout_seconds: float = 10.0

    def send(self, alert: Alert) -> None:
        headers = dict(self.headers)
        if self.bearer_token:
            headers["Authorization"] = f"Bearer {self.bearer_token}"
        post_json(self.url, json_payload(alert), headers, self.timeout_seconds)

    def describe(self) -> str:
        return f"{self.name} (JSON webhook to {redact_url(self.url)})"

    def secrets(self) -> list[str]:
        return [s for s in (self.url, self.bearer_token, *self.headers.values()) if s]


@dataclass
class SlackSink:
    url: str = field(repr=False)
    name: str = "slack"
    timeout_seconds: float = 10.0

    def send(self, alert: Alert) -> None:
        post_json(self.url, slack_payload(alert), {}, self.timeout_seconds)

    def describe(self) -> str:
        return f"{self.name} (Slack incoming webhook at {redact_url(self.url)})"

    def secrets(self) -> list[str]:
        return [self.url]


@dataclass
class EmailSink:
    host: str
    sender: str
    recipients: list[str]
    name: str = "email"
    port: int | None = None
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    subject_prefix: str = "[creative-assets]"
    timeout_seconds: float = 10.0

    @property
    def effective_port(self) -> int:
        return self.port or {"ssl": 465, "starttls": 587, "none": 25}[self.security]

    def send(self, alert: Alert) -> None:
        message = email_message(alert, self.sender, self.recipients, self.subject_prefix)
        if self.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host,
                self.effective_port,
                timeout=self.timeout_seconds,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(self.host, self.effective_port, timeout=self.timeout_seconds)
        with client:
            if self.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(message)

    def describe(self) -> str:
        return f"{self.name} (SMTP {self.host}:{self.effective_port}, {self.security}, to {len(self.recipients)})"

    def secrets(self) -> list[str]:
        return [self.password] if self.password else []


@dataclass
class LogSink:
    logger: LoggerLike = field(default=logger, repr=False)
    name: str = "log"

    def send(self, alert: Alert) -> None:
        self.logger.error(f"ALERT {text_body(alert)}")

    def describe(self) -> str:
        return f"{self.name} (sensor log)"

    def secrets(self) -> list[str]:
        return []


# --------------------------------------------------------------------------- delivery


@dataclass(frozen=True)
class SinkResult:
    sink: str
    ok: bool
    error: str | None = None


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def dispatch(
    alert: Alert, sinks: Sequence[Sink], log: LoggerLike = logger, tripped: set[str] | None = None
) -> list[SinkResult]:
    """Send ``alert`` to every sink; a sink's failure is logged and reported, never raised.

    ``tripped`` (shared across the alerts of one sensor tick) names sinks that already failed: they
    are skipped, so a sink that is down costs one timeout per tick rather than one per alert.
    """
    results = []
    for sink in sinks:
        if tripped is not None and sink.name in tripped:
            results.append(SinkResult(sink.name, False, "skipped: failed earlier in this tick"))
            continue
        try:
            sink.send(alert)
        except Exception as exc:
            error = scrub(f"{type(exc).__name__}: {exc}", sink.secrets())
            log.warning(f"alert sink {sink.describe()} failed: {error}")
            if tripped is not None and not isinstance(sink, LogSink):
                tripped.add(sink.name)
            results.append(SinkResult(sink.name, False, error))
        else:
            results.append(SinkResult(sink.name, True))
    return results


# --------------------------------------------------------------------------- configuration


class AlertConfigError(ValueError):
    """An alerts config file is invalid; ``str()`` names the file and every bad field."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = list(problems)
        lines = [
            f"{source}: invalid alerts configuration",
            *(f"  - {p.field}: {p.message}" for p in problems),
        ]
        super().__init__("\n".join(lines))


class _SinkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    timeout_seconds: float = Field(10.0, gt=0, le=60)


def _http_url(value: str) -> str:
    if urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).hostname:
        raise ValueError("must be an http:// or https:// URL")
    return value


class WebhookSinkConfig(_SinkConfig):
    type: Literal["webhook"]
    name: str = "webhook"
    url: SecretStr
    headers: dict[str, str] = Field(default_factory=dict)
    bearer_token: SecretStr | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: SecretStr) -> SecretStr:
        _http_url(value.get_secret_value())
        return value

    def build(self, log: LoggerLike) -> WebhookSink:
        return WebhookSink(
            url=self.url.get_secret_value(),
            name=self.name,
            headers=self.headers,
            bearer_token=self.bearer_token.get_secret_value() if self.bearer_token else None,
            timeout_seconds=self.timeout_seconds,
        )


class SlackSinkConfig(_SinkConfig):
    type: Literal["slack"]
    name: str = "slack"
    url: SecretStr

    @field_validator("url")
    @classmethod
    def _url(cls, value: SecretStr) -> SecretStr:
        _http_url(value.get_secret_value())
        return value

    def build(self, log: LoggerLike) -> SlackSink:
        return SlackSink(
            url=self.url.get_secret_value(), name=self.name, timeout_seconds=self.timeout_seconds
        )


class EmailSinkConfig(_SinkConfig):
    type: Literal["email"]
    name: str = "email"
    host: str = Field(min_length=1)
    port: int | None = Field(None, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(alias="from", min_length=3)
    to: list[str] = Field(min_length=1)
    subject_prefix: str = "[creative-assets]"

    @field_validator("to", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return split_addresses(value) if isinstance(value, str) else value

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if "@" not in a]
        if bad:
            raise ValueError(f"not email addresses: {', '.join(bad)}")
        return value

    def build(self, log: LoggerLike) -> EmailSink:
        return EmailSink(
            host=self.host,
            sender=self.sender,
            recipients=self.to,
            name=self.name,
            port=self.port,
            security=self.security,
            username=self.username,
            password=self.password.get_secret_value() if self.password else None,
            subject_prefix=self.subject_prefix,
            timeout_seconds=self.timeout_seconds,
        )


class LogSinkConfig(_SinkConfig):
    type: Literal["log"]
    name: str = "log"

    def build(self, log: LoggerLike) -> LogSink:
        return LogSink(logger=log, name=self.name)


SinkConfig = WebhookSinkConfig | SlackSinkConfig | EmailSinkConfig | LogSinkConfig
SINK_TYPES: dict[str, type[_SinkConfig]] = {
    "webhook": WebhookSinkConfig,
    "slack": SlackSinkConfig,
    "email": EmailSinkConfig,
    "log": LogSinkConfig,
}
#: Fields whose values are never echoed in error messages.
SECRET_FIELDS = frozenset({"url", "password", "bearer_token", "headers"})


def split_addresses(value: str) -> list[str]:
    return [a.strip() for a in re.split(r"[,;\s]+", value) if a.strip()]


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def interpolate_env(
    node: Any, env: Mapping[str, str], path: tuple[object, ...] = ()
) -> tuple[Any, list[Problem]]:
    """Replace ``${NAME}`` in every string of a parsed YAML tree; unset names are problems."""
    if isinstance(node, str):
        missing = [name for name in _ENV_REF.findall(node) if not env.get(name)]
        if missing:
            return node, [Problem(field_path(path), f"environment variable {m} is not set") for m in missing]
        return _ENV_REF.sub(lambda m: env[m[1]], node), []
    if isinstance(node, dict):
        out, problems = {}, []
        for key, value in node.items():
            out[key], found = interpolate_env(value, env, (*path, str(key)))
            problems += found
        return out, problems
    if isinstance(node, list):
        items, problems = [], []
        for i, value in enumerate(node):
            item, found = interpolate_env(value, env, (*path, i))
            items.append(item)
            problems += found
        return items, problems
    return node, []


def _problems(exc: ValidationError, prefix: tuple[object, ...]) -> list[Problem]:
    return validation_problems(exc, prefix, secret_fields=SECRET_FIELDS)


def parse_sinks(data: object, source: str) -> list[SinkConfig]:
    """Validate a parsed config (``{"sinks": [...]}``); raises :class:`AlertConfigError`."""
    if data is None:
        return []
    if not isinstance(data, dict):
        raise AlertConfigError(source, [Problem("(file)", "must be a mapping with a `sinks:` list")])
    unknown = sorted(set(data) - {"sinks"})
    problems = [Problem(str(k), "is not a known field (only `sinks`)") for k in unknown]
    items = data.get("sinks") or []
    if not isinstance(items, list):
        raise AlertConfigError(source, [*problems, Problem("sinks", "must be a list of sinks")])
    sinks: list[SinkConfig] = []
    for i, item in enumerate(items):
        where: tuple[object, ...] = ("sinks", i)
        kind = item.get("type") if isinstance(item, dict) else None
        if kind not in SINK_TYPES:
            got = f"got {kind!r}" if isinstance(item, dict) else "not a mapping"
            problems.append(
                Problem(field_path((*where, "type")), f"must be one of {', '.join(SINK_TYPES)} ({got})")
            )
            continue
        try:
            sinks.append(SINK_TYPES[kind].model_validate(item))  # type: ignore[arg-type]
        except ValidationError as exc:
            problems += _problems(exc, where)
    names = Counter(s.name for s in sinks)
    problems += [
        Problem("sinks", f"sink name {n!r} is used {c} times; names must be unique")
        for n, c in names.items()
        if c > 1
    ]
    if problems:
        raise AlertConfigError(source, problems)
    return sinks


def load_config_file(path: str | Path, env: Mapping[str, str] | None = None) -> list[SinkConfig]:
    """Sinks from a YAML file; ``${NAME}`` in values reads the environment at call time."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise AlertConfigError(
            source, [Problem("(file)", f"cannot be read: {exc.strerror or exc}")]
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        raise AlertConfigError(
            source, [Problem(where, f"is not valid YAML: {getattr(exc, 'problem', exc)}")]
        ) from None
    data, problems = interpolate_env(data, settings.environment() if env is None else env)
    if problems:
        raise AlertConfigError(source, problems)
    return parse_sinks(data, source)


def build_sinks(configs: Sequence[SinkConfig], log: LoggerLike = logger) -> list[Sink]:
    """Sinks from their configs, plus the log sink when none is configured (it is always on)."""
    sinks: list[Sink] = [config.build(log) for config in configs]
    if not any(isinstance(s, LogSink) for s in sinks):
        sinks.append(LogSink(logger=log))
    return sinks
