"""Brand kit library: where kits are read from (a folder shipped with the code location)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field, PrivateAttr

from creative_assets.brand_kit import BrandKit, brand_kits_dir, load_brand_kit


class BrandKitLibrary(dg.ConfigurableResource):
    """Loads brand kits from ``root`` (default: the repository's ``brand_kits/``)."""

    root: str = Field("", description="Folder of brand kits; empty means the bundled brand_kits/.")

    _loaded: dict = PrivateAttr(default_factory=dict)

    def root_path(self) -> Path:
        return Path(self.root) if self.root else brand_kits_dir()

    def load(self, slug: str) -> BrandKit:
        """The validated kit; loaded once per initialized resource (one run or sensor tick), so a
        batched step does not re-validate it for every unit and an edited kit is seen by the next run."""
        if slug not in self._loaded:
            self._loaded[slug] = load_brand_kit(slug, self.root_path())
        return self._loaded[slug]
