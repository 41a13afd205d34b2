"""The brief inbox: briefs dropped into storage under an inbox prefix are validated and either
registered (accepted) or set aside with an error report (rejected). Pure logic over storage; the
sensor in ``sensors/brief_inbox.py`` schedules it.

- A brief is any ``.yaml``/``.yml``/``.json`` object under the inbox prefix (at any depth).
- Product images it references resolve relative to the brief's own folder and must stay inside the
  inbox prefix: ``inbox/summer/brief.yaml`` may use ``assets/can.png`` (``inbox/summer/assets/can.png``)
  but nothing outside ``inbox/``.
- Accepted: the brief is stored as a new version (``briefs/<campaign>/vNNNN/``) and the original is
  deleted from the inbox. Rejected: the original is copied to ``rejected/<name>-<sha>/`` beside an
  ``error.json`` naming every problem, then deleted from the inbox. Either way nothing is processed
  twice and nothing is lost. Images in the inbox are left where they are.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from creative_assets.brief import MAX_ASSET_BYTES, parse_brief_text, validate_brief
from creative_assets.brief_parse import decode_brief_bytes
from creative_assets.brief_store import BriefRecord, changed_units, dropped_units, register_brief_version
from creative_assets.errors import BriefError, Problem
from creative_assets.input_policy import MAX_BRIEF_BYTES, TooLargeError, UnsafeFileError
from creative_assets.partitions import UnitKey
from resources.storage import CreativeStorage, display_key, unsafe_key_reason

BRIEF_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass
class Accepted:
    key: str
    record: BriefRecord
    created: bool
    changed: list[UnitKey] = field(default_factory=list)
    dropped: list[UnitKey] = field(default_factory=list)


@dataclass
class Deferred:
    """Left in the inbox for a later tick: its images may still be uploading."""

    key: str
    missing: list[str]


@dataclass
class Rejected:
    key: str
    folder: str
    report_key: str
    problems: list[Problem]


def inbox_briefs(storage: CreativeStorage, inbox_prefix: str, limit: int) -> Iterator[str]:
    """Up to ``limit`` brief keys in the inbox (the listing is paginated and stops early)."""
    found = 0
    for key in storage.list_keys(inbox_prefix.rstrip("/")):
        if key.lower().endswith(BRIEF_SUFFIXES) and not posixpath.basename(key).startswith("."):
            yield key
            found += 1
            if found >= limit:
                return


def _asset_reader(storage: CreativeStorage, brief_key: str, inbox_prefix: str):
    base = posixpath.dirname(brief_key)
    root = inbox_prefix.rstrip("/") + "/"

    def read(ref: str) -> bytes:
        target = posixpath.normpath(posixpath.join(base, ref))
        if not (target + "/").startswith(root) or target == root.rstrip("/"):
            raise PermissionError(13, f"{ref} resolves to {target}, outside the inbox {root}")
        reason = unsafe_key_reason(target)
        if reason:
            raise PermissionError(13, f"{ref} cannot be read: {reason}")
        try:
            return storage.read_bytes(target, max_bytes=MAX_ASSET_BYTES)
        except FileNotFoundError as exc:
            raise FileNotFoundError(2, f"no object {storage.uri(target)}") from exc

    return read


#: How long a brief may wait for images that are still uploading (``aws s3 cp --recursive`` can put
#: the brief before its images) before a missing image counts as an error.
UPLOAD_GRACE_SECONDS = 120.0


def ingest_brief(
    storage: CreativeStorage,
    key: str,
    inbox_prefix: str,
    rejected_prefix: str = "rejected",
    brand_kits_root: Path | None = None,
    upload_grace_seconds: float = UPLOAD_GRACE_SECONDS,
) -> Accepted | Deferred | Rejected:
    """Validate one inbox brief and accept, defer or reject it. Idempotent: repeating it after a
    crash registers the same version (same content) and writes the same rejection folder.

    Hostile drops are rejected one by one, each with its own report, never crashing the caller: a
    key the storage cannot use as it is (``inbox//x/brief.yaml``, a backslash, a non-UTF-8 folder
    name), a brief over the size limit, and (local inbox) a FIFO, device or folder named like a brief
    or a symlink leading outside the storage root. Their content is not copied to the rejected folder
    (an oversized or unreadable file, a symlink's target); the inbox entry itself is removed."""
    reason = unsafe_key_reason(key)
    if reason:
        return _reject_unreadable(
            storage,
            key,
            f"cannot be processed under this name: {reason}; upload it again under a "
            "plain name (letters, digits, '-', '_', '.', single '/' between folders)",
            rejected_prefix,
            read=True,
        )
    source = storage.uri(key)
    try:
        data = storage.read_bytes(key, max_bytes=MAX_BRIEF_BYTES)
    except TooLargeError as exc:
        return _reject_unreadable(
            storage, key, f"is too large: {exc}; it was not read or copied", rejected_prefix
        )
    except UnsafeFileError as exc:
        return _reject_unreadable(storage, key, f"was not read: {exc}", rejected_prefix)
    try:
        text = decode_brief_bytes(data, source)
        loaded = validate_brief(
            parse_brief_text(text, key), source, _asset_reader(storage, key, inbox_prefix), brand_kits_root
        )
    except BriefError as exc:
        if exc.problems and all(p.code == "missing_asset" for p in exc.problems):
            age = (datetime.now(timezone.utc) - storage.modified_at(key)).total_seconds()
            if age < upload_grace_seconds:
                return Deferred(key=key, missing=[p.field for p in exc.problems])
        return _reject(storage, key, data, exc, rejected_prefix)
    except Exception as exc:  # a brief that breaks the validator is still set aside, never retried forever
        if _is_transient(exc):
            raise
        problem = Problem(
            "(file)", f"could not be validated ({exc.__class__.__name__}: {exc}); please report this"
        )
        return _reject(storage, key, data, BriefError(source, [problem]), rejected_prefix)
    record, previous, created = register_brief_version(storage, loaded, data)
    storage.delete(key)
    return Accepted(
        key=key,
        record=record,
        created=created,
        changed=changed_units(previous, record) if created else [],
        dropped=dropped_units(previous, record) if created else [],
    )


def _is_transient(exc: Exception) -> bool:
    """Storage/network failures: the brief stays in the inbox and is retried next tick."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return False
    return isinstance(exc, (BotoCoreError, ClientError, ConnectionError, TimeoutError))


def _reject_unreadable(
    storage: CreativeStorage, key: str, message: str, rejected_prefix: str, read: bool = False
) -> Rejected:
    """Reject a drop that cannot be handled by its key or read as a file. With ``read`` (an odd key
    of an ordinary object) a bounded copy is still kept beside the report."""
    data = None
    if read:
        with contextlib.suppress(OSError, ValueError):
            data = storage.read_listed(key, MAX_BRIEF_BYTES)
    error = BriefError(f"{_uri_prefix(storage)}{display_key(key)}", [Problem("(file)", message)])
    return _reject(storage, key, data, error, rejected_prefix)


def _uri_prefix(storage: CreativeStorage) -> str:
    """The URI of the storage root (``s3://bucket/prefix/`` or ``file:///root/``)."""
    return storage.uri("x")[:-1]


def _reject(
    storage: CreativeStorage, key: str, data: bytes | None, error: BriefError, rejected_prefix: str
) -> Rejected:
    """Set a drop aside: a copy of it (when ``data`` is given) beside ``error.json``, then remove it
    from the inbox. Names in the rejected folder are always safe keys, whatever the drop's key."""
    unsafe = unsafe_key_reason(key) is not None
    name = posixpath.basename(key)
    if unsafe:
        name = _SAFE_NAME.sub("_", display_key(name)).strip("._") or "brief"
    stem = name.rsplit(".", 1)[0] or "brief"
    # unreadable drops and odd keys: the key tells them apart (several may hold the same bytes)
    odd = data is None or unsafe
    digest = hashlib.sha256((key.encode("utf-8", "surrogateescape") if odd else b"") + (data or b""))
    folder = f"{rejected_prefix.strip('/')}/{stem[:80]}-{digest.hexdigest()[:12]}"
    report = {
        "file": display_key(key),
        "source": error.source,
        "rejected_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "problems": [p.to_dict() for p in error.problems],
        "message": error.render(),
        "copied": data is not None,
    }
    if data is not None:
        storage.write_bytes(f"{folder}/{name}", data)
    report_key = f"{folder}/error.json"
    storage.write_text(report_key, json.dumps(report, indent=2, ensure_ascii=False))
    storage.delete_listed(key)
    return Rejected(key=key, folder=folder, report_key=report_key, problems=list(error.problems))


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
