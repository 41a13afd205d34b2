"""Candidate scoring from measured signals, and selection of the best candidate per unit.

Each signal is normalised to 0..1 from measurements taken on the final pixels (see the render
reports); the score is the weighted mean over signals, averaged over the unit's ratios. Weights are
configuration (:class:`ScoringWeights`). Ties break on the lower candidate index, so selection is
deterministic. Documented in README "Scoring".
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter
from pydantic import BaseModel, ConfigDict, Field

from creative_assets.render.color import palette_fit, relative_luminance
from creative_assets.stages import FinalRender
from creative_assets.vocabulary import Box


class ScoringWeights(BaseModel):
    """Relative weight of each signal (they need not sum to 1). Unknown names are errors."""

    model_config = ConfigDict(extra="forbid")

    legibility: float = Field(3.0, ge=0, description="Worst text contrast between AA (4.5:1) and AAA (7:1).")
    text_fit: float = Field(2.0, ge=0, description="All text fits; headline set large.")
    logo: float = Field(2.0, ge=0, description="Logo reads (>= 3:1) without a backing plate, at size.")
    image_visibility: float = Field(2.0, ge=0, description="No gradient, panel or knockout over the image.")
    brand_colour_fit: float = Field(1.5, ge=0, description="Share of pixels near the brand palette.")
    exposure: float = Field(0.5, ge=0, description="Mean luminance away from the extremes.")
    sharpness: float = Field(0.5, ge=0, description="Edge energy of the image.")
    product_prominence: float = Field(1.5, ge=0, description="Product fills its region.")
    compliance: float = Field(
        3.0, ge=0, description="Share of compliance checks passed (WARN findings count)."
    )


def _clip01(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


def _area(b: Box) -> int:
    return max(0, b[2] - b[0]) * max(0, b[3] - b[1])


def image_signals(image: Image.Image, palette_hex: list[str]) -> dict[str, float]:
    """Pixel-level signals of a final creative (downsampled; cheap)."""
    small = image.convert("RGB").resize(
        (160, round(160 * image.height / image.width)), Image.Resampling.BILINEAR
    )
    lum = relative_luminance(np.asarray(small, np.float64))
    mean = float(lum.mean())
    edges = np.asarray(small.convert("L").filter(ImageFilter.FIND_EDGES), np.float64)
    fit = palette_fit(small, palette_hex, threshold=15.0, sample=64)
    return {
        # only the extremes are penalised: near-black or blown-out images; light and dark grounds are fine
        "exposure": _clip01(1 - max(0.0, 0.12 - mean) / 0.12 - max(0.0, mean - 0.8) / 0.2),
        "sharpness": _clip01(edges.std() / 40.0),
        "brand_colour_fit": _clip01(fit["share_within"] / 0.6),
    }


def render_signals(report: FinalRender, head_max_size: int) -> dict[str, float]:
    """Signals from a render report: contrast, fit, logo, treatment, prominence."""
    text_blocks = [b for b in report.blocks if b.role in ("headline", "subline", "disclaimer")]
    worst = min((b.contrast for b in text_blocks), default=21.0)
    # 0.5 at AA (4.5:1), 1.0 at AAA (7:1); more contrast than AAA earns nothing more
    legibility = worst / 4.5 * 0.5 if worst < 4.5 else 0.5 + 0.5 * _clip01((worst - 4.5) / 2.5)
    head = next((b for b in report.blocks if b.role == "headline"), None)
    all_fit = all(b.fits for b in report.blocks)
    text_fit = (0.5 + 0.5 * _clip01(head.size / head_max_size)) if (all_fit and head) else 0.0
    logo = report.logo
    logo_score = 0.0 if logo.contrast < 3.0 else (0.75 if logo.plate else 1.0)
    if logo.width_px < logo.min_width_px:
        logo_score *= 0.5
    visibility = {"none": 1.0, "gradient": 0.7, "knockout": 0.55, "panel": 0.4}[report.treatment]
    # the product's share of the whole canvas: 1.0 from 15% up (a tall can at full height is ~15%)
    prominence = _clip01(_area(report.product_bbox) / max(1, report.width * report.height) / 0.15)
    return {
        "legibility": legibility,
        "text_fit": text_fit,
        "logo": logo_score,
        "image_visibility": visibility,
        "product_prominence": prominence,
    }


def compliance_signal(outcomes: list[dict]) -> float:
    """Share of checks passed for one creative (ERROR findings also exclude it from selection)."""
    return sum(1 for o in outcomes if o["passed"]) / len(outcomes) if outcomes else 1.0


def weighted_score(signals: dict[str, float], weights: ScoringWeights) -> float:
    w = weights.model_dump()
    total = sum(w[k] for k in signals if k in w)
    return round(sum(signals[k] * w[k] for k in signals if k in w) / total, 4) if total else 0.0


def rank(scores: dict[int, float]) -> list[int]:
    """Candidate indexes best first; ties broken by the lower index."""
    return sorted(scores, key=lambda i: (-scores[i], i))
