"""Lifecycle notifications: what happened to a brief, a campaign or a unit, for the people who wait on it.

Event types (:data:`EVENT_TYPES`):

- ``brief.accepted``: an inbox drop registered a campaign version (or matched the live one);
- ``brief.rejected``: an inbox drop was set aside, with every problem;
- ``campaign.ready_for_review``: every unit of a brief version is selected or blocked;
- ``unit.approved`` / ``unit.changes_requested``: a reviewer's decision;
- ``unit.delivered``: an approved unit was published under ``approved/``.

Producers (the sensors) *enqueue* a :class:`Notification` in the storage outbox
(:func:`enqueue`); ``notification_delivery_sensor`` delivers it (:func:`deliver_pending`) through the
alert sinks that subscribe to its type (``events:`` of a sink in the alerts configuration). The
outbox decouples the pipeline from the receivers: a slow or failing webhook never delays an inbox
tick, and a failed delivery is recorded (``_notifications/failed/``, shown by ``creative-assets
status``) instead of raised.

Exactly once per sink: a notification's :attr:`Notification.key` is derived from *what* happened
(``brief.accepted`` of drop D, ``unit.approved`` of decision E), so a replayed tick enqueues the
same file again, and a sink that already has a ``delivered`` record for that key is never sent it
twice. Receivers get the same key as ``idempotency_key`` (and the ``Idempotency-Key`` header) to
de-duplicate on their side too (a delivery whose answer was lost is retried).

Webhook bodies are versioned (:data:`SCHEMA_VERSION`) and signed like Stripe's and GitHub's:
``X-Creative-Assets-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` with the sink's
``signing_secret``; :func:`verify_signature` is what a receiver runs (README "Notifications").

Pure: no Dagster, no I/O at import time; storage is passed in.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import itertools
import json
import re
import time
import urllib.error
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from creative_assets import layout

if TYPE_CHECKING:  # pragma: no cover
    from creative_assets.storage_protocol import Storage

EventType = Literal[
    "brief.accepted",
    "brief.rejected",
    "campaign.ready_for_review",
    "unit.approved",
    "unit.changes_requested",
    "unit.delivered",
]
EVENT_TYPES: tuple[str, ...] = (
    "brief.accepted",
    "brief.rejected",
    "campaign.ready_for_review",
    "unit.approved",
    "unit.changes_requested",
    "unit.delivered",
)
#: failure alerts (creative_assets/alerts.py) as subscribable event names
ALERT_EVENT_TYPES: tuple[str, ...] = ("alert.run_failure", "alert.check_failure", "alert.tick_failure")
#: what a sink receives when its configuration names no ``events``: the failure alerts, as before
DEFAULT_SUBSCRIPTIONS: tuple[str, ...] = ("alert.*",)
#: version of the webhook body; bumped on any incompatible change of its shape
SCHEMA_VERSION = 1
SIGNATURE_HEADER = "X-Creative-Assets-Signature"
#: a receiver refuses signatures older than this (replayed requests)
SIGNATURE_TOLERANCE_SECONDS = 300

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def subscription_problem(pattern: str) -> str | None:
    """Why ``pattern`` subscribes to nothing, or None (used to validate the alerts configuration)."""
    names = (*EVENT_TYPES, *ALERT_EVENT_TYPES)
    if any(fnmatch.fnmatchcase(name, pattern) for name in names):
        return None
    return f"{pattern!r} matches no event type (known: {', '.join(names)}; wildcards like 'unit.*' work)"


def subscribes(patterns: Iterable[str], event_type: str) -> bool:
    return any(fnmatch.fnmatchcase(event_type, p) for p in patterns)


def safe_name(name: str) -> str:
    """A sink name as a storage key segment."""
    return _SAFE.sub("-", name).strip(".-")[:80] or "sink"


def event_key(event_type: str, identity: str) -> str:
    """The idempotency key of an event: its type and a digest of what it is about."""
    digest = hashlib.sha256(f"{event_type}\0{identity}".encode()).hexdigest()[:24]
    return f"{event_type}-{digest}"


class Notification(BaseModel):
    """One lifecycle event."""

    model_config = ConfigDict(frozen=True)

    type: EventType
    #: idempotency key (:func:`event_key`): the same event always has the same key
    key: str
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    campaign: str | None = None
    brief_version: int | None = None
    unit: str | None = None
    drop: str | None = None
    #: one-line human summary (Slack text, email subject, log line)
    summary: str
    #: event-specific details (problems, units, reviewer, delivered files, ...)
    data: dict[str, Any] = Field(default_factory=dict)
    #: where to look (review page, Dagster run, status document)
    links: dict[str, str] = Field(default_factory=dict)


def webhook_body(n: Notification) -> dict[str, Any]:
    """The versioned JSON body of a webhook delivery."""
    return {
        "schema_version": SCHEMA_VERSION,
        "source": "creative-assets",
        "idempotency_key": n.key,
        "type": n.type,
        "occurred_at": n.occurred_at.astimezone(timezone.utc).isoformat(timespec="seconds"),
        "summary": n.summary,
        "subject": {
            "campaign": n.campaign,
            "brief_version": n.brief_version,
            "unit": n.unit,
            "drop": n.drop,
        },
        "data": n.data,
        "links": n.links,
    }


def encode_body(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: ``t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    now: float | None = None,
    tolerance: float = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: recompute the HMAC over ``<t>.<raw body>``, compare in constant time,
    refuse timestamps outside ``tolerance`` (a replayed request)."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", []))


def text_summary(n: Notification) -> str:
    """Plain text of a notification (email body, log line)."""
    lines = [n.summary, ""]
    for label, value in (
        ("Event", n.type),
        ("Campaign", n.campaign),
        ("Brief version", n.brief_version),
        ("Unit", n.unit),
        ("Drop", n.drop),
        ("When", n.occurred_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")),
    ):
        if value not in (None, ""):
            lines.append(f"{label}: {value}")
    problems = n.data.get("problems") or []
    if problems:
        lines += ["", "Problems:", *(f"  - {p.get('field')}: {p.get('message')}" for p in problems[:50])]
    blocked = n.data.get("blocked") or []
    if blocked:
        lines += ["", "Blocked:", *(f"  - {b.get('unit')}: {b.get('reason')}" for b in blocked[:50])]
    if n.links:
        lines += ["", *(f"{name}: {url}" for name, url in n.links.items())]
    lines += ["", f"Idempotency key: {n.key}"]
    return "\n".join(lines)


# --------------------------------------------------------------------------- builders


def brief_accepted(
    drop: str,
    campaign: str,
    version: int,
    created: bool,
    units: Sequence[str],
    changed: Sequence[str],
    source: str,
) -> Notification:
    what = "registered as" if created else "identical to the live"
    return Notification(
        type="brief.accepted",
        key=event_key("brief.accepted", drop),
        campaign=campaign,
        brief_version=version,
        drop=drop,
        summary=f"Brief {source} accepted: {campaign} {what} v{version}, "
        f"{len(units)} unit(s), {len(changed)} to build",
        data={"created": created, "units": list(units), "changed": list(changed), "source": source},
    )


def brief_rejected(
    drop: str, source: str, problems: Sequence[Mapping[str, Any]], record: str
) -> Notification:
    return Notification(
        type="brief.rejected",
        key=event_key("brief.rejected", drop),
        drop=drop,
        summary=f"Brief {source} rejected: {len(problems)} problem(s)",
        data={"source": source, "problems": [dict(p) for p in problems], "record": record},
    )


def campaign_ready(
    drop: str | None,
    campaign: str,
    version: int,
    selected: Sequence[str],
    blocked: Sequence[Mapping[str, str]],
    review_url: str | None,
) -> Notification:
    links = {"review": review_url} if review_url else {}
    return Notification(
        type="campaign.ready_for_review",
        key=event_key("campaign.ready_for_review", f"{campaign}\0{version}"),
        campaign=campaign,
        brief_version=version,
        drop=drop,
        summary=f"{campaign} v{version} is ready for review: {len(selected)} unit(s) selected, "
        f"{len(blocked)} blocked",
        data={"selected": list(selected), "blocked": [dict(b) for b in blocked]},
        links=links,
    )


def unit_decision(
    event_type: Literal["unit.approved", "unit.changes_requested", "unit.delivered"],
    decision_id: str,
    unit: str,
    campaign: str,
    brief_version: int | None,
    actor: str,
    comment: str,
    at: datetime,
    extra: Mapping[str, Any] | None = None,
    review_url: str | None = None,
) -> Notification:
    verb = {
        "unit.approved": "approved",
        "unit.changes_requested": "changes requested",
        "unit.delivered": "delivered",
    }[event_type]
    return Notification(
        type=event_type,
        key=event_key(event_type, decision_id),
        occurred_at=at,
        campaign=campaign,
        brief_version=brief_version,
        unit=unit,
        summary=f"{unit}: {verb} by {actor}" + (f": {comment[:200]}" if comment else ""),
        data={"decision_id": decision_id, "actor": actor, "comment": comment, **dict(extra or {})},
        links={"review": review_url} if review_url else {},
    )


# --------------------------------------------------------------------------- outbox and delivery


def enqueue(storage: Storage, n: Notification) -> bool:
    """Put a notification in the outbox (one atomic write); False when it was already delivered or
    is already waiting (a replayed tick)."""
    if storage.exists(layout.outbox_key(n.key)) or any(
        storage.list_keys(layout.delivery_record_prefix(n.key))
    ):
        return False
    storage.write_text(layout.outbox_key(n.key), n.model_dump_json(indent=2))
    return True


class DeliveryRecord(BaseModel):
    """What happened when a notification went to one sink."""

    event: str
    type: str
    sink: str
    status: Literal["delivered", "failed", "gave_up"]
    #: requests sent in all
    attempts: int
    #: delivery passes (sensor ticks) that tried it
    passes: int = 1
    error: str | None = None
    at: str
    campaign: str | None = None
    drop: str | None = None
    unit: str | None = None


def read_delivery(storage: Storage, event: str, sink: str) -> DeliveryRecord | None:
    try:
        return DeliveryRecord.model_validate_json(
            storage.read_text(layout.delivery_record_key(event, safe_name(sink)))
        )
    except FileNotFoundError:
        return None


def deliveries(storage: Storage, event: str) -> list[DeliveryRecord]:
    out = []
    for key in storage.list_keys(layout.delivery_record_prefix(event)):
        try:
            out.append(DeliveryRecord.model_validate_json(storage.read_text(key)))
        except (FileNotFoundError, ValueError):
            continue
    return out


def failed_deliveries(storage: Storage, limit: int = 200) -> list[DeliveryRecord]:
    """Deliveries that gave up, oldest key first (``creative-assets status`` shows them)."""
    out = []
    for key in storage.list_keys(layout.FAILED_PREFIX):
        try:
            out.append(DeliveryRecord.model_validate_json(storage.read_text(key)))
        except (FileNotFoundError, ValueError):
            continue
        if len(out) >= limit:
            break
    return out


class Notifier(Protocol):
    """The part of a sink that delivery needs (alerts.WebhookSink, SlackSink, EmailSink, LogSink)."""

    name: str

    def notify(self, n: Notification) -> None: ...

    def describe(self) -> str:
        """What the sink is, safe to log (no secrets)."""
        ...

    def secrets(self) -> list[str]:
        """Values scrubbed from recorded errors."""
        ...


def is_retryable(exc: BaseException) -> bool:
    """Worth another attempt: network errors, timeouts, 408, 425, 429 and 5xx answers."""
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code in (408, 425, 429) or exc.code >= 500
    return isinstance(exc, OSError | TimeoutError)


def backoff_delays(attempts: int, base: float, cap: float = 30.0) -> list[float]:
    """Waits between ``attempts`` tries: base, 2*base, 4*base, ... capped."""
    return [min(cap, base * 2**i) for i in range(max(attempts - 1, 0))]


@dataclass(frozen=True)
class DeliveryPolicy:
    #: tries per sink within one delivery pass
    attempts: int = 3
    #: first wait between tries (doubles each time)
    backoff_seconds: float = 1.0
    #: delivery passes (sensor ticks) before a failing delivery gives up for good
    max_passes: int = 5


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def deliver_one(
    n: Notification,
    sink: Notifier,
    policy: DeliveryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[bool, int, str | None]:
    """Try ``sink`` up to ``policy.attempts`` times with exponential backoff; (ok, attempts, error)."""
    delays = backoff_delays(policy.attempts, policy.backoff_seconds)
    error = None
    for attempt in range(1, policy.attempts + 1):
        try:
            sink.notify(n)
            return True, attempt, None
        except Exception as exc:
            error = _scrub(f"{type(exc).__name__}: {exc}", sink.secrets())
            if attempt > len(delays) or not is_retryable(exc):
                return False, attempt, error
            sleep(delays[attempt - 1])
    return False, policy.attempts, error


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    gave_up: int = 0
    skipped: int = 0  # already delivered (replay)
    done: int = 0  # outbox entries finished and removed


def deliver_pending(
    storage: Storage,
    sinks_for: Callable[[str], Sequence[Notifier]],
    log: Any,
    policy: DeliveryPolicy = DeliveryPolicy(),
    limit: int = 100,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Deliver up to ``limit`` outbox notifications to the sinks subscribed to their type.

    Per (notification, sink) a record is written after each pass: ``delivered`` (never sent again),
    ``failed`` (retried next pass) or, after ``policy.max_passes`` failing passes, ``gave_up`` (also
    copied under ``_notifications/failed/``). The outbox entry is deleted last, once every sink is
    delivered or gave up, so a crash at any point re-sends at most to sinks without a ``delivered``
    record. Nothing raises: errors are logged and recorded."""
    report = DeliveryReport()
    tripped: set[str] = set()  # sinks that failed in this pass: not tried again until the next one
    for key in list(itertools.islice(storage.list_keys(layout.OUTBOX_PREFIX), limit)):
        try:
            n = Notification.model_validate_json(storage.read_text(key))
        except FileNotFoundError:
            continue
        except ValueError:
            log.error(f"unreadable notification {storage.uri(key)}; left in the outbox")
            continue
        finished = True
        for sink in sinks_for(n.type):
            name = safe_name(sink.name)
            previous = read_delivery(storage, n.key, name)
            if previous is not None and previous.status in ("delivered", "gave_up"):
                report.skipped += previous.status == "delivered"
                continue
            if (
                name in tripped
            ):  # a receiver that is down costs one round of tries per pass, not one per event
                finished = False
                continue
            ok, attempts, error = deliver_one(n, sink, policy, sleep)
            passes = (previous.passes if previous else 0) + 1
            status: Literal["delivered", "failed", "gave_up"]
            if ok:
                status = "delivered"
                report.delivered += 1
            elif passes >= policy.max_passes:
                status = "gave_up"
                report.gave_up += 1
                log.error(f"notification {n.key} to {sink.describe()} gave up: {error}")
                tripped.add(name)
            else:
                status = "failed"
                finished = False
                tripped.add(name)
                report.failed += 1
                log.warning(f"notification {n.key} to {sink.describe()} failed (retried next tick): {error}")
            record = DeliveryRecord(
                event=n.key,
                type=n.type,
                sink=name,
                status=status,
                attempts=(previous.attempts if previous else 0) + attempts,
                passes=passes,
                error=error,
                at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                campaign=n.campaign,
                drop=n.drop,
                unit=n.unit,
            )
            body = record.model_dump_json(indent=2)
            if status == "gave_up":
                storage.write_text(layout.failed_delivery_key(n.key, name), body)
            storage.write_text(layout.delivery_record_key(n.key, name), body)
        if finished:
            storage.delete(key)
            report.done += 1
    return report
