"""Reviewer feedback -> template choices for the offline compositor (pure)."""

import pytest

from creative_assets.feedback import interpret_feedback


@pytest.mark.parametrize(
    ("text", "styles", "ground", "layout"),
    [
        ("Cleaner and more minimal, please", ("studio",), None, False),
        ("Make it brighter, light background", (), "light", False),
        ("bolder, more colour; try a different layout", (), "brand", True),
        ("outdoor nature vibe with waves", ("waves", "landscape"), None, False),
        ("not bold, and not sunny", (), None, False),
        ("bolder but also lighter", (), None, False),  # contradictory: the ground is left alone
        ("Die Schrift ist zu klein", (), None, False),
        ("", (), None, False),
        (None, (), None, False),
    ],
)
def test_interpretation(text, styles, ground, layout):
    d = interpret_feedback(text)
    assert (d.styles, d.ground, d.new_layout) == (styles, ground, layout)


def test_whole_words_only():
    assert interpret_feedback("the sunset is boldface").styles == ()
    assert interpret_feedback("the sunset is boldface").ground is None


def test_description_says_what_was_understood_and_from_which_words():
    d = interpret_feedback("simple, whiter... actually white background")
    assert d.describe() == "style studio; light ground (from: simple, white); layout rotates"
    assert "rotate" in interpret_feedback("hmm").describe()
