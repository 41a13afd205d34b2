"""Throughput changes (issue 7): provider calls overlap across the units of a batched step, never more
than the pool limit in flight, and batching does not change a single output byte."""

import hashlib
import json

import dagster as dg
import pytest

from creative_assets.assets.common import prefetch
from creative_assets.credentials import SIGNED_FORMATS, mime_type, unsigned_content
from creative_assets.units import UnitKey
from creative_assets_tests.helpers import is_generation_copy, without_generations
from creative_assets_tests.openai_server import FakeOpenAI
from creative_assets_tests.pipeline_helpers import pipeline_defs, register, run_range, unsigned_refs
from creative_assets_tests.test_openai_providers import KEY, _brief
from resources.openai_providers import (
    OpenAIContextProvider,
    OpenAICopyProvider,
    OpenAIImageProvider,
    OpenAIResource,
)
from resources.storage import LocalCreativeStorage


def test_prefetch_keeps_order_and_raises_the_first_failure():
    keys = ["camp.en-US.aa", "camp.en-US.bb", "camp.de-DE.aa"]
    fetched = prefetch(keys, lambda unit: unit.product_id + unit.locale, 3)
    assert list(fetched) == keys
    assert [v for v, _ in fetched.values()] == ["aaen-US", "bben-US", "aade-DE"]
    assert prefetch(keys, lambda unit: 1, 1) == {}  # nothing to overlap: callers fetch in turn
    assert prefetch(keys[:1], lambda unit: 1, 4) == {}

    def boom(unit):
        raise ValueError(unit.product_id)

    # a deterministic error is raised as a Failure that the step retry policy skips, cause kept
    with pytest.raises(dg.Failure) as failed:
        prefetch(keys, boom, 2)
    assert isinstance(failed.value.__cause__, ValueError) and not failed.value.allow_retries


def _providers(server, storage, limit):
    api = OpenAIResource(api_key=KEY, base_url=server.url, max_concurrent_requests=limit, max_retries=1)
    return {
        "image_provider": OpenAIImageProvider(openai=api, storage=storage),
        "copy_provider": OpenAICopyProvider(openai=api, storage=storage),
        "context_provider": OpenAIContextProvider(openai=api, storage=storage),
    }


def _outputs(storage, keys):
    out, manifests = {}, {}
    signed: dict[str, dict] = {}  # SHA-256 of a signed file -> that of its bytes without the credential
    for key in keys:
        prefix = UnitKey.parse(key).storage_prefix
        for name in storage.list_keys(prefix):
            if is_generation_copy(name):
                continue
            data = storage.read_bytes(name)
            if name.endswith("manifest.json"):
                value = json.loads(without_generations(data.decode()))["value"]
                for call in value.get("calls", []):
                    call.pop("latency_s", None)
                manifests[name] = value
            elif name.endswith(tuple(SIGNED_FORMATS)):
                # finals, exports and videos carry a C2PA credential naming their run: compare what
                # was signed (and each run writes its own generation folder: compare with ids blanked)
                content = unsigned_content(data, mime_type(name))
                signed[hashlib.sha256(data).hexdigest()] = {
                    "sha256": hashlib.sha256(content).hexdigest(),
                    "bytes": len(content),
                }
                out[without_generations(name)] = content
            else:
                out[without_generations(name)] = data
    # the manifests name the signed files by hash and size
    out.update({name: unsigned_refs(value, signed) for name, value in manifests.items()})
    return out


def test_provider_calls_overlap_across_units_within_the_pool_limit(tmp_path):
    brief = _brief(tmp_path, locales=("en-US", "ja-JP"), drop_translation="ja-JP")
    limit = 3
    with FakeOpenAI(api_key=KEY) as server, dg.instance_for_test() as instance:
        server.latency = 0.3
        storage = LocalCreativeStorage(root=str(tmp_path / "batched"))
        keys = register(storage, brief, instance)
        assert len(keys) == 4
        result = run_range(
            pipeline_defs(storage, **_providers(server, storage, limit)), instance, keys[0], keys[-1]
        )
        assert result.success
        batched_requests = len(server.requests)
        # four units' context requests (and images) went out together, never more than the limit
        assert 2 <= server.max_concurrent <= limit
        context = [r for r in server.requests if r["path"].endswith("/chat/completions")]
        starts = sorted(r["started"] for r in context)
        assert starts[2] - starts[0] < 0.3, "context requests of different units did not overlap"
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("locale_context_pack"), asset_partitions=keys),
            limit=10,
        ).records
        assert {r.partition_key for r in records} == set(keys)  # per-unit materializations kept
        assert all("provider_s" in r.asset_materialization.metadata for r in records)

    # the same units one run each (nothing to overlap): byte-identical outputs, same calls
    with FakeOpenAI(api_key=KEY) as server, dg.instance_for_test() as instance:
        single = LocalCreativeStorage(root=str(tmp_path / "single"))
        register(single, brief, instance)
        defs = pipeline_defs(single, **_providers(server, single, limit))
        for key in keys:
            assert run_range(defs, instance, key, key).success
        assert len(server.requests) == batched_requests
    batched_out, single_out = _outputs(storage, keys), _outputs(single, keys)
    assert batched_out.keys() == single_out.keys()
    for name in batched_out:
        assert batched_out[name] == single_out[name], name
