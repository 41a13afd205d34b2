"""Per-placement checks on one final creative. Pure functions (Pillow + numpy, no Dagster).

``placement_spec``
    The exported file meets its placement (``creative_assets.placements``): measured on the bytes
    themselves, not the record: the pixel size, an accepted format, at most ``max_bytes``, and a
    measured quality (PSNR against the rendered creative) at or above the export's minimum.
``product_hero``
    The product is the hero: its *visible* pixels (the placed product mask minus what logo and copy
    cover; ``render/product_mask.py`` owns that footprint) cover at least the share of the canvas
    the placement's class requires (``placements.PRODUCT_SHARE_MIN``: 12% in vertical placements),
    and sit fully inside the placement's safe area (mirrored for right-to-left locales). A footprint
    that is only an estimate (a generative model placed the product) is reported, not judged.

Each check is a pure function keyed by name in :data:`PLACEMENT_CHECKS`.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image

from creative_assets.compliance import CheckOutcome, Finding
from creative_assets.placements import Placement, product_share_min
from creative_assets.render.export import PlacementExport, psnr
from creative_assets.render.layout import Box, inside, mirror_box
from creative_assets.stages import FinalRender

PIL_FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp"}


def _outcome(check: str, findings: list[Finding], figures: dict[str, float]) -> CheckOutcome:
    return CheckOutcome(
        check=check,
        passed=not findings,
        severity="ERROR" if any(f.severity == "ERROR" for f in findings) else "WARN",
        findings=findings,
        figures={k: round(float(v), 4) for k, v in figures.items()},
    )


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
        return _outcome(name, [Finding(check=name, severity="ERROR", message=msg, where="export")], {})
    findings: list[Finding] = []
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt, size = PIL_FORMATS.get(im.format or "", str(im.format).lower()), im.size
    except (OSError, ValueError) as exc:
        msg = f"the export for {placement.name} is not a readable image: {exc}"
        return _outcome(name, [Finding(check=name, severity="ERROR", message=msg, where="export")], {})

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
    return _outcome(name, findings, figures)


def product_safe_box(report: FinalRender, placement: Placement) -> Box:
    box = placement.safe_area.box(report.width, report.height)
    return mirror_box(box, report.width) if report.layout.direction == "rtl" else box


def check_product_hero(report: FinalRender, placement: Placement) -> CheckOutcome:
    """ERROR when the measured visible product share is below the class minimum, or the visible
    product leaves the safe area (see the module docstring)."""
    name = "product_hero"
    vis = report.product_visible
    minimum = product_share_min(placement)
    if vis is None:
        return _outcome(name, [], {"product_share_min": minimum})
    figures = {"product_share": vis.visible_share, "product_share_min": minimum}
    if vis.source != "measured":
        return _outcome(name, [], figures)
    findings: list[Finding] = []
    if vis.visible_share < minimum:
        findings.append(
            Finding(
                check=name,
                severity="ERROR",
                message=f"the product covers {vis.visible_share:.1%} of the canvas; {placement.placement_class} "
                f"placements such as {placement.name} need at least {minimum:.0%}",
                where="product",
            )
        )
    safe = product_safe_box(report, placement)
    if vis.visible_px and not inside(vis.bbox, safe):
        over = {
            "left": safe[0] - vis.bbox[0],
            "top": safe[1] - vis.bbox[1],
            "right": vis.bbox[2] - safe[2],
            "bottom": vis.bbox[3] - safe[3],
        }
        sides = ", ".join(f"{side} by {px} px" for side, px in over.items() if px > 0)
        findings.append(
            Finding(
                check=name,
                severity="ERROR",
                message=f"the product {vis.bbox} leaves the {placement.name} safe area {safe} ({sides})",
                where="product",
            )
        )
    if vis.visible_px:
        figures["product_safe_inset_px"] = min(
            vis.bbox[0] - safe[0], vis.bbox[1] - safe[1], safe[2] - vis.bbox[2], safe[3] - vis.bbox[3]
        )
    return _outcome(name, findings, figures)


#: The per-placement checks by name (descriptions in ``creative_assets.checks.DESCRIPTIONS``).
PLACEMENT_CHECKS: dict[str, Callable[..., CheckOutcome]] = {
    "placement_spec": check_placement_spec,
    "product_hero": check_product_hero,
}
