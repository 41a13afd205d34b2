"""The identity database (accounts, sessions, the audit log) as a Dagster resource: the audit archive
sensor reads it. The URL is an ``EnvVar`` when set (``CREATIVE_ASSETS_IDENTITY_DB_URL``)."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from creative_assets.identity.store import IdentityStore


class IdentityDatabase(dg.ConfigurableResource):
    url: str = Field(description="SQLAlchemy URL: sqlite:///… or postgresql+psycopg2://…")
    db_schema: str = Field("identity", description="Postgres schema of the identity tables.")

    def open(self) -> IdentityStore:
        return IdentityStore.open(self.url, self.db_schema)
