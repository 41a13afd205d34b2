"""The OpenAI providers through the real `openai` client against an OpenAI-compatible server on loopback."""

import json
import time

import dagster as dg
import pytest
import yaml

from creative_assets.stage_store import read_stage
from creative_assets.units import UnitKey
from creative_assets_tests.helpers import set_products
from creative_assets_tests.openai_server import FakeOpenAI
from creative_assets_tests.pipeline_helpers import pipeline_defs, register, run_range, small_brief
from resources.openai_providers import (
    OpenAIContextProvider,
    OpenAICopyProvider,
    OpenAIImageProvider,
    OpenAIResource,
)
from resources.storage import LocalCreativeStorage

KEY = "sk-test-do-not-leak-5f2a9c"


@pytest.fixture
def server():
    with FakeOpenAI(api_key=KEY) as fake:
        yield fake


def _brief(
    tmp_path, locales=("en-US",), candidates=1, ratios=("1:1",), products=2, drop_translation=None, seed=None
):
    path = small_brief(tmp_path, locales=locales, candidates=candidates)
    data = yaml.safe_load(path.read_text())
    data["aspect_ratios"] = list(ratios)
    set_products(data, data["products"][:products])
    if drop_translation:
        data["localized_messages"].pop(drop_translation, None)
    if seed is not None:
        data["seed"] = seed
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def _run(tmp_path, server, brief, storage=None, instance=None, concurrency=3, retries=2, text=True):
    storage = storage or LocalCreativeStorage(root=str(tmp_path / "storage"))
    api = OpenAIResource(
        api_key=KEY, base_url=server.url, max_concurrent_requests=concurrency, max_retries=retries
    )
    overrides = {"image_provider": OpenAIImageProvider(openai=api, storage=storage)}
    if text:
        overrides["copy_provider"] = OpenAICopyProvider(openai=api, storage=storage)
        overrides["context_provider"] = OpenAIContextProvider(openai=api, storage=storage)
    keys = register(storage, brief, instance)
    result = run_range(pipeline_defs(storage, **overrides), instance, keys[0], keys[-1], raise_on_error=False)
    return result, storage, keys


def _paths(server, prefix):
    return [r for r in server.requests if r["path"].startswith(prefix)]


def test_full_brief_through_the_openai_providers(tmp_path, server):
    brief = _brief(
        tmp_path, locales=("en-US", "ja-JP"), candidates=2, ratios=("1:1", "9:16"), drop_translation="ja-JP"
    )
    with dg.instance_for_test() as instance:
        result, storage, keys = _run(tmp_path, server, brief, instance=instance)
        assert result.success
        # the supplied packshot is edited into the scene; the product without one is generated
        assert len(_paths(server, "/v1/images/edits")) == 2 * 2 * 2  # 2 locales x 2 candidates x 2 ratios
        assert len(_paths(server, "/v1/images/generations")) == 2 * 2 * 2
        ja = UnitKey.parse(next(k for k in keys if ".ja-JP." in k))
        copy = read_stage(storage, ja, "localized_copy")
        assert copy.machine_translated and "machine-translated" in copy.sources["message"]
        assert any(r.get("vision_images") for r in _paths(server, "/v1/chat/completions"))
        en = read_stage(storage, UnitKey.parse(keys[0]), "localized_copy")
        assert not en.machine_translated and not en.calls  # the brief's own copy, no call
        raw = read_stage(storage, ja, "image_candidates")
        assert raw.provider == "openai-images" and not raw.seed_supported
        assert "Sparkling Citrus" in raw.candidates[0].prompt and "DATA" in raw.candidates[0].prompt
        finals = read_stage(storage, ja, "final_creatives")
        assert {r.ratio for c in finals.candidates for r in c.renders.values()} == {"1:1", "9:16"}
        record = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("image_candidates"), asset_partitions=[str(ja)]),
            limit=1,
        ).records[0]
        metadata = record.asset_materialization.metadata
        assert metadata["api_calls"].value == 4 and metadata["api_cost_usd_estimate"].value > 0
        # the secret never reaches the event log
        logs = instance.all_logs(result.run_id)
        assert KEY not in json.dumps([str(entry) for entry in logs])
        assert KEY not in json.dumps(server.requests, default=str)


def test_unchanged_units_never_pay_twice_but_a_new_seed_does(tmp_path, server):
    brief = _brief(tmp_path, products=1)
    with dg.instance_for_test() as instance:
        first, storage, _ = _run(tmp_path, server, brief, instance=instance)
        assert first.success
        calls = len(server.requests)
        again, _, _ = _run(
            tmp_path, server, brief, storage=storage, instance=instance
        )  # same brief, same unit
        assert again.success and len(server.requests) == calls, "a second materialization made API calls"
        images_before = len(_paths(server, "/v1/images"))
        reseeded = _brief(tmp_path / "v2", products=1, seed=12345)
        third, _, _ = _run(tmp_path, server, reseeded, storage=storage, instance=instance)
        assert third.success and len(_paths(server, "/v1/images")) > images_before, (
            "a new seed reused the cache"
        )


def test_rate_limits_are_retried_honouring_retry_after(tmp_path, server):
    server.inject("429", count=1, retry_after=1, path="/v1/images")
    started = time.monotonic()
    with dg.instance_for_test() as instance:
        result, _, _ = _run(tmp_path, server, _brief(tmp_path, products=1), instance=instance, text=False)
    assert result.success
    assert time.monotonic() - started >= 1.0
    assert len(_paths(server, "/v1/images")) == 2  # the refused request and its retry


