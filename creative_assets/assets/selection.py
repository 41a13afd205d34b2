"""Stage 7: score every candidate and select the best, keeping ranked alternates."""

import dagster as dg
from pydantic import Field

from creative_assets.assets.common import file_links, for_each_unit, stage_asset_kwargs, thumbnail
from creative_assets.partitions import UnitKey
from creative_assets.scoring import (
    ScoringWeights,
    compliance_signal,
    image_signals,
    rank,
    render_signals,
    weighted_score,
)
from creative_assets.stages import FinalCreatives, ScoredCandidate, SelectedCreative, UnitBrief, ratio_dir
from resources.brand_kits import BrandKitLibrary
from resources.io_manager import stage_prefix
from resources.storage import CreativeStorage


class SelectionConfig(dg.Config):
    """Override scoring weights per run, e.g. ``{"legibility": 4}``; see README "Scoring"."""

    weights: dict[str, float] = Field(default_factory=dict)


@dg.asset(**stage_asset_kwargs("selected", "1", {"python", "png"}))
def selected_creative(
    context: dg.AssetExecutionContext,
    config: SelectionConfig,
    final_creatives: dict[str, FinalCreatives],
    unit_brief: dict[str, UnitBrief],
    brand_kits: BrandKitLibrary,
    storage: CreativeStorage,
) -> dict[str, SelectedCreative]:
    """The best candidate per unit by a weighted score of measured signals (legibility, fit, logo,
    brand colour, exposure, sharpness, prominence), copied to selected/<ratio>.png; the others are
    kept as ranked alternates with their full score breakdown."""
    weights = ScoringWeights(**{**ScoringWeights().model_dump(), **config.weights})

    def build(unit: UnitKey):
        key = str(unit)
        # popped: the unit's decoded finals are freed once it is done (batched steps)
        finals, brief = final_creatives.pop(key), unit_brief[key]
        kit = brand_kits.load(brief.brand)
        palette = [*kit.palette.brand_colours(), kit.palette.neutral_light, kit.palette.neutral_dark]
        scores, breakdowns, compliant = {}, {}, {}
        for cand in finals.candidates:
            per_ratio = []
            compliant[cand.index] = True
            for report in cand.renders.values():
                short = min(report.width, report.height)
                head_max = round(short * (0.115 if report.ratio != "16:9" else 0.10))
                signals = {
                    **render_signals(report, head_max),
                    **image_signals(finals.image(report.file), palette),
                    "compliance": compliance_signal(report.compliance),
                }
                per_ratio.append(signals)
                if any(not o["passed"] and o["severity"] == "ERROR" for o in report.compliance):
                    compliant[cand.index] = False
            mean = {k: round(sum(s[k] for s in per_ratio) / len(per_ratio), 4) for k in per_ratio[0]}
            breakdowns[cand.index] = mean
            scores[cand.index] = weighted_score(mean, weights)
        # compliant candidates first (ERROR findings are never selected while an alternative exists)
        order = sorted(rank(scores), key=lambda i: not compliant[i])
        best = order[0]
        by_index = {c.index: c for c in finals.candidates}
        value = SelectedCreative(unit=key, best=best, files={}, ranking=[], weights=weights.model_dump())
        for position, index in enumerate(order, 1):
            files = {
                r: f"{stage_prefix(unit, 'final')}/{rep.file}" for r, rep in by_index[index].renders.items()
            }
            value.ranking.append(
                ScoredCandidate(
                    index=index,
                    rank=position,
                    score=scores[index],
                    compliant=compliant[index],
                    breakdown=breakdowns[index],
                    files=files,
                )
            )
        for ratio, report in by_index[best].renders.items():
            name = f"{ratio_dir(ratio)}.png"
            # byte copy of the stored file: no re-encode of the pixels decoded for scoring above
            value.put_image(name, storage.read_bytes(f"{stage_prefix(unit, 'final')}/{report.file}"))
            value.files[ratio] = name
        first_ratio = brief.aspect_ratios[0]
        return value, {
            "best_candidate": best + 1,
            "best_score": scores[best],
            "ranking": dg.MetadataValue.md(_ranking_table(value)),
            **file_links(storage, unit, "selected", value.files[first_ratio], "selected"),
            "preview": thumbnail(finals.image(by_index[best].renders[first_ratio].file), 240),
        }

    return for_each_unit(context, build)


def _ranking_table(value: SelectedCreative) -> str:
    keys = list(value.ranking[0].breakdown) if value.ranking else []
    head = "| rank | candidate | score | " + " | ".join(keys) + " |"
    sep = "|---" * (3 + len(keys)) + "|"
    rows = [
        f"| {s.rank} | {s.index + 1} | {s.score:.3f} | "
        + " | ".join(f"{s.breakdown[k]:.2f}" for k in keys)
        + " |"
        for s in value.ranking
    ]
    return "\n".join([head, sep, *rows])
