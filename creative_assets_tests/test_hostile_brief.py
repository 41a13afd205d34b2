"""Hostile briefs (issue 21): every malformed input is a field-named BriefError, refused cheaply.

The examples of the issue plus variations: tracebacks, alias bombs, sizes, coerced numbers,
duplicate keys, characters that do not belong in ad copy, misleading messages, images.
"""

from __future__ import annotations

import io
import json
import os
import re
import resource
import threading
import time
from datetime import date, datetime

import pytest
import yaml
from PIL import Image

from creative_assets.brand_kit import brand_kits_dir
from creative_assets.brief import brief_json_schema, load_brief, parse_brief_text, validate_brief
from creative_assets.errors import BriefError
from creative_assets.input_policy import MAX_BRIEF_BYTES, Budget
from creative_assets.locales import supported_locales
from creative_assets_tests.helpers import set_products


def _write(folder, data, name="brief.yaml"):
    path = folder / name
    text = yaml.safe_dump(data, allow_unicode=True) if name.endswith(".yaml") else json.dumps(data)
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path) -> dict[str, str]:
    with pytest.raises(BriefError) as info:
        load_brief(path)
    assert str(path) in str(info.value)
    return {p.field: p.message for p in info.value.problems}


def _text_problems(brief_dir, text: str, name="brief.yaml") -> dict[str, str]:
    path = brief_dir / name
    path.write_text(text, encoding="utf-8")
    return _problems(path)


@pytest.fixture
def base(brief_dir):
    return yaml.safe_load((brief_dir / "brief.yaml").read_text())


# -- tracebacks instead of errors -----------------------------------------------------------------


@pytest.mark.parametrize("ref", [".", "./", "", "assets/", "assets/..", "/etc/passwd", "a\\b.png", "C:x.png"])
def test_asset_reference_that_is_no_file_is_a_field_error(brief_dir, base, ref):
    base["products"][0]["assets"] = [ref]
    problems = _problems(_write(brief_dir, base))
    assert "products[0].assets[0]" in problems


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 6, 1), datetime(2026, 8, 1, 10, 0)),
        (datetime(2026, 6, 1, 10, 0), date(2026, 8, 1)),
        ("2026-06-01", "2026-08-01T10:00:00"),
        ("2026-06-01", "20260801"),  # Python 3.11's fromisoformat accepts this; a brief does not
        ("2026-06-01", "2026-02-30"),
    ],
)
def test_mixed_dates_and_datetimes_are_field_errors(brief_dir, base, start, end):
    base["start_date"], base["end_date"] = start, end
    with pytest.raises(BriefError) as info:
        validate_brief(base, "brief.yaml", lambda ref: (brief_dir / ref).read_bytes())
    fields = {p.field for p in info.value.problems}
    assert fields & {"start_date", "end_date"}


def test_yaml_dates_are_iso_dates(brief_dir, base):
    text = (brief_dir / "brief.yaml").read_text() + "start_date: 2026-06-01\nend_date: 2026-06-01 10:00:00\n"
    problems = _text_problems(brief_dir, text)
    assert "end_date" in problems and "start_date" not in problems


@pytest.mark.parametrize("kind", ["json", "yaml-flow", "yaml-block"])
def test_deep_nesting_is_refused_not_a_recursion_error(brief_dir, kind):
    depth = 100_000
    if kind == "json":
        text, name = "[" * depth + "]" * depth, "brief.json"
    elif kind == "yaml-flow":
        text, name = "a: " + "[" * depth + "]" * depth, "brief.yaml"
    else:
        text, name = "".join(" " * i + "- \n" for i in range(0, 2000, 2)), "brief.yaml"
    started = time.process_time()
    problems = _text_problems(brief_dir, text[:MAX_BRIEF_BYTES], name)
    assert "nested more than" in problems["(file)"]
    assert time.process_time() - started < 2


