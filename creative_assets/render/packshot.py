"""A supplied photo packshot whose background is not one flat colour: cut the product out with
OpenCV's GrabCut when the background separates cleanly, else show the photo full-bleed, cropped
around its focal point. Pure (OpenCV, Pillow, NumPy; no model weights).

GrabCut is seeded from a border model: a frame of :data:`BORDER_SHARE` of the short side is
definite background, the pixels that look like that backdrop or its contact shadow
(:func:`backdrop_like`) probable background, everything else probable foreground, and five
iterations of its colour models (Gaussian mixtures of the background and foreground colours) settle
the mask. The cut is
*clean* (:class:`Separation`) when all of these hold, measured on the result:

- the product covers between :data:`MIN_SHARE` and :data:`MAX_SHARE` of the photo (a cut that
  keeps almost nothing or almost everything found no product);
- it touches the seed frame on at most :data:`MAX_EDGE_CONTACT` of its length (a scene that runs
  off every edge is not a product on a backdrop);
- one connected piece holds at least :data:`MIN_LARGEST_PIECE` of it (no confetti);
- its outline is a real edge on a calm background: the mean lightness gradient (CIELAB L*, Sobel)
  on the outline is at least :data:`MIN_EDGE_RATIO` times the background's (+1). A studio backdrop,
  even a graded and vignetted one, is smooth; a lifestyle scene is textured everywhere.

Otherwise the photo is used whole, full-bleed: :func:`full_bleed` scales it to cover the canvas (and
up to :data:`MAX_ZOOM` times more, to make the product region fill the layout's product box),
placing the focal point (the brief's ``focus``, else the centre of GrabCut's product estimate) on the
product box's centre; it is cropped, never extended (no stretched blur, no seam). The product's
footprint on the canvas is that estimate, carried through the same crop.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from creative_assets.render.layout import Box

#: GrabCut's seed frame, as a share of the photo's short side
BORDER_SHARE = 0.04
#: the photo is cut on a copy at most this many pixels on its long side (the mask is scaled back)
PROXY_PX = 512
ITERATIONS = 5
SHADOW_CHROMA = 4.0
SHADOW_LIGHTER = 4.0
MIN_SHARE = 0.04
MAX_SHARE = 0.80
MAX_EDGE_CONTACT = 0.08
MIN_LARGEST_PIECE = 0.90
MIN_EDGE_RATIO = 15.0
#: how far a full-bleed photo may be enlarged beyond covering the canvas to make the product bigger
MAX_ZOOM = 2.0
#: ``Image.info`` key marking a packshot to be shown full-bleed (its alpha: the product estimate)
FULL_BLEED = "creative_assets.full_bleed"


@dataclass(frozen=True)
class Separation:
    """GrabCut's product mask of a photo and the measurements that judge it."""

    mask: np.ndarray  # (h, w) uint8 0-255 at the photo's size: the product, soft-edged
    share: float
    edge_contact: float
    largest_piece: float
    edge_ratio: float

    @property
    def problems(self) -> list[str]:
        out = []
        if not MIN_SHARE <= self.share <= MAX_SHARE:
            out.append(f"product share {self.share:.0%} outside {MIN_SHARE:.0%}-{MAX_SHARE:.0%}")
        if self.edge_contact > MAX_EDGE_CONTACT:
            out.append(f"touches the border on {self.edge_contact:.0%} of the frame")
        if self.largest_piece < MIN_LARGEST_PIECE:
            out.append(f"largest piece {self.largest_piece:.0%} of the product")
        if self.edge_ratio < MIN_EDGE_RATIO:
            out.append(
                f"outline/background gradient {self.edge_ratio:.1f} < {MIN_EDGE_RATIO:g}: a busy background"
            )
        return out

    @property
    def clean(self) -> bool:
        return not self.problems


