"""Storage keys of the operator records: drop status documents, the notification outbox and
notification delivery records. Every key of these records is built here and nowhere else.

Layout::

    _inbox/status/<drop>.json                        status document of one inbox drop
    _inbox/tracking/<drop>.json                      accepted drop whose runs are not all finished yet
    _inbox/cleanup/<drop>.json                       inbox images of an accepted drop still to delete
    briefs/<campaign>/drops/<drop>.json              pointer: this drop registered (or re-sent) the campaign
    _notifications/outbox/<event>.json               lifecycle notification waiting for delivery
    _notifications/deliveries/<event>/<sink>.json    what happened when it went to one sink
    _notifications/failed/<event>--<sink>.json       delivery that gave up (operator-visible)

``<drop>`` is the inbox drop's id (``<folder>-<sha12>``, creative_assets/inbox.py ``drop_id``) and
``<event>`` a notification's idempotency key (creative_assets/notifications.py); both are safe keys.
"""

from __future__ import annotations

DROP_STATUS_PREFIX = "_inbox/status"
TRACKING_PREFIX = "_inbox/tracking"
CLEANUP_PREFIX = "_inbox/cleanup"
OUTBOX_PREFIX = "_notifications/outbox"
DELIVERIES_PREFIX = "_notifications/deliveries"
FAILED_PREFIX = "_notifications/failed"


def drop_status_key(drop_id: str) -> str:
    return f"{DROP_STATUS_PREFIX}/{drop_id}.json"


def tracking_key(drop_id: str) -> str:
    return f"{TRACKING_PREFIX}/{drop_id}.json"


def cleanup_key(drop_id: str) -> str:
    return f"{CLEANUP_PREFIX}/{drop_id}.json"


def campaign_drops_prefix(campaign_id: str) -> str:
    return f"briefs/{campaign_id}/drops"


def campaign_drop_key(campaign_id: str, drop_id: str) -> str:
    return f"{campaign_drops_prefix(campaign_id)}/{drop_id}.json"


def outbox_key(event_key: str) -> str:
    return f"{OUTBOX_PREFIX}/{event_key}.json"


def delivery_prefix(event_key: str) -> str:
    return f"{DELIVERIES_PREFIX}/{event_key}"


def delivery_key(event_key: str, sink: str) -> str:
    return f"{delivery_prefix(event_key)}/{sink}.json"


def failed_delivery_key(event_key: str, sink: str) -> str:
    return f"{FAILED_PREFIX}/{event_key}--{sink}.json"


def key_stem(key: str) -> str:
    """``_inbox/status/team-a-0123abcd4567.json`` -> ``team-a-0123abcd4567``."""
    return key.rsplit("/", 1)[-1].removesuffix(".json")