def test_billion_laughs_is_refused_quickly(brief_dir, base):
    lines = ['a: &a ["1:1","1:1","1:1","1:1","1:1","1:1","1:1","1:1","1:1"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(
            f"{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]"
        )
    body = yaml.safe_dump(base, allow_unicode=True).replace("aspect_ratios:", "old_ratios:")
    text = "\n".join(lines) + "\naspect_ratios: *i\n" + body
    assert len(text.encode()) < 5000
    started = time.process_time()
    problems = _text_problems(brief_dir, text)
    assert time.process_time() - started < 1
    assert "aliases are expanded" in problems["(file)"]


def test_small_aliases_and_merge_keys_still_work(brief_dir, base):
    text = yaml.safe_dump(base, allow_unicode=True)
    text = "defaults: &d {candidates: 2}\n" + text
    text = text.replace("campaign_id:", "<<: *d\ncampaign_id:").replace("defaults:", "x-defaults:")
    # x-defaults is an unknown field: the alias machinery worked, the schema speaks
    problems = _text_problems(brief_dir, text)
    assert set(problems) == {"x-defaults"}


# -- sizes ----------------------------------------------------------------------------------------


def test_huge_brief_is_refused_before_it_is_read(brief_dir):
    path = brief_dir / "big.yaml"
    with open(path, "wb") as fh:
        fh.truncate(50 * 1024 * 1024)  # sparse: reading it would take 50 MB
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.process_time()
    with pytest.raises(BriefError) as info:
        load_brief(path)
    assert time.process_time() - started < 0.5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 20_000  # KiB
    assert "256 KiB" in info.value.problems[0].message
    assert len(str(info.value)) < 400


def test_long_strings_are_refused_and_quoted_short(brief_dir, base):
    base["message"] = "x" * 100_000
    base["products"][0]["id"] = "y" * 50_000
    base["products"][0]["assets"] = ["z" * 30_000 + ".png"]
    problems = _problems(_write(brief_dir, base))
    assert {"message", "products[0].id", "products[0].assets[0]"} <= set(problems)
    assert all(len(m) <= 600 for m in problems.values()), problems


def test_lists_are_capped(brief_dir, base):
    base["banned_words"] = [f"word{i}" for i in range(600)]
    base["aspect_ratios"] = ["1:1", "4:5", "9:16", "16:9", "1:1"]
    problems = _problems(_write(brief_dir, base, "brief.json"))
    assert "banned_words" in problems and "aspect_ratios" in problems


