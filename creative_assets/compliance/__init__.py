"""Compliance checks for rendered creatives: one module per check, one registry (pure: Pillow +
numpy, no Dagster).

- :mod:`~creative_assets.compliance.registry`: the list of checks (``Check(name, description,
  blocking, function)``), :func:`evaluate_creative` and how to add a check;
- :mod:`~creative_assets.compliance.context`: what a check reads (``CreativeContext``,
  ``UnitCredentials``);
- :mod:`~creative_assets.compliance.outcome`: what a check returns (``CheckOutcome``, ``Finding``);
- :mod:`~creative_assets.compliance.verdicts`: per-creative outcomes reduced to one verdict per unit;
- one module per check: ``copy_terms``, ``logo``, ``brand_colours``, ``text_legibility``,
  ``safe_zones``, ``glyph_coverage``, ``text_over_product``, ``source_resolution``, ``copy_source``,
  ``product_share``, ``placement_spec``, ``product_hero``, ``content_credentials``, ``ai_disclosure``.
"""

from creative_assets.compliance.brand_colours import check_brand_colours
from creative_assets.compliance.context import CreativeContext, LogoRules, UnitCredentials
from creative_assets.compliance.copy_source import check_copy_source
from creative_assets.compliance.copy_terms import check_copy_terms, find_terms, normalize
from creative_assets.compliance.glyph_coverage import FontResolver, check_glyphs, default_font_resolver
from creative_assets.compliance.logo import (
    LOGO_MIN_SCORE,
    LogoDetection,
    check_logo,
    detect_logo,
    locate_logo,
)
from creative_assets.compliance.outcome import CheckOutcome, Finding, Severity
from creative_assets.compliance.placement_spec import check_placement_spec
from creative_assets.compliance.product_hero import check_product_hero
from creative_assets.compliance.product_share import MIN_PRODUCT_SHARE, check_product_share
from creative_assets.compliance.registry import (
    BLOCKING_CHECKS,
    CHECKS,
    CHECKS_BY_NAME,
    CREATIVE_CHECKS,
    REGISTRY,
    UNIT_CHECKS,
    Check,
    blocks_selection,
    evaluate_creative,
)
from creative_assets.compliance.safe_zones import check_safe_zones, safe_box
from creative_assets.compliance.source_resolution import check_source_resolution
from creative_assets.compliance.text_legibility import (
    check_text_legibility,
    required_contrast,
    text_contrast,
)
from creative_assets.compliance.text_over_product import check_text_over_product
from creative_assets.compliance.verdicts import UnitVerdict, blocked_candidates, unit_verdicts

__all__ = [
    "BLOCKING_CHECKS",
    "CHECKS",
    "CHECKS_BY_NAME",
    "CREATIVE_CHECKS",
    "LOGO_MIN_SCORE",
    "MIN_PRODUCT_SHARE",
    "REGISTRY",
    "UNIT_CHECKS",
    "Check",
    "CheckOutcome",
    "CreativeContext",
    "Finding",
    "FontResolver",
    "LogoDetection",
    "LogoRules",
    "Severity",
    "UnitCredentials",
    "UnitVerdict",
    "blocked_candidates",
    "blocks_selection",
    "check_brand_colours",
    "check_copy_source",
    "check_copy_terms",
    "check_glyphs",
    "check_logo",
    "check_placement_spec",
    "check_product_hero",
    "check_product_share",
    "check_safe_zones",
    "check_source_resolution",
    "check_text_legibility",
    "check_text_over_product",
    "default_font_resolver",
    "detect_logo",
    "evaluate_creative",
    "find_terms",
    "locate_logo",
    "normalize",
    "required_contrast",
    "safe_box",
    "text_contrast",
    "unit_verdicts",
]
