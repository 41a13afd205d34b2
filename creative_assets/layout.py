"""The storage layout: every key the platform reads or writes, and the stage manifest format.

The one owner of where things are (docs/ARCHITECTURE.md "Storage layout"). Keys are POSIX-style
relative paths under the storage root, identical on a local folder and in an S3 bucket::

    briefs/<campaign>/current.json                            live brief version (written last)
    briefs/<campaign>/v0001/{brief.json,source.<ext>}         one stored version
    briefs/<campaign>/assets/<sha256>.<ext>                   product images, content-addressed
    campaigns/<campaign>/{summary.csv,summary.json,compliance.csv}
    campaigns/<campaign>/<locale>/<product>/<stage>/manifest.json                  live generation
    campaigns/<campaign>/<locale>/<product>/<stage>/gen/<generation>/manifest.json a kept copy
    campaigns/<campaign>/<locale>/<product>/<stage>/gen/<generation>/<ratio>/...   the files
    reviews/<campaign>/<locale>/<product>/events/<stamp>-<id>.json                 decisions
    reviews/<campaign>/<locale>/<product>/withdrawn/<approval>/                    withdrawn deliveries
    reviews/_journal/<stamp>-<id>.json                                             what the sensor reads
    approved/<campaign>/<locale>/<product>/<ratio>/<campaign>_<locale>_<product>_<ratio>.png
    approved/<campaign>/<locale>/<product>/manifest.json      delivery commit point
    approved/<campaign>/index.json
    inbox/ rejected/<drop>-<sha>/  _inbox/pending/ _inbox/broken/                  brief inbox
    _inbox/status/<drop>.json  _inbox/tracking/<drop>.json  _inbox/cleanup/<drop>.json  drop records
    briefs/<campaign>/drops/<drop>.json                        drops that registered a campaign
    _notifications/outbox/<event>.json                         notifications waiting for delivery
    _notifications/deliveries/<event>/<sink>.json              their outcome per sink
    _notifications/failed/<event>--<sink>.json                 deliveries that gave up
    cache/openai/{images,chat}/<sha256>.<ext>                 provider answers
    audit/daily/<day>.jsonl, <day>.json                       daily audit copies

Stages are named by the string passed in (the stage's storage folder), never by a list kept here.
Pure: no Dagster, no resources; the ``Storage`` protocol (storage_protocol.py) is what reads and
writes these keys.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from creative_assets.units import UnitKey

MANIFEST = "manifest.json"
GENERATIONS = "gen"

CAMPAIGNS_ROOT = "campaigns"
BRIEFS_ROOT = "briefs"
REVIEWS_ROOT = "reviews"
DELIVERY_ROOT = "approved"
JOURNAL_PREFIX = f"{REVIEWS_ROOT}/_journal"
INBOX_PREFIX = "inbox/"
REJECTED_PREFIX = "rejected/"
PENDING_PREFIX = "_inbox/pending"
BROKEN_PREFIX = "_inbox/broken"
DROP_STATUS_PREFIX = "_inbox/status"
TRACKING_PREFIX = "_inbox/tracking"
CLEANUP_PREFIX = "_inbox/cleanup"
OUTBOX_PREFIX = "_notifications/outbox"
DELIVERIES_PREFIX = "_notifications/deliveries"
FAILED_PREFIX = "_notifications/failed"
OPENAI_CACHE_PREFIX = "cache/openai"
AUDIT_ARCHIVE_PREFIX = "audit/daily"

#: S3's own limit on a key, in UTF-8 bytes.
MAX_KEY_BYTES = 1024


# --- key safety -------------------------------------------------------------------------------


def unsafe_key_reason(key: str) -> str | None:
    """Why ``key`` is not a safe storage key (one the whole platform can use as it is), or None.

    Safe keys are relative POSIX paths of non-empty segments, none of them ``.`` or ``..``, with no
    backslash, control character or invalid UTF-8 (a local folder name with a non-UTF-8 byte is
    listed with surrogate escapes), at most 1024 UTF-8 bytes."""
    if not key:
        return "it is empty"
    if key.startswith("/"):
        return "it starts with '/'"
    if "\\" in key:
        return "it contains a backslash"
    if any(0xD800 <= ord(c) <= 0xDFFF for c in key):
        return "it is not valid UTF-8"
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in key):
        return "it contains a control character"
    parts = key.split("/")
    if "" in parts:
        return "it has an empty path segment ('//', as `aws s3 cp .../inbox//x/` makes)"
    if "." in parts or ".." in parts:
        return "it has a '.' or '..' path segment"
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        return f"it is longer than {MAX_KEY_BYTES} bytes"
    return None


def display_key(key: str) -> str:
    """A key as printable text for logs and reports, whatever it holds (invalid UTF-8 as ``\\xff``,
    control characters escaped)."""
    text = key.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def check_key(key: str) -> str:
    """Reject keys that could escape the storage root (see :func:`unsafe_key_reason`)."""
    reason = unsafe_key_reason(key)
    if reason:
        raise ValueError(f"unsafe storage key {display_key(key)[:200]!r}: {reason}")
    return key


def listed_key(key: str) -> str:
    """A key exactly as a listing returned it (for ``read_listed``/``delete_listed``): anything but a
    key that could leave the root."""
    if not key or key.startswith("/") or ".." in key.replace("\\", "/").split("/") or "\x00" in key:
        raise ValueError(f"storage key {display_key(key)[:200]!r} could leave the storage root")
    return key


# --- units and their stages -------------------------------------------------------------------


def ratio_dir(ratio: str) -> str:
    """``16:9`` -> ``16x9`` (colons do not belong in file or folder names)."""
    return ratio.replace(":", "x")


def campaign_prefix(campaign_id: str) -> str:
    return f"{CAMPAIGNS_ROOT}/{campaign_id}"


def campaign_file(campaign_id: str, name: str) -> str:
    """A campaign-level output: ``summary.csv``, ``summary.json``, ``compliance.csv``."""
    return f"{campaign_prefix(campaign_id)}/{name}"


def unit_prefix(unit: UnitKey) -> str:
    """``campaigns/<campaign>/<locale>/<product>``: every stage of one unit."""
    return f"{campaign_prefix(unit.campaign_id)}/{unit.locale}/{unit.product_id}"


def stage_prefix(unit: UnitKey, stage: str) -> str:
    """The folder of one stage of one unit (``stage``: the stage's storage folder name)."""
    return f"{unit_prefix(unit)}/{stage}"


def generations_root(unit: UnitKey, stage: str) -> str:
    """The folder holding every generation of a stage, with a trailing ``/``."""
    return f"{stage_prefix(unit, stage)}/{GENERATIONS}/"


def generation_prefix(unit: UnitKey, stage: str, generation: str) -> str:
    return f"{generations_root(unit, stage)}{generation}"


def generation_of(unit: UnitKey, stage: str, key: str) -> str | None:
    """The generation a key under the stage folder belongs to; None for keys outside ``gen/``."""
    root = generations_root(unit, stage)
    return key[len(root) :].split("/", 1)[0] if key.startswith(root) else None


def manifest_key(unit: UnitKey, stage: str, generation: str | None = None) -> str:
    """The live manifest of a stage, or the kept copy of one ``generation``."""
    base = generation_prefix(unit, stage, generation) if generation else stage_prefix(unit, stage)
    return f"{base}/{MANIFEST}"


def stage_manifest_pattern(stage: str) -> str:
    """A glob matching the live manifest of ``stage`` of every unit of every campaign."""
    return f"{CAMPAIGNS_ROOT}/*/*/*/{stage}/{MANIFEST}"


def files_prefix(unit: UnitKey, stage: str, manifest: dict) -> str:
    """Where the files of the generation ``manifest`` describes are (legacy: the stage folder)."""
    generation = manifest.get("generation")
    return generation_prefix(unit, stage, generation) if generation else stage_prefix(unit, stage)


def stage_manifest(
    stage: str,
    unit: UnitKey,
    generation: str,
    written_at: str,
    provenance: dict[str, str] | None,
    files: dict[str, dict],
    value: dict,
) -> dict:
    """The manifest format: which stage and unit, the generation it makes live, when, provenance
    (run id, code version), every file with its SHA-256 and size, and the stage value itself."""
    return {
        "stage": stage,
        "unit": str(unit),
        "generation": generation,
        "written_at": written_at,
        **(provenance or {}),
        "files": files,
        "value": value,
    }


# --- briefs -----------------------------------------------------------------------------------


def brief_prefix(campaign_id: str) -> str:
    """Every stored version of a campaign's brief, its pointer and its product images."""
    return f"{BRIEFS_ROOT}/{campaign_id}"


def brief_current_key(campaign_id: str) -> str:
    """The live version pointer of a campaign's brief (the commit point of a registration)."""
    return f"{brief_prefix(campaign_id)}/current.json"


def brief_campaign_of(key: str) -> str | None:
    """The campaign whose live version pointer ``key`` is; None for any other key."""
    parts = key.split("/")
    if len(parts) == 3 and parts[0] == BRIEFS_ROOT and parts[2] == "current.json":
        return parts[1]
    return None


def brief_version_prefix(campaign_id: str, version: int) -> str:
    return f"{brief_prefix(campaign_id)}/v{version:04d}"


def brief_asset_key(campaign_id: str, digest: str, suffix: str) -> str:
    """A product image, content-addressed (``suffix`` with its dot, lower case)."""
    return f"{brief_prefix(campaign_id)}/assets/{digest}{suffix}"


# --- review and delivery ----------------------------------------------------------------------


def review_prefix(unit: UnitKey) -> str:
    return f"{REVIEWS_ROOT}/{unit.campaign_id}/{unit.locale}/{unit.product_id}"


def review_events_prefix(unit: UnitKey) -> str:
    return f"{review_prefix(unit)}/events"


def review_event_key(unit: UnitKey, stamp: str, event_id: str) -> str:
    return f"{review_events_prefix(unit)}/{stamp}-{event_id}.json"


def journal_key(stamp: str, event_id: str) -> str:
    return f"{JOURNAL_PREFIX}/{stamp}-{event_id}.json"


def withdrawn_prefix(unit: UnitKey, approval_id: str) -> str:
    """Where a withdrawn delivery is kept for audit."""
    return f"{review_prefix(unit)}/withdrawn/{approval_id}"


def delivery_campaign_prefix(campaign_id: str) -> str:
    return f"{DELIVERY_ROOT}/{campaign_id}"


def delivery_prefix(unit: UnitKey) -> str:
    return f"{delivery_campaign_prefix(unit.campaign_id)}/{unit.locale}/{unit.product_id}"


def delivery_manifest_key(unit: UnitKey) -> str:
    return f"{delivery_prefix(unit)}/{MANIFEST}"


def is_delivery_manifest(key: str) -> bool:
    """A unit's delivery manifest (``approved/<c>/<l>/<p>/manifest.json``), not a file or index."""
    return key.endswith(f"/{MANIFEST}") and key.count("/") == 4


def delivered_unit_parts(key: str) -> tuple[str, str, str] | None:
    """(campaign, locale, product) of a unit's delivery manifest key; None for any other key."""
    if not (key.startswith(f"{DELIVERY_ROOT}/") and is_delivery_manifest(key)):
        return None
    campaign, locale, product = key.split("/")[1:4]
    return campaign, locale, product


def delivery_file_key(unit: UnitKey, ratio: str) -> str:
    r = ratio_dir(ratio)
    return f"{delivery_prefix(unit)}/{r}/{unit.campaign_id}_{unit.locale}_{unit.product_id}_{r}.png"


def delivery_motion_key(unit: UnitKey, name: str) -> str:
    """A delivered motion file: ``motion/<campaign>_<locale>_<product>_<placement>.<ext>`` beside the
    stills (``name``: ``<placement>.<ext>`` as the selection names it)."""
    return f"{delivery_prefix(unit)}/motion/{unit.campaign_id}_{unit.locale}_{unit.product_id}_{name}"


def delivery_export_key(unit: UnitKey, name: str) -> str:
    """A delivered placement export (the file within the placement's byte budget, JPEG/WebP/PNG):
    ``export/<campaign>_<locale>_<product>_<output>.<ext>`` (``name``: ``<output>.<ext>``)."""
    return f"{delivery_prefix(unit)}/export/{unit.campaign_id}_{unit.locale}_{unit.product_id}_{name}"


#: approval content keys of placement exports start with this (``export/<output>.<ext>``)
EXPORT_CONTENT_PREFIX = "export/"


#: approval content keys of motion files start with this (``motion/<placement>.<ext>``); the others
#: are output keys of stills
MOTION_CONTENT_PREFIX = "motion/"


def delivery_index_key(campaign_id: str) -> str:
    return f"{delivery_campaign_prefix(campaign_id)}/index.json"


# --- the brief inbox --------------------------------------------------------------------------


def pending_marker_key(campaign_id: str, version: int) -> str:
    """An accepted brief's pending marker: the runs it still owes (crash-safety contract)."""
    return f"{PENDING_PREFIX}/{campaign_id}-v{version:04d}.json"


def broken_marker_key(pending_key: str) -> str:
    """Where an unreadable pending marker is moved aside."""
    return pending_key.replace(PENDING_PREFIX, BROKEN_PREFIX, 1)


def drop_id_for(drop: str, digest: str) -> str:
    """``<drop>-<sha>``: the id of one inbox drop (its status document, its rejected folder)."""
    return f"{drop}-{digest}"


def rejected_prefix_for(rejected_prefix: str, drop: str, digest: str) -> str:
    """``rejected/<drop>-<sha>``: one rejected drop's folder."""
    return f"{rejected_prefix.strip('/')}/{drop_id_for(drop, digest)}"


# --- operator records: drop status documents, notifications -----------------------------------
# ``<drop>`` is an inbox drop's id (drop_id_for), ``<event>`` a notification's idempotency key
# (creative_assets/notifications.py event_key) and ``<sink>`` a sink name made key-safe: all safe keys.


def drop_status_key(drop_id: str) -> str:
    """The status document of one inbox drop (creative_assets/drop_status.py)."""
    return f"{DROP_STATUS_PREFIX}/{drop_id}.json"


def tracking_key(drop_id: str) -> str:
    """An accepted drop the status sensor follows until every unit is selected or blocked."""
    return f"{TRACKING_PREFIX}/{drop_id}.json"


def cleanup_key(drop_id: str) -> str:
    """The inbox images of an accepted drop still to delete."""
    return f"{CLEANUP_PREFIX}/{drop_id}.json"


def campaign_drops_prefix(campaign_id: str) -> str:
    return f"{brief_prefix(campaign_id)}/drops"


def campaign_drop_key(campaign_id: str, drop_id: str) -> str:
    """Pointer: this drop registered (or re-sent) the campaign."""
    return f"{campaign_drops_prefix(campaign_id)}/{drop_id}.json"


def outbox_key(event_key: str) -> str:
    return f"{OUTBOX_PREFIX}/{event_key}.json"


def delivery_record_prefix(event_key: str) -> str:
    return f"{DELIVERIES_PREFIX}/{event_key}"


def delivery_record_key(event_key: str, sink: str) -> str:
    return f"{delivery_record_prefix(event_key)}/{sink}.json"


def failed_delivery_key(event_key: str, sink: str) -> str:
    return f"{FAILED_PREFIX}/{event_key}--{sink}.json"


def record_stem(key: str) -> str:
    """``_inbox/status/team-a-0123abcd4567.json`` -> ``team-a-0123abcd4567``."""
    return key.rsplit("/", 1)[-1].removesuffix(".json")


# --- caches and archives ----------------------------------------------------------------------


def openai_image_cache_keys(cache_key: str) -> tuple[str, str]:
    """The cached image of one Images API answer and its JSON record."""
    base = f"{OPENAI_CACHE_PREFIX}/images/{cache_key}"
    return f"{base}.png", f"{base}.json"


def openai_chat_cache_key(cache_key: str) -> str:
    return f"{OPENAI_CACHE_PREFIX}/chat/{cache_key}.json"


def openai_video_keys(cache_key: str) -> tuple[str, str]:
    """The cached MP4 of one Videos API job and its job record (state, progress, attempts, job id)."""
    base = f"{OPENAI_CACHE_PREFIX}/videos/{cache_key}"
    return f"{base}.mp4", f"{base}.json"


def audit_day_key(day: date) -> str:
    """The daily copy of one day's audit records (JSON lines)."""
    return f"{AUDIT_ARCHIVE_PREFIX}/{day.isoformat()}.jsonl"


def audit_day_summary_key(day: date) -> str:
    return f"{AUDIT_ARCHIVE_PREFIX}/{day.isoformat()}.json"
