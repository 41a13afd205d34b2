"""Template previews and contact sheets: a template rendered with sample copy, no campaign needed.

:func:`render_preview` draws one template at one placement with sample copy in several scripts
(Latin, CJK, Arabic, Thai by default), through the same path the pipeline uses (plan_layout, scene,
branding, final text), and draws the placement's safe area and every slot box over it, so a designer
iterating on a template file sees what each slot does. :func:`contact_sheet` lays out a grid of
rendered creatives with labels. Pure functions (Pillow), no Dagster, no storage.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from creative_assets.brand_kit import BrandKit
from creative_assets.placements import Placement
from creative_assets.render.branding import apply_branding
from creative_assets.render.candidates import kit_templates, logo_aspect
from creative_assets.render.finals import LocaleText, render_final
from creative_assets.render.fonts import BUNDLED_FONTS_DIR, font_for_role
from creative_assets.render.layout import Layout, plan_layout
from creative_assets.render.product_mask import product_visibility
from creative_assets.render.scenes import compose_scene, render_generated_product, scene_palette
from creative_assets.stages import CopyVariant, FinalRender


@dataclass(frozen=True)
class Sample:
    """Sample copy for one script."""

    label: str
    locale: LocaleText
    copy: CopyVariant


#: Sample copy per script (the preview's four panels): realistic lengths, one long word each.
SAMPLES: tuple[Sample, ...] = (
    Sample(
        "Latin (en)",
        LocaleText("en", "ltr", "latin", "spaces"),
        CopyVariant(
            candidate=0,
            headline="Stay bright all summer long",
            subline="Sparkling Citrus",
            cta="Shop now",
            disclaimer="Offer valid while stocks last.",
            disclaimer_short="T&Cs apply.",
            badge="-20%",
        ),
    ),
    Sample(
        "CJK (ja)",
        LocaleText("ja", "ltr", "japanese", "cjk"),
        CopyVariant(
            candidate=0,
            headline="この夏は、ずっと輝いて",
            subline="スパークリング・シトラス",
            cta="今すぐ購入",
            disclaimer="在庫がなくなり次第終了します。",
            disclaimer_short="条件あり。",
            badge="20%オフ",
        ),
    ),
    Sample(
        "Arabic (ar)",
        LocaleText("ar", "rtl", "arabic", "spaces"),
        CopyVariant(
            candidate=0,
            headline="تألق طوال الصيف",
            subline="حمضيات فوارة",
            cta="تسوق الآن",
            disclaimer="العرض ساري حتى نفاد الكمية.",
            disclaimer_short="تطبق الشروط.",
            badge="خصم 20%",
        ),
    ),
    Sample(
        "Thai (th)",
        LocaleText("th", "ltr", "thai", "thai"),
        CopyVariant(
            candidate=0,
            headline="สดใสตลอดฤดูร้อน",
            subline="ซิตรัสสปาร์คกลิ้ง",
            cta="ซื้อเลย",
            disclaimer="ข้อเสนอมีจำนวนจำกัด",
            disclaimer_short="มีเงื่อนไข",
            badge="ลด 20%",
        ),
    ),
)

SAFE_COLOUR = (230, 30, 60)
SLOT_COLOURS = {
    "product": (20, 160, 90),
    "headline": (30, 90, 220),
    "subline": (30, 150, 220),
    "cta": (200, 110, 0),
    "legal": (120, 60, 180),
    "badge": (200, 0, 160),
    "logo": (90, 90, 90),
}


def render_creative(
    kit: BrandKit,
    template: str,
    placement: Placement,
    sample: Sample,
    *,
    style: str = "studio",
    emphasis: int = 0,
    product: Image.Image | None = None,
    product_name: str = "Sparkling Citrus",
    seed: int = 7,
    focus: tuple[float, float] | None = None,
) -> tuple[Image.Image, FinalRender, Layout]:
    """One creative for ``placement`` with ``template`` and ``sample`` copy, rendered as the pipeline
    renders the offline candidate (scene, product, logo, copy). ``product``: an RGBA cut-out; without
    one, the product is drawn like a generated packshot."""
    rules = kit.logo_placement
    layout = plan_layout(
        placement.name,
        placement.size,
        template,
        sample.locale.direction,  # type: ignore[arg-type]
        logo_aspect=logo_aspect(kit),
        **rules.layout_arguments(),
        templates=kit_templates(kit),
        placement=placement,
    )
    pal = scene_palette(kit.palette.model_dump(), emphasis)
    if product is None:
        font = str(font_for_role(kit, "headline", "latin"))
        # the packshot's own label is in the product's (source) name, as on the shelf
        product, _ = render_generated_product(
            product_name, "slim can", pal, font, layout.product_box[3] - layout.product_box[1]
        )
    scene, bbox, footprint = compose_scene(
        placement.size,
        style,
        pal,
        seed,
        product,
        layout.product_box,
        layout.text_region,
        layout.product_treatments,
        focus,
    )
    branded, logo = apply_branding(scene, layout, kit)
    image, report = render_final(branded, layout, sample.copy, kit, sample.locale, logo, bbox)
    report = report.model_copy(
        update={
            "product": footprint,
            "product_visible": product_visibility(footprint, branded, image, [logo.box]),
        }
    )
    return image, report, layout


def _label_font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(BUNDLED_FONTS_DIR / "NotoSans-Bold.ttf"), size)


def draw_slots(image: Image.Image, layout: Layout) -> Image.Image:
    """A copy of ``image`` with the safe area (dashed red) and every slot box outlined and named."""
    out = image.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    width = max(2, round(layout.short_side / 300))
    font = _label_font(max(10, round(layout.short_side / 40)))
    x0, y0, x1, y1 = layout.safe_box
    dash = width * 6
    for x in range(x0, x1, dash * 2):
        draw.line((x, y0, min(x + dash, x1), y0), fill=SAFE_COLOUR, width=width)
        draw.line((x, y1, min(x + dash, x1), y1), fill=SAFE_COLOUR, width=width)
    for y in range(y0, y1, dash * 2):
        draw.line((x0, y, x0, min(y + dash, y1)), fill=SAFE_COLOUR, width=width)
        draw.line((x1, y, x1, min(y + dash, y1)), fill=SAFE_COLOUR, width=width)
    boxes = {
        "product": layout.product_box,
        "headline": layout.headline_box,
        "subline": layout.subline_box,
        "cta": layout.cta_box,
        "legal": layout.disclaimer_box,
        "logo": layout.logo_box,
    }
    if layout.badge_box is not None:
        boxes["badge"] = layout.badge_box
    for name, box in boxes.items():
        colour = SLOT_COLOURS[name]
        draw.rectangle(box, outline=colour, width=width)
        draw.text((box[0] + width * 2, box[1] + width), name, fill=colour, font=font)
    return out


def render_preview(
    kit: BrandKit,
    template: str,
    placement: Placement,
    samples: tuple[Sample, ...] = SAMPLES,
    panel_height: int = 720,
) -> Image.Image:
    """The template at ``placement`` once per sample script, slots and safe area drawn, side by side."""
    panels = []
    for sample in samples:
        image, _, layout = render_creative(kit, template, placement, sample)
        panels.append((sample.label, draw_slots(image, layout)))
    return contact_sheet(
        [panels],
        title=f"{kit.display_name} - template {template} - {placement.label}",
        cell_height=panel_height,
        cell_width=round(panel_height * 1.4) if placement.aspect > 1.4 else None,
    )


def contact_sheet(
    rows: list[list[tuple[str, Image.Image]]],
    title: str = "",
    cell_height: int = 420,
    gap: int = 16,
    cell_width: int | None = None,
) -> Image.Image:
    """A grid: each row a list of (label, image). Every image is scaled to ``cell_height``, or, with
    ``cell_width``, to fit inside a ``cell_width`` x ``cell_height`` cell (banners stay readable)."""
    label_h = 30
    font, title_font = _label_font(16), _label_font(26)

    def fit(im: Image.Image) -> Image.Image:
        scale = cell_height / im.height
        if cell_width is not None:
            scale = min(scale, cell_width / im.width)
        return im.resize(
            (max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.LANCZOS
        )

    scaled = [[(label, fit(im)) for label, im in row] for row in rows]
    widths = [[cell_width or im.width for _, im in row] for row in scaled]
    width = max(sum(ws) + gap * (len(ws) + 1) for ws in widths)
    top = 50 if title else gap
    height = top + len(scaled) * (cell_height + label_h + gap) + gap
    sheet = Image.new("RGB", (width, height), (245, 245, 245))
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((gap, 12), title, fill=(20, 20, 20), font=title_font)
    y = top
    for row, ws in zip(scaled, widths, strict=True):
        x = gap
        for (label, im), w in zip(row, ws, strict=True):
            draw.text((x, y), label, fill=(40, 40, 40), font=font)
            sheet.paste(im, (x, y + label_h))
            x += w + gap
        y += cell_height + label_h + gap
    return sheet
