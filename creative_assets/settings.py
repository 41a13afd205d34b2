"""Deployment settings from the environment (documented in README "Configuration").

Only *which implementation* is chosen here; values that can change per process (paths, bucket,
credentials) stay ``EnvVar``s resolved at run time, so they are never baked in at load time.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg


def project_root() -> Path:
    """The repository root for an editable install, else the current directory."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").is_file() else Path.cwd()


def default_storage_root() -> str:
    return str(project_root() / "var" / "storage")


def default_credentials_dir() -> str:
    """Where `creative-assets credentials init` puts the test CA."""
    return str(project_root() / "var" / "credentials")


#: the Dagster UI that links to runs point at (alerts, notifications, review app, ``status``)
UI_URL_ENV = "CREATIVE_ASSETS_UI_URL"
DEFAULT_UI_URL = "http://localhost:3000"


def dagster_ui_url() -> str:
    return os.environ.get(UI_URL_ENV, "").strip() or DEFAULT_UI_URL


def default_dagster_home() -> str:
    return str(project_root() / "var" / "dagster_home")


def env_or_default(name: str, default: str | None) -> str | dg.EnvVar | None:
    """``EnvVar(name)`` when the variable is set (resolved at run time), else the default value."""
    return dg.EnvVar(name) if os.environ.get(name) else default


def choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower() or default
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(allowed)}")
    return value


def int_setting(name: str, default: int, low: int, high: int) -> int:
    """A bounded integer setting. (Not an ``EnvVar``: pydantic would check the bounds against the
    unresolved placeholder and refuse any value at load time.)"""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ValueError(f"{name}={value} is outside {low}..{high}")
    return value
