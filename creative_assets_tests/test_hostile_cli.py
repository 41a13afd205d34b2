"""The CLI under hostile input (issue 21): a hidden banned word in a brief reaches no delivered
creative (the preflight refuses it; past the preflight the unit is blocked), and a blocking compliance
failure is reported in words, without a stack trace."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml

from creative_assets_tests.helpers import REPO, set_products
from creative_assets_tests.pipeline_helpers import small_brief


def _cli(*args, home) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "DAGSTER_HOME": str(home)}
    env.pop("CREATIVE_ASSETS_ROOT", None)
    return subprocess.run(
        [sys.executable, "-m", "creative_assets.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_hidden_banned_word_fails_the_run_in_words_not_a_traceback(tmp_path):
    path = small_brief(tmp_path, locales=("en-US",), candidates=1)
    data = yaml.safe_load(path.read_text())
    set_products(data, [p for p in data["products"] if not p.get("assets")][:1])
    data["aspect_ratios"] = ["1:1"]
    data["message"] = "A с\u200burе for hot days"  # Cyrillic letters and a zero-width space
    data["banned_words"] = [{"term": "cure", "severity": "ERROR", "reason": "medical claim"}]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    # the preflight (issue 13) matches the copy on the same skeleton and refuses it before any spend
    validate = _cli("validate", str(path), home=tmp_path / "home")
    assert validate.returncode == 2, validate.stdout + validate.stderr
    assert "cure" in validate.stdout + validate.stderr
    refused = _cli("run", str(path), "--out", str(tmp_path / "out"), home=tmp_path / "home")
    assert refused.returncode == 2 and "cure" in refused.stdout + refused.stderr
    # past the preflight, the checks on the pixels catch it: the unit is blocked, reported in words
    run = _cli("run", str(path), "--skip-preflight", "--out", str(tmp_path / "out"), home=tmp_path / "home")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "copy_terms" in run.stderr and "'cure'" in run.stderr
    assert "blocked: no candidate is compliant: copy_terms" in run.stderr
    assert "creative-assets rerun" in run.stderr
    for noise in ("Traceback", 'File "', "dagster._core", "Stack Trace"):
        assert noise not in run.stderr + run.stdout + validate.stdout + validate.stderr, noise
    assert not list((tmp_path / "out").glob("campaigns/*/*/*/selected_creative/**/*.png"))  # nothing selected


def _hostile_files(tmp_path):
    folder = tmp_path / "h"
    folder.mkdir()
    (folder / "dir.yaml").mkdir()
    os.mkfifo(folder / "fifo.yaml")
    with open(folder / "big.yaml", "wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    (folder / "binary.json").write_bytes(b"\x00\xff\xfe garbage \x80")
    (folder / "utf16.yaml").write_bytes("campaign_id: x\n".encode("utf-16"))
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "list.yaml").write_text("- a\n- b\n")
    (folder / "ctrl.yaml").write_text("campaign_id: \x1b[2J\n")
    return [
        folder / n
        for n in (
            "missing.yaml",
            "dir.yaml",
            "fifo.yaml",
            "big.yaml",
            "binary.json",
            "utf16.yaml",
            "deep.json",
            "list.yaml",
            "ctrl.yaml",
        )
    ]


def test_validate_refuses_hostile_files_with_exit_2_and_no_traceback(tmp_path, capsys):
    from creative_assets.cli import main

    for path in _hostile_files(tmp_path):
        assert main(["validate", str(path)]) == 2, path
        err = capsys.readouterr().err
        assert str(path) in err and "Traceback" not in err, err
