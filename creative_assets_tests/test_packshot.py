"""Photo packshots (render/packshot.py): GrabCut cuts a product out of a graded studio backdrop with
its contact shadow; a busy photo is shown full-bleed around its focal point instead of as a card.
The fixtures are the example can (a real cut-out with alpha, so the true mask is known) photographed
on a synthetic studio sweep and in a synthetic busy scene."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from PIL import Image, ImageDraw, ImageFilter

from creative_assets.brief import load_brief
from creative_assets.errors import BriefError
from creative_assets.render.candidates import full_bleed_share
from creative_assets.render.layout import inside, plan_layout
from creative_assets.render.packshot import (
    full_bleed,
    full_bleed_crop,
    is_full_bleed,
    mark_full_bleed,
    separate,
)
from creative_assets.render.scenes import compose_scene, cutout_product, scene_palette
from creative_assets_tests.helpers import PALETTE, SUMMER, set_products

CAN = SUMMER.parent / "assets" / "sparkling-citrus.png"


def _can(width: int, height: int) -> Image.Image:
    can = Image.open(CAN).convert("RGBA")
    can.thumbnail((width, height))
    return can


def studio_shot(size=(900, 1125)) -> tuple[Image.Image, np.ndarray]:
    """The can on a graded, vignetted sweep with a soft contact shadow (the border is not one colour:
    the flood fill cannot take it); returns the photo and the true product mask."""
    W, H = size
    y, x = np.linspace(0, 1, H)[:, None], np.linspace(-1, 1, W)[None, :]
    base = 238 - 50 * y - 25 * x**2
    photo = Image.fromarray(np.stack([base, base - 4, base - 10], -1).clip(0, 255).astype(np.uint8)).convert(
        "RGBA"
    )
    can = _can(W // 2, int(H * 0.7))
    px, py = (W - can.width) // 2, int(H * 0.82) - can.height
    shadow = Image.new("L", size, 0)
    ImageDraw.Draw(shadow).ellipse(
        (px + 15, py + can.height - 20, px + can.width - 15, py + can.height + 20), 140
    )
    photo.paste(
        Image.new("RGBA", size, (40, 40, 40, 255)), (0, 0), shadow.filter(ImageFilter.GaussianBlur(14))
    )
    photo.alpha_composite(can, (px, py))
    truth = np.zeros((H, W), bool)
    truth[py : py + can.height, px : px + can.width] = np.asarray(can.getchannel("A")) >= 128
    return photo.convert("RGB"), truth


def busy_photo(size=(900, 1125), seed=3) -> Image.Image:
    """The can in a scene textured to every edge (a lifestyle photo, as far as a cut-out goes)."""
    W, H = size
    rng = np.random.default_rng(seed)
    photo = Image.new("RGB", size, (90, 120, 70))
    draw = ImageDraw.Draw(photo)
    for _ in range(300):
        x, y, r = rng.integers(-80, W), rng.integers(-80, H), int(rng.integers(15, 120))
        draw.ellipse(
            (x, y, x + r, y + int(r * rng.uniform(0.5, 1.5))),
            fill=tuple(int(v) for v in rng.integers(0, 255, 3)),
        )
    photo = photo.filter(ImageFilter.GaussianBlur(3))
    can = _can(int(W * 0.45), int(H * 0.6))
    photo.paste(can, ((W - can.width) // 2, (H - can.height) // 2), can)
    return photo


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


@pytest.fixture(scope="module")
def studio():
    return studio_shot()


@pytest.fixture(scope="module")
def busy():
    return busy_photo()


def test_a_clean_studio_shot_is_cut_out_without_its_shadow(studio):
    photo, truth = studio
    separation = separate(photo)
    assert separation.clean, separation.problems
    assert iou(separation.mask >= 128, truth) > 0.95  # the contact shadow is backdrop, not product
    out, method = cutout_product(photo)
    assert method == "grabcut" and out.mode == "RGBA" and not is_full_bleed(out)
    # trimmed to the can, its alpha is the can's
    ys, xs = np.nonzero(truth)
    assert (
        abs(out.width - (xs.max() - xs.min() + 1)) <= 12 and abs(out.height - (ys.max() - ys.min() + 1)) <= 12
    )
    alpha = np.asarray(out.getchannel("A")) >= 128
    crop = truth[ys.min() : ys.min() + out.height, xs.min() : xs.min() + out.width]
    h, w = min(alpha.shape[0], crop.shape[0]), min(alpha.shape[1], crop.shape[1])
    assert iou(alpha[:h, :w], crop[:h, :w]) > 0.9


def test_a_busy_photo_is_shown_full_bleed_not_as_a_card(busy):
    separation = separate(busy)
    assert not separation.clean and "busy background" in " ".join(separation.problems)
    out, method = cutout_product(busy)
    assert method == "full-bleed" and is_full_bleed(out) and out.size == busy.size
    size, box = (1080, 1920), (140, 560, 940, 1500)
    canvas, bbox, footprint = compose_scene(
        size, "waves", scene_palette(PALETTE, 0), 1, out, box, (0, 0, 1080, 400)
    )
    # every pixel is the photo's, cropped (never a drawn background, a stretched blur or a card
    # edge): the canvas scaled back to photo pixels is found inside the photo
    _, _, scale = full_bleed(out, size, box)
    assert canvas.size == size and scale >= max(1080 / busy.width, 1920 / busy.height) - 1e-9
    back = np.asarray(
        canvas.resize((int(1080 / scale) - 2, int(1920 / scale) - 2), Image.Resampling.BILINEAR)
    )
    match = cv2.matchTemplate(np.asarray(busy), back, cv2.TM_CCOEFF_NORMED)
    assert float(match.max()) > 0.97
    assert footprint.share > 0.05 and footprint.bbox == bbox and footprint.scale == round(scale, 4)
    # the product estimate sits on the layout's product box
    cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    assert box[0] < cx < box[2] and box[1] < cy < box[3]


def test_the_focal_point_moves_the_crop(busy):
    out, _ = cutout_product(busy)
    size, box = (1200, 628), (640, 60, 1140, 568)  # a landscape canvas from a portrait photo
    top, _, _ = full_bleed(out, size, box, focus=(0.5, 0.1))
    bottom, _, _ = full_bleed(out, size, box, focus=(0.5, 0.9))
    # the photo's top rows are in the first crop, its bottom rows in the second
    strip = lambda im, y: np.asarray(im.convert("RGB").resize((1200, 1), box=(0, y, busy.width, y + 4)))  # noqa: E731
    photo_top, photo_bottom = strip(busy, 0), strip(busy, busy.height - 4)
    first = lambda im: np.asarray(im.resize((1200, 1), box=(0, 0, 1200, 4)))  # noqa: E731
    last = lambda im: np.asarray(im.resize((1200, 1), box=(0, 624, 1200, 628)))  # noqa: E731
    assert (
        np.abs(first(top).astype(int) - photo_top).mean()
        < np.abs(first(bottom).astype(int) - photo_top).mean()
    )
    assert (
        np.abs(last(bottom).astype(int) - photo_bottom).mean()
        < np.abs(last(top).astype(int) - photo_bottom).mean()
    )


def test_a_framed_template_gets_a_card(busy):
    out, _ = cutout_product(busy)
    size, box = (1080, 1080), (540, 140, 1000, 940)
    canvas, bbox, footprint = compose_scene(
        size, "waves", scene_palette(PALETTE, 0), 1, out, box, (60, 140, 500, 940), treatments=("framed",)
    )
    px = np.asarray(canvas)
    # outside the card the template's own background is drawn; the card is inside the box
    assert box[0] <= bbox[0] and bbox[2] <= box[2] and box[1] <= bbox[1] and bbox[3] <= box[3]
    full, _, _ = full_bleed(out, size, box)
    assert np.abs(px[:100, :100].astype(int) - np.asarray(full)[:100, :100]).mean() > 10
    assert footprint.share > 0.05


def test_focus_is_a_pair_of_fractions_in_the_brief(brief_dir):
    data = yaml.safe_load((brief_dir / "brief.yaml").read_text())
    data["products"][0]["focus"] = [0.3, 0.6]
    path = brief_dir / "brief.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    assert load_brief(path).brief.products[0].focus == (0.3, 0.6)
    data["products"][0]["focus"] = [1.5, 0.6]
    path.write_text(json.dumps(data))
    with pytest.raises(BriefError) as info:
        load_brief(path)
    assert str(path) in str(info.value)
    assert any(p.field.startswith("products[0].focus") or "focus" in p.field for p in info.value.problems)


def _busy_brief(brief_dir, busy) -> Path:
    busy.save(brief_dir / "assets" / "picnic.jpg", quality=92)
    data = yaml.safe_load((brief_dir / "brief.yaml").read_text())
    set_products(data, [{"id": "picnic-can", "name": "Sparkling Citrus", "assets": ["assets/picnic.jpg"]}])
    path = brief_dir / "brief.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def test_offline_a_photo_whose_product_cannot_stay_clear_of_the_copy_is_refused_with_the_fix(
    brief_dir, busy, monkeypatch
):
    # the can fills most of the photo: shown full-bleed it runs under the copy at every output, and
    # offline nothing may extend the photo to make room
    path = _busy_brief(brief_dir, busy)
    with pytest.raises(BriefError) as info:
        load_brief(path)
    problem = next(p for p in info.value.problems if p.code == "preflight:full_bleed")
    assert problem.field == "products[0].assets[0]" and "picnic.jpg" in problem.message
    assert "cut-out PNG" in problem.message and "1:1" in problem.message
    # an image model composes a scene around it: a warning, not a refusal
    monkeypatch.setenv("CREATIVE_ASSETS_IMAGE_PROVIDER", "openai")
    loaded = load_brief(path)
    assert any(p.code == "preflight:full_bleed" for p in loaded.warnings)


def test_the_full_bleed_share_is_zero_where_the_product_would_run_under_the_copy(busy):
    out, _ = cutout_product(busy)
    layout = plan_layout("meta-reels", (1080, 1920), "hero-column", logo_aspect=3.1)
    assert full_bleed_share(layout, out, None) == 0.0  # the big can crosses the copy column
    # a photo with room around a smaller product: the crop keeps it in the product column
    roomy = busy.resize((busy.width * 3, busy.height * 3))
    product = np.zeros((roomy.height, roomy.width), np.uint8)
    cx, cy = roomy.width // 2, roomy.height // 2
    product[cy - 450 : cy + 450, cx - 200 : cx + 200] = 255
    photo = mark_full_bleed(roomy, product)
    share = full_bleed_share(layout, photo, None)
    crop = full_bleed_crop(photo, (1080, 1920), layout.product_box)
    assert share >= 0.12 and inside(crop.product_bbox, layout.product_box)
