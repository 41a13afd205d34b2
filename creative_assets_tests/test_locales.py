"""The built-in locale knowledge base: data sanity, layering, lookups and validation errors."""

from __future__ import annotations

import hashlib
import json
import re
import textwrap
import unicodedata
from pathlib import Path

import pytest
from pydantic import ValidationError

from creative_assets.locales import (
    KNOWLEDGE_PATH,
    KnowledgeBaseError,
    LocaleInfo,
    NumberFormat,
    UnknownLocaleError,
    get_locale,
    is_supported,
    knowledge_base_version,
    load_knowledge_base,
    suggest,
    supported_locales,
)
from creative_assets.slugs import is_locale_tag

REQUIRED = [
    "en-US", "en-GB", "en-AU", "de-DE", "fr-FR", "fr-CA", "es-ES", "es-MX", "it-IT", "pt-BR", "nl-NL",
    "sv-SE", "pl-PL", "tr-TR", "ja-JP", "zh-CN", "zh-TW", "ko-KR", "ar-AE", "ar-SA", "he-IL", "hi-IN",
    "th-TH",
]  # fmt: skip
ALL = supported_locales()
DOCS = Path(__file__).resolve().parents[1] / "docs" / "LOCALES.md"

# Unicode character-name prefixes that letters of each script's sample text may carry.
SCRIPT_LETTERS = {
    "latin": ("LATIN",),
    "arabic": ("ARABIC",),
    "hebrew": ("HEBREW",),
    "japanese": ("HIRAGANA", "KATAKANA", "CJK UNIFIED IDEOGRAPH"),
    "chinese_simplified": ("CJK UNIFIED IDEOGRAPH",),
    "chinese_traditional": ("CJK UNIFIED IDEOGRAPH",),
    "korean": ("HANGUL",),
    "thai": ("THAI",),
    "lao": ("LAO",),
    "khmer": ("KHMER",),
    "myanmar": ("MYANMAR",),
    "devanagari": ("DEVANAGARI",),
}


