"""Contact sheets: every shipped placement rendered for an example brief in a Latin, a CJK and a
right-to-left locale, with the per-placement checks measured on each creative.

    python scripts/contact_sheet.py [--out docs/contact-sheets] [--brief examples/summer-splash-2026/brief.yaml ...]

For each brief and locale it writes ``<out>/<campaign>-<locale>.jpg`` (a grid of all placements,
each labelled with its template, visible product share and export size) and prints one line per
creative with the measured ``product_hero``, ``placement_spec``, ``safe_zones``, ``text_over_product``
and ``text_legibility`` outcomes. The creatives are drawn through the same functions the offline
pipeline uses (plan_layout, compose_scene, apply_branding, render_final, export_for_placement), with
the brief's own copy and products (its first supplied packshot, else the drawn product).
Exit code 1 when any check fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from creative_assets.brief import legal_line_for, load_brief  # noqa: E402
from creative_assets.compliance import (  # noqa: E402
    check_placement_spec,
    check_product_hero,
    check_safe_zones,
    check_text_legibility,
    check_text_over_product,
)
from creative_assets.locales import get_locale  # noqa: E402
from creative_assets.placements import load_placements  # noqa: E402
from creative_assets.render.candidates import (  # noqa: E402
    kit_templates,
    logo_aspect,
    placed_share,
    prepare_supplied_product,
    product_shape,
    template_rotation,
)
from creative_assets.render.export import export_for_placement  # noqa: E402
from creative_assets.render.finals import LocaleText  # noqa: E402
from creative_assets.render.fonts import font_for_role  # noqa: E402
from creative_assets.render.layout import plan_layout  # noqa: E402
from creative_assets.render.preview import Sample, contact_sheet, render_creative  # noqa: E402
from creative_assets.render.scenes import render_generated_product, scene_palette  # noqa: E402
from creative_assets.stages import CopyVariant  # noqa: E402

EXAMPLES = [ROOT / "examples/summer-splash-2026/brief.yaml", ROOT / "examples/trail-ready-2026/brief.yaml"]
SCRIPT_ORDER = ("latin", "cjk", "rtl")


def _pick_locales(tags: list[str]) -> list[str]:
    """One Latin, one CJK and one right-to-left locale of the brief, in that order."""
    chosen: dict[str, str] = {}
    for tag in tags:
        info = get_locale(tag)
        kind = "rtl" if info.direction == "rtl" else ("cjk" if info.line_breaking == "cjk" else "latin")
        chosen.setdefault(kind, tag)
    return [chosen[k] for k in SCRIPT_ORDER if k in chosen]


class _Unit:
    """What the rotation reads of a unit: its product, its badge and the brief's templates (none named)."""

    def __init__(self, product, badge: str | None = None):
        self.product = product
        self.badge = badge
        self.templates: list[str] = []

    def badge_text(self) -> tuple[str | None, bool]:
        return self.badge, False


def _sample(brief, kit, tag: str, product) -> Sample:
    info = get_locale(tag)
    local = brief.localized_messages.get(tag)
    legal = legal_line_for(local, tag, brief.disclaimer, brief.disclaimer_short, kit)
    copy = CopyVariant(
        candidate=0,
        headline=(local.message if local and local.message else brief.message),
        subline=product.name,
        cta=(local.cta if local and local.cta else brief.cta),
        disclaimer=legal.text,
        disclaimer_short=legal.short,
        badge=(local.badges.get(product.id) if local else None) or product.badge,
    )
    return Sample(tag, LocaleText(info.language_code, info.direction, info.script, info.line_breaking), copy)


def render_brief(
    path: Path, out: Path, cell: int, only: list[str] | None = None, placements: list[str] | None = None
) -> bool:
    loaded = load_brief(path, preflight=False)
    brief, kit = loaded.brief, loaded.brand_kit
    supplied = [p for p in brief.products if loaded.assets.get(p.id)]
    product = supplied[0] if supplied else brief.products[0]
    templates = kit_templates(kit)
    ok = True
    for tag in [t for t in _pick_locales(brief.locales) if not only or t in only]:
        sample = _sample(brief, kit, tag, product)
        tiles = []
        for placement in load_placements().values():
            if placements and placement.name not in placements:
                continue
            if supplied:
                art, _ = prepare_supplied_product(loaded.assets[product.id][0][1])
            else:
                pal = scene_palette(kit.palette.model_dump(), 0)
                font = str(font_for_role(kit, "headline", "latin"))
                art, _ = render_generated_product(
                    product.name, product.description, pal, font, placement.height
                )
            # the first template of the candidates' rotation: those that can make this product the hero
            unit = _Unit(product, sample.copy.badge)
            shape = product_shape(unit, art if supplied else None)
            template = template_rotation(
                unit,
                placement.name,
                templates,
                lambda t, p=placement, shape=shape, art=art: placed_share(
                    plan_layout(p.name, p.size, t, logo_aspect=logo_aspect(kit), templates=templates),
                    art if supplied else None,
                    shape,
                    product.focus,
                ),
            )[0]
            image, report, layout = render_creative(
                kit, template, placement, sample, product=art, focus=product.focus
            )
            data, export = export_for_placement(image, placement)
            text_boxes = {b.role: b.ink_bbox for b in report.blocks}
            outcomes = [
                check_product_hero(report, placement),
                check_placement_spec(placement, placement.size, image, data, export),
                check_safe_zones(
                    placement.name, *placement.size, layout.direction, text_boxes, report.logo.box
                ),
                check_text_over_product(report),
                check_text_legibility(image, report.blocks, min(image.size)),
            ]
            failed = [f"{o.check}: {o.findings[0].message}" for o in outcomes if not o.passed]
            ok = ok and not failed
            share = report.product_visible.visible_share if report.product_visible else 0.0
            print(
                f"{brief.campaign_id} {tag:6} {placement.name:22} {template:14} product {share:6.1%} "
                f"{export.format}@{export.quality} {export.bytes / 1024:8.1f} KB {export.psnr_db:5.1f} dB "
                + ("ok" if not failed else "FAIL " + " | ".join(failed))
            )
            label = f"{placement.name} · {template} · {share:.0%} · {export.bytes / 1024:.0f} KB"
            tiles.append((label + ("" if not failed else " · FAIL"), image))
        rows = [tiles[i : i + 4] for i in range(0, len(tiles), 4)]
        sheet = contact_sheet(
            rows,
            title=f"{brief.name} - {tag} - every placement",
            cell_height=cell,
            cell_width=round(cell * 1.4),
        )
        target = out / f"{brief.campaign_id}-{tag}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        sheet.save(target, quality=85)
        print(f"wrote {target}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs/contact-sheets"))
    parser.add_argument("--brief", action="append", help="brief file (default: both examples)")
    parser.add_argument("--locale", action="append", help="only these locales (default: Latin, CJK, RTL)")
    parser.add_argument("--placement", action="append", help="only these placements (default: all)")
    parser.add_argument("--cell", type=int, default=360, help="cell size in px (default 360)")
    args = parser.parse_args(argv)
    briefs = [Path(b) for b in args.brief] if args.brief else EXAMPLES
    ok = all([render_brief(b, Path(args.out), args.cell, args.locale, args.placement) for b in briefs])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
