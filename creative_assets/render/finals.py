"""Final creative composition: headline, sub-line, CTA button and legal line over a branded candidate.

Text is fitted into its region (largest size that fits, never clipped), coloured for contrast, and
given a scrim or panel only when the pixels behind it would make it unreadable (WCAG AA, 4.5:1).
Every decision and measurement is returned in a :class:`FinalRender` report. Pure function.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from creative_assets.brand_kit import BrandKit
from creative_assets.render.color import (
    contrast_against_pixels,
    contrast_ratio,
    hex_to_rgb,
    relative_luminance,
    rgb_to_hex,
)
from creative_assets.render.fonts import RTL_SCRIPTS, detect_script, font_for_role
from creative_assets.render.layout import Box, Layout
from creative_assets.render.text import (
    TextLayout,
    TextSpec,
    draw_text,
    emoji_boxes,
    fit_text,
    ink_boxes,
)
from creative_assets.stages import (
    CopyVariant,
    FinalRender,
    LogoReport,
    TextBlockReport,
)

AA_NORMAL = 4.5
AA_LARGE = 3.0
NON_TEXT = 3.0


@dataclass(frozen=True)
class LocaleText:
    """What the text engine needs to know about the locale."""

    language_code: str
    direction: str
    script: str
    line_breaking: str


def _union(boxes: list[Box]) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _grow(box: Box, by: int, limit: tuple[int, int]) -> Box:
    return (max(0, box[0] - by), max(0, box[1] - by), min(limit[0], box[2] + by), min(limit[1], box[3] + by))


def _pixels(image: Image.Image, box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return np.zeros((0, 3))
    region = image.crop(box)
    if region.width * region.height > 40_000:  # measure on a bounded sample
        f = (40_000 / (region.width * region.height)) ** 0.5
        region = region.resize(
            (max(1, int(region.width * f)), max(1, int(region.height * f))), Image.Resampling.BOX
        )
    return np.asarray(region.convert("RGB"), np.float64).reshape(-1, 3)


def _fit(
    text: str,
    font: str,
    box: Box,
    max_size: int,
    min_size: int,
    loc: LocaleText,
    max_lines: int | None,
    align: str = "start",
    headline: bool = False,
) -> TextLayout:
    """Fit ``text`` in ``box``. Direction follows the text's own script (an English legal line in a
    Hebrew ad runs left to right), alignment follows the locale (it still hugs the right edge)."""
    script = detect_script(text, loc.script)
    direction = "rtl" if script in RTL_SCRIPTS else "ltr"
    if align == "start" and direction != loc.direction:
        align = "end"
    spec = TextSpec(
        text=text,
        font_path=font,
        max_size=max_size,
        min_size=min_size,
        max_lines=max_lines,
        align=align,
        direction=direction,
        language=loc.language_code if script == loc.script else None,
        line_breaking=loc.line_breaking if script == loc.script else "spaces",
        avoid_single_word_lines=headline,
    )
    return fit_text(spec, box[2] - box[0], box[3] - box[1])


def _fit_at_minimum(
    text: str, font: str, box: Box, max_size: int, min_size: int, *args, **kwargs
) -> TextLayout:
    """:func:`_fit` at ``min_size`` only: can the text fit at all (the preflight's question)."""
    return _fit(text, font, box, min_size, min_size, *args, **kwargs)


_PHRASE_END = "、。，！？"


def phrase_breaks(text: str) -> str | None:
    """``text`` with a line break after each CJK phrase-ending mark (None if there is none inside)."""
    out, changed = [], False
    for i, ch in enumerate(text):
        out.append(ch)
        if ch in _PHRASE_END and i < len(text) - 1 and text[i + 1] not in _PHRASE_END + "」』）\n":
            out.append("\n")
            changed = True
    return "".join(out) if changed else None


def _block_box(layout: TextLayout, x0: int, x1: int, y: int) -> Box:
    return (x0, y, x1, y + layout.height)


@dataclass(frozen=True)
class TextPlan:
    """Every text block of one creative fitted and placed (no pixels): what :func:`render_final` draws
    and what the preflight (``creative_assets.preflight``) checks before anything is generated."""

    head: TextLayout
    sub: TextLayout
    cta: TextLayout
    disc: TextLayout | None
    head_box: Box
    sub_box: Box
    button: Box
    cta_text_box: Box
    disc_box: Box | None
    stacked_cta: bool

    def blocks(self) -> list[tuple[str, TextLayout, Box]]:
        """``(role, layout, box it is fitted to)`` per block, legal line last when there is one."""
        out = [("headline", self.head, self.head_box), ("subline", self.sub, self.sub_box)]
        out.append(("cta", self.cta, self.cta_text_box))
        if self.disc is not None and self.disc_box is not None:
            out.append(("disclaimer", self.disc, self.disc_box))
        return out


#: Type sizes per role as fractions of the short side: (max, min). The headline may go down to its
#: second minimum (with any number of lines) before it counts as not fitting.
HEADLINE_MIN, HEADLINE_LONG_MIN = 0.045, 0.036
SUBLINE_SIZES = (0.05, 0.03)
SUBLINE_LONG_MIN = 0.025  # a long product name may shrink this far (compliance minimum: 0.024)
SUBLINE_MAX_LINES = 2  # default; a template's subline.max_lines overrides it (Layout.subline_max_lines)
CTA_SIZES = (0.042, 0.026, 0.024)
DISCLAIMER_SIZES = (0.022, 0.017)


def _fit_headline(fit, copy: CopyVariant, font: str, box: Box, layout: Layout, loc: LocaleText, short: int):
    head_max = round(short * (0.115 if layout.placement_class != "landscape" else 0.10))
    head = fit(
        copy.headline,
        font,
        box,
        head_max,
        round(short * HEADLINE_MIN),
        loc,
        max_lines=4 if layout.placement_class == "vertical" else 3,
        headline=True,
    )
    if not head.fits:  # long copy: allow smaller type and more lines before giving up
        head = fit(
            copy.headline, font, box, head_max, round(short * HEADLINE_LONG_MIN), loc, None, headline=True
        )
    phrased = phrase_breaks(copy.headline) if loc.line_breaking == "cjk" else None
    if phrased and len(head.lines) > 1:
        # CJK has no spaces: prefer breaking after 、。 (whole phrases) over the tightest character
        # wrap, unless that costs more than a fifth of the type size
        alt = fit(
            phrased,
            font,
            box,
            head_max,
            round(short * 0.04),
            loc,
            max_lines=phrased.count("\n") + 1,
            headline=True,
        )  # one phrase per line, none split
        if alt.fits and alt.font_size >= 0.8 * head.font_size:
            head = alt
    return head


def plan_text(
    layout: Layout, copy: CopyVariant, kit: BrandKit, loc: LocaleText, *, at_minimum: bool = False
) -> TextPlan:
    """Fit and place headline, sub-line, CTA and legal line for one layout (pure; no pixels).

    The sub-line (the product name) may take two lines: it borrows the height the headline leaves
    unused in its box, and when that is not enough the headline is refitted a little smaller so that
    the sub-line's two lines at its minimum size fit. Only when that fails too does a block not fit.

    ``at_minimum``: every block at its minimum size only (no size search): whether the copy can fit
    at all, which is what the preflight asks, in a fraction of the time.
    """
    short = layout.type_base  # the short side (banners: a larger base, see Layout.type_base)
    fit = _fit_at_minimum if at_minimum else _fit
    head_font = str(font_for_role(kit, "headline", detect_script(copy.headline, loc.script)))
    sub_font = str(font_for_role(kit, "body", detect_script(copy.subline, loc.script)))
    cta_font = str(font_for_role(kit, "cta", detect_script(copy.cta, loc.script)))

    # -- fit text ---------------------------------------------------------------------------------
    hb = layout.headline_box
    head = _fit_headline(fit, copy, head_font, hb, layout, loc, short)
    sub_w_box = layout.subline_box
    sub_h = sub_w_box[3] - sub_w_box[1]
    sub_max = round(short * SUBLINE_SIZES[0])

    def fit_sub(room: int, min_size: int) -> TextLayout:
        return fit(
            copy.subline,
            sub_font,
            (sub_w_box[0], 0, sub_w_box[2], room),
            sub_max,
            min_size,
            loc,
            max_lines=layout.subline_max_lines,
        )

    sub = fit_sub(sub_h, round(short * SUBLINE_SIZES[1]))
    if not sub.fits:  # a long product name: two lines, using the height the headline leaves unused
        spare = max(0, (hb[3] - hb[1]) - head.height)
        for min_size in (round(short * SUBLINE_SIZES[1]), round(short * SUBLINE_LONG_MIN)):
            sub = fit_sub(sub_h + spare, min_size)
            if sub.fits:
                break
    if not sub.fits:
        # what the sub-line needs at its smallest size in two lines (if its words fit the width at all)
        need = fit(
            copy.subline,
            sub_font,
            (sub_w_box[0], 0, sub_w_box[2], 10**5),
            round(short * SUBLINE_LONG_MIN),
            round(short * SUBLINE_LONG_MIN),
            loc,
            max_lines=layout.subline_max_lines,
        )
        if need.fits:  # refit the headline a little smaller to make the room
            shorter = (hb[0], hb[1], hb[2], hb[3] - (need.height - sub_h))
            smaller = _fit_headline(fit, copy, head_font, shorter, layout, loc, short)
            if smaller.fits:
                head = smaller
                sub = fit_sub(sub_h + max(0, (hb[3] - hb[1]) - head.height), round(short * SUBLINE_LONG_MIN))

    # -- stack headline + sub-line (+ CTA for side layouts) ---------------------------------------
    hx0, hx1 = hb[0], hb[2]
    gap_s = round(short * 0.018)
    gap_c = round(short * 0.035)
    cta_h = layout.cta_box[3] - layout.cta_box[1]
    stacked_cta = layout.cta_stacked
    group_h = head.height + gap_s + sub.height + ((gap_c + cta_h) if stacked_cta else 0)
    if layout.text_anchor == "top":
        top = hb[1]
    elif layout.text_anchor == "bottom":
        top = layout.subline_box[3] - (head.height + gap_s + sub.height)
    else:
        region_top, region_bottom = hb[1], layout.cta_box[3]
        top = region_top + max(0, (region_bottom - region_top - group_h) // 2)
    head_box = _block_box(head, hx0, hx1, top)
    sub_box_final = _block_box(sub, hx0, hx1, head_box[3] + gap_s)
    if stacked_cta:
        cta_area: Box = (
            layout.cta_box[0],
            sub_box_final[3] + gap_c,
            layout.cta_box[2],
            sub_box_final[3] + gap_c + cta_h,
        )
    else:
        cta_area = layout.cta_box

    # -- CTA button geometry ----------------------------------------------------------------------
    pad_x = round(cta_h * 0.55)
    pad_y = round(cta_h * 0.03)  # line metrics already include leading; ink sits well inside
    cta_max_w = cta_area[2] - cta_area[0]
    cta = fit(
        copy.cta,
        cta_font,
        (0, 0, cta_max_w - 2 * pad_x, cta_h - 2 * pad_y),
        round(short * CTA_SIZES[0]),
        round(short * CTA_SIZES[1]),
        loc,
        max_lines=1,
        align="center",
    )
    if not cta.fits:  # a long CTA in a narrow column: tighter side padding before giving up
        pad_x = round(cta_h * 0.28)
        cta = fit(
            copy.cta,
            cta_font,
            (0, 0, cta_max_w - 2 * pad_x, cta_h - 2 * pad_y),
            round(short * CTA_SIZES[0]),
            round(short * CTA_SIZES[2]),
            loc,
            max_lines=1,
            align="center",
        )
    btn_w = max(cta.width + 2 * pad_x, round(short * 0.28))
    btn_w = min(btn_w, cta_area[2] - cta_area[0])
    if loc.direction == "rtl":
        button: Box = (cta_area[2] - btn_w, cta_area[1], cta_area[2], cta_area[1] + cta_h)
    else:
        button = (cta_area[0], cta_area[1], cta_area[0] + btn_w, cta_area[1] + cta_h)
    cta_box_text: Box = (button[0] + pad_x, button[1] + pad_y, button[2] - pad_x, button[3] - pad_y)

    disc = dbox = None
    if copy.disclaimer:
        disc_box = layout.disclaimer_box
        # the legal line's own script decides its font (it is often in another script than the product name)
        disc_font = str(font_for_role(kit, "body", detect_script(copy.disclaimer, loc.script)))
        disc = fit(
            copy.disclaimer,
            disc_font,
            (0, 0, disc_box[2] - disc_box[0], round(short * 0.06)),
            round(short * DISCLAIMER_SIZES[0]),
            round(short * DISCLAIMER_SIZES[1]),
            loc,
            max_lines=2,
        )
        dbox = (disc_box[0], disc_box[3] - disc.height, disc_box[2], disc_box[3])
    return TextPlan(head, sub, cta, disc, head_box, sub_box_final, button, cta_box_text, dbox, stacked_cta)


def render_final(
    branded: Image.Image,
    layout: Layout,
    copy: CopyVariant,
    kit: BrandKit,
    loc: LocaleText,
    logo: LogoReport,
    product_bbox: Box,
    layers: dict | None = None,
) -> tuple[Image.Image, FinalRender]:
    """Compose the final creative for one candidate at one ratio.

    ``layers``, when given, receives what the motion animator (render/motion.py) builds its layers
    from: ``plan`` (the :class:`TextPlan`) and ``backing`` (the canvas with scrim or panel and accent
    rule, before the CTA button and the text are drawn)."""
    image = branded.convert("RGB").copy()
    W, H = image.size
    short = layout.type_base  # the short side (banners: a larger base, see Layout.type_base)
    pal = kit.palette
    text_colours = [hex_to_rgb(pal.text_on_light), hex_to_rgb(pal.text_on_dark)]
    plan = plan_text(layout, copy, kit, loc)
    head, sub, cta = plan.head, plan.sub, plan.cta
    head_box, sub_box_final, button = plan.head_box, plan.sub_box, plan.button
    stacked_cta = plan.stacked_cta

    # -- legibility: every block must reach AA on the pixels behind it; scrim or panel only if not -
    regions = ink_boxes(head, head_box, "top") + ink_boxes(sub, sub_box_final, "top")
    text_area = _union(regions)
    colour, ratio = legible_colour(image, text_colours, regions)
    treatment = "none"
    if ratio < AA_NORMAL:
        treatment = "scrim"
        _edge_scrim(image, text_area, layout, pal)
        colour, ratio = legible_colour(image, text_colours, regions)
        if ratio < AA_NORMAL:
            treatment = "panel"
            image = branded.convert("RGB").copy()
            panel_box = _grow(
                _union([text_area, button] if stacked_cta else [text_area]), round(short * 0.035), (W, H)
            )
            panel_box = _clear_of_logo(panel_box, text_area, layout.logo_box)
            _panel(image, panel_box, pal, short)
            colour, ratio = legible_colour(image, text_colours, regions)

    # accent rule introducing the headline
    _accent_rule(image, layout, head_box, kit, loc.direction, short)

    # -- CTA colours: button must stand out from its surroundings (3:1), label must read (4.5:1) -----
    around = _pixels(image, _grow(button, round(short * 0.02), (W, H)))
    fills = [
        hex_to_rgb(c) for c in (pal.accent, pal.primary, pal.secondary, pal.neutral_dark, pal.neutral_light)
    ]
    fill = max(
        fills, key=lambda f: (min(contrast_against_pixels(f, around, 10), NON_TEXT + 1), -fills.index(f))
    )
    button_contrast = contrast_against_pixels(fill, around, 10)
    if layers is not None:
        layers["plan"] = plan
        layers["backing"] = image.copy()
    cta_h = button[3] - button[1]
    radius = {"pill": cta_h // 2, "rounded": round(cta_h * 0.2), "square": 0}[kit.cta_style]
    ImageDraw.Draw(image).rounded_rectangle(button, radius=radius, fill=fill)
    cta_colour = max([*text_colours, (255, 255, 255), (0, 0, 0)], key=lambda c: contrast_ratio(c, fill))
    cta_box_text = plan.cta_text_box

    # -- draw text --------------------------------------------------------------------------------
    blocks: list[TextBlockReport] = []
    for role, lay, box in (("headline", head, head_box), ("subline", sub, sub_box_final)):
        measured = block_contrast(image, colour, ink_boxes(lay, box, "top"))  # before the text covers it
        ink = draw_text(image, lay, box, colour, "top")
        blocks.append(_report(role, lay, box, ink, colour, measured))
    ink = draw_text(image, cta, cta_box_text, cta_colour, "center")
    blocks.append(_report("cta", cta, cta_box_text, ink, cta_colour, contrast_ratio(cta_colour, fill)))

    if plan.disc is not None and plan.disc_box is not None:
        disc, dbox = plan.disc, plan.disc_box
        lines = ink_boxes(disc, dbox, "top")
        dcol, dratio = legible_colour(image, text_colours, lines)
        if dratio < AA_NORMAL:
            strip = _grow(_union(lines), round(short * 0.012), (W, H))
            backing = hex_to_rgb(pal.neutral_dark if dcol == text_colours[1] else pal.neutral_light)
            _translucent_box(image, strip, backing, 0.85, round(short * 0.01))
            dcol, dratio = legible_colour(image, text_colours, lines)
        ink = draw_text(image, disc, dbox, dcol, "top")
        blocks.append(_report("disclaimer", disc, dbox, ink, dcol, dratio))

    return image, FinalRender(
        ratio=layout.ratio,
        file="",
        width=W,
        height=H,
        layout=layout,
        treatment=treatment,
        blocks=blocks,
        cta_button=button,
        cta_fill=rgb_to_hex(fill),
        cta_button_contrast=round(button_contrast, 2),
        logo=logo,
        product_bbox=product_bbox,
    )


def _report(role: str, lay: TextLayout, box: Box, ink: Box, colour, contrast: float) -> TextBlockReport:
    return TextBlockReport(
        problem=lay.problem,
        notes=list(lay.notes),
        emoji_boxes=emoji_boxes(lay, box, "center" if role == "cta" else "top"),
        role=role,  # type: ignore[arg-type]
        text=lay.spec.text,
        font=lay.spec.font_path.rsplit("/", 1)[-1],
        size=lay.font_size,
        box=box,
        ink_bbox=ink,
        lines=list(lay.lines),
        fits=lay.fits,
        colour=rgb_to_hex(colour),
        contrast=round(float(contrast), 2),
    )


def block_contrast(image: Image.Image, colour, line_boxes: list[Box]) -> float:
    """WCAG contrast of ``colour`` against the pixels behind a text block: the worst line, each line
    measured over its ink box at the 5th percentile (a few stray pixels do not count, a patch does)."""
    return min(contrast_against_pixels(colour, _pixels(image, b)) for b in line_boxes)


def legible_colour(image: Image.Image, colours: list, regions: list[Box]) -> tuple[tuple, float]:
    """The colour whose worst line contrast is highest, and that worst contrast."""
    scored = [(block_contrast(image, c, regions), tuple(c)) for c in colours]
    ratio, colour = max(scored, key=lambda s: s[0])
    return colour, ratio


def _edge_scrim(image: Image.Image, text_area: Box, layout: Layout, pal) -> None:
    """A gradient band anchored to the canvas edge nearest the text: opaque-ish behind it, fading out
    past its end and feathered above and below (a deliberate band, not a floating smudge). Dark
    under light text on darker grounds, light under dark text on lighter grounds."""
    W, H = image.size
    short = layout.type_base  # the short side (banners: a larger base, see Layout.type_base)
    x0, y0, x1, y1 = text_area
    mean_lum = float(relative_luminance(_pixels(image, text_area)).mean())
    wash = hex_to_rgb(pal.neutral_dark) if mean_lum < 0.45 else hex_to_rgb(pal.neutral_light)
    fade = round(W * 0.18)
    feather = round(short * 0.07)
    xs = np.arange(W, dtype=np.float32)
    ys = np.arange(H, dtype=np.float32)
    # the band never reaches the logo's clear space (the logo was chosen for the ground it sits on):
    # beside the text it fades out before the logo, above or below it the band stops short of it
    lx0, ly0, lx1, ly1 = layout.logo_box
    clear = round((ly1 - ly0) * 0.5)
    beside = ly0 - clear < y1 and y0 < ly1 + clear
    if (x0 + x1) / 2 > W / 2:  # text on the right half: anchor the band to the right edge
        start = x0 - fade
        if beside and lx1 + clear <= x0:
            start = max(start, lx1 + clear)
        h_ramp = np.clip((xs - start) / max(1, x0 - start), 0, 1)
    else:
        end = x1 + fade
        if beside and lx0 - clear >= x1:
            end = min(end, lx0 - clear)
        h_ramp = np.clip((end - xs) / max(1, end - x1), 0, 1)
    pad = round(short * 0.03)
    top, bottom = y0 - pad - feather, y1 + pad + feather
    if ly1 <= y0:
        top = max(top, ly1 + clear)
    elif ly0 >= y1:
        bottom = min(bottom, ly0 - clear)
    rise, fall = max(1, (y0 - pad) - top), max(1, bottom - (y1 + pad))
    v_ramp = np.clip(np.minimum((ys - top) / rise, (bottom - ys) / fall), 0, 1)
    alpha = (0.86 * 255 * v_ramp[:, None] * h_ramp[None, :]).astype(np.uint8)
    image.paste(Image.new("RGB", image.size, wash), (0, 0), Image.fromarray(alpha, "L"))


def _clear_of_logo(box: Box, text_area: Box, logo: Box) -> Box:
    """``box`` shortened so it stays out of the logo's clear space (above or below the text)."""
    clear = round((logo[3] - logo[1]) * 0.5)
    x0, y0, x1, y1 = box
    if not (x0 < logo[2] + clear and logo[0] - clear < x1):
        return box
    if logo[3] <= text_area[1]:
        y0 = max(y0, min(text_area[1], logo[3] + clear))
    elif logo[1] >= text_area[3]:
        y1 = min(y1, max(text_area[3], logo[1] - clear))
    return (x0, y0, x1, y1)


def _panel(image: Image.Image, box: Box, pal, short: int) -> None:
    """A near-opaque brand-neutral panel: the text's own ground."""
    region = _pixels(image, box)
    light, dark = hex_to_rgb(pal.neutral_light), hex_to_rgb(pal.neutral_dark)
    mean = region.mean(axis=0) if len(region) else np.array([128, 128, 128])
    colour = light if contrast_ratio(light, mean) < contrast_ratio(dark, mean) else dark
    _translucent_box(image, box, colour, 0.93, round(short * 0.025))


def _translucent_box(image: Image.Image, box: Box, colour, opacity: float, radius: int) -> None:
    mask = Image.new("L", image.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle(box, radius=radius, fill=round(255 * opacity))
    image.paste(Image.new("RGB", image.size, colour), (0, 0), mask)


def _accent_rule(
    image: Image.Image, layout: Layout, head_box: Box, kit: BrandKit, direction: str, short: int
):
    w, h = round(short * 0.085), max(4, round(short * 0.010))
    y = head_box[1] - round(short * 0.02) - h
    x = head_box[0] if direction == "ltr" else head_box[2] - w
    logo = layout.logo_box
    if y < layout.safe_box[1]:  # never into the platform UI band above the safe area
        return
    if y <= logo[3] + round(short * 0.01) and x < logo[2] and x + w > logo[0]:
        return
    ImageDraw.Draw(image).rounded_rectangle(
        (x, y, x + w, y + h), radius=h // 2, fill=hex_to_rgb(kit.palette.accent)
    )
