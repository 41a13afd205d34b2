"""Templates: every shipped template validates (schema and CLI); bad templates are refused naming the
file and the field; brand-kit templates add to and override the built-ins; briefs and feedback
choose templates; the rotation keeps only templates that make the product the hero."""

import json
import os

import jsonschema
import pytest
import yaml

from creative_assets.cli import main
from creative_assets.errors import BriefError
from creative_assets.feedback import interpret_feedback
from creative_assets.placements import get_placement, product_share_min
from creative_assets.render.candidates import expected_product_share, template_rotation
from creative_assets.render.layout import plan_layout
from creative_assets.templates import (
    BUILTIN_DIR,
    builtin_templates,
    load_template_file,
    template_json_schema,
    templates_for,
)

GOOD = yaml.safe_load((BUILTIN_DIR / "text-side.yaml").read_text())


def _write(folder, data, name=None, suffix=".yaml"):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name or data['name']}{suffix}"
    path.write_text(yaml.safe_dump(data) if suffix == ".yaml" else json.dumps(data))
    return path


def _problems(path) -> dict[str, str]:
    with pytest.raises(BriefError) as info:
        load_template_file(path)
    assert str(path) in str(info.value)
    return {p.field: p.message for p in info.value.problems}


def test_every_shipped_template_validates_against_the_schema_and_the_cli(capsys):
    schema = template_json_schema()
    for path in sorted(BUILTIN_DIR.glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
        assert load_template_file(path).name == path.stem
    assert main(["template", "validate"]) == 0
    out = capsys.readouterr().out
    assert all(f"template {name!r}" in out for name in builtin_templates())
    assert main(["validate", str(BUILTIN_DIR)]) == 0


def test_bad_templates_name_the_file_and_the_field(tmp_path, capsys):
    bad = json.loads(json.dumps(GOOD))
    bad["serves"] = ["square", "round"]
    bad["slots"]["headline"]["box"] = [0.0, 0.0, 1.4, 0.5]
    bad["slots"]["cta"]["treatments"] = ["sparkle"]
    bad["slots"]["legal"]["colour"] = "red"
    problems = _problems(_write(tmp_path / "templates", bad))
    assert "serves[1]" in problems
    assert "slots.headline.box[2]" in problems
    assert "slots.cta.treatments[0]" in problems
    assert "not a known field" in problems["slots.legal.colour"]

    overlap = json.loads(json.dumps(GOOD))
    overlap["slots"]["product"]["box"] = [0.3, 0.0, 1.0, 1.0]
    problems = _problems(_write(tmp_path / "templates", overlap))
    assert "overlaps slots.headline.box" in problems["slots.product.box"]

    inverted = json.loads(json.dumps(GOOD))
    inverted["slots"]["subline"]["box"] = [0.5, 0.6, 0.2, 0.7]
    assert "x0 < x1" in _problems(_write(tmp_path / "templates", inverted))["slots.subline.box"]

    renamed = _write(tmp_path / "templates", GOOD, name="other-name")
    assert "must match the file name" in _problems(renamed)["name"]

    assert main(["validate", str(tmp_path / "templates")]) == 2
    err = capsys.readouterr().err
    assert "slots.subline.box" in err and "other-name.yaml" in err and "- name:" in err


def test_json_templates_and_kit_templates_override_builtins(tmp_path):
    kit = tmp_path / "kit"
    custom = json.loads(json.dumps(GOOD)) | {"description": "kit version"}
    _write(kit / "templates", custom, suffix=".json")
    _write(kit / "templates", GOOD | {"name": "kit-only", "serves": ["square"]})
    found = templates_for(kit)
    assert found["text-side"].description == "kit version"
    assert found["kit-only"].source.endswith("kit-only.yaml")
    assert set(builtin_templates()) <= set(found)


def test_feedback_can_ask_for_a_named_template():
    names = tuple(builtin_templates())
    asked = interpret_feedback("try the text-side-far template please", names)
    assert asked.templates == ("text-side-far",) and asked.new_layout
    assert interpret_feedback("use text-side", names).templates == ("text-side",)
    assert interpret_feedback("another template", names).new_layout
    assert interpret_feedback("make it bolder", names).templates == ()


class _Unit:
    def __init__(self, names=(), description="slim can", name="Citrus", badge=None):
        self.templates = list(names)
        self.product = type("P", (), {"description": description, "name": name})()
        self.badge = badge

    def badge_text(self):
        return self.badge, False


def test_rotation_keeps_templates_that_make_the_product_the_hero_and_honours_the_brief():
    templates = builtin_templates()
    reels = get_placement("meta-reels")

    def share(shape):
        return lambda t: expected_product_share(
            plan_layout("meta-reels", reels.size, t, templates=templates), shape
        )

    tall, wide = (0.42, 0.93), (1.0, 0.785)
    tall_rotation = template_rotation(_Unit(), "meta-reels", templates, share(tall))
    wide_rotation = template_rotation(_Unit(), "meta-reels", templates, share(wide))
    assert "hero-stack" not in tall_rotation and "text-side" in tall_rotation
    assert wide_rotation == ("hero-stack",)
    for name in wide_rotation:
        assert share(wide)(name) >= product_share_min(reels)
    named = template_rotation(_Unit(["text-side", "text-top"]), "meta-reels", templates)
    assert named == ("text-side",)  # text-top does not serve vertical placements
    assert template_rotation(_Unit(["text-top"]), "meta-feed-square", templates) == ("text-top",)


def test_brief_templates_are_known_and_serve_every_output(brief_dir):
    from creative_assets.brief import load_brief

    data = yaml.safe_load((brief_dir / "brief.yaml").read_text())
    data.pop("aspect_ratios", None)
    data["placements"] = ["meta-feed-square", "meta-reels"]
    data["templates"] = ["text-sid", "text-top"]
    (brief_dir / "brief.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(BriefError) as info:
        load_brief(brief_dir / "brief.yaml")
    problems = {p.field: p.message for p in info.value.problems}
    assert "did you mean text-side" in problems["templates[0]"]
    data["templates"] = ["text-top"]
    (brief_dir / "brief.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(BriefError) as info:
        load_brief(brief_dir / "brief.yaml")
    (problem,) = [p for p in info.value.problems if p.field == "templates"]
    assert (
        "none of the named templates serves meta-reels" in problem.message and "text-side" in problem.message
    )
    data["templates"] = ["text-top", "text-side"]
    (brief_dir / "brief.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    assert load_brief(brief_dir / "brief.yaml").brief.templates == ["text-top", "text-side"]


def test_hostile_template_files_are_refused_naming_the_file(tmp_path, capsys):
    """Templates are read with the brief's limits: a FIFO never blocks, a huge or deeply nested file
    is refused, and `validate` says which file, with exit 2 and no traceback."""
    import os

    folder = tmp_path / "templates"
    folder.mkdir()
    os.mkfifo(folder / "fifo.yaml")
    with open(folder / "big.yaml", "wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "utf16.yaml").write_bytes("name: utf16\n".encode("utf-16"))
    for path in sorted(folder.iterdir()):
        with pytest.raises(BriefError) as caught:
            load_template_file(path)
        assert caught.value.source == str(path) and caught.value.problems
        assert main(["validate", str(path)]) == 2
        err = capsys.readouterr()
        assert str(path) in err.out + err.err and "Traceback" not in err.out + err.err


def test_a_kit_template_edit_changes_the_kit_fingerprint(tmp_path):
    """A designer's template edit changes the pixels, so it changes the fingerprint that sends the
    brand's units back for regeneration; a file that is not a template does not."""
    import shutil

    from creative_assets.brand_kit import DEFAULT_BRAND_KITS_DIR, load_brand_kit
    from creative_assets.templates import BUILTIN_DIR

    shutil.copytree(DEFAULT_BRAND_KITS_DIR / "aurora-beverages", tmp_path / "aurora-beverages")
    before = load_brand_kit("aurora-beverages", tmp_path).fingerprint()
    folder = tmp_path / "aurora-beverages" / "templates"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a template")
    os.mkfifo(folder / "stuck.yaml")  # read with the loader's limits: skipped, never blocks
    assert load_brand_kit("aurora-beverages", tmp_path).fingerprint() == before
    (folder / "stuck.yaml").unlink()
    builtin = sorted(BUILTIN_DIR.glob("*.yaml"))[0]
    shutil.copy(builtin, folder / builtin.name)
    added = load_brand_kit("aurora-beverages", tmp_path).fingerprint()
    assert added != before
    (folder / builtin.name).write_text(builtin.read_text() + "\n# moved the headline\n")
    assert load_brand_kit("aurora-beverages", tmp_path).fingerprint() not in (before, added)
    (folder / "motion").mkdir()
    (folder / "motion" / "push-in.yaml").write_text("name: push-in\n")
    assert load_brand_kit("aurora-beverages", tmp_path).fingerprint() != added
