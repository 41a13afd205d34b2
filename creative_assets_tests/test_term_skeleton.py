"""Banned words that hide (issue 21): matched on a skeleton (invisible characters, NFKC, UTS #39
confusables, case and diacritics), reported as written, and blocking."""

from __future__ import annotations

import pytest

from creative_assets.compliance import check_copy_terms, find_terms, normalize
from creative_assets.locales import TermRule
from creative_assets.stages import CopyVariant, TermRuleRecord
from creative_assets.term_skeleton import skeleton, visual_variants

RULES = [
    TermRuleRecord(term="cure", reason="medical claim", severity="ERROR", layer="global"),
    TermRuleRecord(term="zero calories", reason="nutrition claim", severity="ERROR", layer="global"),
    TermRuleRecord(term="最佳", reason="superlative", severity="ERROR", layer="market:zh-CN"),
    TermRuleRecord(term="يشفي", reason="medical claim", severity="ERROR", layer="language:ar"),
]


def _terms(text: str, line_breaking: str = "spaces") -> list[tuple[str, str]]:
    return [(rule.term, matched) for rule, matched in find_terms(text, RULES, line_breaking)]


@pytest.mark.parametrize("zw", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u034f"])
def test_invisible_characters_inside_a_term(zw):
    text = f"This will c{zw}u{zw}re you"
    assert _terms(text) == [("cure", f"c{zw}u{zw}re")]


@pytest.mark.parametrize(
    "text",
    [
        "This will сurе you",  # Cyrillic es and ie
        "This will ｃｕｒｅ you",  # full-width
        "This will CURE you",
        "This will cüre you",
        "This will cu\u0301re you",
        "This will \U0001d41c\U0001d42e\U0001d42b\U0001d41e you",  # mathematical bold
    ],
)
def test_lookalike_letters(text):
    assert [t for t, _ in _terms(text)] == ["cure"]


def test_reversed_by_a_bidi_override_is_read_as_shown():
    assert [t for t, _ in _terms("Finally a \u202eeruc\u202c for Mondays")] == ["cure"]
    assert [t for t, _ in _terms("\u202eeruc")] == ["cure"]  # override never closed
    # a normal word that only spells the term backwards is not the term
    assert _terms("eruc") == []


@pytest.mark.parametrize(
    "text",
    [
        "Zer\u03bf calories!",  # Greek omicron
        "\u200bZero calories\u200b",
        "Z\u0435ro c\u0430lories",  # Cyrillic
        "ZERO\u00a0CALORIES",
        "Zero\u2003calories",
        "zer0 calories",  # digit zero: UTS #39 skeleton of 0 is O
    ],
)
def test_zero_calories_variants(text):
    assert [t for t, _ in _terms(text)] == ["zero calories"]


def test_word_boundaries_still_hold():
    assert _terms("Stay secure. Cured ham. Procure now.") == []
    assert _terms("Stay se\u200bcure.") == []
    assert [t for t, _ in _terms("Cure!")] == ["cure"]
    assert [t for t, _ in _terms("«cure»")] == ["cure"]


def test_other_scripts_keep_their_identity():
    assert [t for t, _ in _terms("本品是最佳选择", "cjk")] == ["最佳"]
    assert [t for t, _ in _terms("وصفة يشفي بسرعة")] == ["يشفي"]
    # katakana カ is not Han 力 (UTS #39 maps them together; we do not for unspaced scripts)
    assert skeleton("カ") != skeleton("力")
    # Arabic shin and seen stay different letters
    assert skeleton("ش") != skeleton("س")


def test_finding_reports_the_term_as_written_and_blocks():
    copy = CopyVariant(candidate=0, headline="Finally a с\u200burе", subline="x", cta="Buy")
    outcome = check_copy_terms(copy, RULES, "spaces")
    assert not outcome.passed and outcome.severity == "ERROR"
    message = outcome.findings[0].message
    assert message.startswith("'cure' (as 'с\u200burе')")


def test_normalize_is_the_skeleton():
    assert normalize("  Zer\u03bf \u200b  CALORIES ") == "zero calories"


def test_visual_variants_map_back_to_the_original():
    text = "a \u202eeruc\u202c b"
    (_, identity), (shown, order) = visual_variants(text)
    assert identity == list(range(len(text)))
    assert "cure" in shown and sorted(order) == identity


def test_locale_rules_match_on_the_skeleton_too():
    rule = TermRule(term="cure", reason="medical", layer="global")
    assert rule.matches("A с\u200burе for you")
    assert not rule.matches("Stay secure")
