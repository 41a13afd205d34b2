"""Preflight: a brief that cannot render (or may not print) is refused by validate, run and the inbox
before anything is registered or any provider is called; what it can render passes quickly."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml
from PIL import Image

from creative_assets.brief import load_brief
from creative_assets.cli import main
from creative_assets.errors import BriefError
from creative_assets_tests.openai_server import FakeOpenAI
from creative_assets_tests.pipeline_helpers import small_brief

G_CLEF = "\U0001d11e"  # MUSICAL SYMBOL G CLEF: no bundled font has it
KEY = "sk-test-preflight"


def _edit(path: Path, **changes) -> Path:
    data = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        target = data
        *parents, last = dotted.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target.setdefault(part, {})
        target[last] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return path


def _problems(exc: BriefError) -> dict[str, str]:
    return {p.field: p.message for p in exc.problems}


def _unrenderable_brief(tmp_path) -> Path:
    brief = small_brief(tmp_path, locales=("en-US", "ja-JP"), candidates=1)
    data = yaml.safe_load(brief.read_text())
    data["localized_messages"]["ja-JP"]["cta"] = f"今すぐ購入 {G_CLEF}"
    brief.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return brief


def test_validate_names_locale_field_and_character(tmp_path, capsys):
    brief = _unrenderable_brief(tmp_path)
    started = time.perf_counter()
    assert main(["validate", str(brief)]) == 2
    elapsed = time.perf_counter() - started
    err = capsys.readouterr().err
    assert str(brief) in err
    assert "localized_messages.ja-JP.cta" in err and "locale ja-JP" in err
    assert f"'{G_CLEF}' (U+1D11E)" in err and "drawn as a box" in err
    assert elapsed / 4 < 1.0  # 2 locales x 2 products: well under a second per unit


def test_run_refuses_before_registering_and_calls_no_provider(tmp_path, monkeypatch, capsys):
    brief = _unrenderable_brief(tmp_path)
    out = tmp_path / "out"
    home = tmp_path / "home"
    with FakeOpenAI(api_key=KEY) as server:
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("CREATIVE_ASSETS_IMAGE_PROVIDER", "openai")
        monkeypatch.setenv("CREATIVE_ASSETS_TEXT_PROVIDER", "openai")
        assert main(["run", str(brief), "--out", str(out)]) == 2
        assert server.requests == []  # zero provider calls
    err = capsys.readouterr().err
    assert "localized_messages.ja-JP.cta" in err and "U+1D11E" in err
    assert not (out / "briefs").exists() and not (out / "campaigns").exists()  # nothing registered
    assert not list(home.glob("**/*.db"))  # the Dagster instance was never even opened


def test_inbox_sets_the_brief_aside_with_error_json(tmp_path, monkeypatch):
    from resources.brand_kits import BrandKitLibrary
    from resources.inbox import BriefInbox
    from resources.storage import LocalCreativeStorage
    from sensors.brief_inbox import brief_inbox_sensor

    brief = _unrenderable_brief(tmp_path)
    root = tmp_path / "storage"
    shutil.copytree(brief.parent, root / "inbox" / "summer")
    storage = LocalCreativeStorage(root=str(root))
    with FakeOpenAI(api_key=KEY) as server, dg.instance_for_test() as instance:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("CREATIVE_ASSETS_IMAGE_PROVIDER", "openai")
        with dg.build_sensor_context(
            instance=instance,
            resources={"storage": storage, "inbox": BriefInbox(), "brand_kits": BrandKitLibrary()},
        ) as context:
            result = brief_inbox_sensor(context)
        assert not result.run_requests and not result.dynamic_partitions_requests
        assert server.requests == []
    assert not (root / "inbox" / "summer" / "brief.yaml").exists()
    (report_path,) = (root / "rejected").glob("*/error.json")
    report = json.loads(report_path.read_text())
    fields = {p["field"]: p for p in report["problems"]}
    problem = fields["localized_messages.ja-JP.cta"]
    assert problem["code"] == "preflight:glyph_coverage" and "U+1D11E" in problem["message"]
    assert (report_path.parent / "brief.yaml").exists()
    assert not (root / "briefs").exists()


def test_emoji_pass_with_the_emoji_font_and_are_refused_without_it(tmp_path, monkeypatch):
    from creative_assets.render import fonts, text

    brief = small_brief(tmp_path, locales=("en-US",), candidates=1)
    _edit(brief, cta="Shop now 🍊")
    if fonts.emoji_font() is not None:
        load_brief(brief)  # renders: accepted
    monkeypatch.setattr(text, "emoji_font", lambda *a: None)
    text._font_chain.cache_clear()
    text._shaper.cache_clear()
    try:
        with pytest.raises(BriefError) as exc:
            load_brief(brief)
    finally:
        text._font_chain.cache_clear()
        text._shaper.cache_clear()
    message = _problems(exc.value)["cta"]
    assert "'🍊' (U+1F34A)" in message and "NotoColorEmoji.ttf" in message and "locale en-US" in message


def test_copy_that_cannot_fit_at_the_minimum_size_is_refused(tmp_path):
    brief = small_brief(tmp_path, locales=("en-US",), candidates=1)
    word = "Rindfleischetikettierungsüberwachungsaufgabenübertragungsgesetz"
    _edit(brief, message=f"{word}!")
    with pytest.raises(BriefError) as exc:
        load_brief(brief)
    message = _problems(exc.value)["message"]
    assert "locale en-US: headline" in message and "even at its minimum size" in message
    assert "words are never broken" in message


def test_long_product_names_pass_in_every_ratio(tmp_path):
    brief = small_brief(tmp_path, locales=("en-US", "de-DE", "ar-AE"), candidates=1)
    data = yaml.safe_load(brief.read_text())
    data["aspect_ratios"] = ["1:1", "4:5", "9:16", "16:9"]
    data["products"][1]["name"] = "Sparkling Citrus Zero Sugar Limited Summer Edition 12-Pack"
    brief.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    assert load_brief(brief).brief.products[1].name.startswith("Sparkling")


def test_banned_terms_in_supplied_copy_are_refused_with_term_and_layer(tmp_path):
    brief = small_brief(tmp_path, locales=("en-US",), candidates=1)
    _edit(brief, message="This soda will cure your thirst")
    with pytest.raises(BriefError) as exc:
        load_brief(brief)
    message = _problems(exc.value)["message"]
    assert "'cure'" in message and "global" in message and "locale en-US" in message


def test_a_small_packshot_is_refused_for_upscaling(tmp_path):
    brief = small_brief(tmp_path, locales=("en-US",), candidates=1)
    data = yaml.safe_load(brief.read_text())
    ref = data["products"][0]["assets"][0]
    Image.new("RGB", (120, 160), (200, 40, 40)).save(brief.parent / ref)
    with pytest.raises(BriefError) as exc:
        load_brief(brief)
    message = _problems(exc.value)["products[0].assets[0]"]
    assert "120x160" in message and "allows at most 1.5x" in message


def test_missing_kit_font_file_is_refused(tmp_path):
    from creative_assets.brand_kit import DEFAULT_BRAND_KITS_DIR

    kits = tmp_path / "kits"
    shutil.copytree(DEFAULT_BRAND_KITS_DIR / "aurora-beverages", kits / "aurora-beverages")
    kit_yaml = kits / "aurora-beverages" / "brand.yaml"
    kit = yaml.safe_load(kit_yaml.read_text())
    kit["fonts"]["headline"]["default"] = "AuroraSans-Bold.ttf"
    kit_yaml.write_text(yaml.safe_dump(kit, allow_unicode=True))
    brief = small_brief(tmp_path, locales=("en-US",), candidates=1)
    with pytest.raises(BriefError) as exc:
        load_brief(brief, brand_kits_root=kits)
    message = _problems(exc.value)["brand kit aurora-beverages: fonts.headline.default"]
    assert "'AuroraSans-Bold.ttf' does not exist" in message


def test_untranslated_locale_is_a_warning_not_a_rejection(tmp_path, capsys):
    brief = small_brief(tmp_path, locales=("en-US", "ja-JP"), candidates=1)
    data = yaml.safe_load(brief.read_text())
    data["localized_messages"] = {}
    brief.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    loaded = load_brief(brief)
    assert [w.field for w in loaded.warnings] == ["localized_messages.ja-JP"]
    assert main(["validate", str(brief)]) == 0
    assert "! " in capsys.readouterr().out
