"""Line breaking on real sentences, judged by ICU itself (PyICU) as the oracle; balance; emoji; bidi."""

from __future__ import annotations

import icu
import numpy as np
import pytest
from PIL import Image

from creative_assets.render.fonts import BUNDLED_FONTS_DIR, emoji_font, raqm_available
from creative_assets.render.text import TextSpec, draw_text, emoji_boxes, fit_text, text_spec

B = BUNDLED_FONTS_DIR

#: (locale, sentence, bold font) - real copy a brand would write, no spaces where the script has none
SENTENCES = [
    ("th-TH", "ร้านกาแฟของเราเปิดให้บริการทุกวันตั้งแต่เจ็ดโมงเช้าจนถึงสี่ทุ่มพร้อมขนมอบสดใหม่", "NotoSansThai-Bold.ttf"),
    ("lo-LA", "ຮ້ານກາເຟຂອງພວກເຮົາເປີດບໍລິການທຸກມື້ຕັ້ງແຕ່ເຊົ້າຈົນຮອດຄ່ຳ", "NotoSansLao-Bold.ttf"),
    ("km-KH", "ហាងកាហ្វេរបស់យើងបើកលក់រៀងរាល់ថ្ងៃចាប់ពីព្រឹករហូតដល់ល្ងាច", "NotoSansKhmer-Bold.ttf"),
    ("my-MM", "ကျွန်ုပ်တို့၏ကော်ဖီဆိုင်သည်နေ့တိုင်းမနက်မှညအထိဖွင့်ပါသည်", "NotoSansMyanmar-Bold.ttf"),
    (
        "ja-JP",
        "夏の新作ドリンクが登場しました。「限定」フレーバーは今週末まで、ぜひお試しください！",
        "NotoSansCJKjp-Bold.otf",
    ),
    ("zh-CN", "夏季大促销：全场商品低至五折，本周末限时抢购，不容错过！", "NotoSansCJKsc-Bold.otf"),
    ("ko-KR", "여름 특가 세일: 이번 주말 한정으로 전 품목 최대 50% 할인합니다!", "NotoSansCJKkr-Bold.otf"),
    ("hi-IN", "ग्रीष्मकालीन सेल: इस सप्ताहांत सभी उत्पादों पर 50% तक की छूट पाएं", "NotoSansDevanagari-Bold.ttf"),
    ("ar-AE", "تخفيضات الصيف: خصم يصل إلى 50% على كل المنتجات حتى 31/12/2026 فقط", "NotoSansArabic-Bold.ttf"),
    ("he-IL", "מבצע קיץ: עד 50% הנחה על כל המוצרים עד 31.12.2026 בלבד!", "NotoSansHebrew-Bold.ttf"),
]


def _icu_boundaries(kind: str, text: str, locale: str) -> set[int]:
    """Boundaries straight from ICU (UTF-16 offsets mapped to code points)."""
    loc = icu.Locale(locale)
    it = (
        icu.BreakIterator.createLineInstance(loc)
        if kind == "line"
        else icu.BreakIterator.createWordInstance(loc)
    )
    it.setText(icu.UnicodeString(text))
    u16 = []
    for i, ch in enumerate(text):
        u16 += [i] * (2 if ord(ch) > 0xFFFF else 1)
    u16.append(len(text))
    out = {u16[it.first()]}
    while (b := it.nextBoundary()) != -1:
        out.add(u16[b])
    return out


def _line_spans(text: str, lines: tuple[str, ...]) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for line in lines:
        while text[pos].isspace():
            pos += 1
        assert text.startswith(line, pos), (line, text[pos:])
        spans.append((pos, pos + len(line)))
        pos += len(line)
    assert text[pos:].strip() == ""
    return spans


@pytest.mark.parametrize(("locale", "text", "font"), SENTENCES, ids=[s[0] for s in SENTENCES])
def test_lines_start_and_end_only_at_icu_boundaries(locale, text, font):
    lang = locale.split("-")[0]
    strict = f"{locale.replace('-', '_')}@lb=strict" if lang in ("ja", "zh") else locale.replace("-", "_")
    words = _icu_boundaries("word", text, locale.replace("-", "_"))
    breaks = _icu_boundaries("line", text, strict)
    multi_line = 0
    for box_w in range(260, 1000, 37):
        spec = text_spec(text, B / font, max_size=64, min_size=30, locale=locale)
        layout = fit_text(spec, box_w, 2000)
        assert layout.fits and layout.missing == (), (box_w, layout.lines)
        spans = _line_spans(text, layout.lines)
        multi_line += len(spans) > 1
        for start, end in spans:
            # no line starts or ends inside a word (ICU word segmentation, dictionary-based for th/lo/km/my)
            assert start in words and end in words, (box_w, layout.lines)
            # and every break is a UAX #14 opportunity (strict kinsoku for ja/zh)
            assert start in breaks, (box_w, layout.lines)
    assert multi_line >= 5  # the sentence was really broken, many ways