def separate(image: Image.Image) -> Separation:
    """GrabCut from the border model, measured (see the module docstring). Deterministic: OpenCV's
    random generator is seeded for the colour models' initialisation."""
    rgb = np.asarray(image.convert("RGB"))
    h, w = rgb.shape[:2]
    scale = min(1.0, PROXY_PX / max(h, w))
    sw, sh = max(8, round(w * scale)), max(8, round(h * scale))
    small = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA)
    m = max(2, round(min(sw, sh) * BORDER_SHARE))
    mask = np.full((sh, sw), cv2.GC_PR_FGD, np.uint8)
    mask[backdrop_like(small, m)] = cv2.GC_PR_BGD
    mask[:m], mask[-m:], mask[:, :m], mask[:, -m:] = cv2.GC_BGD, cv2.GC_BGD, cv2.GC_BGD, cv2.GC_BGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(20261201)
    cv2.grabCut(
        cv2.cvtColor(small, cv2.COLOR_RGB2BGR), mask, None, bgd, fgd, ITERATIONS, cv2.GC_INIT_WITH_MASK
    )
    fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    area = int(fg.sum())
    ring = np.zeros_like(fg)
    ring[m : sh - m, m : sw - m] = 1
    ring[m + 1 : sh - m - 1, m + 1 : sw - m - 1] = 0
    contact = float((fg & ring).sum() / max(1, ring.sum()))
    largest = ratio = 0.0
    if area:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
        sizes = stats[1:, cv2.CC_STAT_AREA]
        largest = float(sizes.max() / area) if count > 1 else 0.0
        # the product: its largest piece and pieces at least a twentieth of it (a cap, a handle),
        # not the specks and scene fragments of a busy photo
        keep = np.flatnonzero(sizes >= sizes.max() / 20) + 1
        fg = np.isin(labels, keep).astype(np.uint8)
        lightness = cv2.cvtColor(small, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32) * (100 / 255)
        gradient = np.hypot(cv2.Sobel(lightness, cv2.CV_32F, 1, 0), cv2.Sobel(lightness, cv2.CV_32F, 0, 1))
        k = np.ones((3, 3), np.uint8)
        outline = cv2.dilate(fg, k).astype(bool) & ~cv2.erode(fg, k).astype(bool)
        background = ~cv2.dilate(fg, np.ones((9, 9), np.uint8)).astype(bool)
        if outline.any() and background.any():
            ratio = float(gradient[outline].mean() / (gradient[background].mean() + 1.0))
    soft = cv2.resize(fg * 255, (w, h), interpolation=cv2.INTER_LINEAR)
    soft = cv2.GaussianBlur(soft, (0, 0), max(0.8, 1.2 / max(scale, 1e-6) / 4))
    return Separation(soft, area / (sw * sh), contact, largest, ratio)


def backdrop_like(rgb: np.ndarray, frame: int) -> np.ndarray:
    """Pixels that look like the backdrop or its shadow: the backdrop predicted at every pixel by a
    quadratic surface fitted to the seed frame (a graded, vignetted studio sweep), and a pixel of
    about its colour (CIELAB a*, b* within :data:`SHADOW_CHROMA`) and not lighter than it by more
    than :data:`SHADOW_LIGHTER` L*: the backdrop, and the contact shadow cast on it. They start as
    probable background, so GrabCut's colour model learns the shadow as backdrop."""
    h, w = rgb.shape[:2]
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 100 / 255
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xx, yy = xx / w - 0.5, yy / h - 0.5
    basis = np.stack([np.ones_like(xx), xx, yy, xx * xx, yy * yy, xx * yy], -1)
    ring = np.zeros((h, w), bool)
    ring[:frame], ring[-frame:], ring[:, :frame], ring[:, -frame:] = True, True, True, True
    coef, *_ = np.linalg.lstsq(basis[ring], lab[ring], rcond=None)
    predicted = basis @ coef
    chroma = np.linalg.norm(lab[..., 1:] - predicted[..., 1:], axis=-1)
    return (chroma <= SHADOW_CHROMA) & (lab[..., 0] <= predicted[..., 0] + SHADOW_LIGHTER)


