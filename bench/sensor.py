"""Sensor tick time: an inbox whose earlier drops left DONE objects behind (accepted briefs leave their
images in the inbox; the instance already knows their units) and NEW fresh brief folders."""

from __future__ import annotations

import io
import time
from pathlib import Path

import yaml
from PIL import Image

from creative_assets.layout import INBOX_PREFIX


def _png(seed: int) -> bytes:
    buf = io.BytesIO()
    # large enough that no output enlarges it (the preflight refuses upscaled packshots)
    Image.new("RGB", (1200, 1200), ((seed * 37) % 256, (seed * 91) % 256, 200)).save(buf, "PNG")
    return buf.getvalue()


def build_state(storage, instance, done: int, new: int) -> None:
    from creative_assets.partitions import campaigns, creative_units

    image = _png(1)
    for n in range(done):  # what processed drops leave: their images (the briefs are gone)
        storage.write_bytes(f"{INBOX_PREFIX}done-{n // 2:05d}/assets/product-{n % 2}.png", image)
    instance.add_dynamic_partitions(
        creative_units.name, [f"done-{n:05d}.en-US.product-{n % 2}" for n in range(done)]
    )
    instance.add_dynamic_partitions(campaigns.name, [f"done-{n:05d}" for n in range(done // 2)])
    for n in range(new):
        brief = {
            "campaign_id": f"new-{n:03d}",
            "name": f"New campaign {n}",
            "brand": "aurora-beverages",
            "message": "Stay bright all summer",
            "source_locale": "en-US",
            "cta": "Shop now",
            "locales": ["en-US", "de-DE"],
            "localized_messages": {"de-DE": {"message": "Strahlend durch den Sommer", "cta": "Jetzt kaufen"}},
            "products": [
                {"id": "citrus", "name": "Citrus", "assets": ["assets/citrus.png"]},
                {"id": "mango", "name": "Mango"},
            ],
            "candidates": 1,
        }
        storage.write_bytes(f"{INBOX_PREFIX}new-{n:03d}/assets/citrus.png", _png(n))
        storage.write_text(f"{INBOX_PREFIX}new-{n:03d}/brief.yaml", yaml.safe_dump(brief, allow_unicode=True))


def measure_sensor(root: Path, done: int, new: int) -> dict:
    import dagster as dg

    from resources.brand_kits import BrandKitLibrary
    from resources.inbox import BriefInbox
    from resources.storage import LocalCreativeStorage
    from sensors.brief_inbox import brief_inbox_sensor

    storage = LocalCreativeStorage(root=str(root))
    with dg.instance_for_test() as instance:
        t0 = time.perf_counter()
        build_state(storage, instance, done, new)
        setup = time.perf_counter() - t0
        cursor, ticks, runs, accepted = None, [], 0, 0
        for _ in range(new // 50 + 3):  # up to 50 briefs per tick by default, then the idle ticks
            context = dg.build_sensor_context(
                instance=instance,
                cursor=cursor,
                resources={"storage": storage, "inbox": BriefInbox(), "brand_kits": BrandKitLibrary()},
            )
            started = time.perf_counter()
            result = brief_inbox_sensor(context)
            ticks.append(time.perf_counter() - started)
            cursor = result.cursor
            runs += len(result.run_requests or [])
            for request in result.dynamic_partitions_requests or []:  # what the daemon does
                instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
                if request.partitions_def_name == "campaigns":
                    accepted += len(request.partition_keys)
        left = [k for k in storage.list_keys(INBOX_PREFIX) if k.endswith(".yaml")]
    return {
        "setup_s": setup,
        "ticks_s": ticks,
        "max_tick_s": max(ticks),
        "idle_tick_s": ticks[-1],
        "accepted": accepted,
        "runs_requested": runs,
        "left_in_inbox": len(left),
        "objects": done + 2 * new,
    }


def measure_ingest(root: Path, briefs: int, interval_s: float | None = None) -> dict:
    """Acceptance rate of the inbox: ``briefs`` small briefs dropped at once, the sensor ticked with
    its default settings until the inbox is drained, each tick's partition requests applied as the
    daemon does. The rate assumes the daemon's schedule: a tick every ``interval_s`` (the sensor's
    minimum interval), or back to back when a tick takes longer."""
    import dagster as dg

    from resources.brand_kits import BrandKitLibrary
    from resources.inbox import BriefInbox
    from resources.storage import LocalCreativeStorage
    from sensors.brief_inbox import INBOX_TICK_SECONDS, brief_inbox_sensor

    interval_s = INBOX_TICK_SECONDS if interval_s is None else interval_s
    storage = LocalCreativeStorage(root=str(root))
    with dg.instance_for_test() as instance:
        build_state(storage, instance, 0, briefs)
        cursor, ticks, accepted, runs = None, [], 0, 0
        while True:
            context = dg.build_sensor_context(
                instance=instance,
                cursor=cursor,
                resources={"storage": storage, "inbox": BriefInbox(), "brand_kits": BrandKitLibrary()},
            )
            started = time.perf_counter()
            result = brief_inbox_sensor(context)
            ticks.append(time.perf_counter() - started)
            cursor = result.cursor
            runs += len(result.run_requests or [])
            for request in result.dynamic_partitions_requests or []:
                instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
                if request.partitions_def_name == "campaigns":
                    accepted += len(request.partition_keys)
            if not any(k.endswith(".yaml") for k in storage.list_keys(INBOX_PREFIX)):
                break
    elapsed = sum(max(interval_s, t) for t in ticks[:-1]) + ticks[-1]
    return {
        "briefs": briefs,
        "accepted": accepted,
        "runs_requested": runs,
        "ticks": len(ticks),
        "ticks_s": [round(t, 2) for t in ticks],
        "max_tick_s": round(max(ticks), 2),
        "per_brief_ms": round(1000 * sum(ticks) / max(accepted, 1), 1),
        "drained_after_s": round(elapsed, 1),
        "accepted_per_min": round(60 * accepted / elapsed, 1),
        "tick_interval_s": interval_s,
    }


def main(argv: list[str]) -> int:
    """``python -m bench ingest [--briefs 500]``: print the inbox acceptance rate."""
    import argparse
    import json
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m bench ingest", description=measure_ingest.__doc__)
    parser.add_argument("--briefs", type=int, default=500, help="small briefs dropped at once (500)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = measure_ingest(Path(tmp), args.briefs)
    print(json.dumps(result, indent=2))
    return 0
