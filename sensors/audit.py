"""The audit archive sensor: each completed day's audit records go to object storage for retention
(``audit/daily/``, through the ``storage`` resource), and the pipeline's own decisions (withdrawals
when a unit is re-materialized) are added to the audit log from the review journal.

Cursor: JSON ``{"journal": last journal key read, "archived": last day archived}``.
"""

import json
from datetime import date, datetime, timezone

import dagster as dg

from creative_assets.identity.archive import archive_pending, record_system_events
from resources.identity import IdentityDatabase
from resources.storage import CreativeStorage


@dg.sensor(
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Copies each completed day of the audit log to storage (audit/daily/) and audits the "
    "pipeline's withdrawals of approved deliveries.",
)
def audit_archive_sensor(
    context: dg.SensorEvaluationContext, storage: CreativeStorage, identity_db: IdentityDatabase
) -> dg.SensorResult:
    cursor = json.loads(context.cursor) if context.cursor else {}
    store = identity_db.open()
    journal = record_system_events(store, storage, cursor.get("journal"))
    after = date.fromisoformat(cursor["archived"]) if cursor.get("archived") else None
    days = archive_pending(store, storage, after, datetime.now(timezone.utc).date())
    if days:
        context.log.info(f"archived audit records of {', '.join(d.isoformat() for d in days)}")
    archived = days[-1].isoformat() if days else cursor.get("archived")
    new_cursor = json.dumps({"journal": journal, "archived": archived})
    if new_cursor == context.cursor:
        return dg.SensorResult(skip_reason="nothing new to audit or archive")
    return dg.SensorResult(cursor=new_cursor)
