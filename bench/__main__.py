"""``python -m bench run [--units 20,100] [--repeat 3] [--quick]``: run the throughput benchmark, print a
table and write ``bench/results/<timestamp>.{md,json}`` (see docs/BENCHMARKS.md).

``python -m bench ingest [--briefs 500]``: inbox acceptance rate (briefs per minute) of the sensor.
``python -m bench soak [--briefs 300 --invalid 30 --kills 8]``: kill -9 soak test (bench/soak.py).
``python -m bench motion [--seconds 6,10,15]``: CPU seconds per second of 1080x1920 video, peak RSS.
``python -m bench backgrounds``: backgrounds drawn at a fraction of the size against full size (SSIM)."""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

from bench.campaign import REPO

SECTIONS = ("throughput", "latency", "provider", "sensor", "memory", "credentials")
#: Sections run only when named with --only (they need redis-server and PostgreSQL).
OPT_IN_SECTIONS = ("scaling",)
TARGETS = {
    "orchestrated": 1.15,  # creative-assets run on SQLite over the floor
    "daemon": 1.3,  # a daemon backfill over the floor
    "per_final_s": 0.22,  # wall per final at production sizes through creative-assets run
    "cli_first_s": 15.0,  # creative-assets run start -> first selected creative on disk
    "inbox_first_s": 30.0,  # inbox drop (daemon running) -> first selected creative on disk
    "provider": 1.2,
    "sensor_s": 2.0,
    "memory_mb": 1024.0,
    "memory_motion_mb": 1536.0,  # the same run with motion (issue 18)
}


def _units(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run the benchmark")
    p.add_argument("--units", type=_units, default=[20, 100], help="campaign sizes K (default 20,100)")
    p.add_argument("--repeat", type=int, default=3, help="repetitions; medians are reported (default 3)")
    p.add_argument(
        "--repeat-large",
        type=int,
        default=3,
        help="repetitions for K >= 50 (default 3, at most --repeat; Postgres paths run once there)",
    )
    p.add_argument("--candidates", type=int, default=2, help="candidates per unit (default 2)")
    p.add_argument(
        "--production-sizes", action="store_true", help="render at 1080px (default: the 540px bench sizes)"
    )
    p.add_argument("--daemon-concurrency", type=int, default=1, help="max concurrent daemon runs (1)")
    p.add_argument(
        "--skip-daemon",
        action="store_true",
        help="skip the measurements that run dagster-daemon (backfills, the inbox drop latency)",
    )
    p.add_argument("--no-postgres", action="store_true", help="skip the Postgres measurements")
    p.add_argument("--provider-units", type=int, default=20, help="K for the provider-bound figure (20)")
    p.add_argument(
        "--latency",
        type=lambda v: [float(x) for x in v.split(",")],
        default=[2.0, 0.5],
        help="injected provider latencies L in seconds, one provider row each (default 2,0.5; the first "
        "is the headline figure)",
    )
    p.add_argument("--pool", type=int, default=4, help="provider pool limit C (default 4)")
    p.add_argument(
        "--latency-units", type=int, default=12, help="K of the brief dropped in the inbox (latency; 12)"
    )
    p.add_argument("--latency-tick", type=int, default=5, help="inbox tick s in the latency section (5)")
    p.add_argument("--sensor-done", type=int, default=10_000, help="objects already processed (10000)")
    p.add_argument("--sensor-new", type=int, default=100, help="new briefs in the inbox (100)")
    p.add_argument("--memory-units", type=int, default=24, help="units in the memory run (24: a full batch)")
    p.add_argument("--memory-candidates", type=int, default=3, help="candidates in the memory run (3)")
    p.add_argument(
        "--only",
        type=lambda v: [x.strip() for x in v.split(",") if x.strip()],
        default=list(SECTIONS),
        help=f"comma-separated sections to run (default all: {','.join(SECTIONS)}; opt-in: "
        f"{','.join(OPT_IN_SECTIONS)}, Celery scaling, needs redis-server and PostgreSQL)",
    )
    p.add_argument("--scaling-units", type=int, default=8, help="K for the scaling section (8)")
    p.add_argument(
        "--scaling-units-per-run", type=int, default=2, help="units per run in the scaling section (2)"
    )
    p.add_argument("--credentials-reps", type=int, default=5, help="repetitions per final, signing (5)")
    p.add_argument("--quick", action="store_true", help="a small smoke configuration (about a minute)")
    p.add_argument("--out", default=str(REPO / "bench" / "results"), help="folder for the reports")
    args = parser.parse_args(argv)
    unknown = set(args.only) - set(SECTIONS) - set(OPT_IN_SECTIONS)
    if unknown:
        parser.error(
            f"--only: unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS + OPT_IN_SECTIONS)}"
        )
    if args.quick:
        args.units, args.repeat, args.repeat_large = [2], 1, 1
        args.provider_units, args.latency = 2, [0.2]
        args.sensor_done, args.sensor_new = 200, 10
        args.memory_units, args.memory_candidates = 1, 1
        args.latency_units = 2
        args.credentials_reps = 1
    return args


def fmt(x, digits=2) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "MISSED")


