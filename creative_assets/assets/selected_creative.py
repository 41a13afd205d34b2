"""Stage 7: score every candidate and select the best, keeping ranked alternates."""

import dagster as dg
from pydantic import Field

from creative_assets.assets.common import (
    file_links,
    for_each_unit,
    stage_asset_kwargs,
    thumbnail,
    withdraw_approval,
)
from creative_assets.layout import ratio_dir
from creative_assets.scoring import ScoringWeights
from creative_assets.stages import (
    FinalCreatives,
    MotionCreatives,
    SelectedCreative,
    SelectedMotion,
    UnitBrief,
)
from creative_assets.unit_work import selection_value
from creative_assets.units import UnitKey
from resources.brand_kits import BrandKitLibrary
from resources.storage import CreativeStorage


class SelectionConfig(dg.Config):
    """Override scoring weights per run, e.g. ``{"legibility": 4}``; see README "Scoring"."""

    weights: dict[str, float] = Field(default_factory=dict)


@dg.asset(**stage_asset_kwargs("selected_creative", "5", {"python", "png"}))
def selected_creative(
    context: dg.AssetExecutionContext,
    config: SelectionConfig,
    final_creatives: dict[str, FinalCreatives],
    motion_creatives: dict[str, MotionCreatives],
    unit_brief: dict[str, UnitBrief],
    brand_kits: BrandKitLibrary,
    storage: CreativeStorage,
) -> dict[str, SelectedCreative]:
    """The best candidate per unit by a weighted score of measured signals (legibility, fit, logo,
    brand colour, exposure, sharpness, prominence), copied to selected/<ratio>.png; the others are
    kept as ranked alternates with their full score breakdown. Only candidates free of ERROR
    findings are selected; a unit with none is recorded as ``blocked`` (no files) while the other
    units of the batch are selected in the same run."""
    weights = ScoringWeights(**{**ScoringWeights().model_dump(), **config.weights})

    def build(unit: UnitKey):
        key = str(unit)
        withdraw_approval(context, storage, unit)
        # popped: the unit's decoded finals are freed once it is done (batched steps)
        finals, brief = final_creatives.pop(key), unit_brief[key]
        kit = brand_kits.load(brief.brand)
        # the finals' own generation: the ranking and the copies never mix two materializations
        value = selection_value(unit, finals, kit, weights, finals.files_prefix, brief.rejected)
        value.final_generation = finals.stored_generation or ""
        best = next(c for c in finals.candidates if c.index == value.best)
        first_ratio = brief.aspect_ratios[0]
        if value.status == "blocked":
            # contained: this unit records "blocked" (no files, nothing deliverable) and the other units
            # of the batch are selected in this same step; its ERROR checks raise the alert
            context.log.error(f"{key} blocked: {value.blocked_reason}")
            return value, {
                "status": "blocked",
                "blocked_reason": value.blocked_reason,
                "rerun": f"creative-assets rerun {key}",
                "ranking": dg.MetadataValue.md(_ranking_table(value)),
                "preview": thumbnail(finals.image(best.renders[first_ratio].file), 240),
            }
        for ratio, name in value.files.items():
            # byte copy of the stored file, checked against the manifest: no re-encode of the pixels
            value.put_image(name, finals.image_bytes_stored(best.renders[ratio].file))
            export = best.renders[ratio].export
            if export is not None and export.file:
                copy = f"export/{ratio_dir(ratio)}.{export.file.rsplit('.', 1)[-1]}"
                value.put_image(copy, finals.image_bytes_stored(export.file))
                value.exports[ratio] = copy
        carry_motion(value, motion_creatives.pop(key), finals)
        return value, {
            "status": "selected",
            "best_candidate": value.best + 1,
            "best_score": value.ranking[0].score,
            "videos": len(value.motion),
            **({"motion_notes": "; ".join(value.motion_notes)} if value.motion_notes else {}),
            "ranking": dg.MetadataValue.md(_ranking_table(value)),
            **file_links(
                storage, unit, "selected_creative", value.files[first_ratio], "selected", value.generation
            ),
            "preview": thumbnail(finals.image(best.renders[first_ratio].file), 240),
        }

    return for_each_unit(context, build)


def carry_motion(value: SelectedCreative, motion: MotionCreatives, finals: FinalCreatives) -> None:
    """Byte copies of the selected candidate's videos that pass their checks, made from the same
    finals generation (a video whose poster is another generation's still is never carried)."""
    if (
        motion.final_generation
        and finals.stored_generation
        and motion.final_generation != finals.stored_generation
    ):
        value.motion_notes.append(
            f"motion_creatives was made from final generation {motion.final_generation}, the selection from "
            f"{finals.stored_generation}: re-materialize motion_creatives"
        )
        return
    files = motion.for_candidate(value.best)
    if not files:
        value.motion_notes.append(motion.skipped or f"no video was rendered for candidate {value.best + 1}")
    for f in files:
        if not f.passed:
            value.motion_notes.append(f"{f.file} not carried: " + "; ".join(f.failures()))
            continue
        name = f"motion/{f.placement}.{f.container}"
        value.put_image(name, motion.image_bytes_stored(f.file))
        value.motion.append(
            SelectedMotion(
                file=name,
                poster=value.files[f.ratio],
                placement=f.placement,
                ratio=f.ratio,
                container=f.container,
                width=f.width,
                height=f.height,
                fps=f.fps,
                duration_s=f.duration_s,
                bytes=f.bytes,
                sha256=f.sha256,
                source=motion.file_key(f.file),
            )
        )


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
