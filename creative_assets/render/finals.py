"""Final creative composition: headline, sub-line, CTA button and legal line over a branded candidate.

Text is fitted into its region (largest size that fits, never clipped), coloured for contrast, and
given the first of its template's allowed treatments (``render/treatments.py``: none, an edge
gradient, a brand-colour panel, a knockout) whose measured contrast reaches WCAG AA, 4.5:1. Every
decision and measurement is returned in a :class:`FinalRender` report. Pure function.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from PIL import Image, ImageDraw

from creative_assets.brand_kit import BrandKit
from creative_assets.render.color import (
    contrast_against_pixels,
    contrast_ratio,
    hex_to_rgb,
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
from creative_assets.render.treatments import (
    TextGround,
    Treated,
    apply_treatment,
    block_contrast,
    grow_box,
    knock_out,
    knockout_block_contrast,
    legible_colour,
    sample_pixels,
    translucent_box,
    union_box,
)
from creative_assets.render.type_sizes import floor_px
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
    #: the price / promo badge: its text, the shape it stands on, and the text's box in that shape
    badge: TextLayout | None = None
    badge_shape: Box | None = None
    badge_text_box: Box | None = None
    #: the template's optional sub-line could not reach its minimum size and is left out
    sub_omitted: bool = False

    def blocks(self) -> list[tuple[str, TextLayout, Box]]:
        """``(role, layout, box it is fitted to)`` per block: headline, sub-line (unless left out),
        CTA, the badge when there is one, legal line last when there is one."""
        out = [("headline", self.head, self.head_box)]
        if not self.sub_omitted:
            out.append(("subline", self.sub, self.sub_box))
        out.append(("cta", self.cta, self.cta_text_box))
        if self.badge is not None and self.badge_text_box is not None:
            out.append(("badge", self.badge, self.badge_text_box))
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
BADGE_SIZES = (0.042, 0.026)
BADGE_HEIGHT = 0.085  # the badge's shape, at most, as a fraction of the short side
DISCLAIMER_SIZES = (0.022, 0.017)


def _fit_headline(fit, copy: CopyVariant, font: str, box: Box, layout: Layout, loc: LocaleText, short: int):
    head_max = floor_px("headline", short * (0.115 if layout.placement_class != "landscape" else 0.10))
    head = fit(
        copy.headline,
        font,
        box,
        head_max,
        floor_px("headline", short * HEADLINE_MIN),
        loc,
        max_lines=4 if layout.placement_class == "vertical" else 3,
        headline=True,
    )
    if not head.fits:  # long copy: allow smaller type and more lines before giving up
        head = fit(
            copy.headline,
            font,
            box,
            head_max,
            floor_px("headline", short * HEADLINE_LONG_MIN),
            loc,
            None,
            headline=True,
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
            floor_px("headline", short * 0.04),
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

    # -- the legal line first: set at the bottom of its slot, and the copy above yields to it -----
    disc = dbox = None
    if copy.disclaimer:
        disc_box = layout.disclaimer_box

        def fit_legal(text: str) -> TextLayout:
            # the legal line's own script decides its font (often another script than the product name)
            font = str(font_for_role(kit, "body", detect_script(text, loc.script)))
            sizes = (
                floor_px("disclaimer", short * DISCLAIMER_SIZES[0]),
                floor_px("disclaimer", short * DISCLAIMER_SIZES[1]),
            )
            room_h = round(short * 0.06)
            slot_h = disc_box[3] - disc_box[1]
            if slot_h < room_h:  # a shallow slot (strip banners): within it if it can, else it grows up
                inside = fit(text, font, (0, 0, disc_box[2] - disc_box[0], slot_h), *sizes, loc, max_lines=2)
                if inside.fits:
                    return inside
            return fit(text, font, (0, 0, disc_box[2] - disc_box[0], room_h), *sizes, loc, max_lines=2)

        disc = fit_legal(copy.disclaimer)
        if not disc.fits and copy.disclaimer_short:  # too small a placement: the approved short form
            short_form = fit_legal(copy.disclaimer_short)
            if short_form.fits:
                disc = short_form
        dbox = (disc_box[0], disc_box[3] - disc.height, disc_box[2], disc_box[3])
    hb, sub_w_box = layout.headline_box, layout.subline_box
    legal_top = None  # the copy's lowest edge when the legal line runs under it
    if dbox is not None:
        gap_l = round(short * 0.006)
        if any(b[0] < dbox[2] and dbox[0] < b[2] for b in (hb, sub_w_box)) and dbox[1] > hb[1]:
            legal_top = dbox[1] - gap_l
            hb = (hb[0], hb[1], hb[2], min(hb[3], legal_top))
            sub_w_box = (
                sub_w_box[0],
                sub_w_box[1],
                sub_w_box[2],
                max(sub_w_box[1], min(sub_w_box[3], legal_top)),
            )

    # -- fit text ---------------------------------------------------------------------------------
    head = _fit_headline(fit, copy, head_font, hb, layout, loc, short)
    sub_h = sub_w_box[3] - sub_w_box[1]
    sub_max = floor_px("subline", short * SUBLINE_SIZES[0])
    sub_min = floor_px("subline", short * SUBLINE_SIZES[1])
    sub_long_min = floor_px("subline", short * SUBLINE_LONG_MIN)

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

    sub = fit_sub(sub_h, sub_min)
    if not sub.fits:  # a long product name: two lines, using the height the headline leaves unused
        spare = max(0, (hb[3] - hb[1]) - head.height)
        for min_size in (sub_min, sub_long_min):
            sub = fit_sub(sub_h + spare, min_size)
            if sub.fits:
                break
    if not sub.fits:
        # what the sub-line needs at its smallest size in two lines (if its words fit the width at all)
        need = fit(
            copy.subline,
            sub_font,
            (sub_w_box[0], 0, sub_w_box[2], 10**5),
            sub_long_min,
            sub_long_min,
            loc,
            max_lines=layout.subline_max_lines,
        )
        if need.fits:  # refit the headline a little smaller to make the room
            shorter = (hb[0], hb[1], hb[2], hb[3] - (need.height - sub_h))
            smaller = _fit_headline(fit, copy, head_font, shorter, layout, loc, short)
            if smaller.fits:
                head = smaller
                sub = fit_sub(sub_h + max(0, (hb[3] - hb[1]) - head.height), sub_long_min)

    gap_s = round(short * 0.018)
    crowded = False  # the headline cannot shrink enough for the sub-line to stand above the legal line
    if legal_top is not None and head.fits and sub.fits:
        # the copy stands above the legal line: a smaller headline makes the room, where one fits
        over = head.height + gap_s + sub.height - (legal_top - hb[1])
        if over > 0:
            box = (hb[0], hb[1], hb[2], hb[1] + head.height - over)
            smaller = _fit_headline(fit, copy, head_font, box, layout, loc, short)
            if smaller.fits:
                head = smaller
            else:
                crowded = True
    sub_omitted = layout.subline_optional and (crowded or not (sub.fits and head.fits))
    if sub_omitted:  # the template lets the product name go, and gives its room to the headline
        hb = (hb[0], hb[1], hb[2], max(hb[3], sub_w_box[3]))
        head = _fit_headline(fit, copy, head_font, hb, layout, loc, short)
        sub = replace(sub, lines=(), line_widths=(), width=0, height=0, fits=True, problem="", notes=())
        gap_s = 0

    # -- stack headline + sub-line (+ CTA for side layouts) ---------------------------------------
    hx0, hx1 = hb[0], hb[2]

    def recentre(box: Box) -> int:
        """With no legal line, and a template that says so: half the legal slot's height under
        ``box``, by which the copy or the CTA above it moves down to centre on the full height."""
        lb = layout.disclaimer_box
        if not layout.recentre_without_legal or copy.disclaimer or not (box[0] < lb[2] and lb[0] < box[2]):
            return 0
        return max(0, (lb[3] - box[3]) // 2)

    text_dy, cta_dy = recentre((hb[0], hb[1], hb[2], max(hb[3], sub_w_box[3]))), recentre(layout.cta_box)
    gap_c = round(short * 0.035)
    cta_h = layout.cta_box[3] - layout.cta_box[1]
    stacked_cta = layout.cta_stacked
    group_h = head.height + gap_s + sub.height + ((gap_c + cta_h) if stacked_cta else 0)
    if layout.text_anchor == "top":
        top = hb[1] + text_dy
    elif layout.text_anchor == "bottom":
        top = sub_w_box[3] + text_dy - (head.height + gap_s + sub.height)
    else:
        region_top, region_bottom = hb[1], max(layout.cta_box[3], hb[3]) + 2 * text_dy
        top = region_top + max(0, (region_bottom - region_top - group_h) // 2)
    text_h = head.height + gap_s + sub.height
    if legal_top is not None and top + text_h > legal_top:  # never into the legal line
        top = max(hb[1], legal_top - text_h)
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
        cx0, cy0, cx1, cy1 = layout.cta_box
        cta_area = (cx0, cy0 + cta_dy, cx1, cy1 + cta_dy)

    # -- CTA button geometry ----------------------------------------------------------------------
    pad_x = round(cta_h * 0.55)
    pad_y = round(cta_h * 0.03)  # line metrics already include leading; ink sits well inside
    cta_max_w = cta_area[2] - cta_area[0]

    def fit_cta(pad: int, min_size: float, lines: int) -> TextLayout:
        room = (0, 0, cta_max_w - 2 * pad, cta_h - 2 * pad_y)
        return fit(
            copy.cta,
            cta_font,
            room,
            floor_px("cta", short * CTA_SIZES[0]),
            floor_px("cta", short * min_size),
            loc,
            lines,
            "center",
        )

    cta = fit_cta(pad_x, CTA_SIZES[1], 1)
    if not cta.fits:  # a long CTA in a narrow column: tighter side padding before giving up
        pad_x = round(cta_h * 0.28)
        cta = fit_cta(pad_x, CTA_SIZES[2], 1)
    if not cta.fits and cta_h - 2 * pad_y >= 2.4 * floor_px("cta", short * CTA_SIZES[2]):
        cta = fit_cta(pad_x, CTA_SIZES[2], 2)  # a narrow button tall enough: the label on two lines
    btn_w = max(cta.width + 2 * pad_x, round(short * 0.28))
    btn_w = min(btn_w, cta_area[2] - cta_area[0])
    if loc.direction == "rtl":
        button: Box = (cta_area[2] - btn_w, cta_area[1], cta_area[2], cta_area[1] + cta_h)
    else:
        button = (cta_area[0], cta_area[1], cta_area[0] + btn_w, cta_area[1] + cta_h)
    cta_box_text: Box = (button[0] + pad_x, button[1] + pad_y, button[2] - pad_x, button[3] - pad_y)

    badge = badge_shape = badge_text = None
    if copy.badge and layout.badge_box is not None:
        badge, badge_shape, badge_text = _plan_badge(fit, copy.badge, kit, layout, loc, short)
    return TextPlan(
        head,
        sub,
        cta,
        disc,
        head_box,
        sub_box_final,
        button,
        cta_box_text,
        dbox,
        stacked_cta,
        badge,
        badge_shape,
        badge_text,
        sub_omitted,
    )


def _plan_badge(fit, text: str, kit: BrandKit, layout: Layout, loc: LocaleText, short: int):
    """The badge's text fitted on one line (two for a long offer) in a shape at the start of the
    template's badge slot: as wide as its text and padding, at least as wide as it is tall."""
    bb = layout.badge_box
    assert bb is not None
    height = min(bb[3] - bb[1], round(short * BADGE_HEIGHT))
    pad_x, pad_y = round(height * 0.4), round(height * 0.06)
    font = str(font_for_role(kit, "cta", detect_script(text, loc.script)))

    def fit_badge(room_h: int, lines: int) -> TextLayout:
        room = (0, 0, bb[2] - bb[0] - 2 * pad_x, room_h)
        sizes = floor_px("badge", short * BADGE_SIZES[0]), floor_px("badge", short * BADGE_SIZES[1])
        return fit(text, font, room, *sizes, loc, lines, "center")

    lay = fit_badge(height - 2 * pad_y, 1)
    if not lay.fits and pad_y:  # a small canvas: the text may use the shape's whole height
        pad_y = 0
        lay = fit_badge(height, 1)
    if not lay.fits and bb[3] - bb[1] >= 1.6 * height:  # a long offer: two lines in a taller shape
        height = min(bb[3] - bb[1], round(height * 1.6))
        lay = fit_badge(height - 2 * pad_y, 2)
    width = min(bb[2] - bb[0], max(lay.width + 2 * pad_x, height))
    x0 = bb[2] - width if loc.direction == "rtl" else bb[0]
    shape: Box = (x0, bb[1], x0 + width, bb[1] + height)
    top = shape[1] + max(0, (height - lay.height) // 2)  # centred in the shape, set from its top
    inner: Box = (shape[0] + pad_x, top, shape[2] - pad_x, top + lay.height)
    return lay, shape, inner


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
    from: ``plan`` (the :class:`TextPlan`) and ``backing`` (the canvas with its text treatment and accent
    rule, before the CTA button and the text are drawn)."""
    W, H = branded.size
    short = layout.type_base  # the short side (banners: a larger base, see Layout.type_base)
    pal = kit.palette
    text_colours = [hex_to_rgb(pal.text_on_light), hex_to_rgb(pal.text_on_dark)]
    plan = plan_text(layout, copy, kit, loc)
    head, sub, cta = plan.head, plan.sub, plan.cta
    head_box, sub_box_final, button = plan.head_box, plan.sub_box, plan.button

    # -- legibility: the template's treatments in its order of preference, the first that reads ----
    regions = ink_boxes(head, head_box, "top") + ink_boxes(sub, sub_box_final, "top")
    ground = TextGround(
        text_area=union_box(regions),
        head_regions=ink_boxes(head, head_box, "top"),
        sub_regions=ink_boxes(sub, sub_box_final, "top"),
        button=button,
        product_bbox=product_bbox,
        knockout_ok=not emoji_boxes(head, head_box, "top"),
    )
    base = branded.convert("RGB")
    trials: list[Treated] = []
    for name in layout.text_treatments or ("none",):
        trial = apply_treatment(name, base, ground, layout, kit)
        if trial is None:
            continue
        trials.append(trial)
        if trial.contrast >= AA_NORMAL:
            break
    chosen = trials[-1] if trials and trials[-1].contrast >= AA_NORMAL else None
    if chosen is None:  # none reads: the best measured (the check then says by how much it falls short)
        chosen = (
            max(trials, key=lambda t: t.contrast)
            if trials
            else apply_treatment("none", base, ground, layout, kit)
        )
    image, colour, treatment = chosen.image, chosen.colour, chosen.name

    # accent rule introducing the headline
    if chosen.name not in ("panel", "knockout"):  # a panel is itself the device (and may be the accent)
        _accent_rule(image, layout, head_box, kit, loc.direction, short)

    # -- CTA colours: button must stand out from its surroundings (3:1), label must read (4.5:1) -----
    around = sample_pixels(image, grow_box(button, round(short * 0.02), (W, H)))
    fills = shape_fills(pal)
    fill = max(
        fills, key=lambda f: (min(contrast_against_pixels(f, around, 10), NON_TEXT + 1), -fills.index(f))
    )
    button_contrast = contrast_against_pixels(fill, around, 10)
    if layers is not None:
        layers["plan"] = plan
        layers["backing"] = image.copy()
    # the badge (shape and text) is an element of its own: in motion it comes in whole, like a line
    badge_colour = _badge_shape(image, plan, layout, kit, fill, text_colours)
    cta_h = button[3] - button[1]
    radius = {"pill": cta_h // 2, "rounded": round(cta_h * 0.2), "square": 0}[kit.cta_style]
    ImageDraw.Draw(image).rounded_rectangle(button, radius=radius, fill=fill)
    cta_colour = max([*text_colours, (255, 255, 255), (0, 0, 0)], key=lambda c: contrast_ratio(c, fill))
    cta_box_text = plan.cta_text_box

    # -- draw text --------------------------------------------------------------------------------
    blocks: list[TextBlockReport] = []
    for role, lay, box in (("headline", head, head_box), ("subline", sub, sub_box_final)):
        if role == "subline" and plan.sub_omitted:
            continue
        if role == "headline" and chosen.knockout_fill is not None:
            fill_rgb = chosen.knockout_fill
            ink = knock_out(image, base, lay, box)
            measured = knockout_block_contrast(image, fill_rgb, ink_boxes(lay, box, "top"))
            blocks.append(_report(role, lay, box, ink, fill_rgb, measured, knockout=True))
            continue
        measured = block_contrast(image, colour, ink_boxes(lay, box, "top"))  # before the text covers it
        ink = draw_text(image, lay, box, colour, "top")
        blocks.append(_report(role, lay, box, ink, colour, measured))
    ink = draw_text(image, cta, cta_box_text, cta_colour, "center")
    blocks.append(_report("cta", cta, cta_box_text, ink, cta_colour, contrast_ratio(cta_colour, fill)))

    if plan.badge is not None and plan.badge_text_box is not None and badge_colour is not None:
        bcol, bbox = badge_colour, plan.badge_text_box
        lines = ink_boxes(plan.badge, bbox, "top")
        measured = block_contrast(image, bcol, lines) if lines else 21.0
        ink = draw_text(image, plan.badge, bbox, bcol, "top")
        blocks.append(_report("badge", plan.badge, bbox, ink, bcol, measured))

    if plan.disc is not None and plan.disc_box is not None:
        disc, dbox = plan.disc, plan.disc_box
        lines = ink_boxes(disc, dbox, "top")
        dcol, dratio = legible_colour(image, text_colours, lines)
        if dratio < AA_NORMAL:
            strip = grow_box(union_box(lines), round(short * 0.012), (W, H))
            backing = hex_to_rgb(pal.neutral_dark if dcol == text_colours[1] else pal.neutral_light)
            translucent_box(image, strip, backing, 0.85, round(short * 0.01))
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
        treatment_contrasts={t.name: round(t.contrast, 2) for t in trials},
        blocks=blocks,
        omitted=["subline"] if plan.sub_omitted else [],
        cta_button=button,
        cta_fill=rgb_to_hex(fill),
        cta_button_contrast=round(button_contrast, 2),
        logo=logo,
        product_bbox=product_bbox,
    )


def shape_fills(pal) -> list[tuple]:
    """The colours a CTA button or a badge may be filled with, accent first."""
    return [
        hex_to_rgb(c) for c in (pal.accent, pal.primary, pal.secondary, pal.neutral_dark, pal.neutral_light)
    ]


def _badge_shape(image: Image.Image, plan: TextPlan, layout: Layout, kit: BrandKit, cta_fill, text_colours):
    """Draw the badge's shape (template treatment ``panel``: a brand colour that stands out 3:1 from
    what is around it, other than the CTA's where another one does) and return the colour its text
    is set in; for treatment ``none`` only the colour (the text reads on the imagery itself, measured).
    None when the creative has no badge."""
    if plan.badge is None or plan.badge_shape is None:
        return None
    pal = kit.palette
    shape = plan.badge_shape
    short = layout.type_base
    if "panel" not in layout.badge_treatments:
        lines = ink_boxes(plan.badge, plan.badge_text_box, "top")
        colour, _ = legible_colour(image, [*text_colours, (255, 255, 255), (0, 0, 0)], lines)
        return colour
    around = sample_pixels(image, grow_box(shape, round(short * 0.02), image.size))
    fills = shape_fills(pal)
    fill = max(
        fills,
        key=lambda f: (
            min(contrast_against_pixels(f, around, 10), NON_TEXT + 1),
            f != tuple(cta_fill),  # not the CTA's colour when another stands out as well
            -fills.index(f),
        ),
    )
    h = shape[3] - shape[1]
    radius = round(h * 0.18) if kit.cta_style == "pill" else h // 2  # never shaped like the CTA button
    ImageDraw.Draw(image).rounded_rectangle(shape, radius=radius, fill=fill)
    return max([*text_colours, (255, 255, 255), (0, 0, 0)], key=lambda c: contrast_ratio(c, fill))


def _report(
    role: str, lay: TextLayout, box: Box, ink: Box, colour, contrast: float, knockout: bool = False
) -> TextBlockReport:
    return TextBlockReport(
        knockout=knockout,
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