def write_kb(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "knowledge.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


MINI_KB = """\
    schema_version: 1
    global:
      direction: ltr
      line_breaking: spaces
      legal_notes: ["global note"]
      banned_terms:
        - {term: cure, reason: global reason}
        - {term: miracle, reason: global miracle}
    languages:
      de:
        language: German
        script: latin
        formality: Sie
        quote_marks: ["„", "“"]
        sample_text: Größer
        currency: EUR
        banned_terms:
          - {term: heilt, reason: language reason}
          - {term: Miracle, reason: German override, severity: ERROR}
    markets:
      de-DE:
        native_name: Deutsch (Deutschland)
        market: Germany
        number_format: {decimal: ",", group: "."}
        date_format: DD.MM.YYYY
        currency_format: "1.234,56 €"
        formality: du
        culture_do: [one]
        culture_dont: [two]
        legal_notes: ["market note", "global note"]
        banned_terms:
          - {term: klimaneutral, reason: market reason}
          - {term: CURE, reason: market override, severity: ERROR}
"""


# ---------------------------------------------------------------------------- every locale


def test_required_locales_are_supported_and_sorted():
    assert set(REQUIRED) <= set(ALL)
    assert sorted(ALL) == ALL


@pytest.mark.parametrize("tag", ALL)
def test_every_locale_loads_and_is_consistent(tag: str):
    info = get_locale(tag)
    assert isinstance(info, LocaleInfo)
    assert info.tag == tag and is_locale_tag(tag) and is_supported(tag)
    assert info.language_code == tag.split("-")[0]
    assert re.fullmatch(r"[A-Z]{3}", info.currency)
    assert 2 <= len(info.culture_do) <= 5
    assert 2 <= len(info.culture_dont) <= 5
    assert info.legal_notes, "every market needs at least one legal note"
    assert all(len(q) >= 1 for q in info.quote_marks)
    assert info.banned_terms and all(r.reason.strip() for r in info.banned_terms)
    terms = [r.term.casefold() for r in info.banned_terms]
    assert len(terms) == len(set(terms)), "merged banned terms must be unique"
    assert json.loads(json.dumps(info.to_prompt_dict(), ensure_ascii=False)) == info.to_prompt_dict()


@pytest.mark.parametrize("tag", ALL)
def test_sample_text_is_in_the_declared_script(tag: str):
    info = get_locale(tag)
    prefixes = SCRIPT_LETTERS[info.script]
    letters = [c for c in info.sample_text if c.isalpha()]
    assert len(letters) >= 4
    wrong = [c for c in letters if not unicodedata.name(c, "").startswith(prefixes)]
    assert not wrong, f"{tag}: {wrong} are not {info.script}"
    if info.script == "japanese":
        assert any(unicodedata.name(c).startswith(("HIRAGANA", "KATAKANA")) for c in letters)


@pytest.mark.parametrize("tag", ALL)
def test_number_format_agrees_with_currency_example(tag: str):
    info = get_locale(tag)
    nf = info.number_format
    candidates = {nf.format(1234.56), nf.format(1234, decimals=0), nf.format(123456.78)}
    assert any(c in info.currency_format for c in candidates), (tag, candidates, info.currency_format)


def test_rtl_locales_are_exactly_arabic_and_hebrew():
    rtl = {t for t in ALL if get_locale(t).direction == "rtl"}
    assert rtl == {t for t in ALL if t.startswith("ar-")} | {"he-IL"}
    assert {"ar-AE", "ar-SA", "he-IL"} <= rtl
    assert all(get_locale(t).is_rtl for t in rtl)


def test_line_breaking():
    for tag in ALL:
        expected = {"ja": "cjk", "zh": "cjk", "th": "thai", "lo": "thai", "km": "thai", "my": "thai"}.get(
            tag.split("-")[0], "spaces"
        )
        assert get_locale(tag).line_breaking == expected, tag


def test_chinese_scripts_and_quote_marks():
    cn, tw = get_locale("zh-CN"), get_locale("zh-TW")
    assert (cn.script, tw.script) == ("chinese_simplified", "chinese_traditional")
    assert cn.sample_text != tw.sample_text
    assert tw.quote_marks == ("「", "」")
    assert get_locale("ja-JP").quote_marks == ("「", "」")
    assert get_locale("de-DE").quote_marks == ("„", "“")


def test_spot_checks():
    de = get_locale("de-DE")
    assert (de.language, de.native_name, de.market, de.date_format, de.currency) == (
        "German",
        "Deutsch (Deutschland)",
        "Germany",
        "DD.MM.YYYY",
        "EUR",
    )
    assert de.number_format.format(1234.5) == "1.234,50"
    assert get_locale("en-US").date_format == "MM/DD/YYYY"
    assert get_locale("hi-IN").number_format.format(12345678) == "1,23,45,678.00"
    assert get_locale("ar-SA").number_format.format(1234.5) == "١٬٢٣٤٫٥٠"
    assert any("Toubon" in n for n in get_locale("fr-FR").legal_notes)
    assert any("UWG" in n for n in de.legal_notes)


def test_zh_cn_absolute_terms_are_errors_from_the_market_layer():
    rules = {r.term: r for r in get_locale("zh-CN").banned_terms}
    for term in ("国家级", "最高级", "最佳"):
        assert rules[term].severity == "ERROR"
        assert rules[term].layer == "market:zh-CN"
        assert "Art. 9" in rules[term].reason
    assert "国家级" not in {r.term for r in get_locale("zh-TW").banned_terms}


# ---------------------------------------------------------------------------- layering


def test_builtin_layers_are_merged_in_order_and_tagged():
    de = get_locale("de-DE")
    layers = [r.layer for r in de.banned_terms]
    assert set(layers) == {"global", "language:de", "market:de-DE"}
    by_term = {r.term: r for r in de.banned_terms}
    assert by_term["cure"].layer == "global"
    assert by_term["heilt"].layer == "language:de"
    assert by_term["klimaneutral"].layer == "market:de-DE"
    terms = list(by_term)
    assert terms.index("cure") < terms.index("heilt") < terms.index("klimaneutral")
    # de-DE's stricter HWG rule replaces the German-language one in place.
    overridden = by_term["Erfolg garantiert"]
    assert (overridden.layer, overridden.severity) == ("market:de-DE", "ERROR")
    assert terms.index("heilt") < terms.index("Erfolg garantiert") < terms.index("klimaneutral")
    # fr's own 'miracle' replaces the global English one, keeping one entry.
    fr_miracle = [r for r in get_locale("fr-FR").banned_terms if r.term.casefold() == "miracle"]
    assert [r.layer for r in fr_miracle] == ["language:fr"]
    # market values override language values
    assert get_locale("zh-TW").script == "chinese_traditional"
    assert get_locale("es-MX").quote_marks == ("“", "”") != get_locale("es-ES").quote_marks
    # global legal note reaches every market, before the market's own notes
    first = get_locale("en-US").legal_notes[0]
    assert all(get_locale(t).legal_notes[0] == first for t in ALL)


def test_layer_merge_rules_on_a_small_file(tmp_path: Path):
    kb = load_knowledge_base(write_kb(tmp_path, MINI_KB))
    assert kb.supported() == ["de-DE"]
    info = kb.get("de-DE")
    assert info.formality == "du"  # market overrides language
    assert info.currency == "EUR"  # inherited from language
    assert info.direction == "ltr" and info.line_breaking == "spaces"  # inherited from global
    assert info.legal_notes == ["global note", "market note"]  # appended, duplicates dropped
    rules = [(r.term, r.severity, r.layer, r.reason) for r in info.banned_terms]
    assert rules == [
        ("CURE", "ERROR", "market:de-DE", "market override"),  # replaced in place
        ("Miracle", "ERROR", "language:de", "German override"),
        ("heilt", "WARN", "language:de", "language reason"),
        ("klimaneutral", "WARN", "market:de-DE", "market reason"),
    ]
    assert kb.version == hashlib.sha256((tmp_path / "knowledge.yaml").read_bytes()).hexdigest()[:12]


def test_find_banned_terms():
    de = get_locale("de-DE")
    hits = {r.term for r in de.find_banned_terms("Das Wundermittel heilt alles, CURE inklusive!")}
    assert hits == {"Wundermittel", "heilt", "cure"}
    assert de.find_banned_terms("A secure, procured manicure") == []  # whole words only for Latin
    zh = get_locale("zh-CN")
    assert [r.term for r in zh.find_banned_terms("本品是最佳选择")] == ["最佳"]  # substring for CJK
    ar = get_locale("ar-AE")
    assert {r.term for r in ar.find_banned_terms("وصفة يشفي بسرعة")} == {"يشفي"}


# ---------------------------------------------------------------------------- lookups and errors


def test_unknown_locale_error_suggests_the_right_tag():
    with pytest.raises(UnknownLocaleError) as caught:
        get_locale("de-de")
    err = caught.value
    assert isinstance(err, ValueError)
    assert err.tag == "de-de" and err.suggestions == ["de-DE"]
    message = str(err)
    assert message.startswith("unknown locale 'de-de'; did you mean 'de-DE'? Supported: ")
    assert "ar-AE" in message and "zh-TW" in message


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("de-de", ["de-DE"]),
        ("en_gb", ["en-GB"]),
        (" JA-jp ", ["ja-JP"]),
        ("en-NZ", ["en-AU", "en-GB", "en-US"]),
        ("de-AT", ["de-DE"]),
        ("jp-JP", ["ja-JP"]),
        ("zh", ["zh-CN", "zh-TW"]),
    ],
)
def test_suggest(tag: str, expected: list[str]):
    assert suggest(tag)[: len(expected)] == expected


