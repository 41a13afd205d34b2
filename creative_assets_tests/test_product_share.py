"""Product images that vanish (issue 21): the cut-out never removes the product, the placed product's
mask is recorded with every render, and a final whose visible product is below a small share of the
canvas fails the blocking product_share check."""

from __future__ import annotations

import io

import dagster as dg
import numpy as np
import pytest
import yaml
from PIL import Image, ImageDraw

from creative_assets.compliance import BLOCKING_CHECKS, CHECKS, MIN_PRODUCT_SHARE, check_product_share
from creative_assets.render import candidates as candidates_module
from creative_assets.render.candidates import prepare_supplied_product
from creative_assets.render.product_mask import (
    ProductFootprint,
    box_footprint,
    placed_footprint,
    product_visibility,
)
from creative_assets.render.scenes import cutout_product
from creative_assets.stage_store import read_stage
from creative_assets.stages import FinalCreatives, ImageCandidates
from creative_assets.units import UnitKey
from creative_assets_tests.helpers import set_products
from creative_assets_tests.pipeline_helpers import pipeline_defs, register, run_range, small_brief
from resources.storage import LocalCreativeStorage


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def dark_can_16bit() -> bytes:
    a = np.full((900, 600), 58000, np.uint16)  # light ground
    yy, xx = np.mgrid[0:900, 0:600]
    a[(abs(xx - 300) < 110) & (yy > 120) & (yy < 820)] = 6000  # a dark can
    a[(abs(xx - 300) < 150) & (yy >= 820) & (yy < 850)] = 40000  # its shadow
    return _png(Image.fromarray(a))


def _opaque_share(im: Image.Image) -> float:
    return float((np.asarray(im.getchannel("A")) >= 128).mean())


def test_16_bit_grayscale_dark_can_is_kept():
    assert Image.open(io.BytesIO(dark_can_16bit())).mode.startswith("I;16")
    out, method = prepare_supplied_product(dark_can_16bit())
    assert method == "backdrop-removed"
    rgb = np.asarray(out.convert("RGB"))
    kept = np.asarray(out.getchannel("A")) >= 128
    assert kept.mean() > 0.5 and rgb[kept].mean() < 80  # the dark can itself, not its shadow


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGB", (500, 500), (200, 30, 30)),  # flat colour, nothing but product
        Image.new("RGB", (500, 500), (250, 250, 250)),  # flat white packshot
        Image.new("L", (500, 500), 40),
        Image.new("RGBA", (500, 500), (10, 120, 200, 255)),
        Image.fromarray(np.full((500, 500), 30000, np.uint16)),  # flat 16-bit
        Image.fromarray(np.full((500, 500), 0.4, np.float32)),  # flat float
    ],
)
def test_flat_colour_packshots_are_kept_whole(image):
    out, method = cutout_product(image)
    assert method == "card:kept-whole"
    assert _opaque_share(out) > 0.9


def test_product_the_colour_of_its_ground_is_kept():
    im = Image.new("RGB", (600, 800), (245, 245, 245))
    ImageDraw.Draw(im).rounded_rectangle((200, 100, 400, 700), 30, fill=(232, 232, 232))  # within tolerance
    out, method = cutout_product(im)
    assert _opaque_share(out) > 0.9 and method == "card:kept-whole"


def test_ordinary_packshot_still_loses_its_backdrop():
    im = Image.new("RGB", (600, 800), (245, 245, 245))
    ImageDraw.Draw(im).rounded_rectangle((200, 100, 400, 700), 30, fill=(180, 20, 40))
    out, method = cutout_product(im)
    assert method == "backdrop-removed" and out.size[0] <= 210


def test_almost_fully_transparent_packshot_is_not_shown_as_nothing():
    im = Image.new("RGBA", (400, 400), (20, 20, 20, 0))
    ImageDraw.Draw(im).rectangle((190, 190, 192, 192), fill=(20, 20, 20, 255))
    out, method = cutout_product(im)
    assert method == "card:kept-whole" and _opaque_share(out) > 0.9


def test_footprint_round_trip_and_placement():
    sized = Image.new("RGBA", (100, 50), (0, 0, 0, 0))
    ImageDraw.Draw(sized).rectangle((10, 10, 59, 39), fill=(255, 0, 0, 255))
    fp = placed_footprint((300, 200), sized, (250, 180))  # partly off the canvas
    assert fp.bbox == (260, 190, 300, 200) and fp.area_px == 40 * 10
    again = ProductFootprint.model_validate_json(fp.model_dump_json())
    assert (again.array() == fp.array()).all() and again.array().sum() == fp.area_px
    est = box_footprint((300, 200), (10, 10, 20, 30))
    assert est.source == "estimated" and est.area_px == 200


def test_visibility_subtracts_what_covers_the_product():
    before = Image.new("RGB", (200, 100), (255, 255, 255))
    ImageDraw.Draw(before).rectangle((50, 0, 149, 99), fill=(200, 0, 0))
    mask = np.zeros((100, 200), bool)
    mask[:, 50:150] = True
    fp = ProductFootprint.from_array(mask)
    after = before.copy()
    ImageDraw.Draw(after).rectangle((50, 0, 99, 99), fill=(0, 0, 0))  # a panel over half of it
    vis = product_visibility(fp, before, after, covered=[(100, 0, 110, 100)])  # and a logo
    assert vis.visible_px == 40 * 100 and vis.visible_of_placed == 0.4 and vis.bbox == (110, 0, 150, 100)
    assert vis.array().sum() == 4000 and vis.array()[:, 110:150].all()


