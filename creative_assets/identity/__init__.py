"""Identity for the review app: accounts (local and OpenID Connect), brand roles, sessions, service
account tokens and the audit log, in one SQL database (SQLite under ``var/`` by default, the Dagster
Postgres server in production, in its own schema). No Dagster imports here."""
