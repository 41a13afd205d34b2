"""Shared fixtures: example briefs, isolated storage roots and Dagster instances."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from creative_assets_tests.helpers import SUMMER


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
