"""The identity database: tables (SQLAlchemy 2 Core), the engine, and Alembic migrations.

SQLite under ``var/identity.sqlite`` by default; in production the Dagster Postgres server, in its own
schema (``CREATIVE_ASSETS_IDENTITY_DB_SCHEMA``, default ``identity``): every connection's
``search_path`` is that schema, so the tables and Alembic's version table never mix with Dagster's.
Tables are created by the migrations in ``migrations/versions/`` only (``upgrade``), never ad hoc.
"""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("login", sa.String(254), nullable=False, unique=True),  # lower-case e-mail or name
    sa.Column("display_name", sa.String(120), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # human | service
    sa.Column("source", sa.String(16), nullable=False),  # local | oidc | service
    sa.Column("password_hash", sa.String(255), nullable=True),  # Argon2id (PHC string)
    sa.Column("must_change_password", sa.Boolean, nullable=False, default=False),
    sa.Column("is_admin", sa.Boolean, nullable=False, default=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("oidc_subject", sa.String(400), nullable=True, unique=True),  # "<issuer> <sub>"
    sa.Column("groups", sa.Text, nullable=False, default="[]"),  # JSON list (IdP or local groups)
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("brand", sa.String(64), primary_key=True),  # a brand kit slug, or "*" for every brand
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),  # manual | idp (idp ones follow the IdP groups)
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),  # SHA-256 of the cookie value
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),  # absolute lifetime
    sa.Column("last_seen_at", sa.Float, nullable=False),  # idle timeout
    sa.Column("revoked_at", sa.Float, nullable=True),
    sa.Column("ip", sa.String(64), nullable=False, default=""),
    sa.Column("method", sa.String(16), nullable=False),  # password | oidc
)
sa.Index("sessions_user", sessions.c.user_id)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),  # public part of the token
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False),  # SHA-256 of the secret part
    sa.Column("scopes", sa.String(200), nullable=False),  # space-separated
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=True),
    sa.Column("revoked_at", sa.Float, nullable=True),
    sa.Column("last_used_at", sa.Float, nullable=True),
    sa.Column("note", sa.String(200), nullable=False, default=""),
)

login_throttle = sa.Table(
    "login_throttle",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),  # SHA-256 of "account|ip" or "ip|<ip>"
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("blocked_until", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

oidc_requests = sa.Table(
    "oidc_requests",
    metadata,
    sa.Column("state_hash", sa.String(64), primary_key=True),
    sa.Column("nonce", sa.String(128), nullable=False),
    sa.Column("code_verifier", sa.String(128), nullable=False),
    sa.Column("next_url", sa.String(2000), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

oidc_nonces = sa.Table(
    "oidc_nonces",
    metadata,
    sa.Column("nonce_hash", sa.String(64), primary_key=True),  # every nonce ever accepted (replay)
    sa.Column("used_at", sa.Float, nullable=False),
)

audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # one row: the chain's head (locked on append)
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(32), nullable=False),  # ISO 8601 UTC, microseconds
    sa.Column("actor", sa.String(254), nullable=False),
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),  # ok | denied | failed
    sa.Column("brand", sa.String(64), nullable=False),
    sa.Column("target", sa.String(400), nullable=False),
    sa.Column("details", sa.Text, nullable=False),  # canonical JSON
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
sa.Index("audit_log_at", audit_log.c.at)


def make_engine(url: str, schema: str = "identity") -> Engine:
    """An engine on ``url``. Postgres: connections use ``schema`` (created if missing) as search_path."""
    if url.startswith("postgresql"):
        if not SCHEMA_NAME.match(schema):
            raise ValueError(f"identity schema {schema!r} is not a plain lower-case SQL name")
        engine = sa.create_engine(
            url, pool_pre_ping=True, connect_args={"options": f"-csearch_path={schema}"}
        )
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        return engine
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {})
    if url.startswith("sqlite"):

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

    return engine


def _alembic_config(connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` (idempotent)."""
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
