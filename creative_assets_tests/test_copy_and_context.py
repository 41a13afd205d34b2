"""Copy never invents translations; context packs layer the rules in order."""

from creative_assets.brand_kit import load_brand_kit
from creative_assets.brief import load_brief
from creative_assets.context_pack import build_context_pack
from creative_assets.copywriting import brief_copy
from creative_assets.locales import get_locale
from creative_assets.stages import UnitBrief
from creative_assets_tests.helpers import TRAIL, unit_brief_for


def _unit(locale: str) -> UnitBrief:
    brief = load_brief(TRAIL).brief
    return unit_brief_for(
        brief,
        locale,
        brief.products[0],
        banned_words=[{"term": "cheap", "reason": "off-brand"}],
        candidates=2,
    )


def _pack(unit):
    return build_context_pack(unit, load_brand_kit(unit.brand), get_locale(unit.locale), "kb", "test")


def test_translated_copy_comes_from_the_brief():
    unit = _unit("fr-FR")
    copy = brief_copy(unit, _pack(unit))
    assert copy.variants[0].headline == "Pensé pour les longues échappées"
    assert copy.sources["message"] == "brief.localized_messages.fr-FR.message"
    assert len(copy.variants) == 2


def test_missing_translation_keeps_source_and_warns():
    unit = _unit("de-DE")  # the trail brief has no German copy
    copy = brief_copy(unit, _pack(unit))
    assert copy.variants[0].headline == unit.message
    assert "untranslated" in copy.sources["message"]
    assert any("de-DE" in w and "message" in w for w in copy.warnings)
    assert any("legal line" in w for w in copy.warnings)  # terra's disclaimer is English only


def test_same_language_market_is_not_a_missing_translation():
    unit = _unit("en-US")  # source is en-GB
    copy = brief_copy(unit, _pack(unit))
    assert not copy.warnings


def test_rules_are_layered_global_language_market_brand_campaign():
    pack = _pack(_unit("fr-FR"))
    layers = [r.layer.split(":")[0] for r in pack.rules]
    order = {"global": 0, "language": 1, "market": 2, "brand": 3, "campaign": 4}
    assert layers == sorted(layers, key=order.__getitem__)
    assert {"brand", "campaign"} <= set(layers)
    assert any(r.term == "unbreakable" and r.severity == "ERROR" for r in pack.rules)
    assert pack.disclaimer and pack.direction == "ltr"
    assert _pack(_unit("he-IL")).direction == "rtl"
