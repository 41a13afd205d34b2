"""``placement_spec``: the exported file meets its placement (``creative_assets.placements``),
measured on the bytes themselves, not on the record: the pixel size, an accepted format, at most
``max_bytes``, and a measured quality (PSNR against the rendered creative) at or above the
export's minimum (``render/export.py``)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from PIL import Image

from creative_assets.compliance.outcome import CheckOutcome, Finding, make_outcome
from creative_assets.placements import RATIO_DEFAULT_PLACEMENTS, Placement
from creative_assets.render.export import PlacementExport, psnr
from creative_assets.render.layout import placement_for_key

if TYPE_CHECKING:
    from creative_assets.compliance.context import CreativeContext

PIL_FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp"}


def check_placement_spec(
    placement: Placement,
    expected_size: tuple[int, int],
    rendered: Image.Image,
    data: bytes | None,
    record: PlacementExport | None,
) -> CheckOutcome:
    """ERROR when the exported ``data`` is not the placement's size (``expected_size``: the brief's
    size for this output), not an accepted format, over the byte budget, or below the minimum
    measured quality against ``rendered``."""
    name = "placement_spec"
    if data is None or record is None:
        msg = f"no export for placement {placement.name}"
        return make_outcome(name, [Finding(check=name, severity="ERROR", message=msg, where="export")], {})
    findings: list[Finding] = []
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt, size = PIL_FORMATS.get(im.format or "", str(im.format).lower()), im.size
    except (OSError, ValueError) as exc:
        msg = f"the export for {placement.name} is not a readable image: {exc}"
        return make_outcome(name, [Finding(check=name, severity="ERROR", message=msg, where="export")], {})

    def error(message: str) -> None:
        findings.append(Finding(check=name, severity="ERROR", message=message, where="export"))

    if tuple(size) != tuple(expected_size):
        error(f"export is {size[0]}x{size[1]}, {placement.name} needs {expected_size[0]}x{expected_size[1]}")
    if fmt not in placement.formats:
        error(f"export is {fmt}; {placement.name} accepts {', '.join(placement.formats)}")
    if len(data) > placement.max_bytes:
        error(
            f"export is {len(data):,} bytes, over the {placement.name} budget of {placement.max_bytes:,} bytes"
        )
    measured = psnr(rendered, data)
    if measured < record.min_psnr_db:
        error(f"export quality {measured:.1f} dB PSNR is below the minimum {record.min_psnr_db} dB")
    figures = {
        "bytes_headroom": placement.max_bytes - len(data),
        "export_psnr_db": measured,
        "export_quality": record.quality,
    }
    return make_outcome(name, findings, figures)


def run(ctx: CreativeContext) -> CheckOutcome:
    key = ctx.report.ratio
    placement = placement_for_key(key)
    # a placement output is its placement's size; a legacy ratio output keeps the brief's size for it
    expected = ctx.image.size if key in RATIO_DEFAULT_PLACEMENTS else placement.size
    return check_placement_spec(placement, expected, ctx.image, ctx.export_data, ctx.export)
