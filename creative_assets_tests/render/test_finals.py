"""Final composition: text fits, reads (WCAG AA), respects direction; treatments only when needed."""

import pytest
from PIL import Image, ImageDraw

from creative_assets.brand_kit import load_brand_kit
from creative_assets.render.branding import apply_branding
from creative_assets.render.finals import LocaleText, _fit, render_final
from creative_assets.render.layout import layout_variants, plan_layout
from creative_assets.stages import CopyVariant

SIZES = {"1:1": (1080, 1080), "9:16": (1080, 1920), "16:9": (1920, 1080)}
EN = LocaleText("en", "ltr", "latin", "spaces")
AR = LocaleText("ar", "rtl", "arabic", "spaces")
HE = LocaleText("he", "rtl", "hebrew", "spaces")
JA = LocaleText("ja", "ltr", "japanese", "cjk")


def _render(ground, copy, loc=EN, ratio="1:1", variant=None, kit_slug="aurora-beverages"):
    kit = load_brand_kit(kit_slug)
    variant = variant or layout_variants(ratio)[0]
    layout = plan_layout(ratio, SIZES[ratio], variant, loc.direction, logo_aspect=3.1)
    branded, logo = apply_branding(ground(SIZES[ratio]), layout, kit)
    return render_final(branded, layout, copy, kit, loc, logo, layout.product_box)


def plain(size):
    return Image.new("RGB", size, (255, 248, 236))


def stripes(size):
    im = Image.new("RGB", size, (255, 255, 255))
    d = ImageDraw.Draw(im)
    for x in range(0, size[0], 14):
        d.rectangle((x, 0, x + 6, size[1]), fill=(0, 0, 0))
    return im


COPY = CopyVariant(candidate=0, headline="Stay bright all summer", subline="Sparkling Citrus", cta="Shop now")


def _check_report(image, report):
    assert image.size == (report.width, report.height)
    for block in report.blocks:
        assert block.fits, block
        assert block.contrast >= 4.5, block
        x0, y0, x1, y1 = block.ink_bbox
        assert 0 <= x0 < x1 <= report.width and 0 <= y0 < y1 <= report.height
    roles = [b.role for b in report.blocks]
    assert roles[:3] == ["headline", "subline", "cta"]


@pytest.mark.parametrize("ratio", list(SIZES))
def test_plain_ground_needs_no_treatment(ratio):
    image, report = _render(plain, COPY, ratio=ratio)
    _check_report(image, report)
    assert report.treatment == "none"
    assert report.blocks[0].colour == "#0E2A3B"  # brand text colour for light grounds


@pytest.mark.parametrize("ratio", list(SIZES))
def test_busy_ground_gets_a_gradient_or_panel_and_still_reads(ratio):
    image, report = _render(stripes, COPY, ratio=ratio)
    _check_report(image, report)
    assert report.treatment in ("gradient", "panel")
    assert report.treatment_contrasts["none"] < 4.5 <= report.treatment_contrasts[report.treatment]


def test_long_headline_shrinks_but_fits():
    long = COPY.model_copy(
        update={"headline": "Stay bright all summer long with a sparkling citrus twist in every can"}
    )
    _, short_report = _render(plain, COPY)
    image, report = _render(plain, long)
    _check_report(image, report)
    assert report.blocks[0].size < short_report.blocks[0].size
    assert len(report.blocks[0].lines) >= 2


def test_arabic_is_right_aligned():
    copy = CopyVariant(candidate=0, headline="تألق طوال الصيف", subline="Sparkling Citrus", cta="تسوق الآن")
    image, report = _render(plain, copy, loc=AR)
    _check_report(image, report)
    head = report.blocks[0]
    assert report.width - head.ink_bbox[2] < head.ink_bbox[0]  # hugs the right edge
    button = report.cta_button
    assert report.width - button[2] < button[0]  # CTA on the right too


def test_english_legal_line_in_hebrew_ad_keeps_its_punctuation_order():
    copy = CopyVariant(
        candidate=0,
        headline="נוצר לדרך הארוכה",
        subline="Ridge Shell Jacket",
        cta="גלו את הקולקציה",
        disclaimer="Terms apply. See terra-outdoor.example for details.",
    )
    image, report = _render(plain, copy, loc=HE, kit_slug="terra-outdoor")
    _check_report(image, report)
    legal = next(b for b in report.blocks if b.role == "disclaimer")
    assert legal.ink_bbox[2] > report.width * 0.8  # right-aligned in the RTL layout
    # laid out left to right (so the full stop ends the sentence), aligned to the RTL start edge
    spec = _fit(
        copy.disclaimer, "creative_assets/fonts/NotoSans-Regular.ttf", (0, 0, 900, 80), 24, 18, HE, 2
    ).spec
    assert (spec.direction, spec.align) == ("ltr", "end")
    spec = _fit(
        copy.headline, "creative_assets/fonts/NotoSansHebrew-Bold.ttf", (0, 0, 900, 200), 90, 40, HE, 2
    ).spec
    assert (spec.direction, spec.align) == ("rtl", "start")


def test_japanese_breaks_without_leading_punctuation():
    copy = CopyVariant(
        candidate=0, headline="この夏は、ずっと輝いて", subline="Sparkling Citrus", cta="今すぐ購入"
    )
    image, report = _render(plain, copy, loc=JA, ratio="9:16")
    _check_report(image, report)
    for line in report.blocks[0].lines:
        assert not line.startswith(("、", "。", "ー"))


