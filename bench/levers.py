"""``python -m bench levers``: the floor (or, with ``--path run``, ``creative-assets run``) at several
commits, side by side (issue 15's lever table).

Each commit is checked out into its own ``git worktree`` (under the work folder, removed at the
end) and runs ``python -m bench.worker floor`` on one synthetic campaign written once, with this
checkout's ``.venv``; the commits run interleaved, ``--repeat`` times, so load on the machine hits
them alike. Reported per commit: the median work wall (registration to summary, the process start
and imports excluded), the CPU (user + system of the child), the wall per final and the speed-up
against the first commit; and whether every commit wrote the same pixels as the first (every PNG
and JPEG decoded and compared, by path without the generation folder). ``--path run`` times the
whole ``creative-assets run`` process (imports included) on a fresh instance each time, with each
commit's own defaults (threads, parallel runs) and credentials off, as the floor has them."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from bench.campaign import write_campaign

ROOT = Path(__file__).resolve().parent.parent


def _pixels(root: Path) -> dict[str, bytes]:
    out = {}
    for path in sorted(root.rglob("*")):
        if path.suffix in (".png", ".jpg") and path.is_file():
            key = re.sub(r"gen/[^/]+/", "gen/", str(path.relative_to(root)))
            with Image.open(path) as im:
                out[key] = np.asarray(im).tobytes() + repr(im.size).encode()
    return out


def _floor(checkout: Path, brief: Path, out: Path, workers: int) -> dict:
    env = {**os.environ, "CREATIVE_ASSETS_CPU_WORKERS": str(workers), "CREATIVE_ASSETS_CREDENTIALS": "off"}
    env.pop("DAGSTER_HOME", None)
    before = os.times()
    done = subprocess.run(
        [sys.executable, "-m", "bench.worker", "floor", str(brief), str(out)],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "cpu_s": cpu}


def _run(checkout: Path, brief: Path, out: Path, home: Path) -> dict:
    import time

    env = {**os.environ, "CREATIVE_ASSETS_CREDENTIALS": "off", "DAGSTER_HOME": str(home)}
    env["PYTHONPATH"] = str(checkout)
    for name in ("CREATIVE_ASSETS_CPU_WORKERS", "CREATIVE_ASSETS_PARALLEL_RUNS", "CREATIVE_ASSETS_ROOT"):
        env.pop(name, None)
    shutil.rmtree(home, ignore_errors=True)
    before, started = os.times(), time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "creative_assets.cli", "run", str(brief), "--out", str(out)],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall, after = time.perf_counter() - started, os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return {"work_s": round(wall, 2), "cpu_s": round(cpu, 2)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench levers", description=__doc__.split("\n")[0])
    parser.add_argument("commits", help="comma-separated commits, the first is the baseline (e.g. A,B,HEAD)")
    parser.add_argument("--units", type=int, default=12, help="campaign size K (default 12)")
    parser.add_argument("--candidates", type=int, default=3, help="candidates per unit (3)")
    parser.add_argument("--workers", type=int, default=2, help="CREATIVE_ASSETS_CPU_WORKERS (2)")
    parser.add_argument("--repeat", type=int, default=2, help="interleaved repetitions (2)")
    parser.add_argument(
        "--path", choices=("floor", "run"), default="floor", help="floor (default) or creative-assets run"
    )
    args = parser.parse_args(argv)
    commits = [c.strip() for c in args.commits.split(",") if c.strip()]
    if len(set(commits)) != len(commits) or not commits:
        parser.error(f"commits: name each commit once, comma-separated (got {args.commits!r})")
    for commit in commits:
        known = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"], cwd=ROOT)
        if known.returncode != 0:
            parser.error(f"commits: {commit!r} is not a commit of {ROOT}")
    work = Path(tempfile.mkdtemp(prefix="creative-levers-"))
    brief = write_campaign(work / "brief", args.units, candidates=args.candidates, sizes=None)
    finals = args.units * args.candidates * 3
    checkouts = {}
    try:
        for commit in commits:
            checkouts[commit] = work / f"tree-{len(checkouts)}"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(checkouts[commit]), commit],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
        samples: dict[str, list[dict]] = {c: [] for c in commits}
        same: dict[str, bool] = {}
        reference: dict[str, bytes] | None = None
        for rep in range(args.repeat):
            for commit in commits:
                out = work / "out"
                shutil.rmtree(out, ignore_errors=True)
                if args.path == "run":
                    samples[commit].append(_run(checkouts[commit], brief, out, work / "home"))
                else:
                    samples[commit].append(_floor(checkouts[commit], brief, out, args.workers))
                print(f"  rep {rep + 1}/{args.repeat} {commit}: {samples[commit][-1]}", flush=True)
                if rep == 0:
                    pixels = _pixels(out)
                    reference = pixels if reference is None else reference
                    same[commit] = pixels == reference
        base = statistics.median(s["work_s"] for s in samples[commits[0]])
        what = (
            "creative-assets run, whole process" if args.path == "run" else f"floor, {args.workers} thread(s)"
        )
        print(
            f"\nK={args.units}, {finals} finals, {what}, median of {args.repeat}\n"
            "| commit | work wall s | CPU s | wall s / final | vs first | same pixels |\n|---|---|---|---|---|---|"
        )
        for commit in commits:
            wall = statistics.median(s["work_s"] for s in samples[commit])
            cpu = statistics.median(s["cpu_s"] for s in samples[commit])
            print(
                f"| `{commit}` | {wall:.1f} | {cpu:.1f} | {wall / finals:.3f} | {base / wall:.2f}x | "
                f"{'yes' if same[commit] else 'NO'} |"
            )
    finally:
        for path in checkouts.values():
            subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0
