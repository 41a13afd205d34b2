"""Shared fixtures: example briefs, isolated storage roots and Dagster instances."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from creative_assets_tests.helpers import SUMMER

# Step retries wait up to minutes on transient errors; tests that expect a failure want it at once.
# test_retries.py builds jobs with a fast policy to prove the retries themselves.
os.environ.setdefault("CREATIVE_ASSETS_STEP_RETRIES", "0")

#: s3_endpoint / s3_client / bucket / s3_storage: a moto S3 server on loopback, reached over HTTP.
pytest_plugins = ["creative_assets_tests.s3_server"]


@pytest.fixture
def storage(tmp_path):
    from resources.storage import LocalCreativeStorage

    return LocalCreativeStorage(root=str(tmp_path / "storage"))


@pytest.fixture
def brief_dir(tmp_path) -> Path:
    """A copy of the summer example (brief + assets) that a test may edit freely."""
    target = tmp_path / "brief"
    shutil.copytree(SUMMER.parent, target)
    return target


@pytest.fixture(autouse=True, scope="session")
def _identity_database(tmp_path_factory):
    """Code that opens the identity database by default (the review app, the audit archive sensor in a
    daemon) uses a throwaway SQLite file, never var/identity.sqlite of the checkout."""
    import os

    if "CREATIVE_ASSETS_IDENTITY_DB_URL" in os.environ:
        yield
        return
    path = tmp_path_factory.mktemp("identity") / "identity.sqlite"
    os.environ["CREATIVE_ASSETS_IDENTITY_DB_URL"] = f"sqlite:///{path}"
    try:
        yield
    finally:
        os.environ.pop("CREATIVE_ASSETS_IDENTITY_DB_URL", None)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "postgres: runs against a throwaway PostgreSQL server (needs the postgresql package)"
    )


@pytest.fixture(scope="session")
def postgres_server():
    """One throwaway PostgreSQL server for the whole session (see postgres_server.py), stopped and
    removed at the end. Use `postgres_server.create_database(name)` for an isolated database."""
    from creative_assets_tests.postgres_server import PostgresServer

    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server) -> str:
    """`postgresql+psycopg2://dagster:dagster@127.0.0.1:<port>/dagster` on the session's server."""
    return postgres_server.url


@pytest.fixture(autouse=True)
def _clean_dagster_context():
    """Each test starts with a usable Dagster definitions context.

    Dagster keeps the current definitions-state storage in a context variable that an instance sets
    on `__enter__` and restores on `__exit__`. An instance exited late (from a garbage-collected
    init context, see test_resource_lifetimes.py) restores a storage whose instance is already
    disposed, and the next `Definitions` load then fails with "Attempted to resolve undefined
    DagsterInstance weakref". Product code never does this; a dead storage left by an earlier
    test is cleared here so that one test's garbage cannot fail another.
    """
    from dagster._core.storage.defs_state.base import DefsStateStorage, _current_storage

    storage = DefsStateStorage.get()
    ref = getattr(storage, "_instance_weakref", None)
    if storage is not None and (ref is None or ref() is None):
        _current_storage.set(None)
    yield
