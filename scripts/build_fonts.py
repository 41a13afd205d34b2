#!/usr/bin/env python
"""Rebuild the fonts bundled in ``creative_assets/fonts/`` from a system Noto installation.

This is a *build* step, not a runtime one: it needs fontTools (``pip install fonttools``), which
the package itself does not depend on.

* Non-CJK Noto faces are copied unchanged from ``--noto-dir`` (Debian/Ubuntu: ``fonts-noto-core``).
* CJK faces are extracted from the Noto Sans CJK collections in ``--cjk-dir`` (``fonts-noto-cjk``)
  and subset to the characters of one national character set each, so the repository stays small:

  ==  ==========================================================================
  jp  everything encodable in cp932 (JIS X 0208 + NEC/IBM extensions) plus
      JIS X 0213 (shift_jis_2004), kana, CJK punctuation, full/half-width forms
  sc  GB 2312
  tc  Big5
  kr  KS X 1001 (euc_kr; Python's codec also covers all 11,172 Hangul syllables)
  ==  ==========================================================================

  Every subset also keeps ASCII, Latin-1, general punctuation and a handful of common symbols
  and the OpenType features ``ccmp locl liga calt kern mark palt halt fwid hwid pwid``
  (no vertical forms).

Usage::

    pip install fonttools
    python scripts/build_fonts.py                 # writes creative_assets/fonts/
    python scripts/build_fonts.py --out /tmp/f    # somewhere else
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "creative_assets" / "fonts"
DEFAULT_NOTO_DIR = Path("/usr/share/fonts/truetype/noto")
DEFAULT_CJK_DIR = Path("/usr/share/fonts/opentype/noto")

COPIED = (
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
    "NotoSansLao-Regular.ttf",
    "NotoSansLao-Bold.ttf",
    "NotoSansKhmer-Regular.ttf",
    "NotoSansKhmer-Bold.ttf",
    "NotoSansMyanmar-Regular.ttf",
    "NotoSansMyanmar-Bold.ttf",
)

#: region -> codecs whose encodable characters make up the subset
CJK_CODECS = {
    "jp": ("cp932", "shift_jis_2004"),
    "sc": ("gb2312",),
    "tc": ("big5",),
    "kr": ("euc_kr",),
}

#: Unicode ranges every CJK subset keeps (inclusive)
COMMON_RANGES = (
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1 supplement
    (0x2010, 0x2027),  # dashes, quotes, bullets, ellipsis
    (0x2030, 0x203B),  # per mille, primes, guillemets, reference mark
    (0x20A9, 0x20A9),  # won sign
    (0x20AC, 0x20AC),  # euro sign
    (0x2116, 0x2116),  # numero sign
    (0x2122, 0x2122),  # trade mark
    (0x2190, 0x2193),  # arrows
    (0x2460, 0x2473),  # circled numbers
    (0x25A0, 0x25A1),  # squares
    (0x25B2, 0x25B3),  # triangles
    (0x25CB, 0x25CF),  # circles
    (0x2605, 0x2606),  # stars
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x30FB, 0x30FC),  # katakana middle dot, prolonged sound mark (CJK-wide)
    (0xFF01, 0xFF60),  # full-width forms
    (0xFFE0, 0xFFE6),  # full-width signs
)
#: extra ranges per region
REGION_RANGES = {
    "jp": ((0x3041, 0x309F), (0x30A0, 0x30FF), (0x31F0, 0x31FF), (0xFF61, 0xFF9F)),  # kana, half-width kana
    "sc": (),
    "tc": ((0x3105, 0x312F),),  # bopomofo
    "kr": ((0x3131, 0x318E), (0xFFA0, 0xFFDC)),  # compatibility jamo, half-width jamo
}

#: OpenType language system each regional face keeps; the other languages' ``locl`` rules would pull in
#: thousands of alternate glyphs (another region's forms, served by that region's own face instead)
LANGSYS = {"jp": "JAN ", "sc": "ZHS ", "tc": "ZHT ", "kr": "KOR "}

LAYOUT_FEATURES = ["ccmp", "locl", "liga", "calt", "kern", "mark", "palt", "halt", "fwid", "hwid", "pwid"]


def charset(region: str) -> set[int]:
    chars: set[int] = set()
    for lo, hi in COMMON_RANGES + REGION_RANGES[region]:
        chars.update(range(lo, hi + 1))
    for codec in CJK_CODECS[region]:
        for cp in range(0x20, 0x10000):
            if 0xD800 <= cp < 0xE000 or cp in chars:
                continue
            try:
                chr(cp).encode(codec)
            except UnicodeEncodeError:
                continue
            chars.add(cp)
    return chars


def _keep_only_langsys(font, keep: str) -> None:
    """Drop every non-default OpenType language system except ``keep`` from GSUB/GPOS."""
    for tag in ("GSUB", "GPOS"):
        if tag not in font:
            continue
        for record in font[tag].table.ScriptList.ScriptRecord:
            script = record.Script
            script.LangSysRecord = [r for r in script.LangSysRecord if r.LangSysTag == keep]
            script.LangSysCount = len(script.LangSysRecord)


def build_cjk(cjk_dir: Path, out: Path, weight: str, region: str) -> Path:
    from fontTools import subset
    from fontTools.ttLib import TTCollection

    ps_name = f"NotoSansCJK{region}-{weight}"
    collection = TTCollection(str(cjk_dir / f"NotoSansCJK-{weight}.ttc"), lazy=True)
    font = next((f for f in collection.fonts if f["name"].getDebugName(6) == ps_name), None)
    if font is None:
        raise SystemExit(f"{ps_name} not found in {cjk_dir / f'NotoSansCJK-{weight}.ttc'}")
    _keep_only_langsys(font, LANGSYS[region])
    options = subset.Options()
    options.layout_features = LAYOUT_FEATURES
    options.name_IDs = ["*"]
    options.name_languages = [0x0409]
    options.notdef_outline = True  # keep the .notdef box: render.fonts.missing_glyphs compares against it
    options.hinting = True
    options.desubroutinize = False
    options.drop_tables += ["vhea", "vmtx", "VORG"]  # no vertical text
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=charset(region))
    subsetter.subset(font)
    target = out / f"{ps_name}.otf"
    font.save(str(target))
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--noto-dir", type=Path, default=DEFAULT_NOTO_DIR, help="folder with Noto *.ttf")
    parser.add_argument("--cjk-dir", type=Path, default=DEFAULT_CJK_DIR, help="folder with NotoSansCJK-*.ttc")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--skip-cjk", action="store_true", help="only copy the non-CJK faces")
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in COPIED:
        src = args.noto_dir / name
        if not src.is_file():
            raise SystemExit(f"missing {src}; install fonts-noto-core or pass --noto-dir")
        shutil.copyfile(src, args.out / name)
        written.append(args.out / name)
    if not args.skip_cjk:
        for region in CJK_CODECS:
            for weight in ("Regular", "Bold"):
                written.append(build_cjk(args.cjk_dir, args.out, weight, region))
                print(f"built {written[-1].name}", file=sys.stderr)
    for path in written:
        print(f"{path.stat().st_size / 1e6:7.2f} MB  {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
