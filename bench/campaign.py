"""A synthetic campaign of K units (products x locales) built from the bundled brand kit, locales and
example product images, written as a normal brief folder that ``creative-assets run`` accepts."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "summer-splash-2026"

#: Locales with the brief's own translation (so copy is final and no fallback warnings are logged).
LOCALES: dict[str, tuple[str, str] | None] = {
    "en-US": None,
    "de-DE": ("Strahlend durch den Sommer", "Jetzt kaufen"),
    "ja-JP": ("この夏は、ずっと輝いて", "今すぐ購入"),
    "ar-AE": ("تألق طوال الصيف", "تسوق الآن"),
    "fr-FR": ("Rayonnez tout l'été", "Acheter"),
    "es-ES": ("Brilla todo el verano", "Comprar ahora"),
    "it-IT": ("Brilla tutta l'estate", "Acquista ora"),
    "nl-NL": ("Stralend de zomer door", "Nu kopen"),
    "zh-CN": ("整个夏天都闪耀", "立即购买"),
    "he-IL": ("זוהרים כל הקיץ", "קנו עכשיו"),
    "pt-BR": ("Brilhe o verão inteiro", "Compre agora"),
    "sv-SE": ("Lys hela sommaren", "Köp nu"),
}

#: The benchmark's default render sizes: a quarter of the production pixel count, so a 100-unit
#: campaign fits a 2-core machine's benchmark budget (see docs/BENCHMARKS.md).
SMALL_SIZES = {"1:1": [540, 540], "9:16": [540, 960], "16:9": [960, 540]}


def shape(units: int) -> tuple[int, int]:
    """(locales, products) with locales * products == units, locales as close to sqrt(K) as allowed."""
    best = None
    for n_loc in range(1, min(len(LOCALES), units) + 1):
        if units % n_loc == 0 and units // n_loc <= 50:
            score = abs(n_loc - math.sqrt(units))
            if best is None or score < best[0]:
                best = (score, n_loc)
    if best is None:
        raise ValueError(f"cannot shape {units} units as <= {len(LOCALES)} locales x <= 50 products")
    return best[1], units // best[1]


def write_campaign(
    folder: Path,
    units: int,
    candidates: int = 1,
    sizes: dict | None = None,
    campaign_id: str = "bench-campaign",
    product_image: Path | None = None,
    translations: bool = True,
    motion: bool = False,
) -> Path:
    """Write ``folder/brief.yaml`` (+ assets) for ``units`` units; every other product brings a
    packshot (the example's PNG/JPEG, or ``product_image``), the others are generated. Without
    ``translations`` the brief supplies no localized copy (a machine-translating copy provider calls
    out for every unit outside the source locale). ``motion``: the brief's motion creatives (off by
    default: the throughput figures compare the stills pipeline with a floor that has no motion;
    ``python -m bench motion`` and the memory section's motion run measure it)."""
    n_loc, n_prod = shape(units)
    folder.mkdir(parents=True, exist_ok=True)
    assets = folder / "assets"
    assets.mkdir(exist_ok=True)
    if product_image is not None:
        shutil.copy(product_image, assets / f"packshot{product_image.suffix}")
        packshots = [f"assets/packshot{product_image.suffix}"]
    else:
        for name in ("sparkling-citrus.png", "berry-burst.jpg"):
            shutil.copy(EXAMPLE / "assets" / name, assets / name)
        packshots = ["assets/sparkling-citrus.png", "assets/berry-burst.jpg"]
    locales = list(LOCALES)[:n_loc]
    products = []
    for i in range(n_prod):
        product = {
            "id": f"product-{i + 1:02d}",
            "name": f"Sparkling Drink {i + 1}",
            "description": "Lightly sparkling fruit water in a slim can",
        }
        if i % 2 == 0:
            product["assets"] = [packshots[(i // 2) % len(packshots)]]
        products.append(product)
    brief = {
        "campaign_id": campaign_id,
        "name": "Benchmark campaign",
        "brand": "aurora-beverages",
        "message": "Stay bright all summer",
        "source_locale": "en-US",
        "cta": "Shop now",
        "audience": "Urban adults 21-35",
        "locales": locales,
        "localized_messages": {
            loc: {"message": text[0], "cta": text[1]}
            for loc, text in LOCALES.items()
            if text and loc in locales and translations
        },
        "products": products,
        "candidates": candidates,
        "aspect_ratios": ["1:1", "9:16", "16:9"],
        "motion": {"enabled": motion},
    }
    if sizes:
        brief["output_sizes"] = sizes
    path = folder / "brief.yaml"
    path.write_text(yaml.safe_dump(brief, allow_unicode=True, sort_keys=False))
    return path
