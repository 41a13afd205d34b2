"""Paths and small builders shared by tests."""

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
SUMMER = EXAMPLES / "summer-splash-2026" / "brief.yaml"
TRAIL = EXAMPLES / "trail-ready-2026" / "brief.yaml"

_GENERATION = re.compile(r"\d{8}T\d{12}Z-[0-9a-f]{8}")


def unit_brief_for(brief, locale: str, product, **fields):
    """A ``UnitBrief`` of ``brief`` (a loaded ``Brief``) for one locale and product, for tests of the
    pure stage functions; ``fields`` override the defaults (one 1:1 output, one candidate)."""
    from creative_assets.stages import UnitBrief

    values = {
        "unit": f"{brief.campaign_id}.{locale}.{product.id}",
        "campaign_id": brief.campaign_id,
        "campaign_name": brief.name,
        "brand": brief.brand,
        "brand_fingerprint": "x",
        "locale": locale,
        "source_locale": brief.source_locale,
        "product": product,
        "message": brief.message,
        "cta": brief.cta,
        "localized": brief.localized_messages.get(locale),
        "disclaimer": brief.disclaimer,
        "candidates": 1,
        "aspect_ratios": ["1:1"],
        "sizes": {"1:1": (1080, 1080)},
        "base_seed": 1,
        "brief_version": 1,
        "brief_sha": "s",
    }
    return UnitBrief(**{**values, **fields})


def set_products(data: dict, products: list) -> None:
    """Replace a brief mapping's products, and drop the localized badges of the products removed
    (a badge for a product the brief does not have is an error)."""
    data["products"] = products
    ids = {p.get("id") for p in products if isinstance(p, dict)}
    for loc in (data.get("localized_messages") or {}).values():
        if isinstance(loc, dict) and isinstance(loc.get("badges"), dict):
            loc["badges"] = {k: v for k, v in loc["badges"].items() if k in ids}
            if not loc["badges"]:
                del loc["badges"]


def without_generations(text: str) -> str:
    """Stage keys and manifests with their generation ids blanked (``…/final_creatives/gen/*/1x1/…``), so
    outputs of two runs can be compared: each materialization writes its own generation folder."""
    return _GENERATION.sub("*", text)


def is_generation_copy(key: str) -> bool:
    """The manifest copy a generation keeps of itself (it duplicates the live manifest)."""
    return "/gen/" in key and bool(_GENERATION.search(key)) and key.endswith("/manifest.json")


#: a brand palette for pure render tests (the aurora kit's colours)
PALETTE = {
    "primary": "#0B5D6B",
    "secondary": "#F2C14E",
    "accent": "#F26B4E",
    "neutral_dark": "#111111",
    "neutral_light": "#FFFFFF",
    "text_on_light": "#111111",
    "text_on_dark": "#FFFFFF",
}


@contextlib.contextmanager
def dagster_daemon(env: dict, log: Path):
    """A real ``dagster-daemon run`` on the repo's workspace with ``env``, output to ``log``; yields
    the process. It runs in its own session, and the whole group (its code server and any run
    worker) is stopped at the end, whatever happened."""
    daemon = Path(sys.executable).with_name("dagster-daemon")
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(daemon), "run", "-w", str(REPO / "workspace.yaml")],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever of the group is left
        proc.wait()