def test_too_many_units_and_creatives(brief_dir, base):
    locales = supported_locales()
    base["locales"] = locales
    set_products(base, [{"id": f"p{i}", "name": f"P {i}"} for i in range(240 // len(locales) + 1)])
    base.pop("localized_messages", None)
    problems = _problems(_write(brief_dir, base))
    assert "split the campaign" in problems["products"]

    set_products(base, base["products"][:8])
    base["candidates"] = 8
    base["aspect_ratios"] = ["1:1", "4:5", "9:16", "16:9"]
    problems = _problems(_write(brief_dir, base))
    assert "creatives" in problems["candidates"]


def test_cost_preflight_refuses_a_brief_over_budget(brief_dir, base, monkeypatch):
    path = _write(brief_dir, base)
    load_brief(path)  # offline providers: no spend
    monkeypatch.setenv("CREATIVE_ASSETS_IMAGE_PROVIDER", "openai")
    monkeypatch.setenv("CREATIVE_ASSETS_TEXT_PROVIDER", "openai")
    monkeypatch.setenv("CREATIVE_ASSETS_BRIEF_BUDGET_USD", "1.50")
    problems = _problems(path)
    assert "$1.50" in problems["(budget)"] and "CREATIVE_ASSETS_BRIEF_BUDGET_USD" in problems["(budget)"]
    monkeypatch.setenv("CREATIVE_ASSETS_BRIEF_BUDGET_USD", "1000")
    monkeypatch.setenv("CREATIVE_ASSETS_BRIEF_MAX_CALLS", "50")
    assert "provider calls" in _problems(path)["(budget)"]
    monkeypatch.setenv("CREATIVE_ASSETS_BRIEF_MAX_CALLS", "lots")
    assert "CREATIVE_ASSETS_BRIEF_MAX_CALLS" in _problems(path)["(budget)"]


def test_budget_estimate():
    budget = Budget(image_provider="openai", text_provider="openai", image_call_usd=0.04, text_call_usd=0.01)
    from creative_assets.input_policy import estimate_cost

    est = estimate_cost(locales=2, products=3, candidates=2, ratios=3, budget=budget)
    assert (est.units, est.creatives, est.image_calls, est.text_calls) == (6, 36, 36, 18)
    assert est.usd == pytest.approx(36 * 0.04 + 18 * 0.01)


# -- strict numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("output_sizes", {"1:1": [100000.0, 100000.0]}),
        ("output_sizes", {"1:1": ["20000", "20000"]}),
        ("output_sizes", {"1:1": [1080.0, 1080.0]}),
        ("output_sizes", {"1:1": [True, 1080]}),
        ("candidates", "3"),
        ("candidates", 3.0),
        ("candidates", True),
        ("seed", 1.5),
        ("seed", "42"),
    ],
)
def test_numbers_are_strict(brief_dir, base, field, value):
    base[field] = value
    problems = _problems(_write(brief_dir, base, "brief.json"))
    assert any(k.startswith(field) for k in problems), problems


def test_yaml_numbers_follow_yaml_1_2(brief_dir, base):
    # YAML 1.1 reads 1:1 as the sexagesimal 61 and 0x10 as 16; a brief means the strings
    base["candidates"] = 3
    text = yaml.safe_dump(base, allow_unicode=True).replace("candidates: 3", "candidates: 0x3")
    text = text.replace("- '1:1'", "- 1:1")
    assert "- 1:1" in text
    problems = _text_problems(brief_dir, text)
    assert set(problems) == {"candidates"}


def test_json_nan_and_huge_integers_are_refused(brief_dir, base):
    text = json.dumps(base)[:-1] + ', "seed": NaN}'
    assert "NaN" in _text_problems(brief_dir, text, "brief.json")["(file)"]
    text = json.dumps(base)[:-1] + ', "seed": ' + "9" * 5000 + "}"
    assert "too many digits" in _text_problems(brief_dir, text, "brief.json")["(file)"]


# -- duplicate keys -------------------------------------------------------------------------------


def test_duplicate_keys_in_json_name_the_key_and_line(brief_dir, base):
    text = json.dumps(base, indent=1).replace('"brand":', '"brand": "no-such-kit",\n "brand":', 1)
    message = _text_problems(brief_dir, text, "brief.json")["(file)"]
    assert "duplicate key 'brand'" in message and "line" in message


def test_duplicate_keys_in_yaml_name_the_key_and_line(brief_dir, base):
    text = yaml.safe_dump(base, allow_unicode=True)
    text = re.sub("^message:", "message: Cures everything\nmessage:", text, count=1, flags=re.M)
    message = _text_problems(brief_dir, text)["(file)"]
    assert "duplicate key 'message'" in message
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith("message:")) + 1
    assert f"at line {line}" in message


def test_nested_duplicate_keys(brief_dir, base):
    text = json.dumps(base).replace('"id": ', '"id": "x", "id": ', 1)
    assert "duplicate key 'id'" in _text_problems(brief_dir, text, "brief.json")["(file)"]
    text = yaml.safe_dump(base, allow_unicode=True).replace("  name:", "  name: x\n  name:", 1)
    assert "duplicate key 'name'" in _text_problems(brief_dir, text)["(file)"]
    # the same key in different objects is fine
    load_brief(_write(brief_dir, base, "brief.json"))


