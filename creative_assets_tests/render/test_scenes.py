"""Scenes: cut-outs, determinism and visible variation."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from creative_assets.brand_kit import load_brand_kit
from creative_assets.render.packshot import is_full_bleed
from creative_assets.render.scenes import (
    STYLES,
    cutout_product,
    packaging_for,
    render_background,
    render_generated_product,
    scene_palette,
    variation_plan,
)

FONT = "creative_assets/fonts/NotoSansDisplay-Bold.ttf"


def _product_on(background, size=(400, 600)):
    """A dark bottle-like shape with a white label, on a plain backdrop."""
    im = Image.new("RGB", size, background)
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((120, 80, 280, 560), 30, fill=(40, 20, 90))
    d.rectangle((130, 250, 270, 380), fill=background)  # a label the same colour as the backdrop
    return im


def test_cutout_keeps_real_transparency():
    im = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    ImageDraw.Draw(im).ellipse((50, 80, 250, 220), fill=(200, 30, 30, 255))
    out, method = cutout_product(im)
    assert method == "alpha"
    assert out.size == (201, 141)


def test_cutout_removes_a_plain_backdrop_but_keeps_interior_whites():
    out, method = cutout_product(_product_on((245, 245, 243)))
    assert method == "backdrop-removed"
    alpha = np.asarray(out.getchannel("A"))
    assert out.size[0] <= 170 and out.size[1] <= 490  # trimmed to the product
    # the white label inside the product stays opaque (not connected to the border)
    h, w = alpha.shape
    assert alpha[h // 2, w // 2] == 255
    assert alpha[0, 0] == 0 or alpha[0, 0] < 60


def test_cutout_shows_a_busy_photo_whole_full_bleed_not_as_a_card():
    rng = np.random.default_rng(1)
    photo = Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8))
    out, method = cutout_product(photo)
    assert method == "full-bleed" and is_full_bleed(out)
    assert out.size == (400, 300)  # the whole photo, no rounded card corners
    assert np.array_equal(np.asarray(out.convert("RGB")), np.asarray(photo))


@pytest.mark.parametrize("style", STYLES)
def test_backgrounds_are_deterministic_per_seed(style):
    kit = load_brand_kit("aurora-beverages")
    pal = scene_palette(kit.palette.model_dump(), 1)
    args = ((540, 540), style, pal)
    a = render_background(*args, 7, (270, 100, 500, 500), (20, 20, 250, 250))
    b = render_background(*args, 7, (270, 100, 500, 500), (20, 20, 250, 250))
    assert a.tobytes() == b.tobytes()


def test_variation_plan_gives_each_candidate_its_own_style():
    styles = [variation_plan(i, 42)["style"] for i in range(len(STYLES))]
    assert sorted(styles) == sorted(STYLES)


def test_packaging_guess():
    assert packaging_for("Lightly sparkling citrus water in a slim can", "Citrus") == "can"
    assert packaging_for("Cold-pressed juice in a glass bottle", "Juice") == "bottle"
    assert packaging_for("Three-layer shell jacket", "Ridge Shell") == "badge"


@pytest.mark.parametrize("shape", ["can", "bottle", "box", "badge"])
def test_generated_products_are_clean_cutouts(shape):
    kit = load_brand_kit("aurora-beverages")
    pal = scene_palette(kit.palette.model_dump(), 0)
    im, used = render_generated_product("Mango Mint", "", pal, FONT, 400, shape)
    assert used == shape and im.mode == "RGBA" and im.height == 400
    alpha = np.asarray(im.getchannel("A"))
    assert alpha[0, 0] == 0 and alpha.max() == 255
    assert (alpha > 0).mean() > 0.4


@pytest.mark.parametrize("size", [(1080, 1920), (1920, 1080), (320, 50)])
def test_gradients_blend_one_channel_at_a_time_to_the_broadcast_values(size):
    """``_blend`` computes ``a * (1 - t) + b * t`` channel by channel in place: the same bytes as the
    broadcast over an h x w x 3 plane it replaced, for linear (any angle) and radial ramps."""
    from creative_assets.render.scenes import _blend, _grid

    w, h = size
    ys, xs = _grid(w, h)
    ramps = [
        (xs / (w - 1)) * np.float32(0.8) + (ys / (h - 1)) * np.float32(0.6),
        np.clip(np.hypot(xs - 0.3 * w, ys - 0.7 * h) / (0.8 * max(w, h)), 0, 1) ** 1.4,
    ]
    a, b = (12, 200, 3), (250, 0, 90)
    for t in ramps:
        t = (t - t.min()) / float(t.max() - t.min())
        broadcast = np.asarray(a, np.float32) * (1 - t[..., None]) + np.asarray(b, np.float32) * t[..., None]
        assert np.array_equal(np.asarray(_blend(a, b, t)), broadcast.clip(0, 255).astype(np.uint8))


def test_backdrop_flood_reaches_exactly_the_similar_pixels_joined_to_the_border():
    """The flood from the border (OpenCV connected components) is Pillow's 4-connected flood fill."""
    from PIL import ImageOps

    from creative_assets.render.scenes import _flood_from_border

    rng = np.random.default_rng(5)
    for _ in range(20):
        h, w = (int(v) for v in rng.integers(1, 120, 2))
        similar = rng.random((h, w)) < rng.uniform(0.3, 0.8)
        sim = Image.fromarray(np.where(similar, 255, 0).astype(np.uint8), "L")
        framed = ImageOps.expand(sim, border=1, fill=255)
        ImageDraw.floodfill(framed, (0, 0), 128, thresh=0)
        assert np.array_equal(_flood_from_border(similar), np.asarray(framed)[1:-1, 1:-1] == 128)
    ring = np.ones((9, 9), bool)
    ring[3:6, 3:6] = False
    ring[4, 4] = True  # similar, but walled off from the border
    flood = _flood_from_border(ring)
    assert flood[0, 0] and not flood[4, 4] and not flood[3, 3]
