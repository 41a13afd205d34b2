"""The whole loop with nobody touching the UI: a real dagster-daemon process, a real S3 endpoint.

A brief and its images are put into the bucket's inbox with boto3; the daemon's brief inbox sensor
ingests it and launches the runs; the rollup sensor follows. The test only watches the bucket.
"""

import json
import os
import subprocess
import time
from pathlib import Path

import dagster as dg
import pytest

from creative_assets_tests.helpers import dagster_daemon
from creative_assets_tests.pipeline_helpers import small_brief


def _wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            pytest.fail(
                f"dagster-daemon exited ({proc.returncode}) while waiting for {what}:\n{log.read_text()[-4000:]}"
            )
        time.sleep(2)
    pytest.fail(
        f"timed out after {timeout:.0f}s waiting for {what}; daemon log tail:\n{log.read_text()[-4000:]}"
    )


def test_brief_dropped_in_bucket_becomes_creatives(tmp_path, s3_endpoint, s3_client, bucket):
    brief = small_brief(tmp_path, locales=("en-US", "ja-JP"), products=None, candidates=1)
    for path in brief.parent.rglob("*"):
        if path.is_file():
            s3_client.put_object(
                Bucket=bucket,
                Key=f"drop/inbox/summer/{path.relative_to(brief.parent).as_posix()}",
                Body=path.read_bytes(),
            )
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "CREATIVE_ASSETS_STORAGE": "s3",
        "CREATIVE_ASSETS_BUCKET": bucket,
        "CREATIVE_ASSETS_PREFIX": "drop",
        "CREATIVE_ASSETS_S3_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "CREATIVE_ASSETS_INBOX_TICK_SECONDS": "5",  # the local profile's tick (settings)
    }
    log = tmp_path / "daemon.log"
    with dagster_daemon(env, log) as proc:
        units = [f"{loc}/{p}" for loc in ("en-US", "ja-JP") for p in ("sparkling-citrus", "mango-mint")]

        def objects(prefix):
            pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            return {o["Key"] for page in pages for o in page.get("Contents", [])}

        _wait_for(
            lambda: "drop/briefs/summer-splash-2026/current.json" in objects("drop/briefs/"),
            120,
            "the sensor to register the brief",
            proc,
            log,
        )

        def selected_complete():  # every unit's live selection and its three PNGs
            keys = objects("drop/campaigns/")
            for u in units:
                manifest = f"drop/campaigns/summer-splash-2026/{u}/selected_creative/manifest.json"
                if manifest not in keys:
                    return False
                body = json.loads(s3_client.get_object(Bucket=bucket, Key=manifest)["Body"].read())
                gen = f"drop/campaigns/summer-splash-2026/{u}/selected_creative/gen/{body['generation']}"
                if not {f"{gen}/{r}.png" for r in ("1x1", "9x16", "16x9")} <= keys:
                    return False
            return True

        _wait_for(selected_complete, 300, "the selected creatives", proc, log)

        def summary_selected() -> int:
            key = "drop/campaigns/summer-splash-2026/summary.csv"
            if key not in objects("drop/campaigns/"):
                return 0
            return s3_client.get_object(Bucket=bucket, Key=key)["Body"].read().decode().count(",selected,")

        # the lead run (one unit) and the rest are separate runs: the rollup sensor refreshes the
        # summary after each, so it lists every unit once the last run's rollup has run
        _wait_for(lambda: summary_selected() == len(units), 120, "the campaign rollup", proc, log)
        assert not [k for k in objects("drop/inbox/") if k.endswith(".yaml")], "the brief left the inbox"
        with dg.DagsterInstance.from_config(str(home)) as instance:
            runs = instance.get_runs(filters=dg.RunsFilter(job_name="creative_pipeline"))
        ranges = [
            (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
            for r in runs
        ]
        assert len(ranges) == 2 and sum(first == last for first, last in ranges) == 1, (
            f"a one-unit lead run, then the rest: {ranges}"
        )