# -- characters -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Stay \x1b[31mbright\x1b[0m", "ESC"),
        ("Stay\x07 bright", "control character"),
        ("Stay\x85 bright", "C1 control"),
        ("Stay\x9b bright", "C1 control"),
        ("Stay\tbright", "tab"),
        ("\u202eStay bright\u202c", "bidirectional"),
        ("Stay \u2066bright\u2069", "bidirectional"),
        ("Stay \u202abright", "bidirectional"),
        ("\u200b\u200b", "empty once invisible"),
        ("\u00ad \u2060", "empty once invisible"),
        ("Stay \ufffe bright", "noncharacter"),
    ],
)
def test_character_policy(brief_dir, base, text, words):
    base["message"] = text
    problems = _problems(_write(brief_dir, base, "brief.json"))
    assert words in problems["message"]


def test_unpaired_surrogates_and_bad_keys(brief_dir, base):
    text = json.dumps(base).replace('"message": "', '"message": "\\ud800', 1)
    assert "surrogate" in _text_problems(brief_dir, text, "brief.json")["message"]
    base["localized_messages"]["de-DE\u202e"] = {"message": "Hallo"}
    problems = _problems(_write(brief_dir, base, "brief.json"))
    assert any("key" in field and "bidirectional" in m for field, m in problems.items()), problems


def test_characters_everywhere_are_checked(brief_dir, base):
    base["products"][1]["description"] = "fresh\x1b"
    base["banned_words"] = [{"term": "cure", "reason": "x\x00"}]
    problems = _problems(_write(brief_dir, base, "brief.json"))
    assert "products[1].description" in problems and "banned_words[0].reason" in problems


def test_newlines_in_copy_are_allowed(brief_dir, base):
    base["message"] = "Stay bright\nall summer"
    load_brief(_write(brief_dir, base, "brief.json"))


@pytest.mark.parametrize("term", ["\u200b", "\u00ad", "--", "\u0301"])
def test_banned_term_that_folds_to_nothing_is_an_error(brief_dir, base, term):
    base["banned_words"] = ["cure", term]
    problems = _problems(_write(brief_dir, base, "brief.json"))
    assert "banned_words[1]" in problems


# -- misleading messages --------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["summer-２０２６", "summer-٢٠٢٦", "Summer-2026"])
def test_id_messages_explain_the_character(brief_dir, base, bad):
    base["campaign_id"] = bad
    message = _problems(_write(brief_dir, base))["campaign_id"]
    assert ("not an ASCII digit" in message) if "-2026" not in bad else ("upper-case" in message)


def test_schema_id_lengths_match_the_validator():
    schema = brief_json_schema()
    assert schema["properties"]["campaign_id"]["maxLength"] == 48
    assert schema["properties"]["brand"]["maxLength"] == 48
    assert schema["$defs"]["Product"]["properties"]["id"]["maxLength"] == 48
    assert schema["properties"]["campaign_id"]["pattern"]


def test_bom_is_accepted_in_yaml_and_json_alike(brief_dir, base):
    for name in ("brief.yaml", "brief.json"):
        path = _write(brief_dir, base, name)
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
        assert load_brief(path).brief.campaign_id == base["campaign_id"]
    path.write_bytes(json.dumps(base).encode("utf-16"))
    assert "UTF-16" in _problems(path)["(file)"]


def test_missing_kit_error_does_not_show_server_paths(brief_dir, base):
    base["brand"] = "no-such-kit"
    message = _problems(_write(brief_dir, base))["brand"]
    assert "available kits" in message
    assert str(brand_kits_dir().resolve()) not in message and "/" not in message


def test_errors_are_bounded(brief_dir, base):
    base["locales"] = [f"x{i}-YY" for i in range(40)]
    set_products(base, [{"id": f"P{i}" * 30, "name": ""} for i in range(50)])
    with pytest.raises(BriefError) as info:
        validate_brief(base, "brief.json", lambda ref: b"")
    assert len(info.value.problems) <= 101
    assert len(str(info.value)) < 60_000


# -- images ---------------------------------------------------------------------------------------


