"""Crash safety of the inbox ingest path: the process dies at every single write (issue 11, item 1).

``CrashingStorage`` is the real local storage that raises :class:`Crash` (a ``BaseException``, like
``kill -9``: nothing in the sensor catches it) at its N-th write or delete. For every N of a clean
drain (one valid brief, one invalid brief, two ticks), the tick dies at write N, its result is never
committed (the daemon died with it), and then a daemon that is not crashing ticks until the inbox
is quiet. At the crash point each brief is still in the inbox or fully accounted for; afterwards
every valid brief is live with its partitions added and each of its runs requested exactly once,
and every invalid one has its own rejected record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import ClassVar

import dagster as dg
import pytest
import yaml

from creative_assets.brief_store import current_brief
from creative_assets.drop_status import read_status
from creative_assets.inbox import drop_id, rejected_folder
from creative_assets.layout import PENDING_PREFIX
from creative_assets.notifications import Notification
from creative_assets.partitions import campaigns, creative_units
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


#: writes (puts and deletes) of a clean drain of the scenario below; test_write_count keeps it true
WRITES = 19


class Crash(BaseException):
    """The process dies here."""


class CrashingStorage(LocalCreativeStorage):
    #: shared by the copies Dagster makes of a resource: {"writes": n, "crash_at": n or None, "log": [...]}
    state: ClassVar[dict] = {}

    def _count(self, what: str, key: str) -> None:
        n = self.state["writes"] = self.state.get("writes", 0) + 1
        self.state.setdefault("log", []).append(f"{what} {key}")
        if self.state.get("crash_at") == n:
            raise Crash(f"killed at write {n}: {what} {key}")

    def write_bytes(self, key, data, content_type=None):
        self._count("put", key)
        return super().write_bytes(key, data, content_type)

    def delete(self, key):
        self._count("delete", key)
        return super().delete(key)

    def delete_listed(self, key):
        self._count("delete", key)
        return super().delete_listed(key)


@dataclass
class Daemon:
    """What dagster-daemon persists for the sensor: cursor, partitions and requested run keys."""

    instance: dg.DagsterInstance
    cursor: str | None = None
    run_keys: list[str] = field(default_factory=list)

    def tick(self, storage) -> dg.SensorResult:
        with dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources={
                "storage": storage,
                "inbox": BriefInbox(upload_grace_seconds=0),
                "brand_kits": BrandKitLibrary(),
            },
        ) as context:
            result = brief_inbox_sensor(context)
        # committed together, as the daemon does: partitions, runs (deduplicated by run key), cursor
        for request in result.dynamic_partitions_requests or []:
            self.instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        for run in result.run_requests or []:
            if run.run_key not in self.run_keys:
                self.run_keys.append(run.run_key)
        self.cursor = result.cursor
        return result


def _scenario(tmp_path):
    root = tmp_path / "storage"
    brief = small_brief(tmp_path, locales=("en-US", "de-DE"), candidates=1)
    inbox = root / "inbox"
    (inbox / "good" / "assets").mkdir(parents=True)
    (inbox / "good" / "brief.yaml").write_bytes(brief.read_bytes())
    for image in (brief.parent / "assets").iterdir():
        (inbox / "good" / "assets" / image.name).write_bytes(image.read_bytes())
    bad = yaml.safe_load(brief.read_text())
    bad["campaign_id"] = "Not A Slug"
    (inbox / "bad").mkdir()
    (inbox / "bad" / "brief.yaml").write_text(yaml.safe_dump(bad))
    return root


def _briefs_in_inbox(storage) -> set[str]:
    return {k for k in storage.list_keys("inbox") if k.endswith(".yaml")}


def _drain(daemon: Daemon, storage, ticks: int = 4) -> None:
    for _ in range(ticks):
        daemon.tick(storage)


def _expected_run_keys(tmp_path) -> list[str]:
    root = _scenario(tmp_path / "reference")
    storage = LocalCreativeStorage(root=str(root))
    with dg.instance_for_test() as instance:
        daemon = Daemon(instance)
        _drain(daemon, storage)
        return list(daemon.run_keys)


def test_write_count(tmp_path):
    """The number of parametrized crash points matches the writes of a clean drain."""
    root = _scenario(tmp_path)
    CrashingStorage.state = {"crash_at": None}
    storage = CrashingStorage(root=str(root))
    with dg.instance_for_test() as instance:
        daemon = Daemon(instance)
        _drain(daemon, storage)
        assert CrashingStorage.state["writes"] == WRITES, CrashingStorage.state["log"]
        assert len(daemon.run_keys) == 1 and not _briefs_in_inbox(storage)


@pytest.mark.parametrize("crash_at", range(1, WRITES + 1))
def test_a_crash_at_any_write_loses_nothing_and_runs_nothing_twice(tmp_path, crash_at):
    expected = _expected_run_keys(tmp_path)
    root = _scenario(tmp_path)
    plain = LocalCreativeStorage(root=str(root))
    bad_data = (root / "inbox" / "bad" / "brief.yaml").read_bytes()
    CrashingStorage.state = {"crash_at": crash_at}
    crashing = CrashingStorage(root=str(root))
    with dg.instance_for_test() as instance:
        daemon = Daemon(instance)
        with pytest.raises(Crash):
            for _ in range(4):
                committed = (daemon.cursor, list(daemon.run_keys))
                daemon.tick(crashing)
        # the tick that died was never committed: its cursor and run requests are gone
        daemon.cursor, daemon.run_keys = committed

        # at the crash point: each brief is in the inbox, or live with its runs requested or pending
        inbox = _briefs_in_inbox(plain)
        record = current_brief(plain, "summer-splash-2026")
        marker = f"{PENDING_PREFIX}/summer-splash-2026-v0001.json"
        assert "inbox/good/brief.yaml" in inbox or (
            record is not None and (plain.exists(marker) or set(expected) <= set(daemon.run_keys))
        ), CrashingStorage.state["log"]
        assert "inbox/bad/brief.yaml" in inbox or plain.exists(
            rejected_folder("inbox/bad/brief.yaml", bad_data, "inbox/") + "/error.json"
        )

        # restart: a healthy daemon drains the inbox
        _drain(daemon, plain)
        record = current_brief(plain, "summer-splash-2026")
        assert record is not None and record.version == 1
        assert daemon.run_keys == expected, "every run requested, none twice"
        units = [str(u) for u in record.unit_keys()]
        assert instance.get_dynamic_partitions(creative_units.name) == units
        assert instance.get_dynamic_partitions(campaigns.name) == ["summer-splash-2026"]
        assert not _briefs_in_inbox(plain) and not list(plain.list_keys(PENDING_PREFIX))
        assert not list(plain.list_keys("_inbox/broken"))
        (report,) = [k for k in plain.list_keys("rejected") if k.endswith("error.json")]
        assert json.loads(plain.read_text(report))["file"] == "inbox/bad/brief.yaml"
        assert not list(plain.list_keys("briefs/summer-splash-2026/v0002"))

        # every drop has its status document and exactly one notification, whatever the crash point
        good_data = (tmp_path / "brief" / "brief.yaml").read_bytes()
        good = read_status(plain, drop_id("inbox/good/brief.yaml", good_data, "inbox/"))
        assert good is not None and good.state == "accepted" and good.version == 1
        assert good.registered_new_version is True and good.changed == units
        assert plain.exists(f"_inbox/tracking/{good.drop}.json")
        bad = read_status(plain, drop_id("inbox/bad/brief.yaml", bad_data, "inbox/"))
        assert bad is not None and bad.state == "rejected" and bad.problems
        assert bad.rejected_record == report
        outbox = [
            Notification.model_validate_json(plain.read_text(k))
            for k in plain.list_keys("_notifications/outbox")
        ]
        assert sorted(n.type for n in outbox) == ["brief.accepted", "brief.rejected"]
        assert sorted(n.key for n in outbox) == sorted([*good.notifications, *bad.notifications])
        # the accepted drop's image moved into the brief's content-addressed store; the inbox copy is gone
        assert not plain.exists("inbox/good/assets/sparkling-citrus.png")
        assert not list(plain.list_keys("_inbox/cleanup"))
        assert [k for k in plain.list_keys("briefs/summer-splash-2026/assets")]
