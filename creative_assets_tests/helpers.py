"""Paths and small builders shared by tests."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
SUMMER = EXAMPLES / "summer-splash-2026" / "brief.yaml"
TRAIL = EXAMPLES / "trail-ready-2026" / "brief.yaml"

_GENERATION = re.compile(r"\d{8}T\d{12}Z-[0-9a-f]{8}")


def without_generations(text: str) -> str:
    """Stage keys and manifests with their generation ids blanked (``…/final_creatives/gen/*/1x1/…``), so
    outputs of two runs can be compared: each materialization writes its own generation folder."""
    return _GENERATION.sub("*", text)


def is_generation_copy(key: str) -> bool:
    """The manifest copy a generation keeps of itself (it duplicates the live manifest)."""
    return "/gen/" in key and bool(_GENERATION.search(key)) and key.endswith("/manifest.json")
