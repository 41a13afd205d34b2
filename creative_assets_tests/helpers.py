"""Paths and small builders shared by tests."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
SUMMER = EXAMPLES / "summer-splash-2026" / "brief.yaml"
TRAIL = EXAMPLES / "trail-ready-2026" / "brief.yaml"
