import pytest

from creative_assets.layout import check_key
from resources.storage import content_type_for


def test_write_is_atomic_and_listable(storage):
    uri = storage.write_bytes("campaigns/c/en-US/p/final_creatives/1x1/candidate-1.png", b"png")
    assert uri.startswith("file://")
    assert storage.read_bytes("campaigns/c/en-US/p/final_creatives/1x1/candidate-1.png") == b"png"
    storage.write_text("campaigns/c/en-US/p/final_creatives/manifest.json", "{}")
    assert list(storage.list_keys("campaigns/c")) == [
        "campaigns/c/en-US/p/final_creatives/1x1/candidate-1.png",
        "campaigns/c/en-US/p/final_creatives/manifest.json",
    ]
    folder = storage.local_path("campaigns/c/en-US/p/final")
    assert not [p for p in folder.rglob("*") if p.name.endswith(".part")]


def test_overwrite_replaces_whole_file(storage):
    storage.write_bytes("a/b.json", b"x" * 1000)
    storage.write_bytes("a/b.json", b"y")
    assert storage.read_bytes("a/b.json") == b"y"


def test_missing_key_raises_file_not_found(storage):
    with pytest.raises(FileNotFoundError):
        storage.read_bytes("nope/missing.json")
    assert not storage.exists("nope/missing.json")
    assert list(storage.list_keys("nope")) == []


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a/../../b", "a//b", "", "a\\b", "./a"])
def test_unsafe_keys_are_rejected(storage, key):
    with pytest.raises(ValueError):
        check_key(key)
    with pytest.raises(ValueError):
        storage.write_bytes(key, b"x")


def test_content_types():
    assert content_type_for("x/candidate-1.png") == "image/png"
    assert content_type_for("x/candidate-1.jpg") == "image/jpeg"
    assert content_type_for("x/manifest.json") == "application/json"
    assert content_type_for("x/summary.csv").startswith("text/csv")
