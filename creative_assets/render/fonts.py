"""Font lookup, script detection and glyph coverage for text overlays.

Pure module (Pillow only, no Dagster). Fonts are looked up by *file name* in, in order: the brand kit
folder, the fonts bundled with the package (``creative_assets/fonts``), the folders named in
``CREATIVE_ASSETS_FONT_DIRS`` and the usual system font folders. Every script key of
:data:`creative_assets.brand_kit.SCRIPT_KEYS` (except ``default``/``cjk``, which are kit-level
fallbacks) has a bundled Noto face in :data:`SCRIPT_FALLBACKS`, used whenever a brand font does not
cover the text's script.
"""

from __future__ import annotations

import functools
import logging
import os
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from PIL import ImageFont, features

from creative_assets import settings

if TYPE_CHECKING:
    from creative_assets.brand_kit import BrandKit

log = logging.getLogger(__name__)

#: Fonts shipped with the package (see ``creative_assets/fonts/README.md``).
BUNDLED_FONTS_DIR = Path(__file__).resolve().parent.parent / "fonts"

#: Extra font folders, ``os.pathsep``-separated.
FONT_DIRS_ENV = "CREATIVE_ASSETS_FONT_DIRS"

SYSTEM_FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path("~/.fonts").expanduser(),
    Path("~/.local/share/fonts").expanduser(),
    Path("~/Library/Fonts").expanduser(),
    Path("/Library/Fonts"),
    Path("/System/Library/Fonts"),
    Path("C:\\Windows\\Fonts"),
)

FONT_SUFFIXES = frozenset({".ttf", ".otf", ".ttc", ".otc", ".woff", ".woff2"})

Role = Literal["headline", "body", "cta"]

CJK_SCRIPTS = ("japanese", "chinese_simplified", "chinese_traditional", "korean")

#: Script keys :func:`detect_script` / :func:`script_for_locale` return.
SCRIPTS = (
    "latin",
    "cyrillic",
    "greek",
    "arabic",
    "hebrew",
    "thai",
    "lao",
    "khmer",
    "myanmar",
    "devanagari",
    *CJK_SCRIPTS,
)

#: Scripts written without spaces between words: lines break at dictionary word boundaries (ICU).
DICTIONARY_SCRIPTS = frozenset({"thai", "lao", "khmer", "myanmar"})

RTL_SCRIPTS = frozenset({"arabic", "hebrew"})

#: Bundled (regular, bold) file names per script key.
SCRIPT_FALLBACKS: dict[str, tuple[str, str]] = {
    "latin": ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
    "cyrillic": ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
    "greek": ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
    "arabic": ("NotoSansArabic-Regular.ttf", "NotoSansArabic-Bold.ttf"),
    "hebrew": ("NotoSansHebrew-Regular.ttf", "NotoSansHebrew-Bold.ttf"),
    "thai": ("NotoSansThai-Regular.ttf", "NotoSansThai-Bold.ttf"),
    "lao": ("NotoSansLao-Regular.ttf", "NotoSansLao-Bold.ttf"),
    "khmer": ("NotoSansKhmer-Regular.ttf", "NotoSansKhmer-Bold.ttf"),
    "myanmar": ("NotoSansMyanmar-Regular.ttf", "NotoSansMyanmar-Bold.ttf"),
    "devanagari": ("NotoSansDevanagari-Regular.ttf", "NotoSansDevanagari-Bold.ttf"),
    "japanese": ("NotoSansCJKjp-Regular.otf", "NotoSansCJKjp-Bold.otf"),
    "chinese_simplified": ("NotoSansCJKsc-Regular.otf", "NotoSansCJKsc-Bold.otf"),
    "chinese_traditional": ("NotoSansCJKtc-Regular.otf", "NotoSansCJKtc-Bold.otf"),
    "korean": ("NotoSansCJKkr-Regular.otf", "NotoSansCJKkr-Bold.otf"),
}

