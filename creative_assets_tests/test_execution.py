"""Executor selection, Celery settings and queue routing (no processes; test_celery.py runs them)."""

from __future__ import annotations

import os

import dagster as dg
import pytest

from creative_assets.execution import (
    build_executor,
    celery_config,
    celery_executor_config,
    executor_kind,
    worker_metadata,
)
from creative_assets.queues import DEFAULT, IMAGE, PROVIDER, QUEUE_TAG, stage_queue
from creative_assets.stage_registry import STAGE_NAMES


def test_default_is_in_process_and_needs_no_broker(monkeypatch):
    monkeypatch.delenv("CREATIVE_ASSETS_EXECUTOR", raising=False)
    monkeypatch.delenv("CREATIVE_ASSETS_CELERY_BROKER_URL", raising=False)
    assert executor_kind() == "in_process"
    assert build_executor() is dg.in_process_executor


def test_celery_executor_reads_broker_and_backend_at_run_time(monkeypatch):
    monkeypatch.setenv("CREATIVE_ASSETS_EXECUTOR", "celery")
    monkeypatch.delenv("CREATIVE_ASSETS_CELERY_BACKEND_URL", raising=False)
    assert build_executor().name == "celery"
    config = celery_executor_config()
    # not resolved URLs: the executor reads the variables when a run starts (the backend: the broker's
    # unless CREATIVE_ASSETS_CELERY_BACKEND_URL is set)
    assert config["broker"] == config["backend"] == {"env": "CREATIVE_ASSETS_CELERY_BROKER_URL"}
    monkeypatch.setenv("CREATIVE_ASSETS_CELERY_BACKEND_URL", "redis://r:6379/1")
    assert celery_executor_config()["backend"] == {"env": "CREATIVE_ASSETS_CELERY_BACKEND_URL"}
    assert celery_executor_config()["config_source"] == celery_config()


def test_a_job_with_the_celery_executor_loads(monkeypatch):
    monkeypatch.setenv("CREATIVE_ASSETS_EXECUTOR", "celery")

    @dg.asset
    def one() -> int:
        return 1

    defs = dg.Definitions(assets=[one], jobs=[dg.define_asset_job("j", executor_def=build_executor())])
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_job_def("j").executor_def.name == "celery"


def test_unknown_executor_is_refused(monkeypatch):
    monkeypatch.setenv("CREATIVE_ASSETS_EXECUTOR", "dask")
    with pytest.raises(ValueError, match="CREATIVE_ASSETS_EXECUTOR"):
        build_executor()


def test_redelivery_settings(monkeypatch):
    monkeypatch.delenv("CREATIVE_ASSETS_CELERY_VISIBILITY_TIMEOUT", raising=False)
    config = celery_config()
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["worker_prefetch_multiplier"] == 1
    assert config["broker_transport_options"]["visibility_timeout"] == 7200
    # a queue is one Redis list of its own name (KEDA scales the workers on its length)
    from kombu.transport.redis import Channel

    channel = Channel.__new__(Channel)
    channel.priority_steps = config["broker_transport_options"]["priority_steps"]
    assert channel._q_for_pri("image", 5) == "image"
    monkeypatch.setenv("CREATIVE_ASSETS_CELERY_VISIBILITY_TIMEOUT", "40")
    options = celery_config()["broker_transport_options"]
    assert options["visibility_timeout"] == 40 and options["unacked_restore_interval"] == 10
    monkeypatch.setenv("CREATIVE_ASSETS_CELERY_VISIBILITY_TIMEOUT", "5")
    with pytest.raises(ValueError, match="outside"):
        celery_config()


def test_queue_of_each_stage_follows_the_work_it_does():
    offline = {s: stage_queue(s) for s in STAGE_NAMES}
    assert offline == {
        "unit_brief": DEFAULT,
        "locale_context_pack": DEFAULT,
        "image_candidates": IMAGE,  # the offline provider draws the scenes
        "branded_candidates": IMAGE,
        "localized_copy": DEFAULT,
        "final_creatives": IMAGE,
        "motion_creatives": IMAGE,  # the offline animator draws the frames
        "selected_creative": DEFAULT,
    }
    assert stage_queue("motion_creatives", video_provider="openai") == PROVIDER
    assert stage_queue("motion_creatives", image_provider="openai", text_provider="openai") == IMAGE
    assert stage_queue("image_candidates", image_provider="openai") == PROVIDER
    assert stage_queue("locale_context_pack", text_provider="openai") == PROVIDER
    assert stage_queue("localized_copy", text_provider="openai") == PROVIDER
    assert stage_queue("final_creatives", image_provider="openai", text_provider="openai") == IMAGE


def test_pipeline_steps_carry_their_queue_tag():
    from creative_assets.definitions import defs

    job = defs.resolve_job_def("creative_pipeline")
    tags = {node.name: node.definition.tags.get(QUEUE_TAG) for node in job.graph.nodes}
    if os.environ.get("CREATIVE_ASSETS_IMAGE_PROVIDER", "offline") == "offline":
        assert tags["image_candidates"] == IMAGE
    assert tags["final_creatives"] == tags["branded_candidates"] == IMAGE
    assert tags["unit_brief"] == tags["selected_creative"] == DEFAULT


def test_worker_metadata_outside_a_worker():
    meta = worker_metadata()
    assert meta["executor_pid"] == os.getpid() and meta["executor_host"]
    assert "celery_worker" not in meta
