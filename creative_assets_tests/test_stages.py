"""Stage files: how stage images are encoded (creative_assets/stages.py)."""

import io

import numpy as np
import pytest
from PIL import Image

from creative_assets.stages import encode_image, encode_png


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "LA"])
def test_png_stage_files_are_lossless_in_every_mode(mode):
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (90, 160, 4), dtype=np.uint8)
    pixels[:40] = pixels[0]  # flat rows and noise, as creatives have
    image = Image.fromarray(pixels, "RGBA").convert(mode)
    data = encode_png(image)
    back = Image.open(io.BytesIO(data))
    assert back.format == "PNG" and back.mode == mode and back.size == image.size
    assert np.array_equal(np.asarray(back), np.asarray(image))
    assert encode_image(image, "x/candidate-1.png") == data  # one encoder for every PNG stage file


def test_png_encoding_is_deterministic():
    image = Image.linear_gradient("L").resize((300, 200)).convert("RGB")
    assert encode_png(image) == encode_png(image.copy())