def test_cjk_lines_never_start_with_closing_punctuation_or_small_kana():
    text = SENTENCES[4][1]
    for box_w in range(200, 800, 11):
        spec = text_spec(text, B / "NotoSansCJKjp-Bold.otf", max_size=48, min_size=48, locale="ja-JP")
        layout = fit_text(spec, box_w, 4000)
        for line in layout.lines[1:]:
            assert line[0] not in "。、」』）！？ーっゃゅょァィゥェォッャュョ", layout.lines
        for line in layout.lines[:-1]:
            assert line[-1] not in "「『（", layout.lines


# ----------------------------------------------------------------------------- balance


def _words_per_line(layout):
    return [len(line.split()) for line in layout.lines]


def test_arabic_square_headline_is_not_one_word_per_line():
    text = "انتعش هذا الصيف مع نكهة الحمضيات الجديدة"
    spec = text_spec(
        text,
        B / "NotoSansArabic-Bold.ttf",
        max_size=124,
        min_size=49,
        locale="ar-AE",
        avoid_single_word_lines=True,
    )
    layout = fit_text(spec, 972, 214)  # the 1:1 text-top headline box
    assert layout.fits and len(layout.lines) >= 2
    assert min(_words_per_line(layout)) >= 2, layout.lines
    assert max(layout.line_widths) - min(layout.line_widths) < 0.35 * max(layout.line_widths)


@pytest.mark.parametrize(
    "text",
    [
        "Fresh summer flavours are back now",
        "Refresh your summer with a brand new citrus twist",
        "Stay cool all season long",
        "Hydration that keeps up with you",
    ],
)
@pytest.mark.parametrize("box_w", [420, 560, 700, 900])
def test_headlines_have_no_single_word_line_and_no_widow(text, box_w):
    spec = TextSpec(
        text=text,
        font_path=str(B / "NotoSans-Bold.ttf"),
        max_size=110,
        min_size=30,
        avoid_single_word_lines=True,
    )
    layout = fit_text(spec, box_w, 400)
    assert layout.fits and not layout.notes
    if len(layout.lines) > 1:
        assert min(_words_per_line(layout)) >= 2, layout.lines


def test_a_widow_is_avoided_by_rebalancing():
    text = "Sparkling citrus soda with real fruit juice"
    spec = TextSpec(text=text, font_path=str(B / "NotoSans-Regular.ttf"), max_size=40, min_size=40)
    layout = fit_text(spec, 700, 200)
    assert len(layout.lines) == 2 and len(layout.lines[-1].split()) >= 2


def test_flaws_that_no_size_avoids_are_reported_not_hidden():
    spec = TextSpec(
        text="Unbelievably refreshing",
        font_path=str(B / "NotoSans-Bold.ttf"),
        max_size=80,
        min_size=60,
        avoid_single_word_lines=True,
    )
    layout = fit_text(spec, 560, 400)  # two long words never fit one line at 60 px
    assert layout.fits and len(layout.lines) == 2
    assert "single-word line" in layout.notes


# ----------------------------------------------------------------------------- emoji

needs_emoji = pytest.mark.skipif(
    emoji_font() is None, reason="needs NotoColorEmoji.ttf (fonts-noto-color-emoji)"
)


@needs_emoji
@pytest.mark.parametrize(
    ("text", "colour"),
    [
        ("Shop now 🍊", (255, 140, 0)),  # tangerine: orange
        ("Love it ❤️", (230, 30, 40)),  # red heart with VS16
        ("Thumbs up 👍🏽", (190, 130, 80)),  # medium skin tone
        ("Made in 🇯🇵", (200, 20, 60)),  # flag: red disc
        ("Pride 🏳️‍🌈", (230, 30, 40)),  # ZWJ sequence with VS16: rainbow flag
        ("Coder 👩🏽‍💻", (190, 130, 80)),  # ZWJ sequence with a skin tone
    ],
)
def test_emoji_render_in_colour_as_one_glyph(text, colour):
    spec = TextSpec(text=text, font_path=str(B / "NotoSans-Bold.ttf"), max_size=60, min_size=20, max_lines=1)
    layout = fit_text(spec, 600, 90)
    assert layout.fits and layout.missing == () and "NotoColorEmoji.ttf" in layout.fonts_used
    image = Image.new("RGB", (640, 120), (255, 255, 255))
    box = (20, 15, 620, 105)
    ink = draw_text(image, layout, box, (0, 0, 0))
    (ebox,) = emoji_boxes(layout, box)  # a ZWJ sequence or flag is one glyph, not several
    assert box[0] <= ebox[0] < ebox[2] <= ink[2] and ebox[3] - ebox[1] <= 1.4 * layout.font_size
    arr = np.asarray(image, np.int32)[ebox[1] : ebox[3], ebox[0] : ebox[2]]
    saturated = (arr.max(axis=2) - arr.min(axis=2)) > 80
    assert saturated.mean() > 0.08  # colour, not a black outline or a tofu box
    near = np.sqrt(((arr - np.array(colour)) ** 2).sum(axis=2)) < 90
    assert near.sum() > 30
    outside = np.asarray(image, np.int32).copy()
    outside[ebox[1] : ebox[3], ebox[0] : ebox[2]] = 255
    assert ((outside.max(axis=2) - outside.min(axis=2)) > 80).sum() == 0  # text stays black