def test_persistent_server_errors_give_up_with_a_clear_failure(tmp_path, server):
    server.inject("500", count=20, path="/v1/images")
    with dg.instance_for_test() as instance:
        result, _, _ = _run(
            tmp_path, server, _brief(tmp_path, products=1), instance=instance, retries=1, text=False
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "answered 500 after 1 retries" in str(failure.step_failure_data)
    assert len(_paths(server, "/v1/images")) == 2


def test_content_policy_refusals_are_not_retried(tmp_path, server):
    server.inject("400-content-policy", count=5, path="/v1/images")
    with dg.instance_for_test() as instance:
        result, _, _ = _run(tmp_path, server, _brief(tmp_path, products=1), instance=instance, text=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "not retried" in str(failure.step_failure_data) and "safety system" in str(
        failure.step_failure_data
    )
    assert len(_paths(server, "/v1/images")) == 1


def test_malformed_answers_fail_readably(tmp_path, server):
    server.inject("malformed", count=5, path="/v1/chat")
    with dg.instance_for_test() as instance:
        result, _, _ = _run(tmp_path, server, _brief(tmp_path, products=1), instance=instance)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_key == "locale_context_pack"
    assert "malformed answer" in str(failure.step_failure_data)


def test_request_concurrency_stays_within_the_limit(tmp_path, server):
    server.latency = 0.3
    with dg.instance_for_test() as instance:
        result, _, _ = _run(
            tmp_path,
            server,
            _brief(tmp_path, products=1, candidates=4, ratios=("1:1",)),
            instance=instance,
            concurrency=2,
            text=False,
        )
    assert result.success
    assert server.max_concurrent == 2, "requests should fill, and never exceed, the pool of 2"


def test_retried_answers_the_provider_produced_are_paid_per_unit_and_campaign(tmp_path, server):
    """A 500 after the work and a connection dropped after the work are both billed by the provider:
    the estimate counts every answer produced, not just the ones that arrived."""
    server.inject("500-after-work", count=3, path="/v1/images")
    server.inject("drop-after-work", count=2, path="/v1/images")
    with dg.instance_for_test() as instance:
        result, storage, keys = _run(
            tmp_path,
            server,
            _brief(tmp_path, products=1, candidates=4),
            instance=instance,
            retries=4,
            text=False,
        )
        assert result.success
        (unit,) = keys
        calls = read_stage(storage, UnitKey.parse(unit), "image_candidates").calls
        assert len(calls) == 4 and server.pending_faults == 0
        produced = server.answers_produced
        assert produced == 4 + 5
        assert sum(c["answers_paid"] for c in calls) == produced
        assert sum(c["attempts"] for c in calls) == len(_paths(server, "/v1/images")) == 9
        price = OpenAIResource(api_key=KEY).image_usd["1024x1024"]
        assert round(sum(c["cost_usd"] for c in calls), 6) == round(produced * price, 6)
        metadata = (
            instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey("image_candidates"), asset_partitions=[unit]),
                limit=1,
            )
            .records[0]
            .asset_materialization.metadata
        )
        assert metadata["api_answers_paid"].value == produced and metadata["api_calls"].value == 4
        assert metadata["api_cost_usd_estimate"].value == round(produced * price, 4)

        # per unit and per campaign in the summary
        campaign = unit.split(".")[0]
        rollup = pipeline_defs(storage).resolve_job_def("campaign_rollup")
        summary = rollup.execute_in_process(instance=instance, partition_key=campaign)
        assert summary.success
        row = json.loads(storage.read_text(f"campaigns/{campaign}/summary.json"))[0]
        assert row["api_answers_paid"] == produced and row["api_cost_usd_estimate"] == round(
            produced * price, 4
        )
        totals = instance.fetch_materializations(dg.AssetKey("campaign_summary"), limit=1).records[0]
        assert totals.asset_materialization.metadata["api_answers_paid"].value == produced


def test_client_timeout_is_configuration(tmp_path, server, monkeypatch):
    from creative_assets.definitions import build_openai

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("CREATIVE_ASSETS_OPENAI_TIMEOUT_SECONDS", "7")
    assert build_openai().timeout_seconds == 7
    # a hung request costs the timeout, not two minutes; the attempt counts as paid (it was sent)
    server.inject("slow", count=1, delay=5, path="/v1/chat")
    api = OpenAIResource(api_key=KEY, base_url=server.url, max_retries=0, timeout_seconds=1)
    started = time.monotonic()
    with pytest.raises(dg.Failure) as failed:
        api.call("chat.completions", lambda: api.client().chat.completions.create(model="m", messages=[]))
    assert time.monotonic() - started < 4
    assert "cannot reach" in str(failed.value) and failed.value.allow_retries
    assert failed.value.metadata["api_answers_paid"].value == 1


@pytest.mark.parametrize(
    ("key", "size"),
    [
        ("1:1", "1024x1024"),
        ("4:5", "1024x1536"),
        ("9:16", "1024x1536"),
        ("16:9", "1536x1024"),
        ("meta-reels", "1024x1536"),
        ("pinterest-standard", "1024x1536"),
        ("linkedin-landscape", "1536x1024"),
        ("iab-leaderboard", "1536x1024"),
        ("iab-wide-skyscraper", "1024x1536"),
        ("iab-medium-rectangle", "1024x1024"),
    ],
)
def test_the_images_api_is_asked_for_the_size_closest_in_shape_to_each_placement(key, size):
    """Any output key (a legacy ratio or a placement) maps to one of the three API sizes; placements
    beyond the four legacy ratios used to fail with a KeyError."""
    from creative_assets.prompts import api_size
    from creative_assets.render.layout import placement_for_key

    w, h = placement_for_key(key).size
    assert api_size(w, h) == size
