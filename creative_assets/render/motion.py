"""The offline animator: a short looping video made from the same layout plan as the final still.

Layers come from the still's own render, so every pixel of the settled frame is the still's:

- ``raw``: the candidate visual (image_candidates, no logo, no copy): the background, pushed in;
- ``branded``: ``raw`` + the brand's accent device and logo (branded_candidates);
- ``backing``: ``branded`` + the text treatment (gradient, panel, knockout) and accent rule (``render_final(layers=...)``);
- ``final``: ``backing`` + CTA button and text: the poster still.

Each layer is the difference to the one below it, cut by the plan's boxes (per text line, CTA button,
logo box). The product enters with a push-in, the text comes in line by line in reading order (each
line wiped in the script's direction, right to left for RTL, while it rises into place), the CTA
lands last, the creative cross-fades to an end card (logo and CTA on a brand colour) and the last
frames blend into the first, so the file loops. Timing and easing are data, one file per template
beside the template files (``templates/builtin/motion/<template>.yaml`` over ``default.yaml``; see
:func:`timing_for`), never code per layout.

Frames are produced one at a time (:meth:`Animator.frames`), for the encoder to stream.
:meth:`Animator.backdrop` renders the same frame without text, CTA and logo: what the per-frame
safe-zone check compares the file against. Pure: no Dagster, no storage.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from PIL import Image
from pydantic import BaseModel, ConfigDict

from creative_assets.motion_checks import Mark, unsafe_regions
from creative_assets.render.color import contrast_ratio, hex_to_rgb, relative_luminance
from creative_assets.render.layout import Box
from creative_assets.render.text import ink_boxes

#: motion timing files beside the built-in templates (creative_assets/templates/builtin/motion/)
MOTION_DIR = Path(__file__).parent.parent / "templates" / "builtin" / "motion"
DECODE_NOISE = 8
Easing = Literal["linear", "ease-out-cubic", "ease-in-out-cubic", "ease-out-back"]


class _Timing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProductMotion(_Timing):
    effect: Literal["push-in", "none"] = "push-in"
    start: float
    end: float
    scale_from: float = 1.1
    easing: Easing = "ease-out-cubic"


class TextMotion(_Timing):
    start: float
    stagger: float
    enter: float
    rise: float = 0.0
    easing: Easing = "ease-out-cubic"


class CtaMotion(_Timing):
    start: float
    enter: float
    rise: float = 0.0
    easing: Easing = "ease-out-back"


class EndCard(_Timing):
    start: float
    crossfade: float
    logo_width: float = 0.5
    background: Literal["primary", "secondary", "accent", "neutral_dark", "neutral_light"] = "primary"
    easing: Easing = "ease-in-out-cubic"


class LoopMotion(_Timing):
    crossfade: float = 0.03


class MotionTiming(_Timing):
    """Per-slot timing and easing of one layout, as fractions of the duration."""

    product: ProductMotion
    text: TextMotion
    cta: CtaMotion
    end_card: EndCard
    loop: LoopMotion

    def validate_order(self) -> None:
        if not 0 <= self.text.start < self.cta.start < self.end_card.start < 1:
            raise ValueError("motion timing: text must start before the CTA, the CTA before the end card")
        if self.end_card.start + self.end_card.crossfade > 1 - self.loop.crossfade:
            raise ValueError("motion timing: the end card must be on screen before the loop cross-fade")


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = (
            _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


@cache
def _timing_file(path: str) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def timing_for(template: str, kit_root: Path | str | None = None) -> MotionTiming:
    """The motion timing of a template: ``motion/default.yaml`` beside the built-in templates merged
    with the template's own ``motion/<template>.yaml``, looked up in the brand kit's
    ``templates/motion/`` first (a kit template brings its own motion), then beside the built-ins."""
    data = _timing_file(str(MOTION_DIR / "default.yaml"))
    folders = ([Path(kit_root) / "templates" / "motion"] if kit_root else []) + [MOTION_DIR]
    own = next((f / f"{template}.yaml" for f in folders if (f / f"{template}.yaml").is_file()), None)
    if own is not None:
        data = _merge(data, _timing_file(str(own)))
    timing = MotionTiming.model_validate(data)
    timing.validate_order()
    return timing


def ease(name: str, x: float) -> float:
    x = min(1.0, max(0.0, x))
    if name == "linear":
        return x
    if name == "ease-out-cubic":
        return 1 - (1 - x) ** 3
    if name == "ease-in-out-cubic":
        return 4 * x**3 if x < 0.5 else 1 - (-2 * x + 2) ** 3 / 2
    if name == "ease-out-back":
        c1 = 1.70158
        return 1 + (c1 + 1) * (x - 1) ** 3 + c1 * (x - 1) ** 2
    raise ValueError(f"unknown easing {name!r}")


def _progress(t: float, start: float, length: float) -> float:
    if length <= 0:
        return 1.0 if t >= start else 0.0
    return min(1.0, max(0.0, (t - start) / length))


class MotionElement(BaseModel):
    """One thing the viewer must see: where it settles and the frames it is fully shown in
    (``[first_frame, last_frame)``), for the checks and the manifest."""

    role: Literal[
        "headline", "subline", "badge", "disclaimer", "cta", "logo", "end_card_logo", "end_card_cta"
    ]
    text: str = ""
    box: Box
    first_frame: int
    last_frame: int


class MotionPlan(BaseModel):
    """The timeline of one video (frame numbers at its fps), kept in the manifest."""

    width: int
    height: int
    fps: int
    frames: int
    direction: Literal["ltr", "rtl"]
    safe_box: Box
    variant: str
    timing: MotionTiming
    elements: list[MotionElement]
    end_card_frame: int  # first frame the end card is fully shown
    end_card_colour: str
    #: frames [0, imagery_frames) show the imagery in full: the end card's cross-fade starts there
    imagery_frames: int = 0
    #: the legal line is on screen from the first frame (it carries the market's visible AI label, or
    #: revealed in turn it would not stay long enough to be read)
    legal_held: bool = False
    end_card_logo: str = "primary"  # the brand kit's logo variant on the end card


class MotionSource(BaseModel):
    """What the animator needs from the still's render, besides the four layer images."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    variant: str
    direction: Literal["ltr", "rtl"]
    safe_box: Box
    product_box: Box
    logo_box: Box
    cta_button: Box
    cta_fill: str
    #: (role, text, ink box) per line, in reading order (headline, sub-line, legal line)
    lines: list[tuple[str, str, Box]]
    palette: dict[str, str]
    #: the legal line carries the market's visible AI label: it is on screen from the first frame
    #: while the imagery is (like the logo), instead of revealed line by line. It is set on the
    #: imagery itself (a gradient or panel is behind the headline and sub-line only)
    hold_legal: bool = False
    #: per line (as ``lines``), the seconds it must stay fully on screen to be read (0: no need). A
    #: line that revealing in turn would show for less is held from the first frame instead
    read_s: list[float] = []


