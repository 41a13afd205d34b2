"""Font lookup, coverage detection, script detection and brand-kit font choice (bundled fonts only)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import ImageFont

from creative_assets.brand_kit import BrandKit
from creative_assets.render.fonts import (
    BUNDLED_FONTS_DIR,
    FONT_DIRS_ENV,
    SCRIPT_FALLBACKS,
    SCRIPT_PROBES,
    SCRIPTS,
    choose_font,
    detect_script,
    font_for_role,
    font_search_dirs,
    load_font,
    missing_glyphs,
    raqm_available,
    resolve_font_file,
    script_for_locale,
)

B = BUNDLED_FONTS_DIR
JAPANESE = "新しい季節、はじまる。「限定セール」開催中！コーヒー"

BUNDLED = [
    "NotoSans-Regular.ttf",
    "NotoSans-Bold.ttf",
    "NotoSansDisplay-Bold.ttf",
    "NotoSerifDisplay-Bold.ttf",
    "NotoSansArabic-Regular.ttf",
    "NotoSansArabic-Bold.ttf",
    "NotoSansHebrew-Regular.ttf",
    "NotoSansHebrew-Bold.ttf",
    "NotoSansThai-Regular.ttf",
    "NotoSansThai-Bold.ttf",
    "NotoSansDevanagari-Regular.ttf",
    "NotoSansDevanagari-Bold.ttf",
    *(f"NotoSansCJK{r}-{w}.otf" for r in ("jp", "sc", "tc", "kr") for w in ("Regular", "Bold")),
]


# ----------------------------------------------------------------------------- bundled files


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_font_exists_and_loads(name):
    path = B / name
    assert path.is_file()
    if name.startswith("NotoSansCJK"):
        assert path.stat().st_size <= 5_000_000, "CJK subsets must stay small"
    assert ImageFont.truetype(str(path), 20).getname()[0].startswith("Noto")


def test_licence_and_readme_ship_with_the_fonts():
    assert "SIL OPEN FONT LICENSE" in (B / "OFL.txt").read_text(encoding="utf-8")
    assert (B / "README.md").is_file()


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_has_a_covering_bundled_fallback(script):
    for name in SCRIPT_FALLBACKS[script]:
        assert missing_glyphs(B / name, SCRIPT_PROBES[script]) == [], name


# ----------------------------------------------------------------------------- coverage


def test_missing_glyphs_finds_cjk_missing_from_latin_font():
    assert missing_glyphs(B / "NotoSans-Regular.ttf", "Sale 日本語 セール") == [
        "日",
        "本",
        "語",
        "セ",
        "ー",
        "ル",
    ]


def test_missing_glyphs_empty_for_covered_text():
    assert missing_glyphs(B / "NotoSansCJKjp-Bold.otf", JAPANESE) == []
    assert missing_glyphs(B / "NotoSansArabic-Bold.ttf", "تخفيضات الصيف ٥٠٪") == []
    assert missing_glyphs(B / "NotoSansThai-Regular.ttf", "ลดราคาพิเศษสูงสุด") == []
    assert missing_glyphs(B / "NotoSansHebrew-Bold.ttf", "מבצע קיץ") == []
    assert missing_glyphs(B / "NotoSansCJKkr-Regular.otf", "여름 특가 세일") == []
    assert missing_glyphs(B / "NotoSans-Regular.ttf", "Привет, Ωμέγα, Straße, façade") == []


def test_missing_glyphs_ignores_whitespace_and_format_characters():
    text = "a\u200db\u200cc\u200ed\u200f e\u00a0f\t\n\ufe0f"
    assert missing_glyphs(B / "NotoSans-Regular.ttf", text) == []


def test_missing_glyphs_reports_each_character_once_in_order():
    assert missing_glyphs(B / "NotoSansThai-Bold.ttf", "ลด 50% ลด 50%") == ["5", "0", "%"]
    assert missing_glyphs(B / "NotoSansCJKsc-Regular.otf", "简体 繁體") == ["體"]  # not in GB 2312


# ----------------------------------------------------------------------------- scripts


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        ("Summer sale", None, "latin"),
        ("Sommerschlussverkauf für alle", None, "latin"),
        ("新しい季節、はじまる。", None, "japanese"),
        ("限定セール", "chinese_simplified", "japanese"),  # kana decides
        ("夏季大促销", None, "chinese_simplified"),
        ("夏季大促銷", "chinese_traditional", "chinese_traditional"),
        ("夏季", "japanese", "japanese"),
        ("夏季", "arabic", "chinese_simplified"),  # non-CJK hint is ignored for Han
        ("여름 특가 세일", None, "korean"),
        ("تخفيضات الصيف 50%", None, "arabic"),
        ("מבצע קיץ", None, "hebrew"),
        ("ลดราคาพิเศษ", None, "thai"),
        ("ग्रीष्मकालीन सेल", None, "devanagari"),
        ("Летняя распродажа", None, "cyrillic"),
        ("Καλοκαιρινές εκπτώσεις", None, "greek"),
        ("iPhone 15 新登場", None, "chinese_simplified"),  # CJK wins even when Latin dominates
        ("50% off iPhone — خصم", None, "arabic"),
        ("", None, "latin"),
    ],
)
def test_detect_script(text, hint, expected):
    assert detect_script(text, hint) == expected


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("ja-JP", "japanese"),
        ("zh-CN", "chinese_simplified"),
        ("zh-SG", "chinese_simplified"),
        ("zh-TW", "chinese_traditional"),
        ("zh-HK", "chinese_traditional"),
        ("zh-Hant", "chinese_traditional"),
        ("zh_Hans_HK", "chinese_simplified"),
        ("ko-KR", "korean"),
        ("ar-SA", "arabic"),
        ("ar-AE", "arabic"),
        ("he-IL", "hebrew"),
        ("th-TH", "thai"),
        ("hi-IN", "devanagari"),
        ("ru-RU", "cyrillic"),
        ("uk-UA", "cyrillic"),
        ("bg-BG", "cyrillic"),
        ("el-GR", "greek"),
        ("en-US", "latin"),
        ("de-DE", "latin"),
        ("sr-Latn-RS", "latin"),
        ("pt-BR", "latin"),
    ],
)
def test_script_for_locale(tag, expected):
    assert script_for_locale(tag) == expected


# ----------------------------------------------------------------------------- lookup


def test_search_dirs_order(tmp_path, monkeypatch):
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    monkeypatch.setenv(FONT_DIRS_ENV, str(env_dir))
    dirs = font_search_dirs([tmp_path])
    assert dirs[:3] == [tmp_path, B, env_dir]
    assert len(dirs) == len(set(dirs))


def test_resolve_prefers_extra_dir_then_bundled(tmp_path):
    assert resolve_font_file("NotoSans-Bold.ttf", font_search_dirs()) == B / "NotoSans-Bold.ttf"
    shutil.copyfile(B / "NotoSans-Regular.ttf", tmp_path / "NotoSans-Bold.ttf")
    assert (
        resolve_font_file("NotoSans-Bold.ttf", font_search_dirs([tmp_path])) == tmp_path / "NotoSans-Bold.ttf"
    )


def test_resolve_searches_env_dirs_recursively(tmp_path, monkeypatch):
    nested = tmp_path / "fonts" / "brand" / "sub"
    nested.mkdir(parents=True)
    shutil.copyfile(B / "NotoSans-Regular.ttf", nested / "AcmeSans-Regular.ttf")
    monkeypatch.setenv(FONT_DIRS_ENV, str(tmp_path / "fonts"))
    assert resolve_font_file("AcmeSans-Regular.ttf", font_search_dirs()) == nested / "AcmeSans-Regular.ttf"


def test_resolve_error_names_file_and_folders(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        resolve_font_file("NoSuchFont-Bold.ttf", [tmp_path, B])
    message = str(err.value)
    assert "NoSuchFont-Bold.ttf" in message
    assert str(tmp_path) in message and str(B) in message


def test_load_font_is_cached_and_uses_raqm():
    a = load_font(B / "NotoSans-Bold.ttf", 33)
    assert a is load_font(str(B / "NotoSans-Bold.ttf"), 33)
    assert a.size == 33
    if raqm_available():
        assert a.layout_engine == ImageFont.Layout.RAQM


# ----------------------------------------------------------------------------- brand kits


def _kit(root: Path, headline: dict, body: dict | None = None, cta: dict | None = None) -> BrandKit:
    return BrandKit.model_validate(
        {
            "slug": "test-kit",
            "display_name": "Test",
            "logo": {"primary": "logo.png"},
            "palette": {"primary": "#112233", "secondary": "#445566", "accent": "#778899"},
            "fonts": {
                "headline": headline,
                "body": body or {"default": "NotoSans-Regular.ttf"},
                **({"cta": cta} if cta else {}),
            },
            "root": str(root),
        }
    )


def test_font_for_role_uses_script_field_then_cjk_then_default(tmp_path):
    kit = _kit(
        tmp_path,
        {
            "default": "NotoSansDisplay-Bold.ttf",
            "arabic": "NotoSansArabic-Bold.ttf",
            "cjk": "NotoSansCJKtc-Bold.otf",
        },
    )
    assert font_for_role(kit, "headline", "latin") == B / "NotoSansDisplay-Bold.ttf"
    assert font_for_role(kit, "headline", "arabic") == B / "NotoSansArabic-Bold.ttf"
    assert font_for_role(kit, "headline", "chinese_traditional") == B / "NotoSansCJKtc-Bold.otf"
    assert font_for_role(kit, "cta", "arabic") == B / "NotoSansArabic-Bold.ttf"  # cta falls back to headline
    assert font_for_role(kit, "body", "latin") == B / "NotoSans-Regular.ttf"


def test_font_for_role_prefers_the_kit_folder(tmp_path):
    shutil.copyfile(B / "NotoSans-Bold.ttf", tmp_path / "AcmeSans-Bold.ttf")
    kit = _kit(tmp_path, {"default": "AcmeSans-Bold.ttf"})
    assert font_for_role(kit, "headline", "latin") == tmp_path / "AcmeSans-Bold.ttf"


def test_font_for_role_falls_back_to_a_covering_font(tmp_path):
    kit = _kit(tmp_path, {"default": "NotoSansDisplay-Bold.ttf"})
    for script in ("japanese", "korean", "arabic", "thai", "hebrew", "devanagari"):
        head = font_for_role(kit, "headline", script)
        body = font_for_role(kit, "body", script)
        assert head == B / SCRIPT_FALLBACKS[script][1]
        assert body == B / SCRIPT_FALLBACKS[script][0]
        assert missing_glyphs(head, SCRIPT_PROBES[script]) == []
    choice = choose_font(kit, "headline", "japanese")
    assert choice.fallback and "NotoSansDisplay-Bold.ttf" in choice.reason


def test_font_for_role_checks_the_actual_text(tmp_path):
    # the traditional-Chinese face covers the Japanese probe but not the kanji in "税込"
    kit = _kit(tmp_path, {"default": "NotoSans-Bold.ttf", "japanese": "NotoSansCJKtc-Bold.otf"})
    assert font_for_role(kit, "headline", "japanese") == B / "NotoSansCJKtc-Bold.otf"
    assert font_for_role(kit, "headline", "japanese", text="価格は税込です") == B / "NotoSansCJKjp-Bold.otf"
    # a character no bundled face has either is no reason to drop the brand's font
    assert font_for_role(kit, "headline", "japanese", text="𠮷野家") == B / "NotoSansCJKtc-Bold.otf"


def test_font_for_role_survives_a_missing_kit_font(tmp_path):
    kit = _kit(tmp_path, {"default": "NotInstalled-Black.otf"})
    choice = choose_font(kit, "headline", "latin")
    assert choice.path == B / "NotoSans-Bold.ttf"
    assert choice.fallback and choice.requested == "NotInstalled-Black.otf"


def test_font_for_role_rejects_unknown_scripts(tmp_path):
    kit = _kit(tmp_path, {"default": "NotoSans-Bold.ttf"})
    with pytest.raises(ValueError, match="unknown script"):
        font_for_role(kit, "headline", "klingon")
