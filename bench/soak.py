"""Soak test: a flood of tiny briefs (some invalid) while the daemon and the code server are killed
with ``kill -9`` at random moments and restarted; then every brief is accounted for.

    python -m bench soak [--briefs 300] [--invalid 30] [--kills 8] [--seed 11] [--timeout 3600]

Real processes on loopback, configured like the compose stack: ``dagster api grpc`` (the code
server, where runs execute), ``dagster-daemon run`` (sensors, run queue, run monitoring, run retries)
against a SQLite instance whose ``dagster.yaml`` enables run monitoring and run retries as the shipped
ones do, and local storage. Briefs are dropped in batches into the inbox while a chaos thread kills
one of the two processes every 5-40 s and restarts it 1-5 s later.

When the inbox is empty and no run is queued or in flight, each brief must be exactly one of:

- **accepted and run exactly once**: its version is live, exactly one run was requested for it
  (one root run; retries of a dead run belong to it), that chain succeeded once and its unit has a
  live selection;
- **rejected with its own report**: ``rejected/<drop>-<sha>/error.json`` names its inbox key.

Anything else is counted as lost, stuck, duplicated or failed, and the exit code is 1. Not part of
the default test run (it takes minutes to an hour, depending on --briefs); docs/BENCHMARKS.md quotes
one run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from creative_assets.layout import INBOX_PREFIX, PENDING_PREFIX

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

INSTANCE_YAML = """
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: {concurrency}
run_monitoring:
  enabled: true
  start_timeout_seconds: 60
  cancel_timeout_seconds: 60
  poll_interval_seconds: 5
run_retries:
  enabled: true
  max_retries: 0
  retry_on_asset_or_op_failure: false
telemetry:
  enabled: false