#: Small per-script samples a font must render to count as covering the script.
SCRIPT_PROBES: dict[str, str] = {
    "latin": "AaGgQqZz09&?éüñ",
    "cyrillic": "АаБбЖжЩщЯяЁё",
    "greek": "ΑαΒβΓγΔδΩωσς",
    "arabic": "ابتجدهوزيكلمنسع",
    "hebrew": "אבגדהוזחטיכלמנשת",
    "thai": "กขคงจฉชดตนบมยรสอะาำิีุู่้",
    "lao": "ກຂຄງຈສຊຍດຕຖທນບປຜຝພຟມຢຣລວຫອຮະາິີ",
    "khmer": "កខគឃងចឆជឈញដឋឌឍណតថទធនបផពភមយរលវសហឡអ",
    "myanmar": "ကခဂဃငစဆဇဈညဋဌဍဎဏတထဒဓနပဖဗဘမယရလဝသဟဠအ",
    "devanagari": "अआकखगचजतदनपमयरलवसह्ािीुे",
    "japanese": "あいうえおアイウエオ日本語。「」ー",
    "chinese_simplified": "简体中文汉字这们说。",
    "chinese_traditional": "繁體中文漢字這們說。",
    "korean": "한국어가나다라마바사",
}


# --------------------------------------------------------------------------- lookup


def _env_font_dirs() -> list[Path]:
    raw = settings.get(FONT_DIRS_ENV)
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def font_search_dirs(extra: Sequence[Path | str] = ()) -> list[Path]:
    """Folders searched for font files, in priority order (duplicates removed).

    ``extra`` (e.g. the brand kit folder) first, then the bundled fonts, then
    ``$CREATIVE_ASSETS_FONT_DIRS``, then the system font folders that exist.
    """
    dirs: list[Path] = [Path(p) for p in extra]
    dirs.append(BUNDLED_FONTS_DIR)
    dirs.extend(_env_font_dirs())
    dirs.extend(d for d in SYSTEM_FONT_DIRS if _is_dir(d))
    seen: set[str] = set()
    out: list[Path] = []
    for d in dirs:
        key = os.path.normcase(os.path.abspath(d))
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


@functools.lru_cache(maxsize=64)
def _font_index(folder: str) -> dict[str, str]:
    """``{file name (case-folded): path}`` of every font file below ``folder`` (first found wins)."""
    index: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames.sort()
        for name in sorted(filenames):
            if os.path.splitext(name)[1].lower() in FONT_SUFFIXES:
                index.setdefault(name.casefold(), os.path.join(dirpath, name))
    return index


def resolve_font_file(name: str, search_dirs: Iterable[Path | str]) -> Path:
    """Find font file ``name`` (a file name, relative path or absolute path).

    Each folder is checked for ``folder/name`` first; folders other than the bundled one are then
    searched recursively (cached walk; file names compared case-insensitively).

    Raises:
        FileNotFoundError: naming the file and every folder searched.
    """
    candidate = Path(name).expanduser()
    if candidate.is_absolute():
        if candidate.is_file():
            return candidate
        raise FileNotFoundError(f"font file {name!r} does not exist")
    dirs = [Path(d) for d in search_dirs]
    for folder in dirs:
        direct = folder / candidate
        if direct.is_file():
            return direct
        if folder == BUNDLED_FONTS_DIR or not _is_dir(folder):
            continue
        hit = _font_index(str(folder)).get(candidate.name.casefold())
        if hit:
            return Path(hit)
    searched = ", ".join(str(d) for d in dirs) or "(no folders)"
    raise FileNotFoundError(f"font file {name!r} not found; searched: {searched}")


def bundled_font(script: str, bold: bool) -> Path:
    """The bundled Noto face for ``script``."""
    regular, bold_name = SCRIPT_FALLBACKS[_check_script(script)]
    return BUNDLED_FONTS_DIR / (bold_name if bold else regular)


def clear_font_caches() -> None:
    """Forget cached folder walks, loaded fonts and coverage results (e.g. after installing fonts)."""
    _font_index.cache_clear()
    _load_font.cache_clear()
    _probe_font.cache_clear()
    _notdef_signature.cache_clear()
    _bitmap.cache_clear()
    _coverage_cache.clear()


# --------------------------------------------------------------------------- scripts

