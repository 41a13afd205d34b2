"""Type-size floors: the one owner of how small each text role may be set.

The renderer (``render/finals.py``) never fits a block below its floor, and the ``text_legibility``
check fails a creative whose block is below it. Two floors per role; the larger one rules:

- **relative** (:data:`MIN_SHARE`): a fraction of the canvas's short side. Social canvases are shown
  scaled down (a 1080 px Reels frame is about 390 CSS px wide on a phone), so their type must grow
  with the canvas;
- **absolute** (:data:`MIN_PX`): pixels. Display ad units are shown at one canvas pixel per CSS
  pixel (IAB), so a 320x50 mobile banner's type cannot be a share of its 50 px: below about 12 px a
  headline, 10 px a button label and 8 px a legal line stop being readable on a phone.

Pure module: imports no Dagster and no ``resources``.
"""

from __future__ import annotations

#: Minimum type size per role, as a fraction of the canvas's short side.
MIN_SHARE = {"headline": 0.035, "subline": 0.024, "cta": 0.024, "badge": 0.024, "disclaimer": 0.016}
#: Minimum type size per role in px, whatever the canvas.
MIN_PX = {"headline": 12, "subline": 10, "cta": 10, "badge": 10, "disclaimer": 8}


def minimum_size(role: str, short_side: int) -> float:
    """The smallest type size (px) ``role`` may be set in on a canvas with ``short_side``."""
    return max(MIN_SHARE[role] * short_side, float(MIN_PX[role]))


def floor_px(role: str, size: float) -> int:
    """``size`` (a size the renderer derives from its type base) raised to ``role``'s absolute floor."""
    return max(round(size), MIN_PX[role])


def describe_minimum(role: str, short_side: int) -> str:
    """How the minimum for ``role`` comes about, in words (for a check's finding)."""
    relative = MIN_SHARE[role] * short_side
    if relative >= MIN_PX[role]:
        return f"{relative:.1f} px ({MIN_SHARE[role]:.1%} of the {short_side} px short side)"
    return f"{MIN_PX[role]} px (the absolute floor for a {role})"
