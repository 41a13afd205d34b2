"""The command line: validate, schema, status, help and version, --json against its schema, and a
small end-to-end run on a local instance whose progress is read while it streams."""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
import yaml

from creative_assets.cli import EXIT_CODES, build_parser, main, package_version
from creative_assets.stage_registry import STAGE_NAMES
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
    # a one-unit lead run (settings.first_batch_units), then runs of up to 3
    assert "4 creative units (4 new)" in printed and "run 1/3: 1 unit(s)" in printed
    assert "run 2/3: 2 unit(s)" in printed and "run 3/3: 1 unit(s)" in printed
    selected = sorted(
        p.relative_to(out).as_posix() for p in out.glob("campaigns/*/*/*/selected_creative/gen/*/*.png")
    )
    assert len(selected) == 4 * 3
    assert (out / "campaigns/summer-splash-2026/summary.csv").is_file()
    assert "DAGSTER_HOME=" in printed and "creative-assets ui" in printed, (
        "the closing hint opens this instance"
    )
    # second run: same brief version, no new partitions; --json: the document alone on stdout
    assert main(["run", str(brief), "--out", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    assert "v1 unchanged" in captured.err and "(0 new)" in captured.err
    document = _valid(json.loads(captured.out))
    (report,) = document["briefs"]
    assert report["registered"] is False and report["version"] == 1
    assert [u["status"] for u in report["units"]] == ["selected"] * 4
    assert all(set(u["files"]) == {"1:1", "9:16", "16:9"} for u in report["units"])
    assert document["ok"] and document["exit_code"] == 0

    # status of the campaign, as text and JSON; an unknown name is exit code 2
    assert main(["status", "summer-splash-2026", "--out", str(out), "--json"]) == 0
    status = _valid(json.loads(capsys.readouterr().out))
    assert status["kind"] == "campaign" and status["counts"] == {"selected": 4}
    assert main(["status", "summer-splash-2026", "--out", str(out)]) == 0
    assert "live v1" in capsys.readouterr().out
    assert main(["status", "no-such-thing", "--out", str(out), "--json"]) == 2
    assert _valid(json.loads(capsys.readouterr().out))["kind"] == "unknown"


def test_run_refuses_invalid_briefs_before_running_anything(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["run", str(TRAIL), str(bad), "--out", str(tmp_path / "out")]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert not (tmp_path / "out" / "campaigns").exists()


SCHEMA = json.loads((Path(__file__).parents[1] / "docs/schemas/cli-output.schema.json").read_text())


def _valid(document: dict) -> dict:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(document, SCHEMA, cls=jsonschema.Draft202012Validator)
    return document


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"creative-assets {package_version()}"


def _parsers(parser: argparse.ArgumentParser, path=("creative-assets",)):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, (*path, name))


def test_help_describes_every_argument_lists_exit_codes_and_has_no_markup(capsys):
    undocumented = []
    for path, parser in _parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                assert all(a.help for a in action._choices_actions), f"{path}: a command has no help"
            elif not action.help or action.help == argparse.SUPPRESS:
                undocumented.append(f"{' '.join(path)} {action.dest}")
        text = parser.format_help()
        assert "``" not in text and ":func:" not in text, f"markup in {' '.join(path)} --help"
    assert undocumented == []
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert EXIT_CODES.strip() in text and "130" in text
    for command in ("validate", "run", "rerun", "status", "ui", "review"):
        assert f"    {command}" in text


def test_validate_json_matches_the_schema(tmp_path, capsys):
    assert main(["validate", str(TRAIL), "--json"]) == 0
    document = _valid(json.loads(capsys.readouterr().out))
    assert (
        document["campaign"] == "trail-ready-2026" and document["units"] == 8 and document["creatives"] == 72
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("campaign_id: Not A Slug\n")
    assert main(["validate", str(bad), "--json"]) == 2
    document = _valid(json.loads(capsys.readouterr().out))
    assert not document["ok"] and any(p["field"] == "campaign_id" for p in document["problems"])


def test_status_of_drops_accepted_rejected_and_a_failed_notification(tmp_path, capsys):
    from creative_assets import notifications as nt
    from creative_assets.inbox import ingest_brief
    from resources.storage import LocalCreativeStorage

    root = tmp_path / "storage"
    storage = LocalCreativeStorage(root=str(root))
    brief = small_brief(tmp_path, locales=("en-US",), candidates=1)
    good = root / "inbox" / "team-a"
    (good / "assets").mkdir(parents=True)
    (good / "brief.yaml").write_bytes(brief.read_bytes())
    for image in (brief.parent / "assets").iterdir():
        (good / "assets" / image.name).write_bytes(image.read_bytes())
    (root / "inbox" / "team-b").mkdir()
    (root / "inbox" / "team-b" / "brief.yaml").write_text("campaign_id: Not A Slug\n")
    accepted = ingest_brief(storage, "inbox/team-a/brief.yaml", "inbox/")
    rejected = ingest_brief(storage, "inbox/team-b/brief.yaml", "inbox/")
    # the rejection's notification cannot be delivered: recorded, and shown by status
    with_failure = nt.deliver_pending(
        storage,
        lambda t: [_Broken()] if t == "brief.rejected" else [],
        _Log(),
        nt.DeliveryPolicy(attempts=1, max_passes=1),
    )
    assert with_failure.gave_up == 1

    assert main(["status", rejected.drop, "--out", str(root), "--json"]) == 0
    document = _valid(json.loads(capsys.readouterr().out))
    assert (
        document["drop"]["state"] == "rejected" and document["drop"]["rejected_record"] == rejected.report_key
    )
    (failed,) = document["failed_notifications"]
    assert (
        failed["type"] == "brief.rejected" and failed["status"] == "gave_up" and "refused" in failed["error"]
    )
    assert main(["status", rejected.drop, "--out", str(root)]) == 0
    text = capsys.readouterr().out
    assert f"Drop {rejected.drop}" in text and "campaign_id" in text and "gave_up" in text

    assert main(["status", accepted.drop, "--out", str(root), "--json"]) == 0
    drop = _valid(json.loads(capsys.readouterr().out))["drop"]
    assert drop["state"] == "accepted" and drop["campaign"] == "summer-splash-2026" and drop["version"] == 1
    assert [h["state"] for h in drop["history"]] == ["received", "accepted"]
    assert main(["status", "summer-splash-2026", "--out", str(root), "--json"]) == 0
    campaign = _valid(json.loads(capsys.readouterr().out))
    assert [d["drop"] for d in campaign["drops"]] == [accepted.drop]
    assert {u["status"] for u in campaign["units"]} == {"not_built"}


class _Broken:
    name = "broken-hook"

    def notify(self, n):
        raise ConnectionRefusedError(111, "refused")

    def describe(self):
        return "broken"

    def secrets(self):
        return []


class _Log:
    def info(self, *a, **k): ...
    def warning(self, *a, **k): ...
    def error(self, *a, **k): ...


def test_run_prints_progress_while_it_runs(tmp_path):
    """Progress lines are read from the live stderr pipe: each arrives while the process still runs,
    before the batch's closing line."""
    brief = small_brief(tmp_path, locales=("en-US",), candidates=1)
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).parents[1]),
        "DAGSTER_HOME": str(tmp_path / "home"),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CREATIVE_ASSETS_ROOT", None)
    env.pop("CREATIVE_ASSETS_STORAGE", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "creative_assets.cli", "run", str(brief), "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    lines: list[tuple[float, str, bool]] = []  # (when, line, process still running)
    for line in process.stdout:
        lines.append((time.monotonic(), line.rstrip(), process.poll() is None))
    assert process.wait(timeout=600) == 0, "\n".join(line for _, line, _ in lines)
    progress = [(t, line, alive) for t, line, alive in lines if line.startswith("  · [")]
    assert len(progress) == 2 * len(STAGE_NAMES), "one line per unit and stage"
    assert all(alive for _, _, alive in progress)
    # the lead run (one unit, its creatives on disk first), then the rest
    lead_done, done_at = [t for t, line, _ in lines if "units processed" in line]
    assert lead_done < done_at
    first = progress[0][0]
    assert first < done_at and progress[-1][0] <= done_at
    assert done_at - first > 1.0, "the first stage finished well before the run ended"
    assert "unit_brief" in progress[0][1] and "selected_creative (unit done)" in progress[-1][1]
    assert not any(" - dagster - " in line for _, line, _ in lines), "Dagster's own log lines stay out"


def test_a_failing_run_reports_each_failed_step_once_without_dagster_lines_or_tracebacks(tmp_path):
    """A provider that cannot be reached fails image_candidates for good (no retries configured):
    the CLI names the step and the reason once, labels the units not built with that reason, and
    prints none of Dagster's own ERROR lines or stack traces."""
    brief = small_brief(tmp_path, locales=("en-US",), candidates=1)
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).parents[1]),
        "DAGSTER_HOME": str(tmp_path / "home"),
        "CREATIVE_ASSETS_STEP_RETRIES": "0",
        "CREATIVE_ASSETS_OPENAI_MAX_RETRIES": "0",
        "CREATIVE_ASSETS_IMAGE_PROVIDER": "openai",
        "OPENAI_API_KEY": "sk-test-not-a-key",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",  # discard port: nothing listens
        "CREATIVE_ASSETS_FIRST_BATCH_UNITS": "0",  # one run, so one failed step
        "CREATIVE_ASSETS_PARALLEL_RUNS": "1",
    }
    for name in ("CREATIVE_ASSETS_ROOT", "CREATIVE_ASSETS_STORAGE"):
        env.pop(name, None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "creative_assets.cli",
            "run",
            str(brief),
            "--out",
            str(tmp_path / "out"),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    failures = [line for line in done.stderr.splitlines() if line.startswith("  ✗ image_candidates:")]
    assert len(failures) == 1, done.stderr
    assert "cannot reach http://127.0.0.1:9/v1" in failures[0] and "dagster._core" not in failures[0]
    assert "Traceback" not in done.stderr and " - dagster - " not in done.stderr
    document = _valid(json.loads(done.stdout))
    (report,) = document["briefs"]
    assert document["exit_code"] == 1 and not report["runs"][0]["success"]
    assert report["runs"][0]["failed_steps"][0]["step"] == "image_candidates"
    assert {u["status"] for u in report["units"]} == {"not_built"}
    assert all("image_candidates: images.edit: cannot reach" in u["reason"] for u in report["units"])


@pytest.fixture(autouse=True)
def _restore_env(monkeypatch):
    # the CLI exports CREATIVE_ASSETS_ROOT for --out; keep it from leaking between tests
    monkeypatch.delenv("CREATIVE_ASSETS_ROOT", raising=False)
    monkeypatch.delenv("CREATIVE_ASSETS_STORAGE", raising=False)


def test_ui_is_the_local_profile_with_a_short_inbox_tick(tmp_path, monkeypatch, capsys):
    """`creative-assets ui` points dagster dev at the CLI's instance and, unless the deployment set
    one, a 5 s inbox tick (a brief dropped locally starts at once); the deployment default is 30 s."""
    from creative_assets import settings

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(settings.INBOX_TICK_ENV, "")  # unset (and restored after the test)
    assert settings.inbox_tick_seconds() == settings.DEFAULT_INBOX_TICK_SECONDS == 30
    assert main(["ui", "--print-only"]) == 0
    assert "dagster dev -m creative_assets.definitions" in capsys.readouterr().out
    assert settings.inbox_tick_seconds() == settings.LOCAL_INBOX_TICK_SECONDS == 5
    monkeypatch.setenv(settings.INBOX_TICK_ENV, "12")  # set by the deployment: kept
    assert main(["ui", "--print-only"]) == 0
    assert settings.inbox_tick_seconds() == 12
