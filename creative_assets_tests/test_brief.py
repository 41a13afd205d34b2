"""Brief validation: the examples are valid; every kind of mistake is named with file and field."""

import json

import pytest
import yaml

from creative_assets.brief import brief_json_schema, load_brief
from creative_assets.errors import BriefError
from creative_assets_tests.helpers import SUMMER, TRAIL


def _write(brief_dir, data, name="brief.yaml"):
    path = brief_dir / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True) if name.endswith(".yaml") else json.dumps(data))
    return path


def _problems(path) -> dict[str, str]:
    with pytest.raises(BriefError) as info:
        load_brief(path)
    assert str(path) in str(info.value)
    return {p.field: p.message for p in info.value.problems}


@pytest.fixture
def base(brief_dir):
    return yaml.safe_load((brief_dir / "brief.yaml").read_text())


def test_examples_are_valid():
    summer = load_brief(SUMMER)
    trail = load_brief(TRAIL)
    assert summer.brief.campaign_id == "summer-splash-2026"
    assert any(summer.assets.values()), "summer example supplies product images"
    assert any(not p.assets for p in summer.brief.products), "and leaves at least one to be generated"
    assert not any(p.assets for p in trail.brief.products), "trail example supplies none"
    scripts = {loc.split("-")[0] for loc in summer.brief.locales + trail.brief.locales}
    assert {"ja", "ar"} <= scripts or {"zh", "he"} <= scripts


def test_json_brief_is_accepted(brief_dir, base):
    path = _write(brief_dir, base, "brief.json")
    assert load_brief(path).brief == load_brief(brief_dir / "brief.yaml").brief


def test_unknown_locale_suggests_the_right_tag(brief_dir, base):
    base["locales"] = ["en-US", "de-de", "xx-YY"]
    problems = _problems(_write(brief_dir, base))
    assert "locales[1]" in problems and "locales[2]" in problems
    assert "de-DE" in problems["locales[1]"]


def test_duplicate_product_ids(brief_dir, base):
    base["products"].append(dict(base["products"][0]))
    problems = _problems(_write(brief_dir, base))
    dup = f"products[{len(base['products']) - 1}].id"
    assert "duplicate product id" in problems[dup]


@pytest.mark.parametrize(
    "bad_id", ["Sparkling Citrus", "a/b", "x", "a--b", "-a", "über", "a,b", "a|b", "[a]", "a.b"]
)
def test_unsafe_product_ids(brief_dir, base, bad_id):
    base["products"][0]["id"] = bad_id
    problems = _problems(_write(brief_dir, base))
    assert "products[0].id" in problems


def test_unsafe_campaign_id(brief_dir, base):
    base["campaign_id"] = "Summer_2026"
    assert "campaign_id" in _problems(_write(brief_dir, base))


def test_missing_brand_kit_lists_available(brief_dir, base):
    base["brand"] = "no-such-brand"
    message = _problems(_write(brief_dir, base))["brand"]
    assert "aurora-beverages" in message and "terra-outdoor" in message


def test_unreadable_and_escaping_assets(brief_dir, base):
    base["products"][0]["assets"] = [
        "assets/missing.png",
        "../../etc/passwd.png",
        "/abs/x.png",
        "assets/notes.txt",
    ]
    (brief_dir / "assets" / "broken.png").write_bytes(b"not an image")
    base["products"][1]["assets"] = ["assets/broken.png"]
    problems = _problems(_write(brief_dir, base))
    assert "cannot read" in problems["products[0].assets[0]"]
    assert "relative path" in problems["products[0].assets[1]"]
    assert "relative path" in problems["products[0].assets[2]"]
    assert ".png" in problems["products[0].assets[3]"]
    assert "not a readable image" in problems["products[1].assets[0]"]


def test_unsupported_ratio_and_unknown_field(brief_dir, base):
    base["aspect_ratios"] = ["1:1", "3:2"]
    base["colour"] = "red"
    problems = _problems(_write(brief_dir, base))
    assert "aspect_ratios[1]" in problems and "9:16" in problems["aspect_ratios[1]"]
    assert "not a known field" in problems["colour"]


def test_all_problems_are_reported_at_once(brief_dir, base):
    base["locales"] = ["en-US", "en-US"]
    base["localized_messages"] = {"fr-FR": {"message": "Bonjour"}}
    base["candidates"] = 3
    base["output_sizes"] = {"1:1": [1000, 1200]}
    problems = _problems(_write(brief_dir, base))
    assert {"locales[1]", "localized_messages.fr-FR", "output_sizes.1:1"} <= set(problems)


def test_yaml_syntax_error_names_the_line(brief_dir):
    path = brief_dir / "brief.yaml"
    path.write_text("campaign_id: x\nlocales: [en-US\nproducts: []\n")
    problems = _problems(path)
    assert "line" in problems["(file)"]


def test_missing_required_fields(brief_dir):
    path = _write(brief_dir, {"campaign_id": "abc"})
    problems = _problems(path)
    for field in ("name", "brand", "message", "cta", "locales", "products"):
        assert problems[field] == "is required"


def test_schema_documents_every_field():
    schema = brief_json_schema()
    assert {"campaign_id", "brand", "locales", "products", "candidates", "aspect_ratios"} <= set(
        schema["properties"]
    )
    assert schema["properties"]["candidates"]["maximum"] == 8


@pytest.mark.parametrize("size", [[200, 200], [256, 256], [360, 640], [399, 399]])
def test_output_sizes_that_cannot_pass_the_checks_are_rejected_with_the_minimum(brief_dir, base, size):
    base["output_sizes"] = {"1:1" if size[0] == size[1] else "9:16": size}
    path = _write(brief_dir, base)
    with pytest.raises(BriefError) as err:
        load_brief(path)
    (problem,) = [p for p in err.value.problems if p.field.startswith("output_sizes.")]
    assert "at least 400 px" in problem.message and f"{size[0]}x{size[1]}" in problem.message
    assert str(path) in err.value.render()


def test_the_smallest_allowed_output_size_is_accepted(brief_dir, base):
    base["output_sizes"] = {"1:1": [400, 400], "9:16": [400, 711], "16:9": [711, 400]}
    assert load_brief(_write(brief_dir, base)).brief.size_for("1:1") == (400, 400)