_KANA = ((0x3040, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F), (0x1B000, 0x1B16F))
_HANGUL = (
    (0xAC00, 0xD7AF),
    (0x1100, 0x11FF),
    (0x3130, 0x318F),
    (0xA960, 0xA97F),
    (0xD7B0, 0xD7FF),
    (0xFFA0, 0xFFDC),
)
_HAN = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F), (0x3005, 0x3007))
_OTHER_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "arabic": ((0x0600, 0x06FF), (0x0750, 0x077F), (0x0870, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)),
    "hebrew": ((0x0590, 0x05FF), (0xFB1D, 0xFB4F)),
    "thai": ((0x0E00, 0x0E7F),),
    "lao": ((0x0E80, 0x0EFF),),
    "khmer": ((0x1780, 0x17FF), (0x19E0, 0x19FF)),
    "myanmar": ((0x1000, 0x109F), (0xA9E0, 0xA9FF), (0xAA60, 0xAA7F)),
    "devanagari": ((0x0900, 0x097F), (0xA8E0, 0xA8FF)),
    "cyrillic": ((0x0400, 0x052F), (0x1C80, 0x1C8F), (0x2DE0, 0x2DFF), (0xA640, 0xA69F)),
    "greek": ((0x0370, 0x03FF), (0x1F00, 0x1FFF)),
}


