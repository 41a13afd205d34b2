"""Preflight: refuse before spend. What the pipeline can already tell from a brief, its brand kit and
its product images, without generating anything (pure: no Dagster, no providers, no resources).

For every locale of a validated brief (:class:`~creative_assets.brief.LoadedBrief`) the preflight
builds the copy the pipeline will set (``copywriting.brief_copy``'s rules: a locale's own
``localized_messages``, else the source text; the product name as sub-line; the legal line) and checks:

``glyph_coverage``
    every character of every copy string has a glyph in the font the renderer picks for it (the kit's
    own font files first, ``render.fonts.font_for_role``) or in its fallback chain, including the
    colour emoji font for emoji (ERROR: it would be drawn as a box);
``text_fit``
    every block fits its box at its minimum size in every requested ratio and every layout variant
    the candidates may use (``render.finals.plan_text``, the renderer's own fitting; ERROR);
``copy_terms``
    banned and legal terms (all layers) in the supplied copy (``compliance.find_terms``; each hit has
    its rule's severity);
``source_resolution``
    a supplied packshot that the largest product region of any output would enlarge beyond the kit's
    ``product_imagery.max_upscale`` (ERROR);
``kit_fonts``
    every font file the brand kit names exists (ERROR: the brand's typography would silently be
    replaced);
``copy_source``
    a locale without its own copy prints the source-language text (WARN).

Findings are :class:`~creative_assets.errors.Problem` s (field path + message naming the locale, the
field and the character or term), split into ERRORs, which reject the brief (``validate``, ``run``
and the inbox all call :func:`check_brief` through ``brief.validate_brief``), and WARNs, which are
reported. The asset checks on the final pixels stay the last line of defence.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from creative_assets.brief import badge_for, legal_line_for
from creative_assets.compliance import find_terms
from creative_assets.context_pack import campaign_rules
from creative_assets.locales import LocaleInfo, get_locale
from creative_assets.render.candidates import full_bleed_share, kit_templates, prepare_supplied_product
from creative_assets.render.finals import LocaleText, plan_text
from creative_assets.render.fonts import (
    EMOJI_FONT,
    detect_script,
    font_for_role,
    font_search_dirs,
    resolve_font_file,
)
from creative_assets.render.layout import layout_variants, plan_layout
from creative_assets.render.packshot import is_full_bleed, product_region
from creative_assets.render.segmentation import emoji_in
from creative_assets.render.text import unrenderable
from creative_assets.stages import CopyVariant
from creative_assets.vocabulary import Problem

if TYPE_CHECKING:
    from creative_assets.brand_kit import BrandKit
    from creative_assets.brief import Brief, LoadedBrief

#: place_product fills this share of the product region (render/scenes.py)
PRODUCT_FILL = 0.92


@dataclass
class PreflightReport:
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    units: int = 0
    seconds: float = 0.0

    def add(self, severity: str, problem: Problem) -> None:
        found = self.errors if severity == "ERROR" else self.warnings
        if problem not in found:  # the same copy in every product's creatives is one problem
            found.append(problem)


@dataclass(frozen=True)
class _Text:
    role: str  # headline | subline | cta | badge | disclaimer
    field: str  # where the brief (or kit) supplies it
    text: str


def _codes(chars) -> str:
    return ", ".join(f"'{c}' ({' '.join(f'U+{ord(x):04X}' for x in c)})" for c in chars)


def locale_copy(brief: Brief, kit: BrandKit, tag: str) -> tuple[list[_Text], bool]:
    """The copy strings a locale's units print (sub-line aside), where each comes from, and whether
    the locale falls back to source-language text."""
    loc = brief.localized_messages.get(tag)
    prefix = f"localized_messages.{tag}"
    out, fallback = [], False
    for role, name in (("headline", "message"), ("cta", "cta")):
        own = getattr(loc, name) if loc else None
        out.append(_Text(role, f"{prefix}.{name}" if own else name, own or getattr(brief, name)))
        fallback |= not own
    legal = legal_line_for(loc, tag, brief.disclaimer, brief.disclaimer_short, kit)
    if legal.text:
        out.append(_Text("disclaimer", legal.field, legal.text))
    if legal.text and legal.short:
        out.append(_Text("disclaimer_short", legal.short_field, legal.short))
    same_language = tag.split("-")[0] == brief.source_locale.split("-")[0]
    return out, fallback and not same_language


def badge_copy(brief: Brief, tag: str, index: int) -> _Text | None:
    """The badge product ``index`` prints in locale ``tag`` (``brief.badge_for``, as the copy stage
    picks it) and the field that gives it."""
    product = brief.products[index]
    text, own = badge_for(brief.localized_messages.get(tag), product)
    if text is None:
        return None
    where = f"localized_messages.{tag}.badges.{product.id}" if own else f"products[{index}].badge"
    return _Text("badge", where, text)


def _loc_text(info: LocaleInfo) -> LocaleText:
    return LocaleText(info.language_code, info.direction, info.script, info.line_breaking)


def _kit_fonts(kit: BrandKit, report: PreflightReport) -> None:
    dirs = font_search_dirs([Path(kit.root)] if kit.root else [])
    roles = {"headline": kit.fonts.headline, "body": kit.fonts.body, "cta": kit.fonts.cta}
    for role, fonts in roles.items():
        if fonts is None:
            continue
        for script, name in fonts.model_dump().items():
            if not name:
                continue
            try:
                resolve_font_file(name, dirs)
            except FileNotFoundError:
                report.add(
                    "ERROR",
                    Problem(
                        f"brand kit {kit.slug}: fonts.{role}.{script}",
                        f"font file {name!r} does not exist in the kit folder, the bundled fonts or the "
                        "font search path: the brand's typography would be replaced by a fallback",
                        "preflight:kit_fonts",
                    ),
                )


def _glyphs(texts: list[_Text], tag: str, info: LocaleInfo, kit: BrandKit, report: PreflightReport) -> None:
    for t in texts:
        script = detect_script(t.text, info.script)
        role = {"subline": "body", "disclaimer": "body", "disclaimer_short": "body", "badge": "cta"}.get(
            t.role, t.role
        )
        font = font_for_role(kit, role, script, t.text)
        missing = unrenderable(t.text, font, info.language_code if script == info.script else None)
        if not missing:
            continue
        emoji = [m for m in missing if emoji_in(m)]
        hint = (
            f"; emoji need the colour emoji font {EMOJI_FONT} (Debian/Ubuntu: fonts-noto-color-emoji)"
            if emoji
            else ""
        )
        report.add(
            "ERROR",
            Problem(
                t.field,
                f"locale {tag}: {t.role} {t.text!r}: no glyph for {_codes(missing)} in {font.name} or any "
                f"fallback font: it would be drawn as a box{hint}",
                "preflight:glyph_coverage",
            ),
        )


def _terms(texts: list[_Text], tag: str, info: LocaleInfo, rules, report: PreflightReport) -> None:
    for t in texts:
        for rule, matched in find_terms(t.text, rules, info.line_breaking):
            shown = f"'{rule.term}'" + (f" (as '{matched}')" if matched != rule.term else "")
            reason = f": {rule.reason}" if rule.reason else ""
            report.add(
                rule.severity,
                Problem(
                    t.field,
                    f"locale {tag}: {t.role} contains {shown} ({rule.layer}{reason})",
                    "preflight:copy_terms",
                ),
            )


def _layouts(brief: Brief, kit: BrandKit, direction: str) -> Iterator:
    logo = kit.logo_image("primary")
    rules = kit.logo_placement
    templates = kit_templates(kit)
    for ratio in brief.output_keys():
        serving = layout_variants(ratio, templates)
        for variant in [t for t in brief.templates or () if t in serving] or serving:
            yield plan_layout(
                ratio,
                brief.size_for(ratio),
                variant,
                direction,  # type: ignore[arg-type]
                logo_aspect=logo.width / max(1, logo.height),
                **rules.layout_arguments(),
                templates=templates,
            )


def _product_size(image) -> tuple[int, int]:
    """Size of the product itself in a prepared supplied image: the cut-out the compositor will
    place (``prepare_supplied_product``), so the estimate is the enlargement the final check
    measures. A photo shown full-bleed is sized by the product GrabCut found in it."""
    if is_full_bleed(image):
        region = product_region(image)
        if region:
            return region[2] - region[0], region[3] - region[1]
    return image.size


def packshot_upscale(size: tuple[int, int], product_box: tuple[int, int, int, int]) -> float:
    """How much ``place_product`` enlarges a product of ``size`` px to stand in ``product_box``."""
    bw, bh = max(1, product_box[2] - product_box[0]), max(1, product_box[3] - product_box[1])
    return min(bw * PRODUCT_FILL / size[0], bh * PRODUCT_FILL / size[1])


def _full_bleed_fit(
    index: int, ref: str, product, photo, brief: Brief, layouts_by_direction, image_provider: str, report
) -> None:
    """A photo that cannot be cut out is shown full-bleed: at each output, some template must keep
    its product clear of the copy and inside the safe area (``render.candidates.full_bleed_share``).
    Offline nothing can extend the photo to make room, so an output where no template can is refused;
    an image model (``image_provider`` other than offline) composes a new scene around it (WARN)."""
    blocked = []
    for key in brief.output_keys():
        layouts = [lay for lays in layouts_by_direction.values() for lay in lays if lay.ratio == key]
        if layouts and not any(full_bleed_share(lay, photo, product.focus) > 0 for lay in layouts):
            blocked.append(key)
    if not blocked:
        return
    offline = image_provider == "offline"
    report.add(
        "ERROR" if offline else "WARN",
        Problem(
            f"products[{index}].assets[0]",
            f"{ref!r} cannot be cut out (its background is not a clean backdrop), so it is shown "
            f"full-bleed, and its product is too large in the photo to stay clear of the copy at "
            f"{', '.join(blocked)}"
            + (
                ": supply a cut-out PNG (transparent background), a studio shot on a plain backdrop, "
                "or a photo with more room around the product, or set an image provider that composes "
                "the scene (CREATIVE_ASSETS_IMAGE_PROVIDER=openai)"
                if offline
                else f": the {image_provider} image provider composes a scene around it instead"
            ),
            "preflight:full_bleed",
        ),
    )


def check_brief(loaded: LoadedBrief, image_provider: str = "offline") -> PreflightReport:
    """Run every preflight check on a validated brief (see the module docstring). ``image_provider``:
    what makes the candidates (``offline`` cannot extend a photo)."""
    started = time.perf_counter()
    brief, kit = loaded.brief, loaded.brand_kit
    report = PreflightReport(units=len(brief.locales) * len(brief.products))
    _kit_fonts(kit, report)
    layouts_by_direction: dict[str, list] = {}
    for tag in brief.locales:
        info = get_locale(tag)
        loc = _loc_text(info)
        texts, fallback = locale_copy(brief, kit, tag)
        if fallback:
            report.add(
                "WARN",
                Problem(
                    f"localized_messages.{tag}",
                    f"locale {tag}: no localized message/cta: the {brief.source_locale} copy is printed "
                    "untranslated (the copy_source check flags these creatives for a native speaker)",
                    "preflight:copy_source",
                ),
            )
        names = [_Text("subline", f"products[{i}].name", p.name) for i, p in enumerate(brief.products)]
        badges = [badge_copy(brief, tag, i) for i in range(len(brief.products))]
        present = [b for b in badges if b is not None]
        _glyphs(texts + names + present, tag, info, kit, report)
        rules = campaign_rules(info, kit, brief.banned_words, brief.campaign_id)
        _terms(texts + present, tag, info, rules, report)
        layouts = layouts_by_direction.setdefault(info.direction, list(_layouts(brief, kit, info.direction)))
        copy = {t.role: t for t in texts}
        for name, badge in zip(names, badges, strict=True):
            variant = CopyVariant(
                candidate=0,
                headline=copy["headline"].text,
                subline=name.text,
                cta=copy["cta"].text,
                disclaimer=copy["disclaimer"].text if "disclaimer" in copy else None,
                disclaimer_short=copy["disclaimer_short"].text if "disclaimer_short" in copy else None,
                badge=badge.text if badge else None,
            )
            reported: set[str] = set()
            for layout in layouts:
                plan = plan_text(layout, variant, kit, loc, at_minimum=True)
                for role, lay, _box in plan.blocks():
                    if lay.fits or role in reported:
                        continue
                    reported.add(role)  # one finding per block and product; the first layout names it
                    where = {"subline": name.field, "badge": badge.field if badge else ""}.get(role) or copy[
                        role
                    ].field
                    hint = ""
                    if role == "disclaimer":
                        hint = (
                            f" (nor does its short form {variant.disclaimer_short!r}: shorten it)"
                            if variant.disclaimer_short
                            else "; give an approved short form in disclaimer_short (or the brand kit's "
                            "required_disclaimer_short) for placements this small"
                        )
                    report.add(
                        "ERROR",
                        Problem(
                            where,
                            f"locale {tag}: {role} {lay.spec.text!r} does not fit the {layout.ratio} "
                            f"'{layout.variant}' layout even at its minimum size: {lay.problem}{hint}",
                            "preflight:text_fit",
                        ),
                    )
    limit = kit.product_imagery.max_upscale
    for i, product in enumerate(brief.products):
        supplied = loaded.assets.get(product.id)
        if not supplied:
            continue
        ref, data = supplied[0]
        prepared, _ = prepare_supplied_product(data)
        if is_full_bleed(prepared):
            _full_bleed_fit(i, ref, product, prepared, brief, layouts_by_direction, image_provider, report)
        size = _product_size(prepared)
        worst, where = 0.0, ""
        for layouts in layouts_by_direction.values():
            for layout in layouts:
                factor = packshot_upscale(size, layout.product_box)
                if factor > worst:
                    worst, where = factor, f"{layout.ratio} '{layout.variant}'"
        if worst > limit:
            report.add(
                "ERROR",
                Problem(
                    f"products[{i}].assets[0]",
                    f"{ref!r}: the product is {size[0]}x{size[1]} px and would be enlarged {worst:.2f}x in the "
                    f"{where} layout; {kit.display_name} allows at most {limit:g}x "
                    "(brand kit product_imagery.max_upscale): supply a larger image",
                    "preflight:source_resolution",
                ),
            )
    report.seconds = round(time.perf_counter() - started, 3)
    return report