def test_product_share_check_is_blocking():
    assert "product_share" in CHECKS and "product_share" in BLOCKING_CHECKS


# -- end to end -----------------------------------------------------------------------------------


def _dark_can_brief(tmp_path):
    path = small_brief(tmp_path, locales=("en-US",), candidates=1)
    data = yaml.safe_load(path.read_text())
    set_products(data, [p for p in data["products"] if p.get("assets")][:1])
    (path.parent / "assets" / "dark-can.png").write_bytes(dark_can_16bit())
    data["products"][0]["assets"] = ["assets/dark-can.png"]
    data["aspect_ratios"] = ["1:1", "9:16"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return path


def _run(tmp_path, raise_on_error=True):
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    (tmp_path / "home").mkdir(exist_ok=True)
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        keys = register(storage, _dark_can_brief(tmp_path), instance)
        result = run_range(pipeline_defs(storage), instance, keys[0], keys[-1], raise_on_error)
    return storage, UnitKey.parse(keys[0]), result


@pytest.fixture(scope="module")
def dark_run(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("dark_can"))


def test_dark_16_bit_packshot_is_on_every_creative(dark_run):
    storage, unit, result = dark_run
    assert result.success
    raw = read_stage(storage, unit, "image_candidates")
    assert isinstance(raw, ImageCandidates)
    finals = read_stage(storage, unit, "final_creatives")
    assert isinstance(finals, FinalCreatives)
    for render in finals.candidates[0].renders.values():
        assert render.product is not None and render.product.source == "measured"
        assert render.product_visible.visible_share >= MIN_PRODUCT_SHARE
        share = next(c for c in render.compliance if c["check"] == "product_share")
        assert share["passed"] and share["figures"]["product_share"] == pytest.approx(
            render.product_visible.visible_share, abs=1e-4
        )
        # the recorded mask is where the dark can is on the final pixels
        pixels = np.asarray(finals.image(render.file).convert("L"))
        mask = render.product.array()
        assert pixels[mask].mean() < 90 < pixels[~mask].mean()
        # the same record feeds text_over_product (its mask) and source_resolution (its scale)
        assert render.product.origin == "supplied" and render.product.scale > 0
        over = next(c for c in render.compliance if c["check"] == "text_over_product")
        assert over["figures"]["measured"] == 1
        resolution = next(c for c in render.compliance if c["check"] == "source_resolution")
        assert resolution["figures"]["upscale"] == render.product.scale


def test_a_vanished_product_fails_the_blocking_check_and_blocks_the_unit(tmp_path, monkeypatch):
    # the old behaviour: 16-bit values clipped to white, so the can is taken for backdrop
    monkeypatch.setattr(candidates_module, "to_8bit", lambda im: im.convert("L").point(lambda v: 255))
    monkeypatch.setattr("creative_assets.render.scenes.MIN_KEPT_SHARE", 0.0)
    storage, unit, result = _run(tmp_path, raise_on_error=False)
    # blocking per unit (containment, issue 13): the run goes on, the unit's selection is blocked
    assert result.success
    finals = read_stage(storage, unit, "final_creatives")
    outcomes = [c for r in finals.candidates[0].renders.values() for c in r.compliance]
    share = [c for c in outcomes if c["check"] == "product_share"]
    assert share and all(not c["passed"] and c["severity"] == "ERROR" for c in share)
    assert "cut-out may have removed the product" in share[0]["findings"][0]["message"]
    # the check's evaluation on the unit's partition is ERROR, and nothing was selected
    checks = [
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "product_share" and e.partition == str(unit)
    ]
    assert checks and not checks[0].passed and checks[0].severity == dg.AssetCheckSeverity.ERROR
    selected = read_stage(storage, unit, "selected_creative")
    assert selected.status == "blocked" and selected.files == {}
    assert "product_share" in selected.blocked_reason
    assert not list(storage.list_keys(f"{unit.storage_prefix}/selected_creative/1x1"))


def test_check_without_a_footprint_or_with_an_estimate_is_not_judged(dark_run):
    storage, unit, _ = dark_run
    render = next(iter(read_stage(storage, unit, "final_creatives").candidates[0].renders.values()))
    assert check_product_share(render.model_copy(update={"product_visible": None})).passed
    estimated = render.product_visible.model_copy(update={"source": "estimated", "visible_share": 0.0})
    assert check_product_share(render.model_copy(update={"product_visible": estimated})).passed
    vanished = render.product_visible.model_copy(update={"visible_share": 0.001, "visible_px": 10})
    assert not check_product_share(render.model_copy(update={"product_visible": vanished})).passed


def test_a_small_product_on_a_large_ground_is_still_cut_out():
    im = Image.new("RGB", (2000, 2000), (250, 250, 250))
    ImageDraw.Draw(im).rectangle((960, 700, 1060, 1300), fill=(150, 20, 60))  # 1.5% of the image
    out, method = cutout_product(im)
    assert method == "backdrop-removed" and out.size[0] < 200
