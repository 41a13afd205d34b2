"""Creative storage: a local folder or an S3 bucket behind one interface (hooli's FileSystem pattern).

Both implement the domain's ``Storage`` protocol (creative_assets/storage_protocol.py). Keys are
POSIX-style relative paths built by creative_assets/layout.py (which also judges their safety); the
same keys are used by both implementations, so switching storage is configuration, not code.
"""

from __future__ import annotations

import mimetypes
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field, PrivateAttr

from creative_assets.input_policy import TooLargeError, UnsafeFileError, read_regular_file
from creative_assets.layout import check_key, display_key, listed_key

CONTENT_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".txt": "text/plain; charset=utf-8",
}


def content_type_for(key: str) -> str:
    suffix = PurePosixPath(key).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


class CreativeStorage(dg.ConfigurableResource, ABC):
    """Where every stage's files live: the domain's ``storage_protocol.Storage`` as a Dagster
    resource. Implementations: local folder, S3 bucket. Keys are built by ``layout.py`` only."""

    @abstractmethod
    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> str:
        """Write atomically (readers never see a partial object); return the object's URI."""

    @abstractmethod
    def read_bytes(self, key: str, max_bytes: int | None = None) -> bytes:
        """Read an object; raise FileNotFoundError if it does not exist. With ``max_bytes``, a larger
        object is refused (``TooLargeError``) by its size before it is read. Local storage reads only
        regular files whose real path is inside the root (``UnsafeFileError`` otherwise)."""

    @abstractmethod
    def read_listed(self, key: str, max_bytes: int) -> bytes:
        """Like ``read_bytes`` for a key exactly as ``list_keys`` returned it, even one that
        :func:`check_key` refuses (``inbox//x/brief.yaml``), so it can be set aside."""

    @abstractmethod
    def delete_listed(self, key: str) -> None:
        """Delete an object by a key exactly as ``list_keys`` returned it (a symlink, not its target)."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list_keys(self, prefix: str, start_after: str | None = None) -> Iterator[str]:
        """Every key under ``prefix`` (a folder-like prefix), paginated, in lexical order; with
        ``start_after``, only the keys after that one (a cursor for append-only logs)."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def uri(self, key: str) -> str:
        """A stable address for metadata: ``file:///...`` or ``s3://bucket/key``."""

    def browse_url(self, key: str) -> str | None:
        """A URL a person can open (presigned for S3); None where there is none."""
        return None

    @abstractmethod
    def modified_at(self, key: str) -> datetime:
        """When the object was last written (UTC); FileNotFoundError if it does not exist."""

    def local_path(self, key: str) -> Path | None:
        """The file on disk for local storage, else None."""
        return None

    def read_text(self, key: str) -> str:
        return self.read_bytes(key).decode("utf-8")

    def write_text(self, key: str, text: str, content_type: str | None = None) -> str:
        return self.write_bytes(key, text.encode("utf-8"), content_type)


class LocalCreativeStorage(CreativeStorage):
    """Files under a local folder (the embedded default)."""

    root: str = Field(description="Folder that holds briefs/ and campaigns/.")

    def _path(self, key: str) -> Path:
        return Path(self.root).resolve() / check_key(key)

    def _read(self, path: Path, max_bytes: int | None) -> bytes:
        try:
            return read_regular_file(path, max_bytes if max_bytes is not None else 1 << 40, root=self.root)
        except IsADirectoryError as exc:  # pragma: no cover - read_regular_file names it
            raise UnsafeFileError(str(exc)) from exc

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> str:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return self.uri(key)

    def read_bytes(self, key: str, max_bytes: int | None = None) -> bytes:
        return self._read(self._path(key), max_bytes)

    def read_listed(self, key: str, max_bytes: int) -> bytes:
        return self._read(Path(self.root).resolve() / listed_key(key), max_bytes)

    def delete_listed(self, key: str) -> None:
        (Path(self.root).resolve() / listed_key(key)).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list_keys(self, prefix: str, start_after: str | None = None) -> Iterator[str]:
        root = Path(self.root).resolve()
        base = root / prefix.rstrip("/") if prefix else root
        if not base.is_dir():
            return
        keys = [
            Path(dirpath, name).relative_to(root).as_posix()
            for dirpath, _dirs, filenames in os.walk(base)
            for name in filenames
            if not (name.startswith(".") and name.endswith(".part"))
        ]
        yield from sorted(k for k in keys if start_after is None or k > start_after)  # lexical, like S3

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    def browse_url(self, key: str) -> str | None:
        return self.uri(key)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def modified_at(self, key: str) -> datetime:
        return datetime.fromtimestamp(self._path(key).stat().st_mtime, tz=timezone.utc)


