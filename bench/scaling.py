"""Scaling: the same K units through in-process runs and through Celery with 1 and 2 workers.

Each path gets a fresh PostgreSQL database (the production instance) and storage folder; the brief is
registered first (not timed). K units are cut into runs of ``units_per_run``; each run is one process
(``python -m bench.worker batch``), as the daemon's run launcher starts one per run:

- ``in-process``: the runs one after another, every step inside its run's process;
- ``celery xN``: the runs all at once, their steps on N Celery workers (one pool process each,
  queues image, provider, dagster) through a throwaway Redis.

Wall: first run started -> last run finished. Per-step dispatch: from the run's "Submitting celery
task" engine event to the step's STEP_START (queue wait, task pickup, loading the code and the plan
in the worker), from the event log.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
import uuid
from pathlib import Path

from bench.campaign import write_campaign
from bench.run import PY, REPO, BenchError, _env, final_hashes, postgres_yaml, timed
from creative_assets.run_tags import unit_batches


def _step_stats(home: Path) -> dict:
    import dagster as dg

    dispatch, work, steps = [], 0.0, 0
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for record in instance.get_run_records(filters=dg.RunsFilter(job_name="creative_pipeline")):
            run_id = record.dagster_run.run_id
            submitted = {}
            for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
                if "Submitting celery task" in (e.user_message or "") and e.step_key:
                    submitted.setdefault(e.step_key, e.timestamp)
            for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START):
                if e.step_key in submitted:
                    dispatch.append(e.timestamp - submitted.pop(e.step_key))
            for s in instance.get_run_step_stats(run_id):
                if s.end_time and s.start_time:
                    work += s.end_time - s.start_time
                    steps += 1
    return {
        "steps": steps,
        "step_wall_sum_s": round(work, 2),
        "dispatch_median_s": round(statistics.median(dispatch), 3) if dispatch else None,
        "dispatch_max_s": round(max(dispatch), 3) if dispatch else None,
    }


def measure_path(work: Path, brief: Path, pg, workers: int, units_per_run: int, redis_url: str, log: Path):
    from creative_assets_tests.celery_workers import CeleryWorkers

    home, root = work / "home", work / "storage"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(postgres_yaml(pg.create_database(f"scale_{uuid.uuid4().hex[:8]}"), 1))
    env = _env(DAGSTER_HOME=str(home), CREATIVE_ASSETS_STORAGE="local", CREATIVE_ASSETS_ROOT=str(root))
    if workers:
        env.update(CREATIVE_ASSETS_EXECUTOR="celery", CREATIVE_ASSETS_CELERY_BROKER_URL=redis_url)
    _, out = timed([PY, "-m", "bench.worker", "register", str(brief), str(root)], env, log)
    keys = json.loads(out.strip().splitlines()[-1])["units"]
    batches = [(b.first, b.last) for b in unit_batches(keys, keys, size=units_per_run)]
    pool = CeleryWorkers(env, work) if workers else None
    try:
        if pool:
            for n in range(workers):
                pool.start(f"bench{n + 1}", "image,provider,dagster", concurrency=1)
            pool.wait_ready()
        started = time.perf_counter()
        with log.open("ab") as err:
            cmds = [[PY, "-m", "bench.worker", "batch", first, last] for first, last in batches]
            if pool:  # all runs at once: the workers share them out
                procs = [subprocess.Popen(c, cwd=REPO, env=env, stdout=err, stderr=err) for c in cmds]
                codes = [p.wait() for p in procs]
            else:  # one after another, like a daemon running one run at a time
                codes = [
                    subprocess.run(c, cwd=REPO, env=env, stdout=err, stderr=err).returncode for c in cmds
                ]
        wall = time.perf_counter() - started
    finally:
        if pool:
            pool.stop_all()
    if any(codes):
        raise BenchError(f"scaling ({workers} workers): runs exited {codes}; see {log}")
    return wall, len(batches), final_hashes(root), _step_stats(home)


def measure_scaling(
    work: Path, units: int, units_per_run: int, candidates: int, sizes, pg, log: Path
) -> dict:
    from creative_assets_tests.redis_server import RedisServer

    brief = write_campaign(work / "brief", units, candidates=candidates, sizes=sizes)
    rows, reference, identical = [], None, True
    with RedisServer() as redis:
        for workers in (0, 1, 2):
            path_work = work / f"scaling-{workers}"
            path_work.mkdir()
            wall, runs, hashes, stats = measure_path(
                path_work, brief, pg, workers, units_per_run, redis.url, log
            )
            reference = reference or hashes
            identical = identical and hashes == reference
            rows.append(
                {
                    "path": f"celery x{workers}" if workers else "in-process",
                    "workers": workers,
                    "runs": runs,
                    "wall_s": round(wall, 2),
                    "units_per_min": round(units / wall * 60, 1),
                    **stats,
                }
            )
    base = rows[0]["wall_s"]
    one = rows[1]["wall_s"]
    for row in rows:
        row["speedup_vs_in_process"] = round(base / row["wall_s"], 2)
        row["speedup_vs_1_worker"] = round(one / row["wall_s"], 2) if row["workers"] else None
    overhead = (one - base) / rows[1]["steps"] if rows[1]["steps"] else None
    return {
        "units": units,
        "units_per_run": units_per_run,
        "candidates": candidates,
        "rows": rows,
        "overhead_per_step_s": round(overhead, 3) if overhead is not None else None,
        "outputs_identical": identical,
    }
