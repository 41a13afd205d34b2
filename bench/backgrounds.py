"""``python -m bench backgrounds``: drawing backgrounds at a fraction of the final size, against
drawing them at full size (issue 15's background lever).

For every style x production ratio (1080 px) x seed it draws the background both ways, in the same
process one after the other, and reports the CPU time of each and the SSIM between them (Wang et
al. 2004: 11x11 Gaussian window, sigma 1.5, on luma; 1.0 = identical). The lever was measured and
not kept (docs/BENCHMARKS.md, "Levers tried and not kept"): backgrounds are drawn at full size."""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np

from creative_assets.render.scenes import STYLES, render_background, scene_palette

SIZES = {"1:1": (1080, 1080), "9:16": (1080, 1920), "16:9": (1920, 1080)}
PALETTE = {
    "primary": "#0B6E4F",
    "secondary": "#F2A541",
    "accent": "#E4572E",
    "neutral_light": "#F7F7F2",
    "neutral_dark": "#1B1B1E",
}


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two uint8 RGB images, on luma (BT.601)."""
    weights = np.array([0.299, 0.587, 0.114], np.float32)
    x, y = (im.astype(np.float32) @ weights for im in (a, b))
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(im: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(im, (11, 11), 1.5)

    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * sxy + c2)
    den = (mx * mx + my * my + c1) * (sxx + syy + c2)
    return float(np.mean(num / den))


def measure(scale: float, seeds: int) -> dict:
    rows = []
    full_s = scaled_s = 0.0
    for style in STYLES:
        for ratio, size in SIZES.items():
            w, h = size
            product_box = (w * 0.3, h * 0.35, w * 0.7, h * 0.8)
            text_region = (w * 0.08, h * 0.06, w * 0.92, h * 0.3)
            for seed in range(seeds):
                pal = scene_palette(PALETTE, seed)
                t = time.process_time()
                full = render_background(size, style, pal, seed, product_box, text_region, scale=1.0)
                full_s += time.process_time() - t
                t = time.process_time()
                small = render_background(size, style, pal, seed, product_box, text_region, scale=scale)
                scaled_s += time.process_time() - t
                rows.append((style, ratio, seed, ssim(np.asarray(full), np.asarray(small))))
    values = [r[3] for r in rows]
    worst = min(rows, key=lambda r: r[3])
    return {
        "scale": scale,
        "images": len(rows),
        "full_cpu_s": full_s,
        "scaled_cpu_s": scaled_s,
        "speedup": full_s / scaled_s,
        "ssim_mean": statistics.mean(values),
        "ssim_min": worst[3],
        "worst": f"{worst[0]} {worst[1]} seed {worst[2]}",
        "by_style": {s: min(r[3] for r in rows if r[0] == s) for s in STYLES},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench backgrounds", description=__doc__.split("\n")[0])
    p.add_argument("--scales", default="0.5,0.33,0.25", help="fractions of the final size to try")
    p.add_argument("--seeds", type=int, default=3, help="seeds per style and ratio (3)")
    p.add_argument("--min-ssim", type=float, default=0.98, help="lowest acceptable SSIM (0.98)")
    args = p.parse_args(argv)
    print("| scale | images | CPU full s | CPU scaled s | speed-up | SSIM mean | SSIM min (worst) |")
    print("|---|---|---|---|---|---|---|")
    ok = True
    for scale in (float(x) for x in args.scales.split(",")):
        r = measure(scale, args.seeds)
        print(
            f"| {scale:g} | {r['images']} | {r['full_cpu_s']:.2f} | {r['scaled_cpu_s']:.2f} | "
            f"{r['speedup']:.2f}x | {r['ssim_mean']:.4f} | {r['ssim_min']:.4f} ({r['worst']}) |"
        )
        print(
            "|  | per style, min SSIM: "
            + ", ".join(f"{k} {v:.4f}" for k, v in r["by_style"].items())
            + " |||||"
        )
        ok = ok and (scale != 0.5 or r["ssim_min"] >= args.min_ssim)
    return 0 if ok else 1
