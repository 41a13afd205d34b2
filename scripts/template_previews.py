"""Previews of every built-in template (docs/templates/): each rendered at a placement it serves,
with sample copy in Latin, CJK, Arabic and Thai and the slots and safe area drawn, exactly as
``creative-assets template preview`` renders one.

    python scripts/template_previews.py [--brand aurora-beverages] [--out docs/templates]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from creative_assets.brand_kit import load_brand_kit  # noqa: E402
from creative_assets.placements import load_placements  # noqa: E402
from creative_assets.render.preview import render_preview  # noqa: E402
from creative_assets.templates import builtin_templates  # noqa: E402

#: The placement each class is previewed at.
SHOWCASE = {
    "vertical": "meta-reels",
    "square": "meta-feed-square",
    "portrait": "meta-feed-portrait",
    "landscape": "youtube-instream",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--brand", default="aurora-beverages")
    parser.add_argument("--out", default=str(ROOT / "docs/templates"))
    args = parser.parse_args(argv)
    kit = load_brand_kit(args.brand)
    placements = load_placements()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, template in builtin_templates().items():
        served = [p for p in placements.values() if template.serves_placement(p)]
        preferred = [p for p in served if p.name in SHOWCASE.values()]
        placement = (preferred or served)[0]
        target = out / f"{name}-{placement.name}.jpg"
        render_preview(kit, name, placement, panel_height=560).save(target, quality=85)
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