def _in(cp: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(lo <= cp <= hi for lo, hi in ranges)


def detect_script(text: str, hint: str | None = None) -> str:
    """The script key a font for ``text`` must cover.

    CJK wins over everything else because a CJK face is needed as soon as one such character
    appears: any kana -> ``japanese``; else any Hangul -> ``korean``; else any Han -> ``hint`` if it
    is a CJK key, otherwise ``chinese_simplified``. Otherwise the most frequent of Arabic, Hebrew,
    Thai, Devanagari, Cyrillic and Greek letters; text with none of them is ``latin``.
    """
    counts = dict.fromkeys(("kana", "hangul", "han", *_OTHER_RANGES), 0)
    for ch in text:
        cp = ord(ch)
        if cp < 0x0370:
            continue
        if _in(cp, _KANA):
            counts["kana"] += 1
        elif _in(cp, _HANGUL):
            counts["hangul"] += 1
        elif _in(cp, _HAN):
            counts["han"] += 1
        else:
            for script, ranges in _OTHER_RANGES.items():
                if _in(cp, ranges):
                    counts[script] += 1
                    break
    if counts["kana"]:
        return "japanese"
    if counts["hangul"]:
        return "korean"
    if counts["han"]:
        return hint if hint in CJK_SCRIPTS else "chinese_simplified"
    best = max(_OTHER_RANGES, key=lambda s: counts[s])
    return best if counts[best] else "latin"


_LANG_SCRIPTS = {
    "ja": "japanese",
    "ko": "korean",
    "ar": "arabic",
    "fa": "arabic",
    "ur": "arabic",
    "ps": "arabic",
    "ug": "arabic",
    "ckb": "arabic",
    "he": "hebrew",
    "iw": "hebrew",
    "yi": "hebrew",
    "th": "thai",
    "lo": "lao",
    "km": "khmer",
    "my": "myanmar",
    "hi": "devanagari",
    "mr": "devanagari",
    "ne": "devanagari",
    "sa": "devanagari",
    "ru": "cyrillic",
    "uk": "cyrillic",
    "bg": "cyrillic",
    "be": "cyrillic",
    "mk": "cyrillic",
    "sr": "cyrillic",
    "kk": "cyrillic",
    "ky": "cyrillic",
    "mn": "cyrillic",
    "tg": "cyrillic",
    "el": "greek",
}
_SCRIPT_SUBTAGS = {
    "latn": "latin",
    "cyrl": "cyrillic",
    "arab": "arabic",
    "hebr": "hebrew",
    "grek": "greek",
    "thai": "thai",
    "laoo": "lao",
    "khmr": "khmer",
    "mymr": "myanmar",
    "deva": "devanagari",
    "jpan": "japanese",
    "kore": "korean",
    "hans": "chinese_simplified",
    "hant": "chinese_traditional",
}


def script_for_locale(tag: str) -> str:
    """Script key for a BCP 47 locale tag (``ja-JP`` -> ``japanese``, ``zh-TW`` -> ``chinese_traditional``).

    An explicit script subtag wins (``zh-Hant-CN``, ``sr-Latn``). Chinese without one is traditional for
    TW/HK/MO and simplified otherwise. Unknown languages are ``latin``.
    """
    parts = [p for p in tag.replace("_", "-").split("-") if p]
    if not parts:
        return "latin"
    lang = parts[0].lower()
    script_sub = next((p.lower() for p in parts[1:] if len(p) == 4 and p.isalpha()), None)
    region = next((p.upper() for p in parts[1:] if (len(p) == 2 and p.isalpha()) or p.isdigit()), None)
    if script_sub in _SCRIPT_SUBTAGS:
        return _SCRIPT_SUBTAGS[script_sub]
    if lang == "zh":
        return "chinese_traditional" if region in {"TW", "HK", "MO"} else "chinese_simplified"
    return _LANG_SCRIPTS.get(lang, "latin")


def _check_script(script: str) -> str:
    if script not in SCRIPT_FALLBACKS:
        raise ValueError(f"unknown script {script!r}; expected one of {', '.join(SCRIPTS)}")
    return script


# --------------------------------------------------------------------------- loading


def raqm_available() -> bool:
    """Whether Pillow has libraqm (complex shaping, bidi, OpenType features)."""
    return _raqm()


@functools.lru_cache(maxsize=1)
def _raqm() -> bool:
    try:
        return bool(features.check("raqm"))
    except Exception:  # pragma: no cover - broken feature probe
        return False


@functools.lru_cache(maxsize=512)
def _load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    engine = ImageFont.Layout.RAQM if _raqm() else ImageFont.Layout.BASIC
    return ImageFont.truetype(path, size=size, layout_engine=engine)


# --------------------------------------------------------------------------- colour emoji

#: The colour emoji font (SIL OFL 1.1). Not bundled (11 MB): Debian/Ubuntu ``fonts-noto-color-emoji``
#: (scripts/bootstrap.sh and the Dockerfile install it), or any folder of the font search path.
EMOJI_FONT = "NotoColorEmoji.ttf"
#: Noto Color Emoji is a CBDT bitmap font with one strike: FreeType opens it at this size only; the
#: renderer draws at this size and scales the bitmaps to the text size.
EMOJI_BITMAP_SIZE = 109


def emoji_font(extra: Sequence[Path | str] = ()) -> Path | None:
    """The colour emoji font on the font search path (kit folder first), or None when absent."""
    try:
        return resolve_font_file(EMOJI_FONT, font_search_dirs(extra))
    except FileNotFoundError:
        return None


def is_bitmap_font(path: Path | str) -> bool:
    """Whether the font has fixed bitmap strikes only (a CBDT colour emoji font)."""
    return _bitmap(os.fspath(path))


@functools.lru_cache(maxsize=64)
def _bitmap(path: str) -> bool:
    try:
        ImageFont.truetype(path, size=_PROBE_SIZE)
    except OSError:
        return True
    return False


def load_font(path: Path | str, size: int) -> ImageFont.FreeTypeFont:
    """Load (cached) ``path`` at ``size`` px, with the RAQM layout engine when available."""
    if size < 1:
        raise ValueError(f"font size must be >= 1, got {size}")
    return _load_font(os.fspath(path), int(size))


# --------------------------------------------------------------------------- coverage

_PROBE_SIZE = 40
_UNASSIGNED = "\U0010fffd"  # private-use plane 16: no real font maps it, so it renders as .notdef
_coverage_cache: dict[tuple[str, str], bool] = {}


@functools.lru_cache(maxsize=64)
def _probe_font(path: str) -> ImageFont.FreeTypeFont:
    # BASIC layout maps characters one by one through the cmap: exactly what coverage means.
    try:
        return ImageFont.truetype(path, size=_PROBE_SIZE, layout_engine=ImageFont.Layout.BASIC)
    except OSError:  # a bitmap-only (CBDT) colour font has one fixed strike
        return ImageFont.truetype(path, size=EMOJI_BITMAP_SIZE, layout_engine=ImageFont.Layout.BASIC)


def _signature(font: ImageFont.FreeTypeFont, ch: str) -> tuple[object, ...]:
    mask, offset = font.getmask2(ch, mode="L")
    return (tuple(offset), mask.size, bytes(mask))


@functools.lru_cache(maxsize=64)
def _notdef_signature(path: str) -> tuple[object, ...]:
    return _signature(_probe_font(path), _UNASSIGNED)


def _ignorable(ch: str) -> bool:
    if ch.isspace():
        return True
    cp = ord(ch)
    if 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF:  # variation selectors
        return True
    return unicodedata.category(ch) in {"Cc", "Cf", "Zs", "Zl", "Zp", "Cs"}


def missing_glyphs(font_path: Path | str, text: str) -> list[str]:
    """Characters of ``text`` (unique, in order) that ``font_path`` has no glyph for.

    Whitespace, control and format characters (ZWJ, ZWNJ, LRM/RLM, ...) and variation selectors are
    ignored. Detection renders each character and compares it with the font's ``.notdef`` glyph (the
    rendering of an unassigned code point), so it needs nothing but Pillow.
    """
    path = os.fspath(font_path)
    font = _probe_font(path)
    notdef = _notdef_signature(path)
    missing: list[str] = []
    seen: set[str] = set()
    for ch in text:
        if ch in seen or _ignorable(ch):
            continue
        seen.add(ch)
        key = (path, ch)
        covered = _coverage_cache.get(key)
        if covered is None:
            covered = _signature(font, ch) != notdef
            if len(_coverage_cache) > 200_000:
                _coverage_cache.clear()
            _coverage_cache[key] = covered
        if not covered:
            missing.append(ch)
    return missing


def covers(font_path: Path | str, text: str) -> bool:
    return not missing_glyphs(font_path, text)


# --------------------------------------------------------------------------- brand kit fonts


@dataclass(frozen=True)
class FontChoice:
    """The font picked for a role and script, and why."""

    path: Path
    requested: str | None  # the kit's file name (None when the kit names nothing usable)
    fallback: bool  # True when a bundled Noto face replaced the kit's font
    reason: str = ""  # why the fallback happened

    def to_dict(self) -> dict[str, object]:
        return {
            "font": self.path.name,
            "requested": self.requested,
            "fallback": self.fallback,
            "reason": self.reason,
        }


def _kit_font_name(kit: BrandKit, role: Role, script: str) -> str:
    if role == "cta":
        role_fonts = kit.fonts.cta or kit.fonts.headline
    elif role in ("headline", "body"):
        role_fonts = getattr(kit.fonts, role)
    else:
        raise ValueError(f"unknown font role {role!r}; expected headline, body or cta")
    name = getattr(role_fonts, script, None)
    if not name and script in CJK_SCRIPTS:
        name = role_fonts.cjk
    return name or role_fonts.default


def choose_font(kit: BrandKit, role: Role, script: str, text: str = "") -> FontChoice:
    """Like :func:`font_for_role` but also says whether (and why) a bundled fallback was used.

    With ``text``, the kit font must also cover every character of ``text`` that the bundled face covers
    (not just the script probe), so a brand font missing one accented letter is replaced as a whole.
    """
    _check_script(script)
    name = _kit_font_name(kit, role, script)
    fallback = bundled_font(script, bold=role != "body")
    dirs = font_search_dirs([Path(kit.root)] if kit.root else [])
    try:
        path = resolve_font_file(name, dirs)
    except FileNotFoundError as exc:
        log.warning("brand kit %s: %s; using bundled %s", kit.slug, exc, fallback.name)
        return FontChoice(fallback, name, True, f"{name} not found")
    try:
        gaps = missing_glyphs(path, SCRIPT_PROBES[script])
        if text:  # characters of the text the kit font lacks but the bundled face can draw
            gaps += [
                c for c in missing_glyphs(path, text) if c not in gaps and not missing_glyphs(fallback, c)
            ]
    except OSError as exc:
        log.warning(
            "brand kit %s: cannot open font %s (%s); using bundled %s", kit.slug, path, exc, fallback.name
        )
        return FontChoice(fallback, name, True, f"{name} unreadable: {exc}")
    if gaps:
        sample = "".join(gaps[:10])
        return FontChoice(fallback, name, True, f"{name} lacks {len(gaps)} {script} glyph(s): {sample}")
    return FontChoice(path, name, False)


def font_for_role(kit: BrandKit, role: Role, script: str, text: str = "") -> Path:
    """Font file for ``role`` (headline/body/cta) in ``script``.

    Kit lookup: ``fonts.<role>`` (``cta`` falls back to ``headline``) -> its ``<script>`` entry ->
    ``cjk`` for the CJK scripts -> ``default``; the file is resolved with the kit folder searched first.
    If the file cannot be found or does not cover the script (or ``text``), the bundled Noto face for
    the script is returned (bold for headline/cta, regular for body).
    """
    return choose_font(kit, role, script, text).path