def test_japanese_headline_breaks_at_phrase_boundaries_in_narrow_columns():
    copy = CopyVariant(
        candidate=0, headline="この夏は、ずっと輝いて", subline="Sparkling Citrus", cta="今すぐ購入"
    )
    _, report = _render(plain, copy, loc=JA, ratio="1:1", variant="text-side")
    assert report.blocks[0].lines == ["この夏は、", "ずっと輝いて"]


@pytest.mark.parametrize(
    ("loc", "disclaimer", "expected_font"),
    [
        (HE, "בכפוף לתנאים. פרטים באתר terra-outdoor.example", "NotoSansHebrew-Regular.ttf"),
        (
            LocaleText("zh", "ltr", "chinese_simplified", "cjk"),
            "详情及条款见 terra-outdoor.example。",
            "NotoSansCJKsc-Regular.otf",
        ),
    ],
)
def test_legal_line_font_follows_its_own_script(loc, disclaimer, expected_font):
    """Regression: the legal line once used the product name's (Latin) font and lost its glyphs."""
    from creative_assets.compliance import check_glyphs

    copy = CopyVariant(
        candidate=0, headline="x", subline="Ridge Shell Jacket", cta="y", disclaimer=disclaimer
    )
    copy = copy.model_copy(update={"headline": disclaimer.split()[0], "cta": disclaimer.split()[0]})
    _, report = _render(plain, copy, loc=loc, kit_slug="terra-outdoor")
    legal = next(b for b in report.blocks if b.role == "disclaimer")
    assert legal.font == expected_font
    assert check_glyphs(report.blocks).passed


LONG_NAMES = [
    "Sparkling Citrus Zero Sugar Limited Summer Edition 12-Pack",  # 58 characters
    "Ridge Shell Waterproof Breathable Mountain Jacket (Men's)",  # 57
    "Hydrating Vitamin C Brightening Serum with Hyaluronic Acid",  # 58
]


@pytest.mark.parametrize("name", LONG_NAMES)
@pytest.mark.parametrize(("ratio", "variant"), [(r, v) for r in (*SIZES, "4:5") for v in layout_variants(r)])
def test_long_product_names_wrap_to_two_lines_and_fit_in_every_ratio(name, ratio, variant, monkeypatch):
    """Regression: a 51-character product name overflowed its box at 1:1 and the candidate was
    silently excluded. Now the sub-line takes up to two lines and shrinks towards the minimum."""
    from creative_assets.compliance import check_text_legibility
    from creative_assets.render.type_sizes import minimum_size

    assert len(name) > 50
    monkeypatch.setitem(SIZES, "4:5", (1080, 1350))
    image, report = _render(plain, COPY.model_copy(update={"subline": name}), ratio=ratio, variant=variant)
    sub = report.blocks[1]
    assert sub.fits and 1 <= len(sub.lines) <= report.layout.subline_max_lines, sub
    assert sub.size >= minimum_size("subline", min(image.size))
    assert " ".join(sub.lines) == name  # never truncated, words whole
    legibility = check_text_legibility(image, report.blocks, min(image.size))
    assert legibility.passed, legibility.findings
    # the stacked text never runs into the CTA button
    assert (
        sub.ink_bbox[3] <= report.cta_button[1]
        or sub.ink_bbox[0] >= report.cta_button[2]
        or (sub.ink_bbox[2] <= report.cta_button[0])
    )


def test_a_name_that_cannot_fit_is_refused_with_the_reason():
    from creative_assets.compliance import check_text_legibility

    name = "Supercalifragilisticexpialidocious-Extraordinarily-Unpronounceable Edition"
    image, report = _render(
        plain, COPY.model_copy(update={"subline": name}), ratio="1:1", variant="text-side"
    )
    sub = report.blocks[1]
    assert not sub.fits and "at most 2 allowed" in sub.problem
    outcome = check_text_legibility(image, report.blocks, 1080)
    assert not outcome.passed
    assert any(sub.problem in f.message and f.severity == "ERROR" for f in outcome.findings)


needs_emoji = pytest.mark.skipif(
    __import__("creative_assets.render.fonts", fromlist=["emoji_font"]).emoji_font() is None,
    reason="needs NotoColorEmoji.ttf",
)


@needs_emoji
@pytest.mark.parametrize("ratio", list(SIZES))
def test_emoji_in_cta_and_headline_render_in_colour(ratio):
    import numpy as np

    from creative_assets.compliance import check_glyphs, check_text_legibility

    copy = COPY.model_copy(update={"headline": "Stay bright all summer 🌞", "cta": "Shop now 🍓"})
    image, report = _render(plain, copy, ratio=ratio)
    head, cta = report.blocks[0], report.blocks[2]
    assert head.fits and cta.fits and len(head.emoji_boxes) == 1 and len(cta.emoji_boxes) == 1
    arr = np.asarray(image, np.int32)
    x0, y0, x1, y1 = report.cta_button
    box = arr[y0:y1, x0:x1]
    # strawberry red inside the CTA button: the emoji's own colour, not tofu or the label colour
    red = (box[..., 0] > 170) & (box[..., 1] < 90) & (box[..., 2] < 100)
    assert red.sum() > 40
    ex0, ey0, ex1, ey1 = cta.emoji_boxes[0]
    assert x0 <= ex0 < ex1 <= x1 and y0 <= ey0 < ey1 <= y1
    hx0, hy0, hx1, hy1 = head.emoji_boxes[0]
    sun = arr[hy0:hy1, hx0:hx1]
    assert ((sun[..., 0] > 200) & (sun[..., 1] > 150) & (sun[..., 2] < 90)).sum() > 40  # yellow
    assert check_glyphs(report.blocks).passed
    assert check_text_legibility(image, report.blocks, min(image.size)).passed