def is_full_bleed(image: Image.Image) -> bool:
    """Whether a prepared packshot is a photo to show full-bleed (:func:`mark_full_bleed`)."""
    return image.info.get(FULL_BLEED) is True


def shown_full_bleed(product: Image.Image, treatments) -> bool:
    """Whether a prepared packshot is drawn full-bleed under a template's product ``treatments``:
    a photo that could not be cut out, unless the template frames it (``framed`` without
    ``full-bleed``)."""
    return is_full_bleed(product) and ("full-bleed" in treatments or "framed" not in treatments)


def product_region(image: Image.Image) -> Box | None:
    """The bounding box of the product in a prepared packshot (its alpha at least half on): for a
    full-bleed photo, the product GrabCut estimated in it."""
    if image.mode != "RGBA":
        return None
    return image.getchannel("A").point(lambda v: 255 if v >= 128 else 0).getbbox()


def mark_full_bleed(photo: Image.Image, product: np.ndarray) -> Image.Image:
    """The photo as RGBA whose alpha is the product estimate, marked to be shown full-bleed."""
    out = photo.convert("RGB")
    out.putalpha(Image.fromarray(product, "L"))
    out.info[FULL_BLEED] = True
    return out


@dataclass(frozen=True)
class FullBleedCrop:
    """Where :func:`full_bleed` crops a photo for one canvas: the photo region shown, the scale
    (canvas px per photo px), and the product estimate's bounding box on the canvas."""

    region: tuple[float, float, float, float]
    scale: float
    product_bbox: Box | None


def full_bleed_crop(
    photo: Image.Image, size: tuple[int, int], product_box: Box, focus: tuple[float, float] | None = None
) -> FullBleedCrop:
    """The crop of the photo (see the module docstring), computed without touching its pixels: the
    template rotation asks it of every template before one is drawn."""
    W, H = size
    pw, ph = photo.size
    region = product_region(photo)
    cover = max(W / pw, H / ph)
    bw, bh = max(1, product_box[2] - product_box[0]), max(1, product_box[3] - product_box[1])
    if region:
        rw, rh = region[2] - region[0], region[3] - region[1]
        fit = min(bw / rw, bh / rh) * 0.92
        centre = ((region[0] + region[2]) / 2, (region[1] + region[3]) / 2)
    else:
        fit, centre = cover, (pw / 2, ph / 2)
    scale = max(cover, min(fit, cover * MAX_ZOOM))
    fx, fy = (focus[0] * pw, focus[1] * ph) if focus is not None else centre
    cx, cy = (product_box[0] + product_box[2]) / 2, (product_box[1] + product_box[3]) / 2
    # the photo's pixel at the focal point lands on the product box's centre, as far as covering allows
    x0 = min(max(fx - cx / scale, 0.0), pw - W / scale)
    y0 = min(max(fy - cy / scale, 0.0), ph - H / scale)
    bbox = None
    if region:
        bbox = (
            max(0, round((region[0] - x0) * scale)),
            max(0, round((region[1] - y0) * scale)),
            min(W, round((region[2] - x0) * scale)),
            min(H, round((region[3] - y0) * scale)),
        )
    return FullBleedCrop((x0, y0, x0 + W / scale, y0 + H / scale), scale, bbox)


def full_bleed(
    photo: Image.Image, size: tuple[int, int], product_box: Box, focus: tuple[float, float] | None = None
) -> tuple[Image.Image, np.ndarray, float]:
    """The photo cropped to cover ``size`` (:func:`full_bleed_crop`); returns (RGB canvas, the
    product estimate's mask on it as bool, the scale: canvas px per photo px)."""
    crop = full_bleed_crop(photo, size, product_box, focus)
    alpha = photo.getchannel("A") if photo.mode == "RGBA" else Image.new("L", photo.size, 255)
    canvas = photo.convert("RGB").resize(size, Image.Resampling.LANCZOS, box=crop.region)
    mask = alpha.resize(size, Image.Resampling.BILINEAR, box=crop.region)
    return canvas, np.asarray(mask) >= 128, crop.scale
