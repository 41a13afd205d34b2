"""``creative-assets template ...`` and ``creative-assets placements``: designer tooling.

    creative-assets template list [BRAND]
    creative-assets template validate [PATH ...]       # default: built-ins and every kit's templates/
    creative-assets template preview BRAND TEMPLATE --placement meta-reels [--out FILE.png]
    creative-assets template schema
    creative-assets placements

``creative-assets validate PATH`` also accepts a template file or a ``templates/`` folder (it
delegates here). Exit codes: 0 ok, 2 a template is invalid or a name is unknown.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from creative_assets.errors import BriefError
from creative_assets.input_policy import MAX_BRIEF_BYTES, read_regular_file


def is_template_path(path: Path) -> bool:
    """A template file (under a ``templates`` folder, or a mapping with ``slots``) or such a folder."""
    if path.is_dir():
        if path.name in ("templates", "builtin"):
            return True
        return (path / "templates").is_dir() and not (path / "brief.yaml").exists()
    if path.parent.name == "templates" or path.parent.name == "builtin":
        return True
    try:  # regular files only, size-capped: a FIFO or a huge file is the brief loader's to refuse
        head = read_regular_file(path, MAX_BRIEF_BYTES)[:20_000].decode("utf-8", "replace")
    except OSError:
        return False
    return "\nslots:" in f"\n{head}" or '"slots"' in head


def _template_files(paths: list[Path]) -> list[Path]:
    from creative_assets.templates import TEMPLATE_SUFFIXES

    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            folder = path / "templates" if (path / "templates").is_dir() else path
            out.extend(sorted(p for p in folder.iterdir() if p.suffix in TEMPLATE_SUFFIXES))
        else:
            out.append(path)
    return out


def default_template_paths() -> list[Path]:
    from creative_assets.brand_kit import available_brand_kits, brand_kits_dir
    from creative_assets.templates import BUILTIN_DIR

    paths = [BUILTIN_DIR]
    for slug in available_brand_kits():
        folder = brand_kits_dir() / slug / "templates"
        if folder.is_dir():
            paths.append(folder)
    return paths


def validate_templates(paths: list[Path]) -> int:
    """Validate every template file under ``paths``; print one line per file. 0 ok, 2 invalid."""
    from creative_assets.templates import load_template_file

    failed = 0
    seen: dict[tuple[Path, str], Path] = {}
    files = _template_files(paths)
    if not files:
        print(f"✗ no template files in {', '.join(map(str, paths))}", file=sys.stderr)
        return 2
    for path in files:
        try:
            template = load_template_file(path)
        except BriefError as exc:
            print(f"✗ {exc.render()}", file=sys.stderr)
            failed += 1
            continue
        key = (path.parent, template.name)
        if key in seen:
            print(f"✗ {path}: name {template.name!r} is also used by {seen[key]}", file=sys.stderr)
            failed += 1
            continue
        seen[key] = path
        print(f"✓ {path}: template {template.name!r} serves {', '.join(template.serves)}")
    return 2 if failed else 0


def cmd_template_validate(args: argparse.Namespace) -> int:
    return validate_templates([Path(p) for p in args.paths] or default_template_paths())


def cmd_template_list(args: argparse.Namespace) -> int:
    from creative_assets.brand_kit import load_brand_kit
    from creative_assets.placements import load_placements
    from creative_assets.templates import templates_for

    try:
        root = Path(load_brand_kit(args.brand).root) if args.brand else None
        templates = templates_for(root)
    except BriefError as exc:
        print(f"✗ {exc.render()}", file=sys.stderr)
        return 2
    placements = load_placements().values()
    for name, t in templates.items():
        served = [p.name for p in placements if t.serves_placement(p)]
        print(
            f"{name}: {t.description}\n  serves {', '.join(t.serves)}: {', '.join(served)}\n  from {t.source}"
        )
    return 0


def cmd_template_preview(args: argparse.Namespace) -> int:
    from creative_assets.brand_kit import load_brand_kit
    from creative_assets.placements import UnknownPlacementError, get_placement
    from creative_assets.render.preview import render_preview

    try:
        kit = load_brand_kit(args.brand)
        placement = get_placement(args.placement)
        image = render_preview(kit, args.template, placement)
    except BriefError as exc:
        print(f"✗ {exc.render()}", file=sys.stderr)
        return 2
    except UnknownPlacementError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # unknown template, or one that does not serve the placement
        print(f"✗ {exc}", file=sys.stderr)
        return 2
    out = Path(args.out or f"preview-{args.brand}-{args.template}-{placement.name}.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out)
    print(
        f"✓ {out}: {args.template} at {placement.name} ({placement.width}x{placement.height}) in Latin, CJK, Arabic, Thai"
    )
    return 0


def cmd_template_schema(args: argparse.Namespace) -> int:
    from creative_assets.templates import template_json_schema

    print(json.dumps(template_json_schema(), indent=2, ensure_ascii=False))
    return 0


def cmd_placements(args: argparse.Namespace) -> int:
    from creative_assets.placements import RATIO_DEFAULT_PLACEMENTS, load_placements

    defaults = {v: k for k, v in RATIO_DEFAULT_PLACEMENTS.items()}
    for p in load_placements().values():
        sa = p.safe_area
        default = f"  (default for aspect_ratios {defaults[p.name]})" if p.name in defaults else ""
        print(
            f"{p.name:22} {p.width}x{p.height} {p.aspect_label:7} {p.placement_class:9} "
            f"safe t{sa.top:.0%} b{sa.bottom:.0%} l{sa.left:.0%} r{sa.right:.0%}  "
            f"max {p.max_bytes / 1024:,.0f} KB  {'/'.join(p.formats)}"
            f"{'  motion' if p.accepts_motion else ''}{default}"
        )
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("template", help="designer templates: list, validate, preview, schema")
    tsub = p.add_subparsers(dest="template_command", required=True)
    q = tsub.add_parser("list", help="templates a brand may use and the placements each serves")
    q.add_argument(
        "brand",
        nargs="?",
        help="brand kit id: also list its own templates (default: the built-in templates only)",
    )
    q.set_defaults(func=cmd_template_list)
    q = tsub.add_parser("validate", help="validate template files (default: built-ins and every kit's)")
    q.add_argument(
        "paths", nargs="*", metavar="PATH", help="template file(s) or templates/ folder(s) to validate"
    )
    q.set_defaults(func=cmd_template_validate)
    q = tsub.add_parser("preview", help="render a template with sample copy, slots and safe area drawn")
    q.add_argument("brand", help="brand kit id whose colours, fonts and logo the preview uses")
    q.add_argument("template", help="template name (see: creative-assets template list BRAND)")
    q.add_argument("--placement", default="meta-reels", help="placement name (default meta-reels)")
    q.add_argument("--out", metavar="PNG", help="PNG to write (default preview-BRAND-TEMPLATE-PLACEMENT.png)")
    q.set_defaults(func=cmd_template_preview)
    q = tsub.add_parser("schema", help="print the template JSON Schema")
    q.set_defaults(func=cmd_template_schema)
    p = sub.add_parser("placements", help="list the shipped placements and their specs")
    p.set_defaults(func=cmd_placements)
