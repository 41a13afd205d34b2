"""Motion cost: seconds of CPU per second of video at 1080x1920 (30 fps H.264, the vertical video
placements), split into animating + encoding (frames streamed into libx264) and the video checks
(decoding every frame and measuring it), and the peak RSS of the process that did it.

Each measurement runs in its own child process (``python -m bench.motion --child``), whose CPU time
(user + system, all threads) and peak RSS are read from ``os.wait4``'s rusage, so imports and the
parent do not count: the child reports the wall times of its phases, the parent the totals. The
still is synthetic but built like a final (gradient scene, product block, two headline lines, a
sub-line, a CTA button, a logo), so the animator does the same work per frame as in the pipeline.

``python -m bench motion [--seconds 6,10,15] [--preset veryfast]``; results in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from bench.campaign import REPO

W, H = 1080, 1920


def _still():
    from PIL import Image, ImageDraw, ImageFont

    from creative_assets.render.fonts import BUNDLED_FONTS_DIR
    from creative_assets.render.motion import MotionSource

    raw = Image.new("RGB", (W, H))
    draw = ImageDraw.Draw(raw)
    for y in range(H):
        draw.line([(0, y), (W, y)], fill=(11 + y // 24, 93, 107 + y // 40))
    product = (560, 420, 900, 1200)
    draw.rounded_rectangle(product, 40, fill=(242, 193, 78))
    safe = (65, 269, 950, 1536)
    branded = raw.copy()
    logo = Image.new("RGBA", (240, 80), (0, 0, 0, 0))
    ImageDraw.Draw(logo).rounded_rectangle((0, 0, 239, 79), 20, fill=(255, 255, 255, 255))
    logo_box = (safe[0] + 10, safe[1] + 10, safe[0] + 250, safe[1] + 90)
    branded.paste(logo, logo_box[:2], logo)
    final = branded.copy()
    d = ImageDraw.Draw(final)
    bold = ImageFont.truetype(str(BUNDLED_FONTS_DIR / "NotoSans-Bold.ttf"), 110)
    regular = ImageFont.truetype(str(BUNDLED_FONTS_DIR / "NotoSans-Regular.ttf"), 50)
    lines, y = [], 1240
    for text, font, role in (
        ("Stay bright", bold, "headline"),
        ("all summer", bold, "headline"),
        ("Sparkling Citrus", regular, "subline"),
    ):
        x0, y0, x1, y1 = d.textbbox((0, 0), text, font=font)
        d.text((safe[0] + 20 - x0, y - y0), text, font=font, fill=(255, 255, 255))
        lines.append((role, text, (safe[0] + 20, y, safe[0] + 20 + x1 - x0, y + y1 - y0)))
        y += (y1 - y0) + 24
    button = (safe[0] + 20, safe[3] - 110, safe[0] + 400, safe[3] - 20)
    d.rounded_rectangle(button, 45, fill=(242, 107, 78))
    d.text((button[0] + 70, button[1] + 10), "Shop now", font=regular, fill=(17, 17, 17))
    palette = {
        "primary": "#0B5D6B", "secondary": "#F2C14E", "accent": "#F26B4E", "neutral_dark": "#111111",
        "neutral_light": "#FFFFFF", "text_on_light": "#111111", "text_on_dark": "#FFFFFF",
    }  # fmt: skip
    source = MotionSource(
        variant="text-bottom", direction="ltr", safe_box=safe, product_box=product, logo_box=logo_box,
        cta_button=button, cta_fill="#F26B4E", lines=lines, palette=palette,
    )  # fmt: skip
    return raw, branded, branded, final, {"primary": logo}, source


def child(seconds: int, preset: str, checks: bool = True) -> dict:
    """One video: animate + encode, then the checks; wall time of each phase."""
    from creative_assets.motion_checks import VideoExpectations, evaluate_video
    from creative_assets.render.motion import Animator, timing_for
    from creative_assets.video_encode import VideoTarget, encode_video

    raw, branded, backing, final, logos, source = _still()
    target = VideoTarget("mp4", W, H, 30, float(seconds), max_bytes=30_000_000)
    t0 = time.perf_counter()
    animator = Animator(
        raw, branded, backing, final, logos, source, timing_for("text-bottom"), size=(W, H), fps=30,
        duration_s=seconds,
    )  # fmt: skip
    data, report = encode_video(target, animator.frames, preset=preset)
    t1 = time.perf_counter()
    outcomes = evaluate_video(data, target, animator, VideoExpectations()) if checks else []
    t2 = time.perf_counter()
    return {
        "render_encode_wall_s": round(t1 - t0, 3),
        "checks_wall_s": round(t2 - t1, 3),
        "bytes": len(data),
        "crf": report.quality.get("crf"),
        "all_checks_pass": all(c.passed for c in outcomes),
    }


def _run_child(args: list[str]) -> tuple[dict, float, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.motion", "--child", *args], cwd=REPO, env=env, stdout=subprocess.PIPE
    )
    out = proc.stdout.read().decode() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"bench.motion child failed: {out[-2000:]}")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def measure(seconds: list[int], preset: str) -> list[dict]:
    rows = []
    for s in seconds:
        # two children: one renders and encodes only (--no-checks), one does both, so the checks'
        # CPU is the difference and each row's figures come from rusage, not from wall clocks
        only, cpu_encode, rss_encode = _run_child(["--seconds", str(s), "--preset", preset, "--no-checks"])
        both, cpu_all, rss_all = _run_child(["--seconds", str(s), "--preset", preset])
        _baseline, cpu_import, _ = _run_child(["--seconds", "0"])
        rows.append(
            {
                "seconds": s,
                "preset": preset,
                "cpu_s_per_video_s_render_encode": round((cpu_encode - cpu_import) / s, 3),
                "cpu_s_per_video_s_checks": round((cpu_all - cpu_encode) / s, 3),
                "cpu_s_per_video_s_total": round((cpu_all - cpu_import) / s, 3),
                "peak_rss_mb": round(max(rss_encode, rss_all), 1),
                "bytes": both["bytes"],
                "all_checks_pass": both["all_checks_pass"],
                "wall_s": {"render_encode": only["render_encode_wall_s"], "checks": both["checks_wall_s"]},
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    head = "| video | preset | CPU s / video s: animate + encode | checks | total | peak RSS MB | MP4 bytes | checks pass |"
    sep = "|---|---|---|---|---|---|---|---|"
    body = [
        f"| {r['seconds']} s 1080x1920 30 fps | {r['preset']} | {r['cpu_s_per_video_s_render_encode']} | "
        f"{r['cpu_s_per_video_s_checks']} | {r['cpu_s_per_video_s_total']} | {r['peak_rss_mb']} | {r['bytes']} | "
        f"{r['all_checks_pass']} |"
        for r in rows
    ]
    return "\n".join([head, sep, *body])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench motion")
    parser.add_argument("--seconds", default="6", help="video lengths, comma-separated (6)")
    parser.add_argument("--preset", default="veryfast", help="x264 preset (veryfast, as the pipeline)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-checks", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    seconds = [int(x) for x in args.seconds.split(",") if x.strip()]
    if args.child:
        if seconds == [0]:  # the import baseline
            import creative_assets.motion  # noqa: F401

            print(json.dumps({}))
            return 0
        result = child(seconds[0], args.preset, checks=not args.no_checks)
        print(json.dumps(result))
        return 0
    print(table(measure(seconds, args.preset)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
