"""``glyph_coverage``: every character drawn with a real glyph (see :func:`check_glyphs` for how
fallback fonts count)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from creative_assets.compliance.outcome import CheckOutcome, Finding, make_outcome
from creative_assets.render.fonts import (
    CJK_SCRIPTS,
    bundled_font,
    detect_script,
    emoji_font,
    font_search_dirs,
    missing_glyphs,
    resolve_font_file,
)
from creative_assets.render.segmentation import emoji_in
from creative_assets.stages import TextBlockReport

if TYPE_CHECKING:
    from creative_assets.compliance.context import CreativeContext

FontResolver = Callable[[str], Path]


def default_font_resolver(extra_dirs: Sequence[Path | str] = ()) -> FontResolver:
    """Resolve a report's font file name like the renderer does (extra dirs, bundled, env, system)."""
    dirs = font_search_dirs(list(extra_dirs))

    def resolve(name: str) -> Path:
        return resolve_font_file(name, dirs)

    return resolve


def _is_bold_name(name: str) -> bool:
    stem = Path(name).stem.lower()
    return any(w in stem for w in ("bold", "black", "heavy"))


def _fallback_chain(font: Path, text: str, missing: Sequence[str], main: str) -> list[Path]:
    """The fonts ``render.text`` falls back to for ``missing`` characters: the bundled face of each
    character's script (bold if the block font is), then Noto Sans."""
    bold = _is_bold_name(font.name)
    hint = main if main in CJK_SCRIPTS else None
    chain: list[Path] = []
    for ch in missing:
        candidate = bundled_font(detect_script(ch, hint), bold)
        if candidate not in chain:
            chain.append(candidate)
    latin = bundled_font("latin", bold)
    if latin not in chain:
        chain.append(latin)
    emoji = emoji_font() if emoji_in(text) else None
    if emoji is not None:  # the renderer draws emoji clusters with the colour emoji font
        chain.append(emoji)
    return chain


def _codes(chars: Sequence[str]) -> str:
    return ", ".join(f"'{c}' U+{ord(c):04X}" for c in chars)


def check_glyphs(
    blocks: Sequence[TextBlockReport], font_resolver: FontResolver | Sequence[Path | str] | None = None
) -> CheckOutcome:
    """ERROR for characters of a block drawn without a real glyph, naming them and their code points.

    ``font_resolver`` maps a report's font file name to a path (default: the renderer's search order;
    a sequence of folders is searched first).

    The renderer (``render.text``) draws characters the block font lacks with fallback fonts (the
    bundled Noto face of the character's script, then Noto Sans), because e.g. the Hebrew and Thai
    Noto faces have no digits or Latin letters. Checking the block font alone would fail every Hebrew
    ad with a price in it, so the rule is:

    * a character no font of that fallback chain covers would be tofu: ERROR;
    * a **letter of the block's own script** (``fonts.detect_script`` of the block text) the block
      font lacks is an ERROR too, even though a fallback draws it: the block is then set in the wrong
      face (Japanese copy in NotoSans-Regular.ttf comes out entirely in the fallback face);
    * anything else the block font lacks but a fallback covers (digits, punctuation, symbols, a Latin
      brand name in Arabic copy) passes; the count is reported as figure ``fallback_chars``.
    """
    if font_resolver is None:
        resolve = default_font_resolver()
    elif callable(font_resolver):
        resolve = font_resolver
    else:
        resolve = default_font_resolver(font_resolver)
    findings: list[Finding] = []
    chars_total = chars_missing = fallback = 0
    for block in blocks:
        text = block.text
        chars_total += sum(1 for c in text if not c.isspace())
        try:
            path = resolve(block.font)
        except FileNotFoundError as exc:
            findings.append(
                Finding(
                    check="glyph_coverage", severity="ERROR", message=f"{block.role}: {exc}", where=block.role
                )
            )
            continue
        missing = missing_glyphs(path, text)
        if not missing:
            continue
        main = detect_script(text)
        chain = _fallback_chain(path, text, missing, main)
        tofu, wrong_face = [], []
        for ch in missing:
            covered = any(not missing_glyphs(f, ch) for f in chain if f.is_file())
            if not covered:
                tofu.append(ch)
            elif (
                unicodedata.category(ch)[0] in "LM"
                and detect_script(ch, main if main in CJK_SCRIPTS else None) == main
            ):
                wrong_face.append(ch)
            else:
                fallback += 1
        problems = []
        if tofu:
            problems.append(
                f"no glyph in {block.font} or any fallback font for {len(tofu)} character(s): "
                f"{_codes(tofu)} (drawn as boxes)"
            )
        if wrong_face:
            problems.append(
                f"{block.font} has no glyph for {len(wrong_face)} {main} character(s): "
                f"{_codes(wrong_face[:12])}{' ...' if len(wrong_face) > 12 else ''}"
            )
        chars_missing += len(tofu) + len(wrong_face)
        findings += [
            Finding(
                check="glyph_coverage",
                severity="ERROR",
                message=f"{block.role} '{text}': {problem}",
                where=block.role,
            )
            for problem in problems
        ]
    figures = {
        "coverage": 1.0 - chars_missing / chars_total if chars_total else 1.0,
        "fallback_chars": fallback,
    }
    return make_outcome("glyph_coverage", findings, figures)


def run(ctx: CreativeContext) -> CheckOutcome:
    return check_glyphs(ctx.report.blocks, ctx.font_resolver)