"""


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench soak", description=__doc__.split("\n")[0])
    p.add_argument("--briefs", type=int, default=300, help="valid briefs to drop (default 300)")
    p.add_argument("--invalid", type=int, default=30, help="invalid briefs among them (default 30)")
    p.add_argument("--kills", type=int, default=8, help="kill -9 events, daemon or code server (default 8)")
    p.add_argument("--batches", type=int, default=5, help="the briefs arrive in this many drops (default 5)")
    p.add_argument("--concurrency", type=int, default=2, help="max concurrent runs (default 2)")
    p.add_argument("--seed", type=int, default=11, help="random seed of the chaos (default 11)")
    p.add_argument("--timeout", type=float, default=3600, help="give up after this many seconds (3600)")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    return p.parse_args(argv)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _brief(n: int) -> dict:
    return {
        "campaign_id": f"soak-{n:04d}",
        "name": f"Soak {n}",
        "brand": "aurora-beverages",
        "message": "Stay bright all summer",
        "cta": "Shop now",
        "locales": ["en-US"],
        "products": [{"id": "citrus", "name": "Citrus"}],
        "candidates": 1,
        "aspect_ratios": ["1:1"],
        "output_sizes": {"1:1": [480, 480]},
    }


def _invalid(n: int) -> dict:
    bad = _brief(10_000 + n)
    bad["campaign_id"] = "Not A Slug"  # identical content across drops: each still gets its record
    return bad


class Stack:
    """The code server and the daemon as child processes, killable and restartable."""

    def __init__(self, work: Path, env: dict[str, str]):
        self.work, self.env = work, env
        self.port = _free_port()
        (work / "workspace.yaml").write_text(
            "load_from:\n  - grpc_server:\n      host: 127.0.0.1\n"
            f"      port: {self.port}\n      location_name: creative_assets\n"
        )
        self.procs: dict[str, subprocess.Popen] = {}
        self.kills = Counter()
        self.lock = threading.Lock()

    def _cmd(self, name: str) -> list[str]:
        if name == "codeserver":
            return [
                str(BIN / "dagster"),
                "api",
                "grpc",
                "-m",
                "creative_assets.definitions",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
            ]
        return [str(BIN / "dagster-daemon"), "run", "-w", str(self.work / "workspace.yaml")]

    def start(self, name: str) -> None:
        with self.lock:
            log = (self.work / f"{name}.log").open("a")
            self.procs[name] = subprocess.Popen(
                self._cmd(name), cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        if name == "codeserver":
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", self.port)) == 0:
                        return
                time.sleep(0.5)
            raise RuntimeError("the code server did not come up; see codeserver.log")

    def kill(self, name: str) -> None:
        with self.lock:
            proc = self.procs[name]
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(30)
                self.kills[name] += 1

    def stop(self) -> None:
        for name in ("daemon", "codeserver"):
            proc = self.procs.get(name)
            if proc and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()


def _chaos(stack: Stack, kills: int, rng: random.Random, stop: threading.Event) -> None:
    for _ in range(kills):
        if stop.wait(rng.uniform(5, 40)):
            return
        name = rng.choice(["daemon", "codeserver"])
        stack.kill(name)
        print(f"  kill -9 {name} (#{sum(stack.kills.values())})", flush=True)
        if stop.wait(rng.uniform(1, 5)):
            return
        stack.start(name)


def _drop(storage_root: Path, start: int, count: int, invalid_every: int, invalid: list[str]) -> list[str]:
    import yaml

    valid = []
    for n in range(start, start + count):
        folder = storage_root / INBOX_PREFIX / f"drop-{n:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        if invalid_every and n % invalid_every == invalid_every - 1 and len(invalid) < _drop.invalid_total:
            (folder / "brief.yaml").write_text(yaml.safe_dump(_invalid(n)))
            invalid.append(f"{INBOX_PREFIX}drop-{n:04d}/brief.yaml")
        else:
            (folder / "brief.yaml").write_text(yaml.safe_dump(_brief(n)))
            valid.append(f"soak-{n:04d}")
    return valid


def _account(home: Path, root: Path, valid: list[str], invalid: list[str]) -> dict:
    import dagster as dg

    from creative_assets.brief_store import current_brief
    from creative_assets.run_tags import CAMPAIGN_TAG, RECOVERS_TAG
    from creative_assets.stage_store import read_manifest
    from resources.storage import LocalCreativeStorage
    from sensors.recovery import root_run_id

    storage = LocalCreativeStorage(root=str(root))
    counts = Counter()
    problems: list[str] = []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(job_name="creative_pipeline"))
        by_campaign: dict[str, list] = {}
        for run in runs:
            by_campaign.setdefault(run.tags.get(CAMPAIGN_TAG, ""), []).append(run)
        counts["runs"] = len(runs)
        counts["run_retries"] = sum(1 for r in runs if r.tags.get("dagster/parent_run_id"))
        counts["run_recoveries"] = sum(1 for r in runs if r.tags.get(RECOVERS_TAG))
        counts["runs_failed"] = sum(1 for r in runs if r.status == dg.DagsterRunStatus.FAILURE)
        for campaign in valid:
            record = current_brief(storage, campaign)
            chain = by_campaign.get(campaign, [])
            roots = {root_run_id(r) for r in chain}  # retries and recoveries belong to their root
            successes = [r for r in chain if r.status == dg.DagsterRunStatus.SUCCESS]
            selected = read_manifest(storage, _unit(campaign), "selected_creative")
            if record is None:
                counts["lost"] += 1
                problems.append(f"{campaign}: never registered")
            elif len(roots) > 1:
                counts["ran_twice"] += 1
                problems.append(f"{campaign}: {len(roots)} separate runs requested")
            elif not roots:
                counts["never_run"] += 1
                problems.append(f"{campaign}: registered but no run was requested")
            elif len(successes) != 1 or selected is None:
                counts["not_completed"] += 1
                problems.append(f"{campaign}: {len(successes)} successful run(s), selection {bool(selected)}")
            else:
                counts["accepted_run_once"] += 1
        reports = {}
        for key in storage.list_keys("rejected"):
            if key.endswith("/error.json"):
                reports.setdefault(json.loads(storage.read_text(key))["file"], []).append(key)
        for key in invalid:
            if len(reports.get(key, [])) == 1:
                counts["rejected_own_report"] += 1
            else:
                counts["rejected_missing_report"] += 1
                problems.append(f"{key}: {len(reports.get(key, []))} rejected record(s)")
        counts["left_in_inbox"] = sum(1 for k in storage.list_keys(INBOX_PREFIX) if k.endswith(".yaml"))
        counts["pending_markers"] = sum(1 for _ in storage.list_keys(PENDING_PREFIX))
    return {"counts": dict(counts), "problems": problems}


def _unit(campaign: str):
    from creative_assets.units import UnitKey

    return UnitKey.parse(f"{campaign}.en-US.citrus")


def _quiet(home: Path, root: Path) -> bool:
    """Inbox empty, no pending markers, no run queued or in flight."""
    import dagster as dg

    if any(k.endswith(".yaml") for k in _keys(root / INBOX_PREFIX)) or _keys(root / PENDING_PREFIX):
        return False
    active = [
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.CANCELING,
    ]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return not instance.get_runs_count(filters=dg.RunsFilter(statuses=active))


def _keys(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def main(argv: list[str]) -> int:
    args = parse(argv)
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    home, root = work / "home", work / "storage"
    home.mkdir()
    root.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_YAML.format(concurrency=args.concurrency))
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DAGSTER_HOME": str(home),
        "CREATIVE_ASSETS_STORAGE": "local",
        "CREATIVE_ASSETS_ROOT": str(root),
        "CREATIVE_ASSETS_NIGHTLY_ENABLED": "0",
        "CREATIVE_ASSETS_INBOX_TICK_SECONDS": "10",
        "CREATIVE_ASSETS_STEP_RETRIES": "3",
        "CREATIVE_ASSETS_STEP_RETRY_DELAY_SECONDS": "2",
    }
    total = args.briefs + args.invalid
    print(
        f"soak: {args.briefs} valid + {args.invalid} invalid briefs in {args.batches} drops, "
        f"{args.kills} kills, work folder {work}",
        flush=True,
    )
    stack = Stack(work, env)
    stack.start("codeserver")
    stack.start("daemon")
    stop = threading.Event()
    chaos = threading.Thread(target=_chaos, args=(stack, args.kills, rng, stop), daemon=True)
    started = time.monotonic()
    chaos.start()
    valid: list[str] = []
    invalid: list[str] = []
    _drop.invalid_total = args.invalid
    per = -(-total // args.batches)
    invalid_every = max(2, total // args.invalid) if args.invalid else 0
    try:
        for batch in range(args.batches):
            count = min(per, total - batch * per)
            valid += _drop(root, batch * per, count, invalid_every, invalid)
            print(f"  dropped {len(valid) + len(invalid)}/{total} briefs", flush=True)
            time.sleep(rng.uniform(5, 20))
        chaos.join()  # every kill happens while work is in progress
        for name in ("daemon", "codeserver"):  # whatever the chaos left stopped comes back
            if stack.procs[name].poll() is not None:
                stack.start(name)
        print("  all drops done and all kills made; waiting for the pipeline to settle", flush=True)
        settled = 0
        while time.monotonic() - started < args.timeout:
            settled = settled + 1 if _quiet(home, root) else 0
            if settled >= 3:  # quiet across three checks: no retry or rollup is about to start
                break
            time.sleep(10)
        else:
            print(f"  timed out after {args.timeout:.0f}s", flush=True)
    finally:
        stop.set()
        stack.stop()
    result = _account(home, root, valid, invalid)
    elapsed = time.monotonic() - started
    counts = result["counts"]
    print()
    print(f"Soak: {len(valid)} valid and {len(invalid)} invalid briefs, {elapsed:.0f} s")
    print(f"  kills: daemon {stack.kills['daemon']}, code server {stack.kills['codeserver']}")
    for key in (
        "accepted_run_once",
        "rejected_own_report",
        "lost",
        "never_run",
        "ran_twice",
        "not_completed",
        "rejected_missing_report",
        "left_in_inbox",
        "pending_markers",
        "runs",
        "run_retries",
        "run_recoveries",
        "runs_failed",
    ):
        print(f"  {key:24s} {counts.get(key, 0)}")
    for line in result["problems"][:20]:
        print(f"  ! {line}")
    ok = counts.get("accepted_run_once", 0) == len(valid) and counts.get("rejected_own_report", 0) == len(
        invalid
    )
    print("  every brief accounted for" if ok else "  NOT every brief is accounted for")
    if not args.keep and ok:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"  work folder kept: {work}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
