"""creative_assets/layout.py (named apart from render/test_layout.py): every key in one module, and
the keys are the ones the platform always used (stored data stays readable: same bytes, same keys)."""

from __future__ import annotations

from datetime import date

import pytest

from creative_assets import layout
from creative_assets.units import UnitKey

UNIT = UnitKey.parse("summer-splash-2026.ja-JP.sparkling-citrus")


def test_stage_keys():
    assert (
        layout.unit_prefix(UNIT)
        == UNIT.storage_prefix
        == "campaigns/summer-splash-2026/ja-JP/sparkling-citrus"
    )
    assert layout.stage_prefix(UNIT, "final") == f"{UNIT.storage_prefix}/final"
    assert layout.manifest_key(UNIT, "final") == f"{UNIT.storage_prefix}/final/manifest.json"
    gen = "20261201T110000Z-ab12"
    assert layout.generation_prefix(UNIT, "final", gen) == f"{UNIT.storage_prefix}/final/gen/{gen}"
    assert layout.manifest_key(UNIT, "final", gen) == f"{UNIT.storage_prefix}/final/gen/{gen}/manifest.json"
    assert (
        layout.generation_of(UNIT, "final", f"{UNIT.storage_prefix}/final/gen/{gen}/1x1/candidate-1.png")
        == gen
    )
    assert layout.generation_of(UNIT, "final", f"{UNIT.storage_prefix}/final/1x1/candidate-1.png") is None
    assert layout.files_prefix(UNIT, "final", {"generation": gen}) == layout.generation_prefix(
        UNIT, "final", gen
    )
    assert layout.files_prefix(UNIT, "final", {}) == layout.stage_prefix(UNIT, "final"), (
        "pre-generation manifests"
    )
    assert layout.ratio_dir("16:9") == "16x9"


def test_campaign_brief_review_and_delivery_keys():
    assert layout.campaign_file("c-1", "summary.csv") == "campaigns/c-1/summary.csv"
    assert layout.brief_current_key("c-1") == "briefs/c-1/current.json"
    assert layout.brief_version_prefix("c-1", 7) == "briefs/c-1/v0007"
    assert layout.brief_asset_key("c-1", "ab", ".png") == "briefs/c-1/assets/ab.png"
    assert layout.review_event_key(UNIT, "s", "i") == (
        "reviews/summer-splash-2026/ja-JP/sparkling-citrus/events/s-i.json"
    )
    assert layout.journal_key("s", "i") == "reviews/_journal/s-i.json"
    assert (
        layout.withdrawn_prefix(UNIT, "a1")
        == "reviews/summer-splash-2026/ja-JP/sparkling-citrus/withdrawn/a1"
    )
    assert (
        layout.delivery_manifest_key(UNIT)
        == "approved/summer-splash-2026/ja-JP/sparkling-citrus/manifest.json"
    )
    assert layout.delivery_file_key(UNIT, "9:16") == (
        "approved/summer-splash-2026/ja-JP/sparkling-citrus/9x16/summer-splash-2026_ja-JP_sparkling-citrus_9x16.png"
    )
    assert layout.delivery_index_key("c-1") == "approved/c-1/index.json"
    assert layout.delivered_unit_parts(layout.delivery_manifest_key(UNIT)) == (
        "summer-splash-2026",
        "ja-JP",
        "sparkling-citrus",
    )
    assert layout.delivered_unit_parts(layout.delivery_index_key("c-1")) is None
    assert layout.delivered_unit_parts(layout.delivery_file_key(UNIT, "1:1")) is None


def test_inbox_cache_and_audit_keys():
    assert layout.pending_marker_key("c-1", 3) == "_inbox/pending/c-1-v0003.json"
    assert layout.broken_marker_key(layout.pending_marker_key("c-1", 3)) == "_inbox/broken/c-1-v0003.json"
    assert layout.rejected_prefix_for("rejected/", "team-a", "0123") == "rejected/team-a-0123"
    assert layout.openai_image_cache_keys("k") == ("cache/openai/images/k.png", "cache/openai/images/k.json")
    assert layout.openai_chat_cache_key("k") == "cache/openai/chat/k.json"
    assert layout.audit_day_key(date(2026, 12, 1)) == "audit/daily/2026-12-01.jsonl"
    assert layout.audit_day_summary_key(date(2026, 12, 1)) == "audit/daily/2026-12-01.json"


def test_manifest_format():
    manifest = layout.stage_manifest(
        "final",
        UNIT,
        "g1",
        "2026-12-01T11:00:00+00:00",
        {"run_id": "r"},
        {"a.png": {"sha256": "x"}},
        {"v": 1},
    )
    assert list(manifest) == ["stage", "unit", "generation", "written_at", "run_id", "files", "value"]
    assert manifest["unit"] == str(UNIT)


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/../b", "a\\b", "a/\x01"])
def test_unsafe_keys_are_refused_with_the_reason(key):
    assert layout.unsafe_key_reason(key)
    with pytest.raises(ValueError, match="unsafe storage key"):
        layout.check_key(key)


def test_live_brief_pointers_name_their_campaign():
    assert layout.brief_campaign_of(layout.brief_current_key("c-1")) == "c-1"
    assert layout.brief_campaign_of("briefs/c-1/v0001/brief.json") is None
    assert layout.brief_campaign_of("briefs/c-1/assets/current.json") is None