def text_lines(plan, blocks: dict[str, str]) -> list[tuple[str, str, Box]]:
    """Per-line ink boxes of a ``render.finals.TextPlan`` in reading order: headline, sub-line, the
    badge (its whole shape: it comes in with its text), legal line (the CTA is its own element).
    ``blocks``: role -> the block's text, for the manifest."""
    out = []
    for role, layout, box in plan.blocks():
        if role == "cta":
            continue
        if role == "badge" and plan.badge_shape is not None:  # the shape and its text, as one
            out.append((role, blocks.get(role, layout.spec.text), plan.badge_shape))
            continue
        for text, ink in zip(layout.lines, ink_boxes(layout, box, "top"), strict=True):
            if ink[2] > ink[0] and ink[3] > ink[1]:
                out.append((role, text, ink))
    return out


def _scale_box(box: Box, sx: float, sy: float) -> Box:
    return (math.floor(box[0] * sx), math.floor(box[1] * sy), math.ceil(box[2] * sx), math.ceil(box[3] * sy))


def _grow(box: Box, by: int, size: tuple[int, int]) -> Box:
    return (max(0, box[0] - by), max(0, box[1] - by), min(size[0], box[2] + by), min(size[1], box[3] + by))


class _Patch:
    """The pixels of one layer that differ from the layer below, inside a box: kept as their
    coordinates and colours, so painting costs what the element covers, not the canvas."""

    def __init__(self, top: np.ndarray, below: np.ndarray, box: Box, threshold: int = 0):
        x0, y0, x1, y1 = box
        diff = np.abs(top[y0:y1, x0:x1].astype(np.int16) - below[y0:y1, x0:x1].astype(np.int16))
        changed = diff.max(axis=2) > threshold
        ys, xs = np.nonzero(changed)
        self.box: Box = (int(x0), int(y0), int(x1), int(y1))
        self.ys, self.xs = ys + y0, xs + x0
        self.values = top[self.ys, self.xs]  # N x 3 uint8
        self.any = len(ys) > 0

    @property
    def pixels(self) -> np.ndarray:
        """The layer inside the box (h x w x 3 float32; zeros where it does not differ)."""
        x0, y0, x1, y1 = self.box
        out = np.zeros((y1 - y0, x1 - x0, 3), np.float32)
        out[self.ys - y0, self.xs - x0] = self.values
        return out

    @property
    def mask(self) -> np.ndarray:
        x0, y0, x1, y1 = self.box
        out = np.zeros((y1 - y0, x1 - x0), bool)
        out[self.ys - y0, self.xs - x0] = True
        return out

    def paint(
        self, frame: np.ndarray, opacity: float = 1.0, dy: int = 0, wipe: np.ndarray | None = None
    ) -> None:
        if opacity <= 0 or not self.any:
            return
        ys, xs, values = self.ys + dy, self.xs, self.values
        if dy:
            keep = (ys >= 0) & (ys < frame.shape[0])
            ys, xs, values = ys[keep], xs[keep], values[keep]
        if opacity >= 1 and wipe is None:
            frame[ys, xs] = values
            return
        alpha = np.full(len(ys), opacity, np.float32)
        if wipe is not None:
            alpha *= wipe[xs - self.box[0]]
        a = alpha[:, None]
        frame[ys, xs] = (frame[ys, xs] * (1 - a) + values * a + 0.5).astype(np.uint8)


