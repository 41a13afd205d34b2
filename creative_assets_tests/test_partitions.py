import pytest

from creative_assets.units import UnitKey, unit_keys_for


def test_unit_key_round_trips():
    unit = UnitKey("summer-splash-2026", "ja-JP", "sparkling-citrus")
    assert str(unit) == "summer-splash-2026.ja-JP.sparkling-citrus"
    assert UnitKey.parse(str(unit)) == unit
    assert unit.storage_prefix == "campaigns/summer-splash-2026/ja-JP/sparkling-citrus"


@pytest.mark.parametrize(
    "key", ["a.en-US", "a.en-US.b.c", "Bad.en-US.x", "a.en_US.x", "a.en-US.x|y", "a.en-US.[x]"]
)
def test_malformed_keys_are_rejected(key):
    with pytest.raises(ValueError):
        UnitKey.parse(key)


def test_keys_never_contain_reserved_characters():
    for unit in unit_keys_for("c-1", ["en-US", "ar-AE"], ["p-1", "p-2"]):
        assert not set(str(unit)) & set(",|[]/")


def test_unit_keys_are_locale_major():
    keys = [str(u) for u in unit_keys_for("cc", ["en-US", "de-DE"], ["a1", "b2"])]
    assert keys == ["cc.en-US.a1", "cc.en-US.b2", "cc.de-DE.a1", "cc.de-DE.b2"]
