"""Data versions of the pipeline's external inputs: the live briefs, the brand kits and the locale
knowledge base (pure: what ``assets/sources.py`` reports as observations). Each is a content hash,
so it changes exactly when what the pipeline would read changes."""

from __future__ import annotations

import hashlib
from pathlib import Path

from creative_assets import layout
from creative_assets.brand_kit import available_brand_kits, load_brand_kit
from creative_assets.errors import BriefError
from creative_assets.locales import knowledge_base_version
from creative_assets.storage_protocol import Storage


def _digest(parts: dict[str, str]) -> str:
    h = hashlib.sha256()
    for name, value in sorted(parts.items()):
        h.update(f"{name}\0{value}\n".encode())
    return h.hexdigest()[:16]


def briefs_version(storage: Storage) -> tuple[str, dict[str, str]]:
    """Hash of every campaign's live version pointer (``briefs/<campaign>/current.json``, written last
    when a version goes live), and campaign -> its pointer's hash."""
    campaigns = {
        key.split("/")[1]: hashlib.sha256(storage.read_bytes(key)).hexdigest()[:16]
        for key in storage.list_keys(f"{layout.BRIEFS_ROOT}/")
        if key == layout.brief_current_key(key.split("/")[1])
    }
    return _digest(campaigns), campaigns


def brand_kits_version(root: Path) -> tuple[str, dict[str, str]]:
    """Hash of every kit's fingerprint (brand.yaml and every file it references), and kit -> its
    fingerprint; a kit that does not validate counts by its brand.yaml bytes."""
    kits = {}
    for slug in available_brand_kits(root):
        try:
            kits[slug] = load_brand_kit(slug, root).fingerprint()
        except BriefError:
            kits[slug] = (
                "invalid:" + hashlib.sha256((root / slug / "brand.yaml").read_bytes()).hexdigest()[:16]
            )
    return _digest(kits), kits


def knowledge_base_data_version() -> str:
    """The locale knowledge base's version (a hash of its bytes), as context packs record it."""
    return knowledge_base_version()
