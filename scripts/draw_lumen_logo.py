"""Draws brand_kits/lumen-skincare/logo.png: an ivory-on-transparent wordmark with no variants.

Lumen's guidelines forbid backing plates, so on light imagery the mark cannot be made legible: the
kit exists to demonstrate the logo compliance check (see examples/compliance-demo-2026).
"""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
FONT = ROOT / "creative_assets" / "fonts" / "NotoSerifDisplay-Bold.ttf"
INK = (242, 236, 226, 255)


def main() -> None:
    scale = 4
    w, h = 900 * scale, 260 * scale
    im = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    r = 95 * scale
    cx, cy = 130 * scale, h // 2
    d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=INK, width=16 * scale)
    d.ellipse((cx - r // 3, cy - r // 3, cx + r // 3, cy + r // 3), fill=INK)
    font = ImageFont.truetype(str(FONT), 190 * scale)
    d.text((270 * scale, cy), "lumen", font=font, fill=INK, anchor="lm")
    im = im.crop(im.getbbox()).resize(
        (
            im.getbbox()[2] // scale - im.getbbox()[0] // scale,
            im.getbbox()[3] // scale - im.getbbox()[1] // scale,
        ),
        Image.Resampling.LANCZOS,
    )
    im.save(ROOT / "brand_kits" / "lumen-skincare" / "logo.png")


if __name__ == "__main__":
    main()
