"""What the domain needs from storage: the ``Storage`` protocol every domain module is typed against.

The domain owns this interface; ``resources/storage.py`` implements it (a local folder, an S3
bucket) as Dagster resources. Keys are the ones ``layout.py`` builds. Pure: no Dagster, no
resources.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class Storage(Protocol):
    """Objects under one root, addressed by safe relative keys (``layout.check_key``)."""

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> str:
        """Write atomically (readers never see a partial object); return the object's URI."""
        ...

    def read_bytes(self, key: str, max_bytes: int | None = None) -> bytes:
        """Read an object; FileNotFoundError if it does not exist; with ``max_bytes``, a larger
        object is refused (``input_policy.TooLargeError``) before it is read."""
        ...

    def read_listed(self, key: str, max_bytes: int) -> bytes:
        """Like ``read_bytes`` for a key exactly as ``list_keys`` returned it, even an unsafe one."""
        ...

    def delete_listed(self, key: str) -> None:
        """Delete an object by a key exactly as ``list_keys`` returned it."""
        ...

    def exists(self, key: str) -> bool: ...

    def list_keys(self, prefix: str, start_after: str | None = None) -> Iterator[str]:
        """Every key under a folder-like ``prefix``, in lexical order; after ``start_after`` if given."""
        ...

    def delete(self, key: str) -> None: ...

    def uri(self, key: str) -> str:
        """A stable address for metadata and messages: ``file:///...`` or ``s3://bucket/key``."""
        ...

    def browse_url(self, key: str) -> str | None:
        """A URL a person can open (presigned for S3); None where there is none."""
        ...

    def modified_at(self, key: str) -> datetime:
        """When the object was last written (UTC); FileNotFoundError if it does not exist."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The file on disk for local storage, else None."""
        ...

    def read_text(self, key: str) -> str: ...

    def write_text(self, key: str, text: str, content_type: str | None = None) -> str: ...
