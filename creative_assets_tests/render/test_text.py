"""Text fitting, wrapping and drawing: real layout properties with the bundled fonts."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageFont

from creative_assets.render.fonts import BUNDLED_FONTS_DIR, load_font, raqm_available
from creative_assets.render.text import (
    NO_LINE_END,
    NO_LINE_START,
    TextSpec,
    draw_text,
    fit_text,
    ink_boxes,
    text_spec,
    wrap,
)

B = BUNDLED_FONTS_DIR
LATIN = str(B / "NotoSans-Bold.ttf")
JP = str(B / "NotoSansCJKjp-Bold.otf")
SC = str(B / "NotoSansCJKsc-Bold.otf")
AR = str(B / "NotoSansArabic-Bold.ttf")
HE = str(B / "NotoSansHebrew-Bold.ttf")
TH = str(B / "NotoSansThai-Bold.ttf")
KR = str(B / "NotoSansCJKkr-Bold.otf")
HI = str(B / "NotoSansDevanagari-Bold.ttf")

EN_TEXT = "Summer sale: up to 50% off everything in store this weekend only"
JA_TEXT = "コーヒーとケーキ。新しいメニュー、はじまる。「限定」セールは今週末まで！ぜひ、ご来店ください。"
AR_TEXT = "تخفيضات الصيف: خصم يصل إلى 50% على كل المنتجات هذا الأسبوع فقط"
TH_TEXT = "ลดราคาพิเศษสูงสุด 50% สำหรับสินค้าทุกชิ้นในร้านสุดสัปดาห์นี้เท่านั้น"

needs_raqm = pytest.mark.skipif(not raqm_available(), reason="needs Pillow with libraqm")

SAMPLES = [
    ("en", EN_TEXT, LATIN),
    ("de", "Sommerschlussverkauf: Donaudampfschifffahrtsgesellschaft-Rabatte bis zu 50 %", LATIN),
    ("ja", JA_TEXT, JP),
    ("zh-CN", "夏季大促销：全场商品低至五折，本周末限时抢购，不容错过！", SC),
    ("ar", AR_TEXT + " على iPhone 15", AR),
    ("he", "מבצע קיץ: עד 50% הנחה על כל המוצרים בסוף השבוע הזה!", HE),
    ("th", TH_TEXT, TH),
    ("ko", "여름 특가 세일: 이번 주말 한정 전 품목 최대 50% 할인!", KR),
    ("hi", "ग्रीष्मकालीन सेल: इस सप्ताहांत सभी उत्पादों पर 50% तक की छूट", HI),
]


def _spec(text, font=LATIN, **kw) -> TextSpec:
    kw.setdefault("max_size", 120)
    kw.setdefault("min_size", 12)
    return TextSpec(text=text, font_path=font, **kw)


def _ink_outside(image: Image.Image, box) -> int:
    """Number of pixels that differ from the white background outside ``box``."""
    arr = np.asarray(image.convert("L")) < 250
    x0, y0, x1, y1 = box
    arr[y0:y1, x0:x1] = False
    return int(arr.sum())


# ----------------------------------------------------------------------------- fitting


def test_longer_text_gets_a_smaller_size():
    sizes = [
        fit_text(_spec(t), 600, 300).font_size
        for t in ("Summer sale", "Summer sale: up to 50% off", EN_TEXT, EN_TEXT + " " + EN_TEXT)
    ]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] > sizes[-1]


def test_short_text_gets_max_size_and_one_line():
    layout = fit_text(_spec("Sale", max_size=90), 800, 400)
    assert layout.font_size == 90 and layout.lines == ("Sale",) and layout.fits


@pytest.mark.parametrize(("locale", "text", "font"), SAMPLES)
@pytest.mark.parametrize(("box_w", "box_h"), [(560, 230), (300, 420), (900, 120)])
def test_fitted_lines_stay_inside_the_box(locale, text, font, box_w, box_h):
    spec = text_spec(text, font, max_size=110, min_size=14, locale=locale)
    layout = fit_text(spec, box_w, box_h)
    assert layout.fits
    assert all(w <= box_w for w in layout.line_widths)
    assert layout.width == max(layout.line_widths) <= box_w
    assert layout.height <= box_h
    assert layout.missing == ()  # fallbacks draw every character (digits in Thai/Hebrew, Latin in Arabic)
    # never truncated: every non-space character is kept, in order
    assert "".join("".join(layout.lines).split()) == "".join(text.split())


def test_the_largest_fitting_size_is_chosen():
    layout = fit_text(_spec(EN_TEXT), 500, 260)
    bigger = fit_text(_spec(EN_TEXT, max_size=layout.font_size + 1, min_size=layout.font_size + 1), 500, 260)
    assert layout.fits and not bigger.fits


def test_latin_words_are_never_split():
    words = EN_TEXT.split()
    for box_w in range(120, 700, 37):
        layout = fit_text(_spec(EN_TEXT, max_size=60, min_size=20), box_w, 2000)
        assert [w for line in layout.lines for w in line.split()] == words


def test_hyphenated_compound_breaks_after_the_hyphen_only_when_too_wide():
    text = "Donaudampfschifffahrts-Gesellschaft"
    wide = fit_text(_spec(text, max_size=40, min_size=40), 2000, 400)
    assert wide.lines == (text,)
    narrow = fit_text(_spec(text, max_size=40, min_size=40), 560, 400)
    assert narrow.fits and narrow.lines == ("Donaudampfschifffahrts-", "Gesellschaft")


def test_free_standing_punctuation_stays_with_its_word():
    text = "Größte Auswahl — jetzt 30 % günstiger ! « Offre » spéciale : 20 €"
    for box_w in range(140, 900, 23):
        layout = fit_text(_spec(text, max_size=48, min_size=48), box_w, 2000)
        for line in layout.lines:
            assert line.split()[0] not in {"%", "!", "»", ":", "€"}, layout.lines
            assert line.split()[-1] != "«", layout.lines


def test_explicit_newlines_force_breaks():
    layout = fit_text(_spec("Big\nSummer Sale", max_size=50), 1000, 500)
    assert layout.lines == ("Big", "Summer Sale")


def test_max_lines_is_respected():
    free = fit_text(_spec(EN_TEXT, max_size=80), 400, 2000)
    capped = fit_text(_spec(EN_TEXT, max_size=80, max_lines=2), 400, 2000)
    assert len(free.lines) > 2
    assert capped.fits and len(capped.lines) <= 2 and capped.font_size < free.font_size


def test_impossible_box_returns_min_size_without_truncating():
    layout = fit_text(_spec(EN_TEXT, max_size=80, min_size=30), 90, 40)
    assert not layout.fits
    assert layout.font_size == 30
    assert [w for line in layout.lines for w in line.split()] == EN_TEXT.split()


def test_balanced_lines_avoid_a_lone_last_word():
    text = "Fresh summer flavours are back now"
    spec = _spec(text, max_size=48, min_size=48)
    balanced = fit_text(spec, 800, 400)
    greedy = wrap(text, load_font(LATIN, 48), 800, spec)
    assert len(balanced.lines) == len(greedy) == 2
    assert len(balanced.lines[-1].split()) > 1
    assert max(balanced.line_widths) - min(balanced.line_widths) < 250


def test_layout_to_dict_is_json():
    data = fit_text(_spec(EN_TEXT), 500, 300).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["font"] == "NotoSans-Bold.ttf" and data["fits"] is True and data["lines"]


def test_empty_text():
    layout = fit_text(_spec("   "), 300, 100)
    assert layout.lines == () and layout.height == 0 and layout.fits


# ----------------------------------------------------------------------------- CJK and Thai breaking


def test_japanese_kinsoku():
    font = load_font(JP, 40)
    spec = _spec(JA_TEXT, JP, line_breaking="cjk", language="ja")
    seen_breaks = 0
    for width in range(170, 700, 13):  # "ニュー、" is the widest unbreakable unit (4 em)
        lines = wrap(JA_TEXT, font, width, spec)
        assert lines is not None
        assert "".join(lines) == JA_TEXT
        seen_breaks += len(lines) - 1
        for line in lines[1:]:
            assert line[0] not in NO_LINE_START, (width, lines)
            assert line[0] not in "。、ー」！", (width, lines)
        for line in lines[:-1]:
            assert line[-1] not in NO_LINE_END, (width, lines)
            assert line[-1] != "「", (width, lines)
    assert seen_breaks > 100


def test_latin_words_inside_cjk_stay_whole():
    text = "最新のiPhoneケースとAirPodsが登場しました"
    spec = _spec(text, JP, line_breaking="cjk", language="ja")
    for width in range(150, 500, 11):
        lines = wrap(text, load_font(JP, 36), width, spec)
        assert lines is not None
        assert any("iPhone" in line for line in lines) and any("AirPods" in line for line in lines)


def test_thai_breaks_never_strand_a_combining_mark():
    combining = {chr(c) for c in (0x0E31, *range(0x0E34, 0x0E3B), *range(0x0E47, 0x0E4F))}
    spec = _spec(TH_TEXT, TH, line_breaking="thai", language="th")
    font = load_font(TH, 40)
    for width in range(120, 600, 17):
        lines = wrap(TH_TEXT, font, width, spec)
        assert lines is not None
        assert "".join("".join(lines).split()) == "".join(TH_TEXT.split())
        for line in lines:
            assert line[0] not in combining, (width, lines)
            assert line[-1] not in "เแโใไ", (width, lines)  # leading vowels stay with their consonant


def test_thai_breaks_between_dictionary_words_not_only_at_spaces():
    # the phrase after "50%" has no spaces; it still wraps (between words: see test_line_breaking.py)
    layout = fit_text(
        _spec(TH_TEXT, TH, line_breaking="thai", language="th", max_size=80, min_size=16), 700, 400
    )
    assert layout.fits and len(layout.lines) >= 2
    assert max(layout.line_widths) - min(layout.line_widths) < 0.3 * 700  # balanced, not one long line
    assert "".join("".join(layout.lines).split()) == "".join(TH_TEXT.split())


# ----------------------------------------------------------------------------- right-to-left


@needs_raqm
def test_arabic_is_shaped():
    font = ImageFont.truetype(AR, 60, layout_engine=ImageFont.Layout.RAQM)
    word = "تخفيضات"
    joined = font.getlength(word, direction="rtl", language="ar")
    isolated = sum(font.getlength(ch, direction="rtl", language="ar") for ch in word)
    assert abs(joined - isolated) > 10
    unshaped = font.getlength(word, direction="rtl", features=["-init", "-medi", "-fina", "-rlig"])
    assert abs(joined - unshaped) > 5


@needs_raqm
def test_arabic_start_alignment_is_flush_right_and_rendered_rtl():
    box = (40, 30, 640, 330)
    layout = fit_text(_spec(AR_TEXT, AR, direction="rtl", language="ar", max_size=70), 600, 300)
    assert layout.fits and len(layout.lines) > 1
    image = Image.new("RGB", (700, 400), "white")
    ink = draw_text(image, layout, box, (0, 0, 0))
    for line_box in ink_boxes(layout, box, "top"):
        assert box[2] - 3 <= line_box[2] <= box[2]
    assert ink[2] <= box[2] and ink[0] > box[0]
    assert _ink_outside(image, box) == 0
    # the first logical word sits at the right end of the first line
    first = layout.lines[0].split()[0]
    font = load_font(AR, layout.font_size)
    assert font.getlength(first, direction="rtl", language="ar") < layout.line_widths[0]
    dark = np.asarray(image.convert("L"))[box[1] : box[1] + layout.line_advance, :] < 128
    cols = np.nonzero(dark.any(axis=0))[0]
    assert cols.max() >= box[2] - 4


@needs_raqm
@pytest.mark.parametrize(
    ("text", "font", "language", "visual"),
    [
        # logical first word is right-most; runs listed left to right
        ("עד 50% הנחה", HE, "he", ["הנחה", "50%", "עד"]),
        ("خصم iPhone 15 الآن!", AR, "ar", ["الآن!", "iPhone 15", "خصم"]),
    ],
)
def test_mixed_rtl_and_fallback_runs_are_in_visual_order(text, font, language, visual):
    from creative_assets.render.text import _shaper  # white-box: the run order is the point

    layout = fit_text(_spec(text, font, direction="rtl", language=language, max_size=60), 1200, 200)
    assert layout.lines == (text,) and layout.missing == ()
    assert layout.fonts_used == (font.rsplit("/", 1)[-1], "NotoSans-Bold.ttf")
    runs = _shaper(layout.spec, layout.font_size).runs(text)
    assert [r.text.strip() for r, _ in runs if r.text.strip()] == visual
    xs = [x for _, x in runs]
    assert xs == sorted(xs)
    image = Image.new("RGB", (1300, 300), "white")
    box = (50, 50, 1250, 250)
    draw_text(image, layout, box, "black")
    assert _ink_outside(image, box) == 0


# ----------------------------------------------------------------------------- drawing


@pytest.mark.parametrize(("locale", "text", "font"), SAMPLES)
@pytest.mark.parametrize("align", ["start", "center", "end"])
@pytest.mark.parametrize("valign", ["top", "center", "bottom"])
def test_draw_text_stays_inside_the_box(locale, text, font, align, valign):
    box = (37, 23, 537, 273)
    spec = text_spec(text, font, max_size=100, min_size=12, locale=locale, align=align)
    layout = fit_text(spec, box[2] - box[0], box[3] - box[1])
    assert layout.fits
    image = Image.new("RGB", (600, 320), "white")
    ink = draw_text(image, layout, box, (0, 0, 0), valign)
    assert _ink_outside(image, box) == 0
    assert box[0] <= ink[0] < ink[2] <= box[2] and box[1] <= ink[1] < ink[3] <= box[3]
    drawn = Image.new("L", image.size, 0)
    drawn.paste(255, mask=Image.eval(image.convert("L"), lambda v: 255 if v < 250 else 0))
    actual = drawn.getbbox()
    assert actual is not None
    assert ink[0] <= actual[0] and ink[1] <= actual[1] and actual[2] <= ink[2] and actual[3] <= ink[3]


def test_ink_boxes_match_draw_text():
    box = (10, 10, 410, 310)
    layout = fit_text(_spec(EN_TEXT, align="center"), 400, 300)
    boxes = ink_boxes(layout, box, "center")
    image = Image.new("RGB", (420, 320), "white")
    ink = draw_text(image, layout, box, "black", "center")
    assert len(boxes) == len(layout.lines)
    assert ink == (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
    centres = [(b[0] + b[2]) / 2 for b in boxes]
    assert all(abs(c - 210) <= 2 for c in centres)


def test_alignment_sides():
    box = (0, 0, 800, 200)
    for align, side in (("start", "left"), ("end", "right")):
        layout = fit_text(_spec("Sale", align=align, max_size=60), 800, 200)
        (b,) = ink_boxes(layout, box)
        assert (b[0] == 0) if side == "left" else (b[2] == 800)
    rtl = fit_text(_spec("מבצע", HE, direction="rtl", align="end", max_size=60), 800, 200)
    (b,) = ink_boxes(rtl, box)
    assert b[0] == 0
