"""Placements: the shipped specs load, carry the issue's numbers, and bad spec files or brief entries
are refused naming the file and the field."""

import shutil

import pytest
import yaml

from creative_assets.brief import load_brief
from creative_assets.errors import BriefError
from creative_assets.placements import (
    PLACEMENT_CLASSES,
    RATIO_DEFAULT_PLACEMENTS,
    SPEC_DIR,
    UnknownPlacementError,
    get_placement,
    load_placement_file,
    load_placements,
    product_share_min,
)

REQUIRED = {
    "meta-feed-square": (1080, 1080),
    "meta-feed-portrait": (1080, 1350),
    "meta-stories": (1080, 1920),
    "meta-reels": (1080, 1920),
    "tiktok-in-feed": (1080, 1920),
    "youtube-shorts": (1080, 1920),
    "youtube-instream": (1920, 1080),
    "linkedin-landscape": (1200, 627),
    "linkedin-square": (1200, 1200),
    "pinterest-standard": (1000, 1500),
    "x-landscape": (1200, 675),
    "iab-medium-rectangle": (300, 250),
    "iab-leaderboard": (728, 90),
    "iab-wide-skyscraper": (160, 600),
    "iab-half-page": (300, 600),
    "iab-mobile-banner": (320, 50),
}


def test_every_required_placement_ships_with_its_size_and_a_source():
    shipped = load_placements()
    for name, size in REQUIRED.items():
        assert shipped[name].size == size, name
        assert shipped[name].source.startswith("https://"), name
    assert {p.placement_class for p in shipped.values()} == set(PLACEMENT_CLASSES)
    for path in SPEC_DIR.glob("*.yaml"):
        assert yaml.safe_load(path.read_text())["source"], path


def test_reels_and_stories_have_different_safe_areas_and_reels_follows_meta():
    reels, stories = get_placement("meta-reels"), get_placement("meta-stories")
    assert reels.size == stories.size and reels.safe_area != stories.safe_area
    sa = reels.safe_area
    assert (sa.top, sa.bottom, sa.left, sa.right) == (0.14, 0.35, 0.06, 0.06)
    assert reels.safe_box() == (65, 269, 1015, 1248)


def test_iab_units_carry_the_150_kb_budget_and_banner_class():
    for name in REQUIRED:
        if name.startswith("iab-"):
            p = get_placement(name)
            assert p.max_bytes == 150 * 1024 and p.placement_class == "banner"
            assert set(p.formats) <= {"jpeg", "png"}


def test_aspect_labels_file_names_and_share_floor():
    assert get_placement("linkedin-landscape").aspect_label == "1.91:1"
    assert get_placement("pinterest-standard").aspect_label == "2:3"
    assert get_placement("meta-reels").aspect_label == "9:16"
    reels = get_placement("meta-reels")
    name = reels.file_name(campaign="c", locale="en-US", product="p", candidate=2, fmt="jpeg")
    assert name == "c_en-US_p_meta-reels_2.jpg"
    with pytest.raises(ValueError, match="does not accept webp"):
        reels.file_name(campaign="c", locale="en-US", product="p", candidate=1, fmt="webp")
    assert product_share_min(reels) == 0.12
    for ratio, name in RATIO_DEFAULT_PLACEMENTS.items():
        assert get_placement(name).aspect_label == ratio


def test_unknown_placement_suggests_the_nearest_name():
    with pytest.raises(UnknownPlacementError, match="did you mean meta-reels"):
        get_placement("meta-reel")


def test_bad_spec_file_names_file_and_field(tmp_path):
    bad = {
        "source": "https://example.com/spec",
        "placements": [
            {
                "name": "ok-one",
                "label": "fine",
                "platform": "demo",
                "size": [1080, 1080],
                "class": "square",
                "safe_area": {"top": 0.05, "bottom": 0.05, "left": 0.05, "right": 0.05},
                "max_bytes": 100000,
                "formats": ["jpeg"],
                "accepts_motion": False,
            },
            {
                "name": "bad-one",
                "label": "bad",
                "platform": "demo",
                "size": [1080, 1080],
                "class": "round",
                "safe_area": {"top": 0.7, "bottom": 0.05, "left": 0.05, "right": 0.05},
                "max_bytes": 100000,
                "formats": ["gif"],
                "accepts_motion": False,
                "file_pattern": "{brand}.{ext}",
            },
        ],
    }
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(BriefError) as info:
        load_placement_file(path)
    fields = {p.field for p in info.value.problems}
    assert str(path) in str(info.value)
    assert {"placements[1].class", "placements[1].safe_area.top", "placements[1].formats[0]"} <= fields
    assert not any(f.startswith("placements[0]") for f in fields)
    bad["placements"] = [bad["placements"][0] | {"file_pattern": "{brand}_{placement}.{ext}"}]
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(BriefError, match=r"placements\[0\].*unknown field 'brand'"):
        load_placement_file(path)


def test_brief_placements_and_the_aspect_ratio_defaults(brief_dir):
    data = yaml.safe_load((brief_dir / "brief.yaml").read_text())
    legacy = load_brief(brief_dir / "brief.yaml").brief
    assert [p.name for p in legacy.placement_specs()] == [
        RATIO_DEFAULT_PLACEMENTS[r] for r in legacy.aspect_ratios
    ]
    data.pop("aspect_ratios", None)
    data["placements"] = ["meta-reels", "iab-medium-rectangle"]
    (brief_dir / "brief.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    brief = load_brief(brief_dir / "brief.yaml").brief
    assert [p.name for p in brief.placement_specs()] == ["meta-reels", "iab-medium-rectangle"]

    data["placements"] = ["meta-reel", "meta-reels", "meta-reels"]
    data["aspect_ratios"] = ["1:1"]
    (brief_dir / "brief.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(BriefError) as info:
        load_brief(brief_dir / "brief.yaml")
    problems = {p.field: p.message for p in info.value.problems}
    assert "did you mean meta-reels" in problems["placements[0]"]
    assert "listed twice" in problems["placements[2]"]
    assert "not both" in problems["placements"]


@pytest.mark.parametrize("example", ["summer-splash-2026", "trail-ready-2026"])
def test_both_example_briefs_pass_the_preflight_at_every_shipped_placement(tmp_path, example):
    """Every locale's copy (and badge) fits every template at every shipped placement, with the
    banned-term, glyph and resolution checks of the preflight (a brief that fails raises)."""
    from creative_assets_tests.helpers import EXAMPLES

    source = EXAMPLES / example
    data = yaml.safe_load((source / "brief.yaml").read_text())
    data.pop("aspect_ratios", None)
    data.pop("output_sizes", None)
    data["placements"] = list(load_placements())
    target = tmp_path / example
    shutil.copytree(source, target)  # assets are read only from inside the brief's folder
    (target / "brief.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    loaded = load_brief(target / "brief.yaml")
    assert len(loaded.brief.placement_specs()) == len(REQUIRED)
