"""What the checks read about one rendered creative: :class:`CreativeContext` (pure).

One value instead of a dozen positional parameters; :class:`UnitCredentials` is the same for the
credential checks, which judge a unit's stored finals once. What several checks share is measured once per
creative and cached on the context: the elements that must stay clear of things (text ink boxes and
the CTA button) and the logo located on the pixels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image

from creative_assets.compliance.glyph_coverage import FontResolver
from creative_assets.compliance.logo import LogoDetection, locate_logo
from creative_assets.credentials import Provenance, Verification
from creative_assets.render.export import PlacementExport
from creative_assets.render.layout import Box
from creative_assets.stages import CopyVariant, FinalCreatives, FinalRender, TermRuleRecord


@dataclass(frozen=True)
class LogoRules:
    """The kit's logo artwork by variant and its placement rules at this creative's size."""

    artwork: Mapping[str, Image.Image]
    min_px: int
    max_px: int
    clear_space: float


@dataclass(frozen=True)
class CreativeContext:
    """One final creative (its pixels and render report), the copy it prints and what it is judged
    against (term rules, locale, logo rules, palette, fonts, the kit's upscale limit, where the copy
    came from)."""

    image: Image.Image
    report: FinalRender
    copy: CopyVariant
    rules: Sequence[TermRuleRecord]
    line_breaking: str
    direction: str
    logo: LogoRules
    palette_hex: Sequence[str]
    font_resolver: FontResolver | Sequence[Path | str] | None = None
    max_upscale: float = 1.5
    copy_sources: Mapping[str, str] = field(default_factory=dict)
    copy_warnings: Sequence[str] = ()
    #: the creative exported for its placement (render/export.py): the bytes and their record;
    #: None when no accepted format fits the budget at the minimum quality
    export_data: bytes | None = None
    export: PlacementExport | None = None

    @property
    def short_side(self) -> int:
        return min(self.image.size)

    @cached_property
    def elements(self) -> dict[str, Box]:
        """Text ink boxes by role, plus the CTA button when the creative has one."""
        elements: dict[str, Box] = {b.role: b.ink_bbox for b in self.report.blocks}
        if self.report.cta_button[2] > self.report.cta_button[0]:
            elements["cta button"] = self.report.cta_button
        return elements

    @cached_property
    def logo_detection(self) -> LogoDetection | None:
        """The logo located on the pixels (None without artwork), used by the logo and safe-zone
        checks instead of ``report.logo.box``. The product's own pixels are masked out of the search:
        packaging often carries the brand's logo (the supplied Aurora cans do), and a packshot logo is
        not the brand mark the placement rules are about."""
        if not self.logo.artwork:
            return None
        search_image = mask_box(self.image, self.report.product_bbox)
        return locate_logo(
            search_image,
            self.logo.artwork,
            round(self.logo.min_px * 0.6),
            round(self.logo.max_px * 1.15),
            placed=self.report.logo.box,
        )


def mask_box(image: Image.Image, box: Box) -> Image.Image:
    """A copy of ``image`` with ``box`` filled flat (its median colour)."""
    x0, y0, x1, y1 = (max(0, box[0]), max(0, box[1]), min(image.width, box[2]), min(image.height, box[3]))
    if x1 <= x0 or y1 <= y0:
        return image
    masked = image.convert("RGB").copy()
    region = np.asarray(masked.crop((x0, y0, x1, y1)), np.float64).reshape(-1, 3)
    masked.paste(tuple(int(v) for v in np.median(region, axis=0)), (x0, y0, x1, y1))
    return masked


@dataclass(frozen=True)
class UnitCredentials:
    """What the unit-scope Content Credentials checks read: what each final declares, the unit's
    final manifest (no pixels), each stored final's verification (read back from storage; empty
    before) and whether signing is disabled (the reason) or required."""

    provenance: Mapping[str, Provenance]
    finals: FinalCreatives
    verifications: Mapping[str, Verification] = field(default_factory=dict)
    disabled: str | None = None
    required: bool = False