class S3CreativeStorage(CreativeStorage):
    """Objects in an S3 (or S3-compatible: MinIO, Ceph, R2) bucket under an optional prefix."""

    s3: S3Resource
    bucket: str
    prefix: str = Field("", description="Key prefix inside the bucket, e.g. 'creative-assets'.")
    presign_expiry_seconds: int = Field(7 * 24 * 3600, ge=60, le=7 * 24 * 3600)

    _cached_client: object = PrivateAttr(default=None)

    def _key(self, key: str) -> str:
        return self._raw_key(check_key(key))

    def _client(self):
        # One client per initialized resource (per run, per sensor tick): never at import or load
        # time, and rebuilt for every run so rotated credentials are picked up.
        if self._cached_client is None:
            self._cached_client = self.s3.get_client()
        return self._cached_client

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> str:
        self._client().put_object(
            Bucket=self.bucket,
            Key=self._key(key),
            Body=data,
            ContentType=content_type or content_type_for(key),
        )
        return self.uri(key)

    def _raw_key(self, key: str) -> str:
        return f"{self.prefix.strip('/')}/{key}" if self.prefix.strip("/") else key

    def _get(self, full_key: str, max_bytes: int | None) -> bytes:
        client = self._client()
        try:
            response = client.get_object(Bucket=self.bucket, Key=full_key)
        except client.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(2, f"no object s3://{self.bucket}/{display_key(full_key)}") from exc
        body = response["Body"]
        try:
            if max_bytes is None:
                return body.read()
            if int(response.get("ContentLength") or 0) > max_bytes:  # refused unread
                raise TooLargeError(int(response["ContentLength"]), max_bytes, "object")
            data = body.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise TooLargeError(len(data), max_bytes, "object")
            return data
        finally:
            body.close()

    def read_bytes(self, key: str, max_bytes: int | None = None) -> bytes:
        return self._get(self._key(key), max_bytes)

    def read_listed(self, key: str, max_bytes: int) -> bytes:
        return self._get(self._raw_key(listed_key(key)), max_bytes)

    def delete_listed(self, key: str) -> None:
        self._client().delete_object(Bucket=self.bucket, Key=self._raw_key(listed_key(key)))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._client().head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def modified_at(self, key: str) -> datetime:
        from botocore.exceptions import ClientError

        try:
            return self._client().head_object(Bucket=self.bucket, Key=self._key(key))["LastModified"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(2, f"no object {self.uri(key)}") from exc
            raise

    def list_keys(self, prefix: str, start_after: str | None = None) -> Iterator[str]:
        full = self._key(prefix.rstrip("/")) + "/" if prefix else (self.prefix.strip("/") + "/").lstrip("/")
        strip = len(self.prefix.strip("/") + "/") if self.prefix.strip("/") else 0
        paginator = self._client().get_paginator("list_objects_v2")
        extra = {"StartAfter": self._key(start_after)} if start_after else {}
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full, **extra):
            for obj in page.get("Contents", []):
                yield obj["Key"][strip:]

    def delete(self, key: str) -> None:
        self._client().delete_object(Bucket=self.bucket, Key=self._key(key))

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def browse_url(self, key: str) -> str | None:
        return self._client().generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._key(key)},
            ExpiresIn=self.presign_expiry_seconds,
        )
