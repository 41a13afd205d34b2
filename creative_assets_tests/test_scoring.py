"""Scoring orders constructed candidates the way a reviewer would."""

from creative_assets.render.layout import plan_layout
from creative_assets.scoring import ScoringWeights, rank, render_signals, weighted_score
from creative_assets.stages import FinalRender, LogoReport, TextBlockReport


def _report(contrast=8.0, fits=True, logo_contrast=6.0, plate=False, treatment="none", head_size=110):
    layout = plan_layout("1:1", (1080, 1080), "text-side")
    block = TextBlockReport(
        role="headline",
        text="x",
        font="f",
        size=head_size,
        box=(0, 0, 10, 10),
        ink_bbox=(0, 0, 10, 10),
        lines=["x"],
        fits=fits,
        colour="#000000",
        contrast=contrast,
    )
    logo = LogoReport(
        variant="primary",
        box=(0, 0, 200, 60),
        clear_box=(0, 0, 210, 70),
        contrast=logo_contrast,
        plate=plate,
        width_px=200,
        min_width_px=150,
    )
    return FinalRender(
        ratio="1:1",
        file="f.png",
        width=1080,
        height=1080,
        layout=layout,
        treatment=treatment,
        blocks=[block],
        cta_button=(0, 0, 1, 1),
        cta_fill="#000000",
        cta_button_contrast=5,
        logo=logo,
        product_bbox=layout.product_box,
    )


def _score(report):
    return weighted_score(render_signals(report, 124), ScoringWeights())


def test_better_measurements_score_higher():
    good = _score(_report())
    assert good > _score(_report(contrast=4.6))
    assert good > _score(_report(fits=False))
    assert good > _score(_report(logo_contrast=2.0))
    assert good > _score(_report(plate=True))
    assert good > _score(_report(treatment="panel"))
    assert _score(_report(treatment="gradient")) > _score(_report(treatment="panel"))


def test_rank_is_deterministic_on_ties():
    assert rank({0: 0.5, 1: 0.7, 2: 0.7}) == [1, 2, 0]


def test_weights_change_the_outcome():
    a = render_signals(_report(contrast=12, treatment="panel"), 124)
    b = render_signals(_report(contrast=5, treatment="none"), 124)
    legibility_first = ScoringWeights(legibility=10, image_visibility=0)
    image_first = ScoringWeights(legibility=0, image_visibility=10)
    assert weighted_score(a, legibility_first) > weighted_score(b, legibility_first)
    assert weighted_score(a, image_first) < weighted_score(b, image_first)


def test_misspelt_weight_names_are_rejected():
    import pydantic
    import pytest

    with pytest.raises(pydantic.ValidationError, match="legibilty"):
        ScoringWeights(legibilty=4)
