"""Small display units (the 320x50 mobile banner and its kin): absolute type floors, a template of
their own, a sub-line that gives way, the approved short legal line, and no block running into
another. The examples' IAB units pass every per-placement check in a Latin, a CJK and an RTL locale."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

from creative_assets.brand_kit import load_brand_kit
from creative_assets.compliance.text_legibility import check_text_legibility
from creative_assets.errors import BriefError
from creative_assets.placements import get_placement, load_placements
from creative_assets.render.finals import plan_text
from creative_assets.render.layout import plan_layout
from creative_assets.render.preview import SAMPLES
from creative_assets.render.type_sizes import MIN_PX, minimum_size
from creative_assets.stages import CopyVariant, TextBlockReport
from creative_assets.templates import BUILTIN_DIR, builtin_templates, load_template_file, templates_serving

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = [ROOT / "examples/summer-splash-2026/brief.yaml", ROOT / "examples/trail-ready-2026/brief.yaml"]
IAB = [p.name for p in load_placements().values() if p.platform == "iab"]


def _contact_sheet_module():
    spec = importlib.util.spec_from_file_location("contact_sheet", ROOT / "scripts/contact_sheet.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("contact_sheet", module)
    spec.loader.exec_module(module)
    return module


def test_type_floors_are_absolute_on_small_canvases_and_relative_on_large_ones():
    assert minimum_size("disclaimer", 50) == MIN_PX["disclaimer"] == 8
    assert minimum_size("headline", 250) == 12  # 3.5 % of 250 px would be 8.75 px
    assert minimum_size("cta", 1080) == pytest.approx(0.024 * 1080)  # social canvases: the share rules


def test_a_block_below_its_absolute_floor_fails_naming_the_floor():
    block = TextBlockReport(
        role="cta", text="Shop now", font="NotoSans-Bold.ttf", size=8, box=(0, 0, 60, 20),
        ink_bbox=(2, 4, 50, 14), lines=["Shop now"], fits=True, colour="#FFFFFF", contrast=0.0,
    )  # fmt: skip
    from PIL import Image

    outcome = check_text_legibility(Image.new("RGB", (320, 50), (0, 0, 0)), [block], 50)
    assert any(
        "below the minimum 10 px (the absolute floor for a cta)" in f.message for f in outcome.findings
    )


def test_overlapping_blocks_fail_text_legibility():
    from PIL import Image

    def block(role, ink):
        return TextBlockReport(
            role=role, text=role, font="NotoSans-Regular.ttf", size=30, box=ink, ink_bbox=ink,
            lines=[role], fits=True, colour="#FFFFFF", contrast=0.0,
        )  # fmt: skip

    image = Image.new("RGB", (1080, 1080), (0, 0, 0))
    apart = check_text_legibility(
        image, [block("subline", (50, 50, 400, 90)), block("disclaimer", (50, 95, 400, 120))], 1080
    )
    assert apart.passed, apart.findings
    touching = check_text_legibility(
        image, [block("subline", (50, 50, 400, 100)), block("disclaimer", (50, 95, 400, 120))], 1080
    )
    assert not touching.passed and "overlap" in touching.findings[0].message


def test_the_mobile_banner_has_its_own_template_and_the_leaderboard_keeps_the_strip():
    templates = builtin_templates()
    assert templates_serving(templates, get_placement("iab-mobile-banner")) == ["banner-mobile"]
    assert templates_serving(templates, get_placement("iab-leaderboard")) == ["banner-strip"]


def test_only_the_subline_may_be_optional(tmp_path):
    data = yaml.safe_load((BUILTIN_DIR / "banner-mobile.yaml").read_text())
    data["slots"]["cta"]["optional"] = True
    path = tmp_path / "banner-mobile.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(BriefError) as info:
        load_template_file(path)
    assert str(path) in str(info.value)
    assert any(p.field == "slots.cta.optional" for p in info.value.problems), info.value.problems
    data = yaml.safe_load((BUILTIN_DIR / "banner-mobile.yaml").read_text())
    data["height_px"] = [80, 40]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(BriefError, match="height_px"):
        load_template_file(path)


def _mobile_plan(copy: CopyVariant):
    sample = SAMPLES[0]
    placement = get_placement("iab-mobile-banner")
    layout = plan_layout(placement.name, placement.size, "banner-mobile", logo_aspect=3.3)
    kit = load_brand_kit("terra-outdoor")
    return layout, plan_text(layout, copy, kit, sample.locale)


def test_a_long_product_name_gives_way_to_the_headline_and_every_block_keeps_its_floor():
    long_name = "Ridge Shell Jacket Pro Edition"
    copy = CopyVariant(candidate=0, headline="Made for the long way round", subline=long_name, cta="Shop")
    _, plan = _mobile_plan(copy)
    assert plan.sub_omitted and [role for role, *_ in plan.blocks()] == ["headline", "cta"]
    assert plan.head.fits and plan.head.font_size >= 12 and len(plan.head.lines) == 2
    assert plan.cta.font_size >= 10


def test_the_approved_short_legal_line_is_set_where_the_full_one_cannot_fit():
    full = "Terms apply. See terra-outdoor.example for details."
    copy = CopyVariant(
        candidate=0, headline="Made for the long way", subline="Shell", cta="Shop", disclaimer=full
    )
    _, without = _mobile_plan(copy)
    assert without.disc is not None and not without.disc.fits  # nothing to fall back on: it does not fit
    _, with_short = _mobile_plan(copy.model_copy(update={"disclaimer_short": "Terms apply."}))
    assert with_short.disc.fits and with_short.disc.spec.text == "Terms apply."
    assert with_short.disc.font_size >= 8
    # where the full line fits (a feed square), it is the one printed
    sample = SAMPLES[0]
    square = plan_layout("meta-feed-square", (1080, 1080), "text-bottom", logo_aspect=3.3)
    plan = plan_text(
        square,
        copy.model_copy(update={"disclaimer_short": "Terms apply."}),
        load_brand_kit("terra-outdoor"),
        sample.locale,
    )
    assert plan.disc.spec.text == full


def test_preflight_names_the_legal_field_and_the_short_form_fix(tmp_path):
    from creative_assets.brief import load_brief

    brief = yaml.safe_load(EXAMPLES[1].read_text())
    brief["placements"] = ["iab-mobile-banner"]
    brief.pop("aspect_ratios", None)
    brief["localized_messages"]["fr-FR"].pop("disclaimer_short")
    path = tmp_path / "brief.yaml"
    path.write_text(yaml.safe_dump(brief, allow_unicode=True))
    with pytest.raises(BriefError) as info:
        load_brief(path)
    problems = {p.field: p.message for p in info.value.problems}
    assert "localized_messages.fr-FR.disclaimer" in problems, problems
    assert "disclaimer_short" in problems["localized_messages.fr-FR.disclaimer"]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_every_iab_unit_of_the_examples_passes_its_checks_in_latin_cjk_and_rtl(tmp_path, example, capsys):
    sheet = _contact_sheet_module()
    ok = sheet.render_brief(example, tmp_path, 120, placements=IAB)
    out = capsys.readouterr().out
    assert ok, out
    assert out.count(" ok") == 3 * len(IAB), out


def test_a_short_legal_form_without_its_full_line_is_refused_naming_the_field(tmp_path):
    from creative_assets.brief import load_brief

    brief = yaml.safe_load(EXAMPLES[1].read_text())
    brief["disclaimer_short"] = "Terms apply."  # the brief gives no disclaimer of its own
    brief["localized_messages"]["zh-CN"].pop("disclaimer")
    path = tmp_path / "brief.yaml"
    path.write_text(yaml.safe_dump(brief, allow_unicode=True))
    with pytest.raises(BriefError) as info:
        load_brief(path, preflight=False)
    problems = {p.field: p.message for p in info.value.problems}
    assert set(problems) == {"disclaimer_short", "localized_messages.zh-CN.disclaimer_short"}, problems
    assert "add the full legal line" in problems["disclaimer_short"]
