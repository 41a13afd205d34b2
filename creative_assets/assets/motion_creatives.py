"""Stage 6b: motion creatives, a short looping video per candidate at every placement that plays
motion, made from the final stills' layout plans, with video checks read back from each file."""

import dagster as dg

from creative_assets.assets.common import (
    call_metadata,
    file_links,
    for_each_unit,
    refuse_if_run_cancelled,
    stage_asset_kwargs,
    withdraw_approval,
)
from creative_assets.assets.compliance_checks import check_results
from creative_assets.assets.credentials_step import MotionSigning
from creative_assets.compliance import UnitVerdict
from creative_assets.motion import motion_value
from creative_assets.motion_checks import DESCRIPTIONS, VIDEO_CHECKS
from creative_assets.partitions import creative_units
from creative_assets.scoring import ScoringWeights
from creative_assets.stages import (
    BrandedCandidates,
    FinalCreatives,
    ImageCandidates,
    LocaleContextPack,
    LocalizedCopy,
    MotionCreatives,
    UnitBrief,
)
from creative_assets.unit_work import selection_value
from creative_assets.units import UnitKey
from resources.brand_kits import BrandKitLibrary
from resources.credentials import ContentCredentials
from resources.storage import CreativeStorage
from resources.video_providers import VideoProvider, VideoRequest

VIDEO_CHECK_SPECS = [
    dg.AssetCheckSpec(
        name,
        asset="motion_creatives",
        partitions_def=creative_units,
        # contained per unit like the stills' checks: a failing video is not delivered, the unit's
        # stills and the other units of the batch are unaffected
        blocking=False,
        description=DESCRIPTIONS[name] + " A failing video is not delivered.",
    )
    for name in VIDEO_CHECKS
]


class MotionConfig(dg.Config):
    """Encoder settings of a run (the CPU/size trade-off; README "Motion creatives")."""

    x264_preset: str = "veryfast"


def unit_video_verdicts(value: MotionCreatives) -> dict[str, UnitVerdict]:
    """One verdict per video check for the unit: ERROR when any of its videos fails it."""
    verdicts = {}
    by_file = {f.file: {c["check"]: c for c in f.checks} for f in value.files}
    for name in VIDEO_CHECKS:
        failing, figures, worst = [], {}, "WARN"
        for f in value.files:
            outcome = by_file[f.file][name]
            figures.update({f"{f.placement}@{f.candidate + 1}:{k}": v for k, v in outcome["figures"].items()})
            if outcome["passed"]:
                continue
            worst = "ERROR" if outcome["severity"] == "ERROR" else worst
            failing += [f"{f.file}: [{x['severity']}] {x['message']}" for x in outcome["findings"]]
        if not value.files:
            description = f"no video rendered: {value.skipped or 'nothing to animate'}"
        elif failing:
            description = (
                f"{len(failing)} finding(s) in {len(value.files)} video(s); failing videos are not delivered"
            )
        else:
            description = f"all {len(value.files)} video(s) pass"
        verdicts[name] = UnitVerdict(name, not failing, worst, description, failing, figures)
    return verdicts


@dg.asset(
    **stage_asset_kwargs("motion_creatives", "5", {"pyav", "mp4", "webp"}), check_specs=VIDEO_CHECK_SPECS
)
def motion_creatives(
    context: dg.AssetExecutionContext,
    config: MotionConfig,
    final_creatives: dict[str, FinalCreatives],
    branded_candidates: dict[str, BrandedCandidates],
    image_candidates: dict[str, ImageCandidates],
    localized_copy: dict[str, LocalizedCopy],
    locale_context_pack: dict[str, LocaleContextPack],
    unit_brief: dict[str, UnitBrief],
    brand_kits: BrandKitLibrary,
    storage: CreativeStorage,
    video_provider: VideoProvider,
    credentials: ContentCredentials,
):
    """Looping videos from the final stills' layout plans: the product pushes in, the copy appears
    line by line in reading order (right to left for RTL), the CTA lands last, an end card with the
    logo closes the loop. MP4 (H.264, yuv420p, 30 fps, +faststart) for vertical video placements,
    animated WebP for display; the poster of each is its final still. By default only the candidate
    the selection will pick is animated (``motion.candidates`` in the brief). Each file is signed
    with a C2PA credential whose ingredients are its still, logo and clip; where the market requires
    a visible AI label, the legal line carrying it stays on screen while the imagery does."""
    verdicts_by_unit = {}
    status = credentials.status()  # the signer, once per step

    def build(unit: UnitKey):
        key = str(unit)
        # an approval covers exact files: new videos for the unit take its delivery down, as new stills do
        withdraw_approval(context, storage, unit)
        brief, finals = unit_brief[key], final_creatives.pop(key)
        kit = brand_kits.load(brief.brand)
        calls: list[dict] = []

        def clip_for(prompt: str, seconds: int, size: tuple[int, int]) -> bytes | None:
            refuse_if_run_cancelled(context)  # never a new paid job for a run being terminated
            # the provider renders at its own sizes: ask for the placement's orientation
            request = VideoRequest(
                prompt=prompt, seconds=seconds, size="720x1280" if size[1] > size[0] else "1280x720"
            )
            answer = video_provider.background(storage, request, context.log)
            if answer is None:
                return None
            data, call = answer
            calls.append(call)
            return data

        def selection():  # the pick selected_creative will make (default weights, same rejections)
            return selection_value(unit, finals, kit, ScoringWeights(), finals.files_prefix, brief.rejected)

        raw = image_candidates.pop(key)
        signing = MotionSigning(
            brief, raw, finals, kit, status, context.run.run_id, video_provider.provider_name
        )
        value, files = motion_value(
            key,
            finals,
            raw,
            branded_candidates.pop(key),
            localized_copy[key],
            kit,
            brief.motion,
            selection,
            brief.aspect_ratios,
            preset=config.x264_preset,
            clip_for=clip_for if video_provider.provider_name != "offline-animator" else None,
            provider=video_provider.provider_name,
            market_label=locale_context_pack[key].locale.get("ai_label"),
            seal=signing.seal,
        )
        value.calls = calls
        for name, data in files.items():
            value.put_image(name, data)
        verdicts_by_unit[key] = unit_video_verdicts(value)
        metadata = {
            "videos": len(value.files),
            "candidates_animated": ", ".join(str(i + 1) for i in value.candidates) or "none",
            "duration_s": value.duration_s,
            "video_bytes": sum(f.bytes for f in value.files),
            "all_videos_pass": all(f.passed for f in value.files),
            "content_credentials": (
                f"disabled: {status.reason}"
                if status.key is None
                else f"{'TEST-signed' if status.key.test_signed else 'signed'} C2PA; "
                f"{sum(bool(f.credentials.get('verified')) for f in value.files)}/{len(value.files)} verified"
            ),
            "video_provider": video_provider.provider_name,
            **call_metadata(value.calls),
        }
        if value.skipped:
            metadata["skipped"] = value.skipped
        if value.files:
            metadata.update(
                file_links(storage, unit, value.STAGE, value.files[0].file, "first_video", value.generation)
            )
        return value, metadata

    yield dg.Output(for_each_unit(context, build))
    yield from check_results(context, verdicts_by_unit, context.asset_key, VIDEO_CHECK_SPECS)
