"""Hostile drops in the brief inbox (issue 21): each is rejected as one drop with its own report, and
a valid brief beside it is accepted in the same tick. S3 through a moto server over HTTP; the local
inbox with real FIFOs, symlinks and non-UTF-8 folder names."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import dagster as dg
import pytest

from creative_assets.inbox import ingest_brief
from creative_assets.layout import check_key, display_key, unsafe_key_reason
from creative_assets.settings import FIRST_BATCH_ENV
from creative_assets_tests.pipeline_helpers import small_brief
from resources.brand_kits import BrandKitLibrary
from resources.inbox import BriefInbox
from resources.storage import LocalCreativeStorage
from sensors.brief_inbox import brief_inbox_sensor


@pytest.fixture(autouse=True)
def one_run_per_batch(monkeypatch):
    """These tests count one run per brief batch; the lead run a new brief starts with
    (settings.first_batch_units) is tested in test_brief_inbox and test_run_tags."""
    monkeypatch.setenv(FIRST_BATCH_ENV, "0")


HOSTILE_KEYS = ["inbox/evil\\dir/brief.yaml", "inbox//summer/brief.yaml", "inbox/./x/brief.yaml"]


def _tick(instance, storage, **inbox):
    with dg.build_sensor_context(
        instance=instance,
        resources={
            "storage": storage,
            "inbox": BriefInbox(upload_grace_seconds=0, **inbox),
            "brand_kits": BrandKitLibrary(),
        },
    ) as context:
        return _bounded(lambda: brief_inbox_sensor(context))


def _bounded(fn, timeout=60.0):
    out: dict = {}

    def target():
        try:
            out["value"] = fn()
        except BaseException as exc:
            out["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "the tick blocked"
    if "error" in out:
        raise out["error"]
    return out["value"]


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def _reports(storage) -> dict[str, dict]:
    out = {}
    for key in storage.list_keys("rejected"):
        if key.endswith("/error.json"):
            report = json.loads(storage.read_text(key))
            out[report["file"]] = report
    return out


def test_bad_keys_are_rejected_one_by_one_while_a_valid_brief_runs(
    tmp_path, instance, s3_storage, s3_client, bucket
):
    text = (small_brief(tmp_path, locales=("en-US",), candidates=1)).read_text()
    for key in HOSTILE_KEYS:
        s3_client.put_object(Bucket=bucket, Key=f"tenant-a/{key}", Body=text.encode())
    good = small_brief(tmp_path / "good", locales=("en-US",), candidates=1)
    for path in good.parent.rglob("*"):
        if path.is_file():
            rel = path.relative_to(good.parent).as_posix()
            s3_client.put_object(Bucket=bucket, Key=f"tenant-a/inbox/good/{rel}", Body=path.read_bytes())
    listed = set(s3_storage.list_keys("inbox"))
    assert set(HOSTILE_KEYS) <= listed, listed  # the keys are real objects, as S3 keeps them

    result = _tick(instance, s3_storage)
    assert len(result.run_requests) == 1  # the valid brief runs in the same tick
    assert not [k for k in s3_storage.list_keys("inbox") if k.endswith(".yaml")]
    reports = _reports(s3_storage)
    assert set(HOSTILE_KEYS) <= set(reports)
    for key in HOSTILE_KEYS:
        report = reports[key]
        assert "cannot be processed under this name" in report["problems"][0]["message"]
        assert report["copied"] is True  # an ordinary object with an odd name: its copy is kept
        assert report["source"].endswith(key) and unsafe_key_reason(key)
    assert "aws s3 cp" in reports["inbox//summer/brief.yaml"]["message"]
    for key in s3_storage.list_keys("rejected"):
        check_key(key)  # everything written is a safe key

    # the next tick finds nothing new (it only replays the valid brief's marker, same run keys)
    again = _tick(instance, s3_storage)
    assert [r.run_key for r in again.run_requests] == [r.run_key for r in result.run_requests]
    assert len(_reports(s3_storage)) == len(reports)


def test_oversized_brief_in_s3_is_refused_by_its_length(tmp_path, instance, s3_storage, s3_client, bucket):
    s3_client.put_object(Bucket=bucket, Key="tenant-a/inbox/big/brief.yaml", Body=b"#" * (300 * 1024))
    outcome = ingest_brief(s3_storage, "inbox/big/brief.yaml", "inbox/")
    report = json.loads(s3_storage.read_text(outcome.report_key))
    assert "too large" in report["problems"][0]["message"] and report["copied"] is False
    assert len(s3_storage.read_text(outcome.report_key)) < 2000
    assert not list(s3_storage.list_keys("inbox"))


@pytest.fixture
def local(tmp_path):
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    (tmp_path / "storage" / "inbox").mkdir(parents=True)
    return storage


def _drop_good(tmp_path, local, name="good"):
    good = small_brief(tmp_path / f"src-{name}", locales=("en-US",), candidates=1)
    shutil.copytree(good.parent, Path(local.root) / "inbox" / name)


def test_local_inbox_fifo_symlinks_and_odd_names_beside_a_valid_brief(tmp_path, instance, local):
    inbox = Path(local.root) / "inbox"
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.yaml"
    secret.write_text("password: hunter2\n")
    # a FIFO named like a brief, and a brief whose image is a FIFO
    (inbox / "fifo").mkdir()
    os.mkfifo(inbox / "fifo" / "brief.yaml")
    _drop_good(tmp_path, local, "fifo-image")
    for image in (inbox / "fifo-image").rglob("*.png"):
        image.unlink()
        os.mkfifo(image)
    # a symlinked brief pointing outside the root
    (inbox / "link").mkdir()
    (inbox / "link" / "brief.yaml").symlink_to(secret)
    # a non-UTF-8 folder name
    odd = os.path.join(os.fsencode(inbox), b"caf\xe9")
    os.mkdir(odd)
    with open(os.path.join(odd, b"brief.yaml"), "wb") as fh:
        fh.write(b"a: 1\n")
    # a backslash in a folder name (legal on POSIX, not a safe storage key)
    (inbox / "evil\\dir").mkdir()
    (inbox / "evil\\dir" / "brief.yaml").write_text("a: 1\n")
    # a sparse 50 MB brief
    (inbox / "big").mkdir()
    with open(inbox / "big" / "brief.yaml", "wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    _drop_good(tmp_path, local)

    result = _tick(instance, local, max_briefs_per_tick=20)
    assert len(result.run_requests) == 1, [r.run_key for r in result.run_requests]
    assert result.run_requests[0].tags["creative_assets/campaign"]
    left = [k for k in local.list_keys("inbox") if k.endswith(".yaml")]
    assert left == [], left
    assert secret.read_text() == "password: hunter2\n"  # the target is untouched

    reports = _reports(local)
    by_folder = {Path(k).parts[1]: r for k, r in reports.items()}
    assert "FIFO" in by_folder["fifo"]["message"] and not by_folder["fifo"]["copied"]
    assert "outside the storage root" in by_folder["link"]["message"] and not by_folder["link"]["copied"]
    assert "hunter2" not in json.dumps(by_folder["link"])
    assert "caf\\xe9" in by_folder["caf\\xe9"]["file"] and "UTF-8" in by_folder["caf\\xe9"]["message"]
    assert "too large" in by_folder["big"]["message"] and not by_folder["big"]["copied"]
    assert "backslash" in by_folder["evil\\dir"]["message"] and by_folder["evil\\dir"]["copied"]
    assert "FIFO" in by_folder["fifo-image"]["message"]
    for key in local.list_keys("rejected"):
        check_key(key)
        assert "hunter2" not in (Path(local.root) / key).read_text(errors="replace")
    total = sum((Path(local.root) / k).stat().st_size for k in local.list_keys("rejected"))
    assert total < 100_000  # nothing large was copied


def test_symlinked_asset_or_asset_folder_leading_outside_is_refused(tmp_path, local):
    inbox = Path(local.root) / "inbox"
    _drop_good(tmp_path, local, "a")
    brief = small_brief(tmp_path / "img", locales=("en-US",), candidates=1)
    image = next(p for p in brief.parent.rglob("*.png"))
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(image, outside / image.name)
    rel = image.relative_to(brief.parent)
    for name, link in (("file-link", rel), ("dir-link", rel.parent)):
        target = inbox / name
        shutil.copytree(brief.parent, target)
        (target / rel).unlink()
        if link == rel.parent:
            shutil.rmtree(target / rel.parent)
            (target / rel.parent).symlink_to(outside, target_is_directory=True)
        else:
            (target / rel).symlink_to(outside / image.name)
        outcome = ingest_brief(local, f"inbox/{name}/brief.yaml", "inbox/")
        assert type(outcome).__name__ == "Rejected", outcome
        assert "outside the storage root" in outcome.problems[0].message
    assets = [k for k in local.list_keys("briefs") if "/assets/" in k]
    assert assets == []  # no outside image was copied into storage


def test_display_key_never_raises():
    for key in ["inbox/caf\udce9/brief.yaml", "inbox/\x1b[31m/x", "inbox/ok/brief.yaml"]:
        shown = display_key(key)
        shown.encode("utf-8")
        assert shown.isprintable()


def test_oversized_image_in_s3_is_refused_by_its_length(tmp_path, monkeypatch, s3_storage, s3_client, bucket):
    import creative_assets.inbox as inbox_module

    monkeypatch.setattr(inbox_module, "MAX_ASSET_BYTES", 50_000)
    good = small_brief(tmp_path, locales=("en-US",), candidates=1)
    for path in good.parent.rglob("*"):
        if path.is_file():
            rel = path.relative_to(good.parent).as_posix()
            s3_client.put_object(Bucket=bucket, Key=f"tenant-a/inbox/img/{rel}", Body=path.read_bytes())
    outcome = ingest_brief(s3_storage, "inbox/img/brief.yaml", "inbox/", upload_grace_seconds=0)
    assert type(outcome).__name__ == "Rejected"
    message = next(iter(p.message for p in outcome.problems if "assets" in p.field))
    assert "the object is" in message and "the limit is" in message
