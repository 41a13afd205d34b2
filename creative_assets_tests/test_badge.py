"""The price / promo badge: from the brief (per product, per locale) through copy, preflight, the
template rotation, rendering and the checks."""

from __future__ import annotations

import pytest
import yaml

from creative_assets.brand_kit import load_brand_kit
from creative_assets.brief import load_brief
from creative_assets.compliance.copy_terms import check_copy_terms
from creative_assets.compliance.text_legibility import check_text_legibility
from creative_assets.context_pack import build_context_pack
from creative_assets.copywriting import brief_copy
from creative_assets.errors import BriefError
from creative_assets.locales import get_locale
from creative_assets.render.branding import apply_branding
from creative_assets.render.candidates import template_rotation
from creative_assets.render.finals import render_final
from creative_assets.render.layout import boxes_overlap, inside, plan_layout
from creative_assets.stages import CopyVariant, TermRuleRecord, UnitBrief
from creative_assets.templates import builtin_templates
from creative_assets_tests.helpers import SUMMER, unit_brief_for
from creative_assets_tests.pipeline_helpers import small_brief
from creative_assets_tests.render.test_finals import AR, EN, plain


def _brief(tmp_path, edit):
    path = small_brief(tmp_path, locales=("en-US", "ja-JP"), candidates=1)
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return path


def _problems(path) -> dict[str, str]:
    with pytest.raises(BriefError) as caught:
        load_brief(path)
    assert caught.value.source == str(path)
    return {p.field: p.message for p in caught.value.problems}


def _unit(locale: str) -> UnitBrief:
    brief = load_brief(SUMMER).brief
    product = next(p for p in brief.products if p.badge)
    return unit_brief_for(
        brief, locale, product, aspect_ratios=["meta-reels"], sizes={"meta-reels": (1080, 1920)}
    )


def _copy(unit):
    pack = build_context_pack(unit, load_brand_kit(unit.brand), get_locale(unit.locale), "kb", "test")
    return brief_copy(unit, pack)


def test_a_badge_for_an_unknown_product_or_too_long_names_the_field(tmp_path):
    def edit(data):
        data["products"][0]["badge"] = "x" * 25
        data["localized_messages"]["ja-JP"]["badges"] = {"no-such-product": "新発売"}

    problems = _problems(_brief(tmp_path, edit))
    assert "products[0].badge" in problems and "24" in problems["products[0].badge"]
    assert "not a product id" in problems["localized_messages.ja-JP.badges.no-such-product"]


def test_the_badge_comes_from_the_locale_else_the_product_and_is_never_invented():
    ja = _copy(_unit("ja-JP"))
    assert ja.variants[0].badge == "新発売"
    assert ja.sources["badge"] == "brief.localized_messages.ja-JP.badges.mango-mint"
    en = _copy(_unit("en-US"))
    assert en.variants[0].badge == "New" and "untranslated" not in en.sources["badge"]
    fr = _copy(_unit("fr-FR"))  # no French badge: the source text, flagged for a native speaker
    assert fr.variants[0].badge == "New" and "untranslated" in fr.sources["badge"]
    assert any("badge" in w and "fr-FR" in w for w in fr.warnings)


def test_preflight_refuses_a_banned_or_unfittable_badge_naming_its_field(tmp_path):
    def banned(data):
        data["banned_words"] = [{"term": "miracle", "severity": "ERROR", "reason": "a claim"}]
        data["products"][0]["badge"] = "Miracle deal"

    problems = _problems(_brief(tmp_path / "a", banned))
    assert "miracle" in problems["products[0].badge"].lower()

    def unfittable(data):
        data["products"][0]["badge"] = "Superkalifragilistisch"  # one word, wider than any badge slot

    problems = _problems(_brief(tmp_path / "b", unfittable))
    assert "does not fit" in problems["products[0].badge"] and "badge" in problems["products[0].badge"]


def test_copy_terms_reads_the_badge():
    rule = TermRuleRecord(term="free", reason="needs legal", severity="ERROR", layer="campaign")
    copy = CopyVariant(
        candidate=0, headline="Stay bright", subline="Mango Mint", cta="Shop", badge="Free can"
    )
    outcome = check_copy_terms(copy, [rule], "spaces")
    assert not outcome.passed and outcome.findings[0].where == "badge"


def test_units_with_a_badge_rotate_through_the_templates_that_have_a_badge_slot():
    templates = builtin_templates()
    with_badge, without = (
        _unit("en-US"),
        _unit("en-US").model_copy(
            update={"product": _unit("en-US").product.model_copy(update={"badge": None})}
        ),
    )
    plain_rotation = template_rotation(without, "meta-reels", templates)
    badge_rotation = template_rotation(with_badge, "meta-reels", templates)
    assert "hero-stack" in plain_rotation and "hero-stack" not in badge_rotation
    assert badge_rotation and all(templates[t].slots.badge is not None for t in badge_rotation)
    # banners have no badge slot: the rotation is unchanged there (the badge is not drawn)
    assert template_rotation(with_badge, "iab-medium-rectangle", templates) == template_rotation(
        without, "iab-medium-rectangle", templates
    )


@pytest.mark.parametrize(
    ("key", "size", "template"),
    [
        ("meta-feed-square", (1080, 1080), "text-bottom"),
        ("meta-reels", (1080, 1920), "hero-column"),
        ("meta-feed-square", (1080, 1080), "text-top"),
    ],
)
@pytest.mark.parametrize("loc", [EN, AR], ids=["ltr", "rtl"])
def test_the_badge_is_drawn_in_its_slot_readable_and_off_the_product(key, size, template, loc):
    kit = load_brand_kit("aurora-beverages")
    layout = plan_layout(key, size, template, loc.direction, logo_aspect=3.1)
    branded, logo = apply_branding(plain(size), layout, kit)
    copy = CopyVariant(
        candidate=0, headline="Stay bright all summer", subline="Mango Mint", cta="Shop now", badge="-20%"
    )
    image, report = render_final(branded, layout, copy, kit, loc, logo, layout.product_box)
    badge = next(b for b in report.blocks if b.role == "badge")
    assert badge.fits and badge.text == "-20%"
    assert inside(badge.ink_bbox, layout.badge_box) and not boxes_overlap(badge.ink_bbox, layout.product_box)
    mid = (layout.badge_box[0] + layout.badge_box[2]) / 2
    centre = (badge.ink_bbox[0] + badge.ink_bbox[2]) / 2
    assert (centre < mid) == (loc.direction == "ltr")  # the shape sits at the slot's start side
    assert check_text_legibility(image, report.blocks, min(size)).passed


def test_no_badge_copy_draws_nothing_in_the_slot():
    kit = load_brand_kit("aurora-beverages")
    layout = plan_layout("meta-feed-square", (1080, 1080), "text-bottom", "ltr", logo_aspect=3.1)
    branded, logo = apply_branding(plain((1080, 1080)), layout, kit)
    copy = CopyVariant(candidate=0, headline="Stay bright", subline="Mango Mint", cta="Shop now")
    image, report = render_final(branded, layout, copy, kit, EN, logo, layout.product_box)
    assert "badge" not in [b.role for b in report.blocks]
    assert image.crop(layout.badge_box).tobytes() == branded.convert("RGB").crop(layout.badge_box).tobytes()