class Animator:
    """Renders one looping video of one still at ``size`` (the still's aspect ratio)."""

    def __init__(
        self,
        raw: Image.Image,
        branded: Image.Image,
        backing: Image.Image,
        final: Image.Image,
        logos: dict[str, Image.Image],
        source: MotionSource,
        timing: MotionTiming,
        *,
        size: tuple[int, int],
        fps: int,
        duration_s: float,
        background_clip: bytes | None = None,
    ):
        W, H = size
        sw, sh = final.size
        if abs(W / H - sw / sh) > 0.01:
            raise ValueError(f"a {W}x{H} video cannot be made from a {sw}x{sh} still without cropping")
        sx, sy = W / sw, H / sh
        self.size = size
        self.fps = fps
        self.frames_total = round(duration_s * fps)
        self.timing = timing
        self.source = source

        def layer(im: Image.Image) -> Image.Image:
            im = im.convert("RGB")
            return im if im.size == size else im.resize(size, Image.Resampling.LANCZOS)

        self._raw_image = layer(raw)
        self.raw = np.asarray(self._raw_image)
        self.branded = np.asarray(layer(branded))
        self.backing = np.asarray(layer(backing))
        self.final = np.asarray(layer(final))
        box = lambda b: _grow(_scale_box(b, sx, sy), 2, size)  # noqa: E731
        self.safe_box = _scale_box(source.safe_box, sx, sy)
        self.product_box = _scale_box(source.product_box, sx, sy)
        short = min(W, H)
        full = (0, 0, W, H)
        logo_box = box(source.logo_box)
        # branded minus raw: the logo (in its box) and the accent device (everything else)
        # (the raw visual may be a JPEG the branded PNG was decoded from slightly differently: what
        # branding drew differs by far more than DECODE_NOISE levels)
        self.logo_patch = _Patch(self.branded, self.raw, logo_box, DECODE_NOISE)
        # the accent device: what branding changed outside the logo box
        accent_below = self.raw.copy()
        lx0, ly0, lx1, ly1 = logo_box
        accent_below[ly0:ly1, lx0:lx1] = self.branded[ly0:ly1, lx0:lx1]
        self.accent = _Patch(self.branded, accent_below, full, DECODE_NOISE)
        self.backing_patch = _Patch(self.backing, self.branded, full)
        # the settled frame without text, CTA and logo (what the safe-zone check may see outside it)
        self.settled_backdrop = self.backing.copy()
        self.settled_backdrop[self.logo_patch.ys, self.logo_patch.xs] = self.raw[
            self.logo_patch.ys, self.logo_patch.xs
        ]
        self._cache: dict[bool, tuple[tuple, np.ndarray]] = {}
        self._zoom_cache: tuple[float, np.ndarray] | None = None
        self._samples: dict[int, list[np.ndarray]] = {}
        self.lines = [
            (role, text, _Patch(self.final, self.backing, box(ink))) for role, text, ink in source.lines
        ]
        self.cta = _Patch(self.final, self.backing, box(source.cta_button))
        # an element rises into place from below, but never from outside the safe area (a line or
        # button that sits on the safe area's bottom edge rises less, or not at all)
        self.line_rises = [self._rise_within_safe(p, round(timing.text.rise * short)) for *_, p in self.lines]
        self.cta_rise_px = self._rise_within_safe(self.cta, round(timing.cta.rise * short))
        #: per line, its place in the reveal order; None: held from the first frame (the legal line
        #: that carries the AI label)
        held = {i for i, (role, _, _) in enumerate(self.lines) if source.hold_legal and role == "disclaimer"}
        while True:  # hold every line the reveal would not leave on screen long enough to read
            self._reveal(held)
            unread = {
                i for i in range(len(self.lines)) if i not in held and self._shown_s(i) < self._need_s(i)
            }
            if not unread:
                break
            held |= unread
        self.holds = any(
            o is None and line[0] == "disclaimer" for o, line in zip(self._order, self.lines, strict=True)
        )
        self.end_logo_variant, end_logo = self._end_card_logo(logos)
        self.end_colour, self.end_card, end_logo_box, end_cta_box = self._end_card(end_logo, short)
        self.end_card_backdrop = np.empty_like(self.end_card)
        self.end_card_backdrop[:] = np.array(hex_to_rgb(self.end_colour), np.uint8)
        self._first: tuple[np.ndarray, np.ndarray] | None = None
        #: a generated clip (resources/video_providers.py) replaces the push-in as the moving background
        self.clip = _ClipFrames(background_clip, size, fps) if background_clip is not None else None
        self.plan = self._plan(end_logo_box, end_cta_box)

    # -- the end card -------------------------------------------------------------------------------

    def _end_card_colour(self) -> str:
        pal = self.source.palette
        colour = pal[self.timing.end_card.background]
        fill = hex_to_rgb(self.source.cta_fill)
        if contrast_ratio(hex_to_rgb(colour), fill) < 1.5:  # the CTA button must stand out on it
            colour = max(
                (pal["neutral_dark"], pal["neutral_light"]), key=lambda c: contrast_ratio(hex_to_rgb(c), fill)
            )
        return colour

    def _end_card_logo(self, logos: dict[str, Image.Image]) -> tuple[str, Image.Image]:
        """(variant, image) of the kit's logo that reads on the end card's colour."""
        variant = readable_on(self._end_card_colour())
        return (variant, logos[variant]) if variant in logos else ("primary", logos["primary"])

    def _end_card(self, logo: Image.Image, short: int) -> tuple[str, np.ndarray, Box, Box]:
        W, H = self.size
        colour = self._end_card_colour()
        card = Image.new("RGB", (W, H), hex_to_rgb(colour))
        sx0, sy0, sx1, sy1 = self.safe_box
        logo = logo.convert("RGBA")
        width = round((sx1 - sx0) * self.timing.end_card.logo_width)
        height = round(width * logo.height / logo.width)
        max_height = round((sy1 - sy0) * 0.3)
        if height > max_height:
            height = max_height
            width = round(height * logo.width / logo.height)
        logo = logo.resize((max(1, width), max(1, height)), Image.Resampling.LANCZOS)
        cx = (sx0 + sx1) // 2
        cy = sy0 + round((sy1 - sy0) * 0.42)
        lx, ly = cx - width // 2, cy - height // 2
        card.paste(logo, (lx, ly), logo)
        arr = np.array(card)
        cta = self.cta
        bw, bh = cta.box[2] - cta.box[0], cta.box[3] - cta.box[1]
        bx, by = cx - bw // 2, ly + height + round(short * 0.06)
        region = arr[by : by + bh, bx : bx + bw].astype(np.float32)
        a = cta.mask[..., None]
        arr[by : by + bh, bx : bx + bw] = (region * (1 - a) + cta.pixels * a + 0.5).astype(np.uint8)
        return colour, arr, (lx, ly, lx + width, ly + height), (bx, by, bx + bw, by + bh)

    # -- timeline -----------------------------------------------------------------------------------

    def _rise_within_safe(self, patch: _Patch, rise: int) -> int:
        """How far below its place ``patch`` may start without leaving the safe area."""
        if not patch.any:
            return rise
        return max(0, min(rise, self.safe_box[3] - (int(patch.ys.max()) + 1)))

    def _t(self, frame: int) -> float:
        return frame / self.frames_total

    def _frame_at(self, fraction: float) -> int:
        return min(self.frames_total, math.ceil(fraction * self.frames_total - 1e-9))

    def _reveal(self, held: set[int]) -> None:
        """The reveal order (None: held) and stagger of the lines, ``held`` on from the first frame."""
        timing = self.timing
        self._order = []
        for i in range(len(self.lines)):
            self._order.append(None if i in held else sum(o is not None for o in self._order))
        n = max(1, sum(o is not None for o in self._order))
        room = max(0.0, timing.cta.start - timing.text.start - timing.text.enter)
        self.stagger = min(timing.text.stagger, room / max(1, n - 1)) if n > 1 else 0.0

    def _need_s(self, index: int) -> float:
        read = self.source.read_s
        return read[index] if index < len(read) else 0.0

    def _shown_s(self, index: int) -> float:
        """Seconds line ``index`` is fully on screen in the plan: settled until the end card's fade."""
        start = self._line_start(index)
        settled = 0 if start is None else self._frame_at(start + self.timing.text.enter)
        return (self._frame_at(self.timing.end_card.start) - settled) / self.fps

    def _line_start(self, index: int) -> float | None:
        """When line ``index`` starts entering (None: held, on screen from the first frame)."""
        order = self._order[index]
        return None if order is None else self.timing.text.start + order * self.stagger

    def _plan(self, end_logo_box: Box, end_cta_box: Box) -> MotionPlan:
        tm = self.timing
        fade_out = self._frame_at(tm.end_card.start)  # the end card cross-fade begins: text leaves
        end_shown = self._frame_at(tm.end_card.start + tm.end_card.crossfade)
        loop_start = self._frame_at(1 - tm.loop.crossfade)
        elements = []
        for i, (role, text, patch) in enumerate(self.lines):
            start = self._line_start(i)
            settled = 0 if start is None else self._frame_at(start + tm.text.enter)
            elements.append(
                MotionElement(role=role, text=text, box=patch.box, first_frame=settled, last_frame=fade_out)  # type: ignore[arg-type]
            )
        cta_settled = self._frame_at(tm.cta.start + tm.cta.enter)
        elements.append(
            MotionElement(role="cta", box=self.cta.box, first_frame=cta_settled, last_frame=fade_out)
        )
        elements.append(
            MotionElement(role="logo", box=self.logo_patch.box, first_frame=0, last_frame=fade_out)
        )
        elements.append(
            MotionElement(
                role="end_card_logo", box=end_logo_box, first_frame=end_shown, last_frame=loop_start
            )
        )
        elements.append(
            MotionElement(role="end_card_cta", box=end_cta_box, first_frame=end_shown, last_frame=loop_start)
        )
        return MotionPlan(
            width=self.size[0],
            height=self.size[1],
            fps=self.fps,
            frames=self.frames_total,
            direction=self.source.direction,
            safe_box=self.safe_box,
            variant=self.source.variant,
            timing=tm,
            elements=elements,
            end_card_frame=end_shown,
            end_card_colour=self.end_colour,
            imagery_frames=fade_out,
            legal_held=self.holds,
            end_card_logo=self.end_logo_variant,
        )

    # -- frames -------------------------------------------------------------------------------------

    def _scale(self, t: float) -> float:
        pm = self.timing.product
        if pm.effect == "none":
            return 1.0
        p = ease(pm.easing, _progress(t, pm.start, pm.end - pm.start))
        scale = pm.scale_from + (1.0 - pm.scale_from) * p
        return 1.0 if scale <= 1.0 + 1e-4 else round(scale, 5)

    def _background(self, scale: float) -> np.ndarray:
        if scale == 1.0:
            return self.raw.copy()
        if self._zoom_cache is not None and self._zoom_cache[0] == scale:
            return self._zoom_cache[1].copy()
        W, H = self.size
        w, h = W / scale, H / scale
        px0, py0, px1, py1 = self.product_box
        cx = min(max((px0 + px1) / 2, w / 2), W - w / 2)
        cy = min(max((py0 + py1) / 2, h / 2), H - h / 2)
        zoomed = np.asarray(
            self._raw_image.resize(
                self.size, Image.Resampling.BILINEAR, box=(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            )
        )
        self._zoom_cache = (scale, zoomed)
        return zoomed.copy()

    def _wipe(self, width: int, p: float) -> np.ndarray:
        """Column weights of a line ``p`` of the way in: revealed from the start edge of the script."""
        feather = max(2.0, width * 0.15)
        edge = p * (width + feather)
        x = np.arange(width, dtype=np.float32)
        if self.source.direction == "rtl":
            x = x[::-1]
        return np.clip((edge - x) / feather, 0.0, 1.0)

    def _state(self, index: int) -> tuple:
        """Everything a frame depends on: equal states make equal frames (holds cost nothing)."""
        tm = self.timing
        t = self._t(index)
        lines = tuple(
            1.0 if start is None else round(_progress(t, start, tm.text.enter), 4)
            for start in map(self._line_start, range(len(self.lines)))
        )
        return (
            self._scale(t),
            round(ease(tm.text.easing, _progress(t, tm.text.start, tm.text.enter)), 4),
            lines,
            round(_progress(t, tm.cta.start, tm.cta.enter), 4),
            round(ease(tm.end_card.easing, _progress(t, tm.end_card.start, tm.end_card.crossfade)), 4),
            round(ease("ease-in-out-cubic", _progress(t, 1 - tm.loop.crossfade, tm.loop.crossfade)), 4),
            index if self.clip is not None else None,  # a clip moves on every frame
        )

    def _main(self, state: tuple, marks: bool) -> np.ndarray:
        tm = self.timing
        scale, backing, lines, cta, _, _, clip_index = state
        if clip_index is None and scale == 1.0 and backing >= 1:  # settled: the still's backing layer
            frame = (self.backing if marks else self.settled_backdrop).copy()
        else:
            frame = self._background(scale) if clip_index is None else self.clip.frame(clip_index)
            self.accent.paint(frame)
            self.backing_patch.paint(frame, backing)
            if marks:
                self.logo_patch.paint(frame)
        if not marks:
            return frame
        for (_, _, patch), p, rise in zip(self.lines, lines, self.line_rises, strict=True):
            if p <= 0:
                continue
            e = ease(tm.text.easing, p)
            width = patch.box[2] - patch.box[0]
            patch.paint(
                frame,
                min(1.0, 0.25 + e),
                round(rise * (1 - e)),
                self._wipe(width, p) if p < 1 else None,
            )
        if cta > 0:
            e = ease(tm.cta.easing, cta)
            self.cta.paint(frame, min(1.0, cta * 2), round(self.cta_rise_px * (1 - e)))
        return frame

    def _compose(self, index: int, marks: bool, copy: bool = True) -> np.ndarray:
        state = self._state(index)
        cached = self._cache.get(marks)
        if cached is not None and cached[0] == state:
            return cached[1].copy() if copy else cached[1]
        w_end, w_loop = state[4], state[5]
        card = self.end_card if marks else self.end_card_backdrop
        if w_end >= 1:
            frame = card.copy()
        elif w_end <= 0:
            frame = self._main(state, marks)
        else:
            frame = _blend(self._main(state, marks), card, w_end)
        if w_loop > 0:
            frame = _blend(frame, self._first_frame(marks), w_loop)
        self._cache[marks] = (state, frame)
        return frame.copy() if copy else frame

    def _first_frame(self, marks: bool) -> np.ndarray:
        if self._first is None:
            first = self._state(0)
            self._first = (self._main(first, True), self._main(first, False))
        return self._first[0 if marks else 1]

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` (0-based) as ``H x W x 3`` uint8 RGB."""
        return self._compose(index, True)

    def backdrop(self, index: int) -> np.ndarray:
        """Frame ``index`` without text, CTA and logo (what may show outside the safe zone); read-only
        (the animator's own cached array)."""
        return self._compose(index, False, copy=False)

    def marks(self) -> list[Mark]:
        """What the checks look for in every frame: each text line, the CTA, and the logo in its
        place and on the end card (one group: either counts as the logo being shown)."""
        out = [Mark(role, text, p.ys, p.xs, p.values) for role, text, p in self.lines]
        out.append(Mark("cta", "", self.cta.ys, self.cta.xs, self.cta.values))
        logo = self.logo_patch
        out.append(Mark("logo", "", logo.ys, logo.xs, logo.values, "logo"))
        x0, y0, x1, y1 = next(e.box for e in self.plan.elements if e.role == "end_card_logo")
        card = _Patch(self.end_card, self.end_card_backdrop, (x0, y0, x1, y1))
        out.append(Mark("end_card_logo", "", card.ys, card.xs, card.values, "logo"))
        return out

    def frames(self) -> Iterator[np.ndarray]:
        """Every frame in order. While the product pushes in, the backdrop of each frame is sampled
        too (its zoomed background is at hand): the safe-zone check reads those samples instead of
        zooming the background again (:meth:`backdrop_samples`)."""
        regions = unsafe_regions(self.size, self.safe_box)
        for index in range(self.frames_total):
            frame = self.frame(index)
            if self.clip is None and self._state(index)[0] != 1.0:
                self._samples[index] = _sample(self.backdrop(index), regions)
            yield frame

    def backdrop_samples(self, index: int, regions: list[Box]) -> list[np.ndarray]:
        """Every second pixel of every second row of the backdrop in each of ``regions`` (the tiles
        outside the safe box), from the samples :meth:`frames` kept, or made now."""
        kept = self._samples.pop(index, None)
        if kept is not None and regions == unsafe_regions(self.size, self.safe_box):
            return kept
        return _sample(self.backdrop(index), regions)


class _ClipFrames:
    """A provider's clip as the background: output frame ``i`` at ``fps`` is the clip's frame at the
    same time (looping when the clip is shorter), scaled to cover ``size``. Decoded one frame at a
    time, in order; asking for an earlier frame decodes again from the start."""

    def __init__(self, data: bytes, size: tuple[int, int], fps: int):
        from creative_assets.video_probe import iter_frames, probe

        info = probe(data)
        if not info.frames:
            raise ValueError("the provider's clip has no frames")
        self._data, self._iter_frames = data, iter_frames
        self.size, self.fps = size, fps
        self.source_fps, self.source_frames = info.fps or fps, info.frames
        self._it = None
        self._at = -1
        self._frame: np.ndarray | None = None

    def frame(self, index: int) -> np.ndarray:
        want = int(index * self.source_fps / self.fps) % self.source_frames
        if self._it is None or want < self._at:
            self._it, self._at = self._iter_frames(self._data), -1
        while self._at < want:
            raw = next(self._it)
            self._at += 1
            if self._at == want:
                self._frame = self._cover(raw)
        assert self._frame is not None
        return self._frame.copy()

    def _cover(self, raw: np.ndarray) -> np.ndarray:
        im = Image.fromarray(raw)
        W, H = self.size
        scale = max(W / im.width, H / im.height)
        w, h = im.width * scale, im.height * scale
        box = ((w - W) / 2 / scale, (h - H) / 2 / scale, (w + W) / 2 / scale, (h + H) / 2 / scale)
        return np.asarray(im.resize(self.size, Image.Resampling.BILINEAR, box=box))


def _sample(image: np.ndarray, regions: list[Box]) -> list[np.ndarray]:
    return [image[y0:y1:2, x0:x1:2].copy() for x0, y0, x1, y1 in regions]


def _blend(a: np.ndarray, b: np.ndarray, w: float) -> np.ndarray:
    """``a`` cross-faded ``w`` of the way to ``b`` (8-bit weights, integer arithmetic)."""
    k = np.uint16(round(w * 256))
    out = a.astype(np.uint16) * (np.uint16(256) - k) + b.astype(np.uint16) * k + np.uint16(128)
    return (out >> 8).astype(np.uint8)


def readable_on(colour: str) -> str:
    """The logo variant that reads on a background colour."""
    return "on_dark" if relative_luminance(hex_to_rgb(colour)) < 0.4 else "on_light"
