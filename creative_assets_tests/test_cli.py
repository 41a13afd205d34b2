"""The command line: validate, schema and a small end-to-end run on a local instance."""

import json

import pytest
import yaml

from creative_assets.cli import main
from creative_assets.units import contiguous_batches
from creative_assets_tests.helpers import SUMMER, TRAIL
from creative_assets_tests.pipeline_helpers import small_brief


def test_validate_ok(capsys):
    assert main(["validate", str(TRAIL)]) == 0
    out = capsys.readouterr().out
    assert "trail-ready-2026" in out and "8 units" in out and "72 creatives" in out


def test_validate_reports_problems_with_exit_code_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    data = yaml.safe_load(SUMMER.read_text())
    data["locales"] = ["en-US", "de-de"]
    data["products"][0]["id"] = "Bad Id"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True))
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "locales[1]" in err and "products[0].id" in err and "de-DE" in err


def test_schema_is_json(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "creative-assets campaign brief"


def test_contiguous_batches_follow_partition_order():
    ordered = ["a1", "a2", "b1", "a3", "a4", "a5"]
    assert contiguous_batches(ordered, ["a1", "a2", "a3", "a4", "a5"], 2) == [
        ["a1", "a2"],
        ["a3", "a4"],
        ["a5"],
    ]
    assert contiguous_batches(ordered, ["a5", "a1"], 10) == [["a1"], ["a5"]]


def test_run_produces_creatives_and_is_idempotent(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    brief = small_brief(tmp_path, locales=("en-US", "ar-AE"), candidates=1)
    out = tmp_path / "out"
    assert main(["run", str(brief), "--out", str(out), "--units-per-run", "3"]) == 0
    printed = capsys.readouterr().out
    assert "4 creative units (4 new)" in printed and "run 2/2" in printed
    selected = sorted(
        p.relative_to(out).as_posix() for p in out.glob("campaigns/*/*/*/selected_creative/gen/*/*.png")
    )
    assert len(selected) == 4 * 3
    assert (out / "campaigns/summer-splash-2026/summary.csv").is_file()
    # second run: same brief version, no new partitions
    assert main(["run", str(brief), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "v1 unchanged" in printed and "(0 new)" in printed


def test_run_refuses_invalid_briefs_before_running_anything(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["run", str(TRAIL), str(bad), "--out", str(tmp_path / "out")]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert not (tmp_path / "out" / "campaigns").exists()


@pytest.fixture(autouse=True)
def _restore_env(monkeypatch):
    # the CLI exports CREATIVE_ASSETS_ROOT for --out; keep it from leaking between tests
    monkeypatch.delenv("CREATIVE_ASSETS_ROOT", raising=False)
    monkeypatch.delenv("CREATIVE_ASSETS_STORAGE", raising=False)