@needs_emoji
def test_emoji_are_measured_for_fitting():
    plain = fit_text(
        TextSpec(text="Shop now", font_path=str(B / "NotoSans-Bold.ttf"), max_size=60, min_size=10), 400, 80
    )
    with_emoji = fit_text(
        TextSpec(text="Shop now 🎉🎉🎉", font_path=str(B / "NotoSans-Bold.ttf"), max_size=60, min_size=10),
        400,
        80,
    )
    assert with_emoji.width <= 400 and with_emoji.font_size < plain.font_size


def test_without_the_emoji_font_an_emoji_is_reported_missing():
    spec = TextSpec(
        text="Shop now 🍊",
        font_path=str(B / "NotoSans-Bold.ttf"),
        max_size=40,
        min_size=20,
        fallback_fonts=(),
    )
    assert fit_text(spec, 600, 100).missing == ("🍊",)


# ----------------------------------------------------------------------------- bidi

needs_raqm = pytest.mark.skipif(not raqm_available(), reason="needs Pillow with libraqm")


def _icu_visual(text: str, rtl: bool) -> str:
    bidi = icu.Bidi()
    bidi.setPara(icu.UnicodeString(text), 1 if rtl else 0)
    return str(bidi.writeReordered(0))


@needs_raqm
@pytest.mark.parametrize(
    ("text", "font", "numbers"),
    [
        ("خصم 20% حتى 31/12/2026!", "NotoSansArabic-Bold.ttf", ["31/12/2026", "20"]),
        ("מחיר: ₪49.90 בלבד (עד 31.12)", "NotoSansHebrew-Bold.ttf", ["31.12", "₪49.90"]),
        ("عرض iPhone 15 Pro بسعر 3,999 درهم.", "NotoSansArabic-Bold.ttf", ["3,999", "iPhone 15 Pro"]),
    ],
)
def test_numbers_and_punctuation_in_rtl_text_follow_icu_bidi(text, font, numbers):
    from creative_assets.render.text import _shaper  # white-box: the visual runs are the point

    lang = "ar" if "Arabic" in font else "he"
    spec = TextSpec(
        text=text, font_path=str(B / font), max_size=60, min_size=20, direction="rtl", language=lang
    )
    layout = fit_text(spec, 1400, 200)
    assert layout.lines == (text,)
    runs = _shaper(spec, layout.font_size).runs(text)
    xs = [x for _, x in runs]
    assert xs == sorted(xs)
    # the runs, left to right, each in its own direction, spell ICU's visual order exactly (UAX #9)
    visual = "".join(r.text[::-1] if r.direction == "rtl" else r.text for r, _ in runs)
    assert visual == _icu_visual(text, rtl=True)
    # so numbers keep their digit order, and the logically later number sits further left
    for number in numbers:
        assert number in visual
    assert visual.index(numbers[0]) < visual.index(numbers[1])


@needs_raqm
def test_bidi_is_resolved_over_the_paragraph_not_each_line():
    """'20%' that starts the second line still follows an Arabic word (UAX #9 W2: AN, '%' neutral):
    the line break must not reorder it."""
    from creative_assets.render.text import _shaper

    text = "انتعش طوال الصيف بخصم 20% حتى 31/12/2026"
    spec = TextSpec(
        text=text,
        font_path=str(B / "NotoSansArabic-Bold.ttf"),
        max_size=50,
        min_size=50,
        direction="rtl",
        language="ar",
    )
    shaper = _shaper(spec, 50)
    whole = _icu_visual(text, rtl=True)
    line = "20% حتى 31/12/2026"
    runs = shaper.runs(line)
    visual = "".join(r.text[::-1] if r.direction == "rtl" else r.text for r, _ in runs)
    assert visual in whole  # the same order as in the unbroken paragraph
    assert visual != _icu_visual(line, rtl=True)  # (alone, ICU would order "20%" differently)
