"""Image encoding (creative_assets/render/encoding.py): lossless PNG in every mode, JPEG as Pillow
writes it."""

import io

import numpy as np
import pytest
from PIL import Image

from creative_assets.render.encoding import jpeg_bytes, png_bytes
from creative_assets.stages import encode_image


def _picture(mode: str = "RGBA") -> Image.Image:
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (90, 160, 4), dtype=np.uint8)
    pixels[:40] = pixels[0]  # flat rows and noise, as creatives have
    return Image.fromarray(pixels, "RGBA").convert(mode)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "LA"])
def test_png_is_lossless_in_every_mode(mode):
    image = _picture(mode)
    data = png_bytes(image)
    back = Image.open(io.BytesIO(data))
    assert back.format == "PNG" and back.mode == mode and back.size == image.size
    assert np.array_equal(np.asarray(back), np.asarray(image))
    assert encode_image(image, "1x1/candidate-1.png") == data  # every PNG stage file


@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:0"])
def test_jpeg_is_what_pillow_writes_at_that_quality_and_subsampling(subsampling):
    """Same libjpeg-turbo settings as ``Image.save(..., "JPEG", quality=q, subsampling=...)``: the
    decoded pixels (and, with the wheels' libjpeg-turbo, the bytes) are Pillow's."""
    image = _picture("RGB").resize((333, 217))
    for quality in (60, 75, 92):
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=quality, subsampling={"4:4:4": 0, "4:2:0": 2}[subsampling])
        data = jpeg_bytes(image, quality, subsampling)
        back = Image.open(io.BytesIO(data))
        assert back.format == "JPEG" and back.size == image.size
        assert np.array_equal(np.asarray(back), np.asarray(Image.open(buf)))
    assert jpeg_bytes(_picture("RGBA"), 92, "4:4:4") == jpeg_bytes(
        _picture("RGBA").convert("RGB"), 92, "4:4:4"
    )
    assert encode_image(image, "1x1/candidate-1.jpg") == jpeg_bytes(image, 92, "4:4:4")


def test_encoding_is_deterministic():
    image = Image.linear_gradient("L").resize((300, 200)).convert("RGB")
    assert png_bytes(image) == png_bytes(image.copy())
    assert jpeg_bytes(image, 80, "4:2:0") == jpeg_bytes(image.copy(), 80, "4:2:0")