def report(results: dict) -> str:
    m = results["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"Run {results['finished_at']} in {results['elapsed_s']:.0f} s: `{results['command']}`",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores; RAM {m['ram_gib']} GiB; {m['os']}",
        f"- Python {m['python']}, dagster {m['dagster']}, dagster-postgres {m['dagster-postgres']}, "
        f"Pillow {m['pillow']}",
        f"- load average at start {', '.join(f'{x:.2f}' for x in m['loadavg_start'])}; at end "
        f"{', '.join(f'{x:.2f}' for x in m['loadavg_end'])} (other work on the machine inflates walls)",
        f"- Postgres: {results.get('postgres', '-')}",
        "",
        "## Throughput (orchestrated vs floor)",
        "",
        f"Synthetic campaign: {results['config']['candidates']} candidate(s) x 3 ratios per unit at "
        + (
            "production sizes"
            if results["config"]["production_sizes"]
            else "540 px (1:1 540x540, 9:16 540x960, 16:9 960x540)"
        )
        + f"; runs batch up to 24 units; daemon: max {results['config']['daemon_concurrency']} concurrent run(s).",
        "",
        "| K | path | reps | wall s (median) | wall s/final | units/min | ratio to floor | overhead s/unit | first selected s | peak RSS MB | walls s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["throughput"]:
        lines.append(
            f"| {row['units']} | {row['path']} | {row['reps']} | {fmt(row['wall_s'])} | "
            f"{fmt(row.get('wall_per_final_s'), 3)} | "
            f"{fmt(row['units_per_min'], 1)} | **{fmt(row['ratio_to_floor'])}** | "
            f"{fmt(row['overhead_per_unit_s'], 3)} | {fmt(row.get('first_selected_s'))} | "
            f"{fmt(row['peak_rss_mb'], 0)} | {', '.join(map(str, row['walls_s']))} |"
        )
    daemon_rows = [r for r in results["throughput"] if r["path"].startswith("daemon")]
    if daemon_rows:
        lines += ["", "Daemon backfills (last repetition):", ""]
        for r in daemon_rows:
            lines.append(
                f"- K={r['units']} {r['path']}: {r.get('runs')} runs; first run started "
                f"{r.get('first_run_started_after_s')} s after submission; backfill marked complete after "
                f"{r.get('marked_complete_after_s')} s"
            )
    lines += [
        "",
        f"Outputs identical across paths (final PNG sha256): {results.get('outputs_identical')}",
        "",
    ]
    if not results["throughput"]:  # e.g. --only scaling: no empty throughput table
        start = lines.index("## Throughput (orchestrated vs floor)")
        end = next(i for i, line in enumerate(lines) if line.startswith("Outputs identical across paths"))
        del lines[start : end + 2]
    lat = results.get("latency")
    if lat:
        lines += [
            "## First creative",
            "",
            f"A {lat['units']}-unit brief ({results['config']['candidates']} candidate(s) x 3 ratios, "
            + ("production sizes" if results["config"]["production_sizes"] else "540 px")
            + f") moved into a local inbox while `dagster-daemon` runs (inbox tick {lat['tick_s']} s, one "
            "run at a time). A new brief's first run is a one-unit lead batch "
            "(`CREATIVE_ASSETS_FIRST_BATCH_UNITS`).",
            "",
            "| drop -> first selected creative s | drop -> every unit selected s |",
            "|---|---|",
            f"| **{fmt(lat['first_selected_s'])}** | {fmt(lat['all_selected_s'])} |",
            "",
        ]
    rows = results.get("provider") or []
    if rows:
        first = rows[0]
        lines += [
            "## Provider-bound",
            "",
            f"K={first['units']} units against FakeOpenAI, pool C={first['pool']}, latency L per call; "
            f"median of {first['reps']}. Provider steps = the summed wall of `locale_context_pack`, "
            "`image_candidates` and `localized_copy`.",
            "",
            "| L s | calls | ideal s (calls x L / C) | provider steps wall s | **ratio to ideal** | max in flight | errors | whole run wall s |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for p in rows:
            lines.append(
                f"| {p['latency_s']} | {p['calls']} | {fmt(p['ideal_s'])} | {fmt(p['provider_steps_wall_s'])} | "
                f"**{fmt(p['ratio_to_ideal'])}** | {p['max_in_flight']} | {p['errors']} | {fmt(p['run_wall_s'])} |"
            )
        lines.append("")
    s = results.get("sensor")
    if s:
        lines += [
            "## Sensor tick",
            "",
            f"{s['objects']} objects in the inbox ({results['config']['sensor_done']} left by processed "
            f"drops, {results['config']['sensor_new']} new briefs + their images); ticks until drained.",
            "",
            "| max tick s | idle tick s | ticks | accepted | runs requested | left in inbox |",
            "|---|---|---|---|---|---|",
            f"| **{fmt(s['max_tick_s'], 3)}** | {fmt(s['idle_tick_s'], 3)} | {len(s['ticks_s'])} | "
            f"{s['accepted']} | {s['runs_requested']} | {s['left_in_inbox']} |",
            "",
        ]
    mem = results.get("memory")
    if mem:
        lines += [
            "## Peak memory per run",
            "",
            f"One run of {mem['units']} unit(s) x {mem['candidates']} candidate(s) x 3 ratios at production "
            "sizes, packshots 4000x4000 JPEG: the whole `creative-assets run` process.",
            "",
            f"Peak RSS **{fmt(mem['peak_rss_mb'], 0)} MB** (wall {fmt(mem['wall_s'], 1)} s)",
            *(
                [
                    "",
                    f"With motion (every unit also renders its 6 s Reels MP4): peak RSS "
                    f"**{fmt(mem['motion_peak_rss_mb'], 0)} MB** (wall {fmt(mem['motion_wall_s'], 1)} s)",
                ]
                if mem.get("motion_peak_rss_mb")
                else []
            ),
            "",
        ]
    sc = results.get("scaling")
    if sc:
        lines += [
            "## Scaling (Celery)",
            "",
            f"K={sc['units']} units ({sc['candidates']} candidate(s) x 3 ratios), {sc['rows'][0]['runs']} runs of "
            f"{sc['units_per_run']} unit(s), PostgreSQL instance, local storage. in-process: the runs one after "
            "another; celery xN: the runs at once, steps on N workers of one pool process each.",
            "",
            "| path | wall s | units/min | speed-up vs in-process | vs 1 worker | steps | step wall sum s | dispatch median s | dispatch max s |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in sc["rows"]:
            lines.append(
                f"| {r['path']} | {fmt(r['wall_s'])} | {fmt(r['units_per_min'], 1)} | "
                f"**{fmt(r['speedup_vs_in_process'])}** | {fmt(r['speedup_vs_1_worker'])} | {r['steps']} | "
                f"{fmt(r['step_wall_sum_s'])} | {fmt(r['dispatch_median_s'], 3)} | {fmt(r['dispatch_max_s'], 3)} |"
            )
        lines += [
            "",
            f"Celery overhead per step (celery x1 wall - in-process wall) / steps: "
            f"**{fmt(sc['overhead_per_step_s'], 3)} s**. Outputs identical across paths: {sc['outputs_identical']}",
            "",
        ]
    cred = results.get("credentials")
    if cred and "skipped" not in cred:
        lines += [
            "## Content Credentials per final",
            "",
            f"{cred['finals']} finals at production sizes x {cred['reps']} repetitions (medians): XMP + C2PA "
            "manifest with three ingredients, ES256, no timestamp authority; the same code as `final_creatives`.",
            "",
            "| sign ms | by ratio ms | p90 ms | verify ms | PNG encode ms | sign / encode | bytes added |",
            "|---|---|---|---|---|---|---|",
            f"| **{fmt(cred['sign_ms'])}** | "
            + ", ".join(f"{r} {fmt(v)}" for r, v in cred["sign_ms_by_ratio"].items())
            + f" | {fmt(cred['sign_ms_p90'])} | {fmt(cred['verify_ms'])} | {fmt(cred['encode_png_ms'])} | "
            f"{fmt(cred['sign_share_of_encode'], 3)} | {cred['bytes_added_median']} |",
            "",
        ]
    elif cred:
        lines += ["## Content Credentials per final", "", f"Skipped: {cred['skipped']}", ""]
    lines += ["## Targets", "", "| target | figure | verdict |", "|---|---|---|"]
    production = results["config"]["production_sizes"]
    for row in results["throughput"]:
        if row["path"] != "floor" and row["units"] == max(results["config"]["units"]):
            limit = TARGETS["daemon"] if row["path"].startswith("daemon") else TARGETS["orchestrated"]
            ok = row["ratio_to_floor"] <= limit if "sqlite" in row["path"] else None
            lines.append(
                f"| orchestrated/floor <= {limit} at K={row['units']} ({row['path']}) | "
                f"{fmt(row['ratio_to_floor'])} | {verdict(ok) if ok is not None else 'reported'} |"
            )
        if row["path"] == "cli (sqlite)" and row["units"] == max(results["config"]["units"]):
            per_final = row.get("wall_per_final_s")
            lines.append(
                f"| wall per final <= {TARGETS['per_final_s']} s through run at K={row['units']} "
                f"({'production sizes' if production else '540 px: not the target shape'}) | "
                f"{fmt(per_final, 3)} | {verdict(per_final <= TARGETS['per_final_s']) if production else 'reported'} |"
            )
        if row["path"] == "cli (sqlite)" and row.get("first_selected_s") is not None:
            lines.append(
                f"| run start -> first selected creative <= {TARGETS['cli_first_s']:.0f} s at K={row['units']} | "
                f"{fmt(row['first_selected_s'])} | {verdict(row['first_selected_s'] <= TARGETS['cli_first_s'])} |"
            )
    if lat:
        lines.append(
            f"| inbox drop -> first selected creative <= {TARGETS['inbox_first_s']:.0f} s | "
            f"{fmt(lat['first_selected_s'])} | {verdict(lat['first_selected_s'] <= TARGETS['inbox_first_s'])} |"
        )
    for p in rows:
        lines.append(
            f"| provider-bound/ideal <= 1.2 at L={p['latency_s']} s | {fmt(p['ratio_to_ideal'])} | "
            f"{verdict(p['ratio_to_ideal'] <= TARGETS['provider'])} |"
        )
    if s:
        lines.append(
            f"| sensor tick < 2 s | {fmt(s['max_tick_s'], 3)} | {verdict(s['max_tick_s'] < TARGETS['sensor_s'])} |"
        )
    if mem:
        lines.append(
            f"| peak memory per run < 1 GiB | {fmt(mem['peak_rss_mb'], 0)} MB | "
            f"{verdict(mem['peak_rss_mb'] < TARGETS['memory_mb'])} |"
        )
        if mem.get("motion_peak_rss_mb"):
            lines.append(
                f"| peak memory per run with motion < 1.5 GiB | {fmt(mem['motion_peak_rss_mb'], 0)} MB | "
                f"{verdict(mem['motion_peak_rss_mb'] < TARGETS['memory_motion_mb'])} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    # the daemon measurement loads the definitions in this process: Dagster's beta/preview notices
    # are for the code's readers, not for the benchmark's output
    warnings.filterwarnings("ignore", message=r".*is currently in (beta|preview)")
    raw = sys.argv[1:] if argv is None else argv
    if raw[:1] == ["soak"]:  # python -m bench soak --help
        from bench.soak import main as soak

        return soak(raw[1:])
    if raw[:1] == ["motion"]:  # python -m bench motion --help
        from bench.motion import main as motion

        return motion(raw[1:])
    if raw[:1] == ["backgrounds"]:  # python -m bench backgrounds --help
        from bench.backgrounds import main as backgrounds

        return backgrounds(raw[1:])
    if raw[:1] == ["levers"]:  # python -m bench levers A,B,HEAD --help
        from bench.levers import main as levers

        return levers(raw[1:])
    if raw[:1] == ["ingest"]:  # python -m bench ingest --help
        from bench.sensor import main as ingest

        return ingest(raw[1:])
    args = parse(raw)
    from bench.run import Session

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    session = Session(args, out)
    results = session.run()
    results["elapsed_s"] = time.time() - started
    results["finished_at"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    results["command"] = "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    text = report(results)
    (out / f"{stamp}.md").write_text(text)
    (out / f"{stamp}.json").write_text(json.dumps(results, indent=2, default=str))
    (out / "latest.md").write_text(text)
    print()
    print(text)
    print(f"Report: {out / f'{stamp}.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
