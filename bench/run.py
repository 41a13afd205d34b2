"""Measurements: floor, orchestrated (CLI and daemon backfill, SQLite and Postgres), provider-bound,
sensor tick and peak memory. Each measured piece of work runs in its own child process; its wall time
is taken by this process and its peak RSS read from the child's rusage (``os.wait4``)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.campaign import REPO, SMALL_SIZES, write_campaign
from creative_assets import layout, settings

PY = sys.executable


@dataclass
class Sample:
    wall_s: float
    peak_rss_mb: float | None = None
    extra: dict = field(default_factory=dict)


class BenchError(RuntimeError):
    pass


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CREATIVE_ASSETS_", "OPENAI_"))}
    env.pop("DAGSTER_HOME", None)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONWARNINGS"] = "ignore"
    # throughput paths compare with the floor, which does not sign: credentials are measured on
    # their own (section "credentials")
    env["CREATIVE_ASSETS_CREDENTIALS"] = "off"
    env.update(extra)
    return env


#: a selected creative on disk (the local storage writes each file whole, by rename)
SELECTED_PNG = "campaigns/*/*/*/selected_creative/gen/*/*.png"


class FirstFile:
    """Watches ``root`` from a thread and records when the first file matching ``pattern`` appears
    (seconds after ``started``, polled every 0.1 s)."""

    def __init__(self, root: Path, started: float, pattern: str = SELECTED_PNG) -> None:
        self.root, self.started, self.pattern = root, started, pattern
        self.seen_s: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            if next(self.root.glob(self.pattern), None) is not None:
                self.seen_s = round(time.perf_counter() - self.started, 2)
                return

    def stop(self) -> float | None:
        self._stop.set()
        self._thread.join()
        return self.seen_s


def timed(
    cmd: list[str], env: dict, log: Path, check: bool = True, watch: Path | None = None
) -> tuple[Sample, str]:
    """Run a child, return (wall, peak RSS of that child) and its stdout; stderr goes to ``log``.
    With ``watch`` (a storage root), also when the first selected creative appeared in it."""
    started = time.perf_counter()
    first = FirstFile(watch, started) if watch is not None else None
    with log.open("ab") as err:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=err)
        out = proc.stdout.read().decode() if proc.stdout else ""
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if check and proc.returncode != 0:
        raise BenchError(f"{' '.join(cmd[:4])} … exited {proc.returncode}; see {log}\n{out[-2000:]}")
    extra = {"exit_code": proc.returncode}
    if first is not None:
        extra["first_selected_s"] = first.stop()
    return Sample(wall, usage.ru_maxrss / 1024, extra), out


def final_hashes(root: Path) -> dict[str, str]:
    """sha256 of every live final PNG under a storage root (to compare paths' outputs), keyed by
    unit and file name (each path writes its own generation folders, so the full keys differ), and
    without any C2PA manifest: a credential names its run, so only what was signed can be compared."""
    from creative_assets.credentials import unsigned_content

    out = {}
    for manifest_path in sorted(root.glob(layout.stage_manifest_pattern("final_creatives"))):
        manifest = json.loads(manifest_path.read_text())
        base = (
            manifest_path.parent / layout.GENERATIONS / manifest["generation"]
            if manifest.get("generation")
            else manifest_path.parent
        )
        unit = manifest_path.parent.parent.relative_to(root).as_posix()
        for name in sorted(manifest["files"]):
            if name.endswith(".png"):
                data = unsigned_content((base / name).read_bytes(), "image/png")
                out[f"{unit}/final_creatives/{name}"] = hashlib.sha256(data).hexdigest()
    return out


def sqlite_yaml(concurrency: int) -> str:
    return (
        "telemetry:\n  enabled: false\n"
        "run_coordinator:\n  module: dagster.core.run_coordinator\n  class: QueuedRunCoordinator\n"
        f"  config:\n    max_concurrent_runs: {concurrency}\n    dequeue_interval_seconds: 1\n"
    )


def instance_yaml(home: Path, yaml_text: str) -> str:
    """``yaml_text`` with the local instance's SQLite storage (what ``creative-assets run`` writes)
    unless it names a storage of its own (Postgres)."""
    from creative_assets.local_instance import storage_yaml

    return yaml_text if yaml_text.startswith("storage:") else storage_yaml(home) + yaml_text


def postgres_yaml(url: str, concurrency: int) -> str:
    return f"storage:\n  postgres:\n    postgres_url: {url}\n" + sqlite_yaml(concurrency)


# -- the measured paths --------------------------------------------------------------------------------


def measure_floor(work: Path, brief: Path, log: Path) -> tuple[Sample, dict]:
    root = work / "floor-storage"
    sample, _ = timed([PY, "-m", "bench.worker", "floor", str(brief), str(root)], _env(), log)
    return sample, final_hashes(root)


def measure_cli(work: Path, brief: Path, log: Path, yaml_text: str, env_extra=None) -> tuple[Sample, dict]:
    home, root = work / "home", work / "storage"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(instance_yaml(home, yaml_text))
    cmd = [PY, "-m", "creative_assets.cli", "run", str(brief), "--out", str(root)]
    cmd += ["--units-per-run", str(settings.units_per_run())]
    sample, _ = timed(cmd, _env(DAGSTER_HOME=str(home), **(env_extra or {})), log, watch=root)
    return sample, final_hashes(root)


@contextlib.contextmanager
def running_daemon(home: Path, env: dict, log: Path, daemons: set[str]):
    """``dagster-daemon`` on the instance in ``home`` with ``env``, once the ``daemons`` it runs have
    sent a heartbeat; yields (the process, the instance); stops the daemon afterwards."""
    import dagster as dg

    daemon = Path(PY).with_name("dagster-daemon")
    with log.open("ab") as err:
        proc = subprocess.Popen(
            [str(daemon), "run", "-w", str(REPO / "workspace.yaml")],
            cwd=REPO,
            env=env,
            stdout=err,
            stderr=subprocess.STDOUT,
        )
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            deadline = time.monotonic() + 120
            while daemons - {h.daemon_type for h in instance.get_daemon_heartbeats().values()}:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"dagster-daemon did not come up; see {log}")
                time.sleep(0.5)
            yield proc, instance
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure_daemon(work: Path, brief: Path, log: Path, yaml_text: str) -> tuple[Sample, dict]:
    """Backfill every unit through a running dagster-daemon (BackfillPolicy.multi_run, runs launched
    as processes by the code server). Wall: backfill submitted -> last run finished."""
    import dagster as dg
    from dagster._core.execution.backfill import PartitionBackfill

    home, root = work / "home", work / "storage"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(instance_yaml(home, yaml_text))
    env = _env(DAGSTER_HOME=str(home), CREATIVE_ASSETS_STORAGE="local", CREATIVE_ASSETS_ROOT=str(root))
    _, out = timed([PY, "-m", "bench.worker", "register", str(brief), str(root)], env, log)
    keys = json.loads(out.strip().splitlines()[-1])["units"]
    with running_daemon(home, env, log, {"BACKFILL", "QUEUED_RUN_COORDINATOR"}) as (proc, instance):
        old = dict(os.environ)
        os.environ.update(env)  # definitions read the storage settings from the environment
        try:
            from creative_assets.definitions import build_definitions

            graph = build_definitions().resolve_asset_graph()
        finally:
            os.environ.clear()
            os.environ.update(old)
        from creative_assets.jobs import unit_stages

        backfill_id = uuid.uuid4().hex[:8]
        submitted = time.time()
        instance.add_backfill(
            PartitionBackfill.from_asset_partitions(
                backfill_id=backfill_id,
                asset_graph=graph,
                partition_names=keys,
                asset_selection=[a.key for a in unit_stages],
                backfill_timestamp=submitted,
                tags={},
                dynamic_partitions_store=instance,
                all_partitions=False,
                title="bench",
                description=None,
                run_config=None,
            )
        )
        deadline = time.monotonic() + 60 * 60
        while True:
            backfill = instance.get_backfill(backfill_id)
            runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
            status = backfill.status.value if backfill else "?"
            if status in ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"backfill {backfill_id} did not finish ({status}); see {log}")
            time.sleep(0.5)
        completed = time.time()
        records = instance.get_run_records(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
        failed = [r.dagster_run.run_id for r in records if r.dagster_run.status.value != "SUCCESS"]
        if failed or status not in ("COMPLETED", "COMPLETED_SUCCESS"):
            raise BenchError(f"backfill {backfill_id}: {status}, failed runs {failed}; see {log}")
        first_start = min(r.start_time for r in records if r.start_time)
        last_end = max(r.end_time for r in records if r.end_time)
        sample = Sample(
            last_end - submitted,
            None,
            {
                "runs": len(runs),
                "first_run_started_after_s": round(first_start - submitted, 2),
                "marked_complete_after_s": round(completed - submitted, 2),
            },
        )
    return sample, final_hashes(root)


def measure_inbox_latency(work: Path, brief: Path, log: Path, tick_s: int) -> dict:
    """A brief dropped into a local inbox while ``dagster-daemon`` runs (the local profile: inbox tick
    ``tick_s``, one run at a time): seconds from the drop to the first selected creative on disk (the
    lead run's unit), and to every unit's. The brief folder is moved into the inbox in one rename."""

    home, root = work / "home", work / "storage"
    home.mkdir(parents=True)
    (root / layout.INBOX_PREFIX).mkdir(parents=True)
    (home / "dagster.yaml").write_text(instance_yaml(home, sqlite_yaml(1)))
    env = _env(
        DAGSTER_HOME=str(home),
        CREATIVE_ASSETS_STORAGE="local",
        CREATIVE_ASSETS_ROOT=str(root),
        CREATIVE_ASSETS_INBOX_TICK_SECONDS=str(tick_s),
        CREATIVE_ASSETS_NIGHTLY_ENABLED="0",
    )
    staged = work / "drop"
    shutil.copytree(brief.parent, staged)
    units = len(yaml_units(brief))
    with running_daemon(home, env, log, {"SENSOR", "QUEUED_RUN_COORDINATOR"}) as (proc, _):
        dropped = time.perf_counter()
        os.rename(staged, root / layout.INBOX_PREFIX / "bench")
        first = FirstFile(root, dropped)
        deadline = time.monotonic() + 60 * 30
        while len(list(root.glob(layout.stage_manifest_pattern("selected_creative")))) < units:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"the dropped brief was not fully selected; see {log}")
            time.sleep(0.2)
        every = round(time.perf_counter() - dropped, 2)
        return {"units": units, "tick_s": tick_s, "first_selected_s": first.stop(), "all_selected_s": every}


def yaml_units(brief: Path) -> list[tuple[str, str]]:
    """(locale, product) of every unit of a benchmark brief."""
    import yaml

    data = yaml.safe_load(brief.read_text())
    return [(loc, p["id"]) for loc in data["locales"] for p in data["products"]]


def measure_provider(work: Path, units: int, latency: float, limit: int, log: Path) -> Sample:
    """The pipeline on the OpenAI-compatible providers against FakeOpenAI with ``latency`` seconds per
    call. Provider-bound wall: the provider-calling steps (context, images, copy) of every run."""
    import dagster as dg

    from creative_assets_tests.openai_server import FakeOpenAI

    # no supplied translations: the copy stage machine-translates, so every provider stage calls out
    brief = write_campaign(work / "brief", units, candidates=1, sizes=SMALL_SIZES, translations=False)
    home, root = work / "home", work / "storage"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with FakeOpenAI() as server:
        server.latency = latency
        env = {
            "CREATIVE_ASSETS_IMAGE_PROVIDER": "openai",
            "CREATIVE_ASSETS_TEXT_PROVIDER": "openai",
            "OPENAI_BASE_URL": server.url,
            "OPENAI_API_KEY": server.api_key,
        }
        if limit != 4:  # 4 is the resource's default pool limit
            env["CREATIVE_ASSETS_OPENAI_MAX_CONCURRENCY"] = str(limit)
        cmd = [PY, "-m", "creative_assets.cli", "run", str(brief), "--out", str(root)]
        cmd += ["--units-per-run", str(settings.units_per_run())]
        # the fake's pictures are random gradients: some fail the blocking logo check, which is fine here
        sample, _ = timed(cmd, _env(DAGSTER_HOME=str(home), **env), log, check=False)
        calls = len(server.requests)
        peak = server.max_concurrent
        errors = sum(1 for r in server.requests if (r.get("status") or 200) >= 400)
    provider_steps = {"locale_context_pack", "image_candidates", "localized_copy"}
    step_wall = 0.0
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for record in instance.get_run_records(filters=dg.RunsFilter(job_name="creative_pipeline")):
            stats = instance.get_run_step_stats(record.dagster_run.run_id)
            step_wall += sum(s.end_time - s.start_time for s in stats if s.step_key in provider_steps)
    ideal = calls * latency / limit
    return Sample(
        step_wall,
        sample.peak_rss_mb,
        {
            "calls": calls,
            "ideal_s": ideal,
            "run_wall_s": sample.wall_s,
            "max_in_flight": peak,
            "errors": errors,
        },
    )


def measure_sensor(work: Path, done: int, new: int, log: Path) -> dict:
    _, out = timed([PY, "-m", "bench.worker", "sensor", str(work), str(done), str(new)], _env(), log)
    return json.loads(out.strip().splitlines()[-1])


def big_product_image(path: Path, side: int = 4000) -> Path:
    """A 4000x4000 studio-style packshot: a can-like shape on a light backdrop (JPEG, like a DSLR)."""
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (side, side), (236, 236, 232))
    draw = ImageDraw.Draw(im)
    draw.rounded_rectangle(
        (side * 0.36, side * 0.12, side * 0.64, side * 0.9), radius=side // 20, fill=(230, 120, 40)
    )
    draw.rectangle((side * 0.36, side * 0.4, side * 0.64, side * 0.55), fill=(250, 220, 60))
    im.save(path, "JPEG", quality=92)
    return path


def measure_memory(work: Path, units: int, candidates: int, log: Path, motion: bool = False) -> Sample:
    """Peak RSS of one run (all units in one batch: no lead run) at the production sizes with
    4000x4000 images; with ``motion``, every unit also renders its Reels MP4."""
    work.mkdir(parents=True, exist_ok=True)
    image = big_product_image(work / "packshot.jpg")
    brief = write_campaign(work / "brief", units, candidates=candidates, product_image=image, motion=motion)
    home, root = work / "home", work / "storage"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    cmd = [PY, "-m", "creative_assets.cli", "run", str(brief), "--out", str(root)]
    cmd += ["--units-per-run", str(max(units, 1))]
    sample, _ = timed(cmd, _env(DAGSTER_HOME=str(home), CREATIVE_ASSETS_FIRST_BATCH_UNITS="0"), log)
    return sample


# -- the session ----------------------------------------------------------------------------------------


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    from importlib.metadata import version

    def v(pkg):
        try:
            return version(pkg)
        except Exception:
            return "-"

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "dagster": v("dagster"),
        "dagster-postgres": v("dagster-postgres"),
        "pillow": v("pillow"),
        "loadavg_start": os.getloadavg(),
    }


def median(xs):
    return statistics.median(xs) if xs else None


class Session:
    def __init__(self, args, out: Path):
        self.args = args
        self.out = out
        self.work = Path(tempfile.mkdtemp(prefix="creative-bench-"))
        self.log = out / "bench.log"
        self.results: dict = {"machine": machine(), "config": vars(args).copy(), "throughput": []}
        self.pg = None

    def say(self, text: str) -> None:
        print(text, flush=True)

    def _dir(self, name: str) -> Path:
        d = self.work / f"{name}-{uuid.uuid4().hex[:6]}"
        d.mkdir(parents=True)
        return d

    def start_postgres(self) -> bool:
        if self.args.no_postgres:
            self.results["postgres"] = "skipped (--no-postgres)"
            return False
        from creative_assets_tests.postgres_server import PostgresServer, PostgresUnavailable

        try:
            self.pg = PostgresServer()
            self.pg.start()
            self.results["postgres"] = f"throwaway server from {self.pg.bindir} (fsync off)"
            return True
        except PostgresUnavailable as exc:
            self.pg = None
            self.results["postgres"] = f"SKIPPED: {exc}"
            self.say(f"! Postgres measurements skipped: {exc}")
            return False

    def pg_yaml(self) -> str:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        return postgres_yaml(self.pg.create_database(name), self.args.daemon_concurrency)

    def throughput(self, units: int, reps: int) -> None:
        brief = write_campaign(
            self._dir("brief") / "brief", units, candidates=self.args.candidates, sizes=self.sizes()
        )
        modes = [("floor", None), ("cli", "sqlite"), ("daemon", "sqlite")]
        if self.pg is not None:
            modes += [("cli", "postgres"), ("daemon", "postgres")]
        if self.args.skip_daemon:
            modes = [m for m in modes if m[0] != "daemon"]
        samples: dict[tuple, list[Sample]] = {m: [] for m in modes}
        reference = None
        identical = True
        for rep in range(reps):
            for mode, backend in modes:
                if backend == "postgres" and rep > 0 and units >= 50:
                    continue  # large K: Postgres once (its figure is reported, not a target)
                work = self._dir(f"{mode}-{backend}-{units}")
                yaml_text = (
                    self.pg_yaml() if backend == "postgres" else sqlite_yaml(self.args.daemon_concurrency)
                )
                self.say(f"  K={units} rep {rep + 1}/{reps}: {mode} {backend or ''}".rstrip())
                if mode == "floor":
                    sample, hashes = measure_floor(work, brief, self.log)
                elif mode == "cli":
                    sample, hashes = measure_cli(work, brief, self.log, yaml_text)
                else:
                    sample, hashes = measure_daemon(work, brief, self.log, yaml_text)
                samples[(mode, backend)].append(sample)
                if reference is None:
                    reference = hashes
                elif hashes != reference:
                    identical = False
                shutil.rmtree(work, ignore_errors=True)
        floor = median([s.wall_s for s in samples[("floor", None)]])
        for (mode, backend), ss in samples.items():
            wall = median([s.wall_s for s in ss])
            rss = [s.peak_rss_mb for s in ss if s.peak_rss_mb]
            extra = ss[-1].extra if ss else {}
            self.results["throughput"].append(
                {
                    "units": units,
                    "path": mode if mode == "floor" else f"{mode} ({backend})",
                    "reps": len(ss),
                    "wall_s": wall,
                    "wall_per_final_s": wall / (units * self.args.candidates * 3),
                    "walls_s": [round(s.wall_s, 2) for s in ss],
                    "units_per_min": units / wall * 60,
                    "ratio_to_floor": wall / floor,
                    "overhead_per_unit_s": (wall - floor) / units,
                    "peak_rss_mb": max(rss) if rss else None,
                    **extra,
                    **(
                        {"first_selected_s": median([s.extra["first_selected_s"] for s in ss])}
                        if ss and all(s.extra.get("first_selected_s") is not None for s in ss)
                        else {}
                    ),
                }
            )
        self.results.setdefault("outputs_identical", {})[str(units)] = identical
        if not identical:
            self.say(f"! K={units}: final PNGs differ between paths")

    def sizes(self):
        return None if self.args.production_sizes else SMALL_SIZES

    def run(self) -> dict:
        args = self.args
        self.say(f"• work folder {self.work}; log {self.log}")
        try:
            want = set(args.only)
            if "throughput" in want and not args.no_postgres:
                self.start_postgres()
            for units in args.units if "throughput" in want else []:
                reps = args.repeat if units < 50 else min(args.repeat, args.repeat_large)
                self.say(f"• throughput, K={units} ({reps} repetition(s))")
                self.throughput(units, reps)
            if "latency" in want and not args.skip_daemon:  # the inbox path needs dagster-daemon
                self.say(f"• first creative: a {args.latency_units}-unit brief dropped in a local inbox")
                brief = write_campaign(
                    self._dir("latency-brief") / "brief",
                    args.latency_units,
                    candidates=args.candidates,
                    sizes=self.sizes(),
                )
                self.results["latency"] = measure_inbox_latency(
                    self._dir("latency"), brief, self.log, args.latency_tick
                )
            if "provider" in want:
                self.provider()
            if "sensor" in want:
                self.say(
                    f"• sensor tick, {args.sensor_done} processed objects + {args.sensor_new} new briefs"
                )
                self.results["sensor"] = measure_sensor(
                    self._dir("sensor"), args.sensor_done, args.sensor_new, self.log
                )
            if "scaling" in want:
                self.say(
                    f"• scaling: K={args.scaling_units}, in-process vs Celery with 1 and 2 workers "
                    "(redis-server, PostgreSQL)"
                )
                if self.pg is None and not self.start_postgres():
                    raise BenchError("the scaling section needs PostgreSQL (the workers share the instance)")
                from bench.scaling import measure_scaling

                self.results["scaling"] = measure_scaling(
                    self._dir("scaling"),
                    args.scaling_units,
                    args.scaling_units_per_run,
                    args.candidates,
                    self.sizes(),
                    self.pg,
                    self.log,
                )
            if "memory" in want:
                self.say(
                    f"• peak memory: {args.memory_units} units x {args.memory_candidates} candidates, "
                    "4000x4000 packshots, production sizes, one run"
                )
                mem = measure_memory(self._dir("memory"), args.memory_units, args.memory_candidates, self.log)
                self.results["memory"] = {
                    "units": args.memory_units,
                    "candidates": args.memory_candidates,
                    "peak_rss_mb": mem.peak_rss_mb,
                    "wall_s": mem.wall_s,
                }
                if not args.quick:  # the same run with every unit's Reels MP4 (issue 18's budget)
                    self.say("• peak memory with motion: the same run, every unit also renders its MP4")
                    mem = measure_memory(
                        self._dir("memory-motion"), args.memory_units, args.memory_candidates, self.log, True
                    )
                    self.results["memory"].update(
                        motion_peak_rss_mb=mem.peak_rss_mb, motion_wall_s=mem.wall_s
                    )
            if "credentials" in want:
                self.say(f"• Content Credentials per final, {args.credentials_reps} repetition(s)")
                self.credentials()
        finally:
            if self.pg is not None:
                self.pg.stop()
            shutil.rmtree(self.work, ignore_errors=True)
        self.results["machine"]["loadavg_end"] = os.getloadavg()
        return self.results

    def credentials(self) -> None:
        from bench.credentials import measure_credentials

        work = self._dir("credentials")
        brief = write_campaign(work / "brief", 2, candidates=1, sizes=None)  # production sizes
        root = work / "storage"
        timed([PY, "-m", "bench.worker", "floor", str(brief), str(root)], _env(), self.log)
        self.results["credentials"] = measure_credentials(root, work, self.args.credentials_reps)

    def provider(self) -> None:
        args = self.args
        self.results["provider"] = []
        for latency in args.latency:
            self.say(f"• provider-bound, K={args.provider_units}, L={latency}s, C={args.pool}")
            prov = []
            for rep in range(args.repeat):
                self.say(f"  rep {rep + 1}/{args.repeat}")
                prov.append(
                    measure_provider(self._dir("provider"), args.provider_units, latency, args.pool, self.log)
                )
            best = sorted(prov, key=lambda s: s.wall_s)[len(prov) // 2]
            self.results["provider"].append(
                {
                    "units": args.provider_units,
                    "latency_s": latency,
                    "pool": args.pool,
                    "reps": len(prov),
                    "provider_steps_wall_s": best.wall_s,
                    "ratio_to_ideal": best.wall_s / best.extra["ideal_s"],
                    **best.extra,
                }
            )
