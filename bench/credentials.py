"""The cost of Content Credentials per final: signing (XMP + C2PA manifest with three ingredients,
ES256, no timestamp authority), verifying it read back, and the bytes it adds, against the cost of
encoding the same final as PNG. Real finals at production sizes, made by the floor; the same code
as the ``final_creatives`` step (``UnitSigning.seal``, ``credentials.verify``)."""

from __future__ import annotations

import io
import statistics
import time
from pathlib import Path

from PIL import Image


def measure_credentials(root: Path, work: Path, reps: int) -> dict:
    from creative_assets import credentials as c2
    from creative_assets.assets.credentials_step import UnitSigning
    from creative_assets.brand_kit import load_brand_kit
    from creative_assets.credentials_ca import init_test_ca
    from creative_assets.layout import stage_manifest_pattern
    from creative_assets.stage_store import read_stage
    from creative_assets.stages import encode_image
    from creative_assets.units import UnitKey
    from resources.credentials import ContentCredentials
    from resources.storage import LocalCreativeStorage

    if not c2.AVAILABLE:
        return {"skipped": c2.UNAVAILABLE_REASON}
    init_test_ca(work / "ca")
    status = ContentCredentials(test_ca_dir=str(work / "ca")).status()
    storage = LocalCreativeStorage(root=str(root))
    encode, sign, verify, added, per_ratio = [], [], [], [], {}
    finals = 0
    for manifest in sorted(root.glob(stage_manifest_pattern("final_creatives"))):
        parts = manifest.relative_to(root).parts
        unit = UnitKey(parts[1], parts[2], parts[3])
        brief = read_stage(storage, unit, "unit_brief")
        signing = UnitSigning(
            unit,
            brief,
            read_stage(storage, unit, "image_candidates"),
            read_stage(storage, unit, "branded_candidates"),
            read_stage(storage, unit, "locale_context_pack"),
            load_brand_kit(brief.brand),
            storage,
            status,
            "bench-run",
        )
        final = read_stage(storage, unit, "final_creatives")  # its files: the live generation, hash-checked
        for name, prov in signing.provenance.items():
            data = final.image_bytes_stored(name)
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                pixels = im.copy()
            for _ in range(reps):
                t0 = time.perf_counter()
                encode_image(pixels, name)
                t1 = time.perf_counter()
                signed = signing.seal(name, data)
                t2 = time.perf_counter()
                result = c2.verify(signed, "image/png", prov, status.trust_anchors, require_trust=True)
                t3 = time.perf_counter()
                if not result.passed:
                    raise RuntimeError(f"{unit}/{name}: {result.problems}")
                encode.append(t1 - t0)
                sign.append(t2 - t1)
                verify.append(t3 - t2)
                per_ratio.setdefault(prov.ratio, []).append(t2 - t1)
            added.append(len(signed) - len(data))
            finals += 1
    ms = lambda xs: round(statistics.median(xs) * 1000, 2)  # noqa: E731
    return {
        "finals": finals,
        "reps": reps,
        "encode_png_ms": ms(encode),
        "sign_ms": ms(sign),
        "verify_ms": ms(verify),
        "sign_ms_by_ratio": {r: ms(v) for r, v in sorted(per_ratio.items())},
        "sign_ms_p90": round(statistics.quantiles(sign, n=10)[-1] * 1000, 2) if len(sign) >= 10 else ms(sign),
        "bytes_added_median": int(statistics.median(added)),
        "sign_share_of_encode": round(statistics.median(sign) / statistics.median(encode), 3),
    }
