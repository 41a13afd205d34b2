"""Work the benchmark runs in a child process (so wall time and peak RSS belong to that work alone).

python -m bench.worker floor BRIEF ROOT
python -m bench.worker register BRIEF ROOT        # register + add partitions ($DAGSTER_HOME)
python -m bench.worker sensor ROOT DONE NEW       # one inbox state, ticks timed; prints JSON
python -m bench.worker batch FIRST LAST           # one creative_pipeline run of a unit range, with the
                                                  # executor CREATIVE_ASSETS_EXECUTOR chooses
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message=r".*is currently in (beta|preview)")


def floor(brief: str, root: str) -> None:
    from bench.floor import run_floor

    started = time.perf_counter()
    units = run_floor(Path(brief), Path(root))
    print(json.dumps({"units": units, "work_s": time.perf_counter() - started}))


def register(brief: str, root: str) -> None:
    import dagster as dg

    from creative_assets.brief import load_brief
    from creative_assets.brief_store import register_brief
    from creative_assets.partitions import campaigns, creative_units
    from resources.storage import LocalCreativeStorage

    storage = LocalCreativeStorage(root=root)
    record, _ = register_brief(storage, load_brief(brief), Path(brief).read_bytes())
    keys = [str(u) for u in record.unit_keys()]
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(creative_units.name, keys)
        instance.add_dynamic_partitions(campaigns.name, [record.campaign_id])
    print(json.dumps({"units": keys, "campaign": record.campaign_id}))


def batch(first: str, last: str) -> int:
    import dagster as dg

    from creative_assets.execution import creative_pipeline_job, execute_pipeline
    from creative_assets.run_tags import range_tags

    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    with dg.DagsterInstance.get() as instance:
        result = execute_pipeline(
            creative_pipeline_job(), instance, run_config=quiet, tags=range_tags(first, last)
        )
    print(json.dumps({"run_id": result.run_id, "success": result.success}))
    return 0 if result.success else 1


def main(argv: list[str]) -> int:
    kind, *args = argv
    if kind == "floor":
        floor(*args)
    elif kind == "register":
        register(*args)
    elif kind == "batch":
        return batch(*args)
    elif kind == "sensor":
        from bench.sensor import measure_sensor

        print(json.dumps(measure_sensor(Path(args[0]), int(args[1]), int(args[2]))))
    else:
        raise SystemExit(f"unknown worker {kind!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
