"""The bundled Noto fonts (creative_assets/fonts/) as web fonts of the review app.

A browser without CJK, Arabic, Hebrew, Indic or South-East Asian system fonts would draw the copy of
those locales as tofu (``.notdef`` boxes). The review app serves the same fonts the creatives are
rendered with, as one ``font-family`` (:data:`FAMILY`) of ``@font-face`` rules, one per script, each
with its ``unicode-range``: a browser downloads a face only when the page has characters in its
range, so a Latin-only page loads Noto Sans alone and a Japanese page adds the Japanese face. The
Han ideographs shared by Chinese, Japanese and Korean resolve by the element's ``lang``
(:func:`font_face_css` adds a family per CJK language, chosen by ``:lang()``).

Pure: no web framework; the app routes ``/fonts/<file>`` to :func:`font_path`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FONTS_DIR = Path(__file__).resolve().parents[1] / "fonts"
FAMILY = "Review Noto Sans"
URL_PREFIX = "/fonts"

LATIN = "U+0000-024F, U+0259, U+02B0-02FF, U+0300-036F, U+0370-03FF, U+0400-052F, U+1E00-1EFF, U+2000-206F, U+20A0-20CF, U+2100-218F, U+2190-21FF, U+2200-22FF, U+25A0-25FF, U+FB00-FB06"
ARABIC = "U+0600-06FF, U+0750-077F, U+0870-08FF, U+FB50-FDFF, U+FE70-FEFF"
HEBREW = "U+0590-05FF, U+FB1D-FB4F"
DEVANAGARI = "U+0900-097F, U+1CD0-1CFF, U+A8E0-A8FF"
THAI = "U+0E00-0E7F"
LAO = "U+0E80-0EFF"
KHMER = "U+1780-17FF, U+19E0-19FF"
MYANMAR = "U+1000-109F, U+A9E0-A9FF, U+AA60-AA7F"
HANGUL = "U+1100-11FF, U+3130-318F, U+A960-A97F, U+AC00-D7AF, U+D7B0-D7FF"
#: kana, CJK punctuation and symbols, ideographs and full-width forms (shared by zh, ja, ko)
CJK = "U+2E80-2FDF, U+3000-30FF, U+31C0-31FF, U+3200-33FF, U+3400-4DBF, U+4E00-9FFF, U+F900-FAFF, U+FE30-FE4F, U+FF00-FFEF, U+20000-2FA1F"


@dataclass(frozen=True)
class Face:
    regular: str
    bold: str
    unicode_range: str


SCRIPT_FACES = (
    Face("NotoSans-Regular.ttf", "NotoSans-Bold.ttf", LATIN),
    Face("NotoSansArabic-Regular.ttf", "NotoSansArabic-Bold.ttf", ARABIC),
    Face("NotoSansHebrew-Regular.ttf", "NotoSansHebrew-Bold.ttf", HEBREW),
    Face("NotoSansDevanagari-Regular.ttf", "NotoSansDevanagari-Bold.ttf", DEVANAGARI),
    Face("NotoSansThai-Regular.ttf", "NotoSansThai-Bold.ttf", THAI),
    Face("NotoSansLao-Regular.ttf", "NotoSansLao-Bold.ttf", LAO),
    Face("NotoSansKhmer-Regular.ttf", "NotoSansKhmer-Bold.ttf", KHMER),
    Face("NotoSansMyanmar-Regular.ttf", "NotoSansMyanmar-Bold.ttf", MYANMAR),
    Face("NotoSansCJKkr-Regular.otf", "NotoSansCJKkr-Bold.otf", HANGUL),
)
#: the face for Han and kana per CJK language (``:lang()``), and the default (Japanese)
CJK_FACES = {
    "ja": Face("NotoSansCJKjp-Regular.otf", "NotoSansCJKjp-Bold.otf", CJK),
    "zh-Hans": Face("NotoSansCJKsc-Regular.otf", "NotoSansCJKsc-Bold.otf", CJK),
    "zh-CN": Face("NotoSansCJKsc-Regular.otf", "NotoSansCJKsc-Bold.otf", CJK),
    "zh-Hant": Face("NotoSansCJKtc-Regular.otf", "NotoSansCJKtc-Bold.otf", CJK),
    "zh-TW": Face("NotoSansCJKtc-Regular.otf", "NotoSansCJKtc-Bold.otf", CJK),
    "zh-HK": Face("NotoSansCJKtc-Regular.otf", "NotoSansCJKtc-Bold.otf", CJK),
    "ko": Face("NotoSansCJKkr-Regular.otf", "NotoSansCJKkr-Bold.otf", CJK),
}
DEFAULT_CJK = "ja"
#: what follows the web fonts in every stack (the system UI font for anything not covered)
FALLBACK = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'


def served_files() -> frozenset[str]:
    faces = [*SCRIPT_FACES, *CJK_FACES.values()]
    return frozenset(name for f in faces for name in (f.regular, f.bold))


def font_path(name: str) -> Path | None:
    """The file to serve for ``/fonts/<name>``: only the bundled files named here, nothing else."""
    if name not in served_files():
        return None
    path = FONTS_DIR / name
    return path if path.is_file() else None


def media_type(name: str) -> str:
    return "font/otf" if name.endswith(".otf") else "font/ttf"


def _rules(family: str, faces: tuple[Face, ...]) -> list[str]:
    rules = []
    for face in faces:
        for weight, name in ((400, face.regular), (700, face.bold)):
            fmt = "opentype" if name.endswith(".otf") else "truetype"
            rules.append(
                f'@font-face {{ font-family: "{family}"; font-style: normal; font-weight: {weight}; '
                f'font-display: swap; src: url("{URL_PREFIX}/{name}") format("{fmt}"); '
                f"unicode-range: {face.unicode_range}; }}"
            )
    return rules


def cjk_family(lang: str) -> str:
    return f"{FAMILY} {lang}"


def font_face_css() -> str:
    """The ``@font-face`` rules and the ``font-family`` stacks (the page's base font, and the CJK
    face by ``lang``)."""
    rules = _rules(FAMILY, SCRIPT_FACES)
    for lang, face in CJK_FACES.items():
        rules += _rules(cjk_family(lang), (face,))

    def stack(lang: str) -> str:
        return f'"{FAMILY}", "{cjk_family(lang)}", {FALLBACK}'

    rules.append(f"body {{ font-family: {stack(DEFAULT_CJK)}; }}")
    rules += [f":lang({lang}) {{ font-family: {stack(lang)}; }}" for lang in CJK_FACES]
    return "\n".join(rules)
