"""Resource config from the environment: a set variable becomes a Dagster ``EnvVar`` (resolved at
run time, never baked in at load), an unset one the default. Which variables are set is asked of
creative_assets/settings.py, the one reader of the environment."""

from __future__ import annotations

import dagster as dg

from creative_assets.settings import is_set


def env_or_default(name: str, default: str | None) -> str | dg.EnvVar | None:
    """``EnvVar(name)`` when the variable is set (resolved at run time), else the default value."""
    return dg.EnvVar(name) if is_set(name) else default


def env_int_or_none(name: str) -> dg.EnvVar | None:
    """``EnvVar.int(name)`` when the variable is set, else None."""
    return dg.EnvVar.int(name) if is_set(name) else None
