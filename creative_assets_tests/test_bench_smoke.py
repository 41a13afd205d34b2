"""The benchmark's quick mode end to end (tiny K, no daemon, no Postgres): every section is reported.
Timings are not asserted: they depend on the machine."""

import json
import subprocess
import sys

from creative_assets_tests.helpers import REPO


def test_bench_quick_mode_reports_every_section(tmp_path):
    out = tmp_path / "results"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "run",
            "--quick",
            "--skip-daemon",
            "--no-postgres",
            "--out",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = (out / "latest.md").read_text()
    for section in (
        "## Machine",
        "## Throughput",
        "## Provider-bound",
        "## Sensor tick",
        "## Peak memory",
        "## Content Credentials per final",
        "## Targets",
    ):
        assert section in report, section
    results = json.loads(next(out.glob("*.json")).read_text())
    assert {r["path"] for r in results["throughput"]} == {"floor", "cli (sqlite)"}
    assert results["outputs_identical"] == {"2": True}  # floor and orchestrated wrote the same bytes
    [provider] = results["provider"]
    assert provider["calls"] > 0 and provider["max_in_flight"] <= provider["pool"]
    assert results["sensor"]["accepted"] == 10 and results["sensor"]["left_in_inbox"] == 0
    assert results["memory"]["peak_rss_mb"] > 0
    assert results["credentials"]["finals"] == 6 and results["credentials"]["sign_ms"] > 0
