"""Alembic environment: the connection is handed in by ``creative_assets.identity.db.upgrade``."""

from alembic import context

from creative_assets.identity.db import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
