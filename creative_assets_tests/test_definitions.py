"""The code location loads, and its asset graph matches the reviewed snapshot.

After an intended graph change, regenerate with ``UPDATE_SNAPSHOTS=1 pytest creative_assets_tests/test_definitions.py``
and review the diff of ``snapshots/asset_graph.json``.
"""

import json
import os
from pathlib import Path

import dagster as dg

from creative_assets.definitions import defs

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def graph_snapshot(definitions: dg.Definitions) -> dict:
    graph = definitions.resolve_asset_graph()
    out = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        partitions = node.partitions_def
        out[key.to_user_string()] = {
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "partitions": getattr(partitions, "name", None) if partitions else None,
            "code_version": node.code_version,
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "checks": sorted(c.name for c in node.check_keys),
            "automation": node.automation_condition.get_label() if node.automation_condition else None,
            "backfill_policy": str(node.backfill_policy.policy_type.value) if node.backfill_policy else None,
        }
    jobs = sorted(j.name for j in definitions.resolve_all_job_defs() if not j.name.startswith("__"))
    sensors = {
        s.name: {
            "jobs": sorted(j.name for j in s.jobs) if s.has_jobs else [],
            "interval": s.minimum_interval_seconds,
        }
        for s in (definitions.resolve_sensor_def(d.name) for d in definitions.sensors or [])
    }
    schedules = {
        s.name: {"job": s.job_name, "default_status": s.default_status.value}
        for s in (definitions.resolve_schedule_def(d.name) for d in definitions.schedules or [])
    }
    return {"assets": out, "jobs": jobs, "sensors": sensors, "schedules": schedules}


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)


def test_asset_graph_matches_snapshot():
    current = graph_snapshot(defs)
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert SNAPSHOT.exists(), "no snapshot: run with UPDATE_SNAPSHOTS=1 and review it"
    assert current == json.loads(SNAPSHOT.read_text()), "asset graph changed: review and UPDATE_SNAPSHOTS=1"


def test_stage_chain_lineage():
    graph = graph_snapshot(defs)["assets"]
    assert graph["locale_context_pack"]["deps"] == ["unit_brief"]
    assert graph["image_candidates"]["deps"] == ["locale_context_pack", "unit_brief"]
    assert "image_candidates" in graph["branded_candidates"]["deps"]
    assert "branded_candidates" in graph["localized_copy"]["deps"]
    assert {"branded_candidates", "localized_copy"} <= set(graph["final_creatives"]["deps"])
    assert "final_creatives" in graph["selected_creative"]["deps"]
    assert graph["campaign_summary"]["deps"] == ["selected_creative"]
    for name in (
        "unit_brief",
        "locale_context_pack",
        "image_candidates",
        "branded_candidates",
        "localized_copy",
        "final_creatives",
        "selected_creative",
    ):
        assert graph[name]["partitions"] == "creative_units"
        assert graph[name]["code_version"]
    assert graph["campaign_summary"]["partitions"] == "campaigns"


def test_openai_limits_come_from_the_environment(monkeypatch):
    import pytest

    from creative_assets.definitions import build_openai

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("CREATIVE_ASSETS_OPENAI_MAX_CONCURRENCY", "8")
    monkeypatch.setenv("CREATIVE_ASSETS_OPENAI_MAX_RETRIES", "0")
    resource = build_openai()
    assert (resource.max_concurrent_requests, resource.max_retries) == (8, 0)
    monkeypatch.setenv("CREATIVE_ASSETS_OPENAI_MAX_CONCURRENCY", "0")
    with pytest.raises(ValueError, match=r"CREATIVE_ASSETS_OPENAI_MAX_CONCURRENCY=0 is outside 1\.\.64"):
        build_openai()
    monkeypatch.setenv("CREATIVE_ASSETS_OPENAI_MAX_CONCURRENCY", "four")
    with pytest.raises(ValueError, match="not a whole number"):
        build_openai()


def test_loading_the_code_location_prints_no_beta_or_preview_warnings():
    """Silenced in one place (creative_assets/dagster_warnings.py), only for the APIs chosen there."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", "import creative_assets.definitions"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    assert "BetaWarning" not in done.stderr and "PreviewWarning" not in done.stderr, done.stderr[-2000:]


def test_only_the_chosen_apis_are_silenced():
    import warnings

    from creative_assets.dagster_warnings import silence_chosen_api_warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        silence_chosen_api_warnings()
        warnings.warn(
            "Parameter `backfill_policy` of function `asset` is currently in beta, and ...", stacklevel=1
        )
        warnings.warn("Parameter `other` of function `asset` is currently in beta, and ...", stacklevel=1)
    assert [str(w.message) for w in caught] == [
        "Parameter `other` of function `asset` is currently in beta, and ..."
    ]