def _image(fmt: str, size=(200, 200), frames=1, **kw) -> bytes:
    buf = io.BytesIO()
    ims = [Image.new("RGB", size, (i * 40, 10, 10)) for i in range(frames)]
    ims[0].save(buf, fmt, save_all=frames > 1, append_images=ims[1:], **kw)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("payload", "name", "words"),
    [
        (_image("GIF", frames=3), "p.png", "really a GIF"),
        (_image("JPEG"), "p.png", "really a JPEG"),
        (_image("PNG"), "p.jpg", "really a PNG"),
        (_image("PNG", frames=3), "p.png", "animated"),
        (_image("WEBP", frames=3), "p.webp", "animated"),
        (_image("JPEG", size=(800, 800))[:-4000], "p.jpg", "not a readable image"),
        (_image("PNG", size=(800, 800))[:-200], "p.png", "not a readable image"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "p.png", "not a readable image"),
    ],
)
def test_image_format_frames_and_full_decode(brief_dir, base, payload, name, words):
    (brief_dir / "assets" / name).write_bytes(payload)
    base["products"][0]["assets"] = [f"assets/{name}"]
    problems = _problems(_write(brief_dir, base))
    assert words in problems["products[0].assets[0]"]


def test_huge_sparse_image_is_refused_by_size_before_reading(brief_dir, base):
    path = brief_dir / "assets" / "huge.png"
    with open(path, "wb") as fh:
        fh.write(_image("PNG"))
        fh.truncate(2 * 1024**3)
    base["products"][0]["assets"] = ["assets/huge.png"]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    problems = _problems(_write(brief_dir, base))
    assert "limit" in problems["products[0].assets[0]"]
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB


def _in_thread(fn, timeout=15.0):
    out: dict = {}

    def target():
        try:
            out["value"] = fn()
        except BaseException as exc:
            out["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "blocked"
    return out


def test_fifo_image_or_brief_does_not_block(brief_dir, base):
    os.mkfifo(brief_dir / "assets" / "p.png")
    base["products"][0]["assets"] = ["assets/p.png"]
    out = _in_thread(lambda: load_brief(_write(brief_dir, base)))
    assert "FIFO" in out["error"].problems[0].message
    os.mkfifo(brief_dir / "fifo.yaml")
    out = _in_thread(lambda: load_brief(brief_dir / "fifo.yaml"))
    assert isinstance(out["error"], BriefError) and "FIFO" in str(out["error"])


def test_symlinked_image_outside_the_folder_is_refused(tmp_path, brief_dir, base):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(_image("PNG"))
    (brief_dir / "assets" / "link.png").symlink_to(outside / "secret.png")
    (brief_dir / "linked").symlink_to(outside, target_is_directory=True)
    for ref in ("assets/link.png", "linked/secret.png"):
        base["products"][0]["assets"] = [ref]
        assert "outside" in _problems(_write(brief_dir, base))["products[0].assets[0]"]


def test_parse_brief_text_is_strict_about_the_top_level(brief_dir):
    for text in ("[]", "3", "null", '"x"'):
        with pytest.raises(BriefError):
            parse_brief_text(text, "brief.json")


def test_kit_banned_term_that_folds_to_nothing_is_a_kit_error(tmp_path):
    import shutil

    from creative_assets.brand_kit import load_brand_kit

    shutil.copytree(brand_kits_dir() / "aurora-beverages", tmp_path / "aurora-beverages")
    path = tmp_path / "aurora-beverages" / "brand.yaml"
    data = yaml.safe_load(path.read_text())
    data["banned_words"] = [*data.get("banned_words", []), "\u200b\u00ad"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(BriefError) as info:
        load_brand_kit("aurora-beverages", tmp_path)
    assert any(p.field.startswith("banned_words[") for p in info.value.problems)


def test_generated_copy_is_cleaned_to_the_character_policy():
    from creative_assets.input_policy import character_problem, strip_disallowed

    dirty = "Jetzt\x1b[31m \u202ekaufen\u202c\x85\ud800\ufffe\nneu"
    clean = strip_disallowed(dirty)
    assert clean == "Jetzt[31m kaufen\nneu"
    assert character_problem(clean) is None and character_problem(dirty) is not None