def test_suggest_nothing_close():
    assert suggest("xx-QQ") == []
    with pytest.raises(UnknownLocaleError, match=r"^unknown locale 'xx-QQ'\. Supported: ar-AE, "):
        get_locale("xx-QQ")


def test_returned_locales_cannot_disturb_the_cache():
    info = get_locale("en-US")
    info.culture_do.append("mutated")
    assert "mutated" not in get_locale("en-US").culture_do
    with pytest.raises(ValidationError, match="frozen"):
        info.currency = "EUR"  # type: ignore[misc]


def test_knowledge_base_version_is_stable_and_matches_the_file():
    version = knowledge_base_version()
    assert re.fullmatch(r"[0-9a-f]{12}", version)
    assert version == knowledge_base_version()
    assert version == hashlib.sha256(KNOWLEDGE_PATH.read_bytes()).hexdigest()[:12]
    assert load_knowledge_base().version == version


def test_number_format():
    nf = NumberFormat(decimal=",", group="\u00a0")
    assert nf.format(-1234567.005) == "-1\u00a0234\u00a0567,01"
    assert nf.format(12, decimals=0) == "12"
    with pytest.raises(ValueError, match="must differ"):
        NumberFormat(decimal=".", group=".")


# ---------------------------------------------------------------------------- validation of the file


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("script: latin", "script: klingon"), "languages.de.script"),
        (("market: Germany", "market: Germany\n        colour: red"), "markets.de-DE.colour: is not a known field"),
        (("      de-DE:", "      de-de:"), "markets.de-de: key must be a locale tag"),
        (("      de-DE:", "      fr-FR:"), "markets.fr-FR: language 'fr' has no entry"),
        (("        currency: EUR\n", ""), "markets.de-DE (resolved) -> currency: is required"),
        (("direction: ltr", "direction: rtl"), "direction 'rtl' does not fit script 'latin'"),
        (("{term: klimaneutral, reason: market reason}", "{term: klimaneutral, reason: ' '}"), "blank"),
        (("{term: heilt, reason: language reason}", "{term: Heilt, reason: x}\n          - {term: heilt, reason: y}"),
         "listed twice"),
        (("schema_version: 1", "schema_version: 2"), "schema_version"),
        (("    languages:\n", "    languages:\n      de: {}\n"), "duplicate key 'de'"),
        (("    languages:\n", "    languages:\n      no: {}\n"), "quote it"),
    ],
)  # fmt: skip
def test_invalid_files_are_reported_with_paths(tmp_path: Path, edit: tuple[str, str], expected: str):
    old, new = edit
    assert old in MINI_KB
    path = write_kb(tmp_path, MINI_KB.replace(old, new, 1))
    with pytest.raises(KnowledgeBaseError) as caught:
        load_knowledge_base(path)
    assert expected in str(caught.value)
    assert str(path) in str(caught.value)


def test_unreadable_or_malformed_files(tmp_path: Path):
    with pytest.raises(KnowledgeBaseError, match="cannot read"):
        load_knowledge_base(tmp_path / "missing.yaml")
    with pytest.raises(KnowledgeBaseError, match="invalid YAML"):
        load_knowledge_base(write_kb(tmp_path, "global: [unclosed\n"))
    with pytest.raises(KnowledgeBaseError, match="must be a mapping"):
        load_knowledge_base(write_kb(tmp_path, "- a list\n"))


def test_docs_table_lists_every_locale():
    text = DOCS.read_text(encoding="utf-8")
    for tag in ALL:
        assert f"| `{tag}` |" in text, f"docs/LOCALES.md is missing a row for {tag}"
