"""Reviewer feedback turned into template choices (pure functions).

A revision request carries free text ("make it cleaner, lighter background"). Generative providers
get the text itself in their prompts (creative_assets/prompts.py). The offline compositor has no
language model, so this module reads the feedback for the handful of things it can change: the
scene style, the ground (light or brand-coloured) and the layout. What it understood, and what it
did not, is recorded next to the candidates so a reviewer can see how the request was read.

Whatever the feedback says, every revision also rotates the layout variants and the style order by
the revision number, so a rejected creative is never simply drawn again (the first revision keeps
the seed, so without this a request the current creative already satisfies would change nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from creative_assets.render.scenes import STYLES

#: phrases -> scene style (creative_assets/render/scenes.py STYLES)
STYLE_WORDS: dict[str, tuple[str, ...]] = {
    "studio": (
        "minimal",
        "minimalist",
        "clean",
        "cleaner",
        "simple",
        "simpler",
        "plain",
        "plainer",
        "studio",
        "calm",
        "calmer",
        "less busy",
    ),
    "waves": ("wave", "waves", "flowing", "fluid", "water", "organic", "softer"),
    "sunburst": ("sunburst", "sun", "sunny", "energetic", "energy", "summer", "punchy", "rays"),
    "landscape": ("landscape", "outdoor", "outdoors", "nature", "mountain", "mountains", "scenery"),
    "geometric": ("geometric", "shapes", "modern", "graphic", "angular", "structured"),
}
#: phrases -> ground: ``light`` (neutral light background) or ``brand`` (brand-coloured background)
GROUND_WORDS: dict[str, tuple[str, ...]] = {
    "light": (
        "lighter",
        "brighter",
        "light background",
        "white",
        "airy",
        "fresh",
        "less colour",
        "less color",
    ),
    "brand": (
        "bolder",
        "bold",
        "colourful",
        "colorful",
        "vibrant",
        "more colour",
        "more color",
        "brand colour",
        "brand color",
        "darker",
        "stronger",
    ),
}
LAYOUT_WORDS = (
    "layout",
    "composition",
    "rearrange",
    "move the text",
    "swap",
    "different arrangement",
    "template",
    "another template",
)
_NEGATIONS = ("not ", "no ", "less ", "don't ", "dont ", "without ")


@dataclass(frozen=True)
class FeedbackDirectives:
    """What the offline compositor will change for a revision."""

    styles: tuple[str, ...] = ()
    ground: str | None = None  # "light" | "brand"
    new_layout: bool = False
    #: templates the feedback names ("use the text-bottom template"), in the order known
    templates: tuple[str, ...] = ()
    recognised: tuple[str, ...] = field(default=())

    @property
    def understood(self) -> bool:
        return bool(self.styles or self.ground or self.new_layout or self.templates)

    def describe(self) -> str:
        if not self.understood:
            return "no template keywords recognised: style and layout rotate"
        parts = []
        if self.styles:
            parts.append("style " + "/".join(self.styles))
        if self.ground:
            parts.append(f"{self.ground} ground")
        if self.templates:
            parts.append("template " + "/".join(self.templates))
        elif self.new_layout:
            parts.append("new layout")
        return "; ".join(parts) + f" (from: {', '.join(self.recognised)}); layout rotates"


def _mentions(text: str, phrase: str) -> bool:
    """``phrase`` occurs as whole words in ``text`` and is not directly negated ("not bold")."""
    for match in re.finditer(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", text):
        before = text[max(0, match.start() - 7) : match.start()]
        if not any(before.endswith(neg) for neg in _NEGATIONS):
            return True
    return False


def interpret_feedback(feedback: str | None, template_names: tuple[str, ...] = ()) -> FeedbackDirectives:
    """Read template choices out of free-text feedback (English keywords; any other text falls back
    to rotation). A mention of one of ``template_names`` ("try text-bottom") asks for that template.
    Deterministic: the same feedback always gives the same directives."""
    text = " ".join((feedback or "").lower().replace("’", "'").split())
    if not text:
        return FeedbackDirectives()
    recognised: list[str] = []
    styles = []
    for style, words in STYLE_WORDS.items():
        hits = [w for w in words if _mentions(text, w)]
        if hits:
            styles.append(style)
            recognised.extend(hits)
    grounds = []
    for ground, words in GROUND_WORDS.items():
        hits = [w for w in words if _mentions(text, w)]
        if hits:
            grounds.append(ground)
            recognised.extend(hits)
    layout_hits = [w for w in LAYOUT_WORDS if _mentions(text, w)]
    recognised.extend(layout_hits)
    named = [t for t in template_names if _mentions(text, t.lower())]
    # a name that is part of a longer named one ("text-side" in "text-side-far") is not asked for
    named = [t for t in named if not any(o != t and t in o and _mentions(text, o) for o in named)]
    recognised.extend(named)
    return FeedbackDirectives(
        styles=tuple(s for s in STYLES if s in styles),
        ground=grounds[0] if len(grounds) == 1 else None,  # contradictory asks: leave the ground alone
        new_layout=bool(layout_hits or named),
        templates=tuple(named),
        recognised=tuple(dict.fromkeys(recognised)),
    )
