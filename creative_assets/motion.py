"""Motion creatives of one unit (pure): which files to make, the animator's layers rebuilt from the
still's own render, and one looping video per candidate and motion placement, encoded and checked.

The layers are made by rendering the still again with ``render_final(layers=...)`` from the same
inputs (branded candidate, layout, copy, kit): the re-render must be pixel-identical to the stored
final, and the poster of every video is that stored final. No Dagster, no storage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image
from pydantic import BaseModel

from creative_assets.brand_kit import BrandKit
from creative_assets.brief import MotionSettings
from creative_assets.compliance import CheckOutcome
from creative_assets.credentials import AI_SOURCES, IPTC
from creative_assets.motion_checks import (
    READ_ROLES,
    CredentialResult,
    VideoExpectations,
    evaluate_video,
    reading_seconds,
)
from creative_assets.render.finals import LocaleText, render_final
from creative_assets.render.layout import placement_for_key
from creative_assets.render.motion import Animator, MotionPlan, MotionSource, text_lines, timing_for
from creative_assets.stages import (
    BrandedCandidates,
    CopyVariant,
    FinalCreatives,
    FinalRender,
    ImageCandidates,
    LocalizedCopy,
    MotionCreatives,
    MotionFile,
    SelectedCreative,
)
from creative_assets.video_encode import EncodeReport, VideoTarget, encode_video

DURATIONS = (6, 10, 15)


class MotionPlacement(BaseModel):
    """What the motion stage makes for one placement that plays motion (see :func:`motion_targets`)."""

    key: str  # the output key of the still it animates (a placement name, or a legacy ratio)
    name: str  # the placement's name
    container: str  # mp4 | webp | gif
    width: int
    height: int
    fps: int
    max_bytes: int
    audio: bool = False
    loops: int = 0  # animated images: plays (0: forever); videos loop in the player
    duration_s: int = 6

    def target(self, duration_s: int | None = None) -> VideoTarget:
        duration = float(duration_s or self.duration_s)
        return VideoTarget(
            container=self.container,  # type: ignore[arg-type]
            width=self.width,
            height=self.height,
            fps=self.fps,
            duration_s=duration,
            max_bytes=self.max_bytes,
            audio=self.audio,
            loops=self.loops if self.container != "mp4" else 0,
        )


#: Motion per placement class (README "Motion creatives"): vertical video placements (Reels,
#: Stories, TikTok, Shorts) play H.264 MP4 at 30 fps; display banners play animated WebP (and GIF
#: where the brief asks) at 10 fps — GIF frame delays are in hundredths of a second, so the rate
#: must divide 100 — for at most 15 s in all (IAB: animation stops within 15 s), so a 6 s loop plays
#: twice. Other classes that accept motion (feed, landscape) get MP4 when the brief's
#: ``motion.classes`` lists them.
VIDEO_FPS = 30
DISPLAY_FPS = 10
DISPLAY_MAX_ANIMATION_S = 15
#: platforms whose video placements refuse a file without an audio track: a silent AAC track is added
AUDIO_REQUIRED_PLATFORMS = frozenset({"tiktok"})


def motion_targets(keys: Sequence[str], settings: MotionSettings) -> list[MotionPlacement]:
    """The motion files a unit's stills make: every output key whose placement accepts motion and
    whose class the brief animates (``motion.classes``)."""
    out = []
    for key in keys:
        placement = placement_for_key(key)
        if not placement.accepts_motion or placement.placement_class not in settings.classes:
            continue
        w, h = placement.size
        duration = settings.duration_s or 6
        if placement.placement_class == "banner":
            loops = max(1, DISPLAY_MAX_ANIMATION_S // duration)
            for container in ("webp", "gif") if settings.gif else ("webp",):
                out.append(
                    MotionPlacement(
                        key=key,
                        name=placement.name,
                        container=container,
                        width=w,
                        height=h,
                        fps=DISPLAY_FPS,
                        max_bytes=placement.max_bytes,
                        loops=loops,
                        duration_s=duration,
                    )
                )
            continue
        out.append(
            MotionPlacement(
                key=key,
                name=placement.name,
                container="mp4",
                width=w - w % 2,
                height=h - h % 2,
                fps=VIDEO_FPS,
                max_bytes=placement.max_bytes,
                audio=placement.platform in AUDIO_REQUIRED_PLATFORMS,
                duration_s=duration,
            )
        )
    return out


def motion_file(placement: MotionPlacement, candidate: int) -> str:
    """``candidate-1/meta-reels.mp4``: the file of one candidate at one placement."""
    return f"candidate-{candidate + 1}/{placement.name}.{placement.container}"


@dataclass
class Layers:
    backing: Image.Image
    rerender: Image.Image
    source: MotionSource


def still_layers(
    branded: Image.Image,
    report: FinalRender,
    copy: CopyVariant,
    kit: BrandKit,
    loc: LocaleText,
    hold_legal: bool = False,
    expectations: VideoExpectations | None = None,
) -> Layers:
    """The still rendered again, keeping its backing layer and text plan (render/motion.py).
    ``hold_legal``: the legal line carries the AI label and stays on screen (MotionSource).
    ``expectations``: how long each line must be shown to be read (motion_checks.reading_seconds)."""
    exp = expectations or VideoExpectations()
    captured: dict = {}
    rerender, _ = render_final(
        branded, report.layout, copy, kit, loc, report.logo, report.product_bbox, layers=captured
    )
    plan = captured["plan"]
    lines = text_lines(plan, {b.role: b.text for b in report.blocks})
    source = MotionSource(
        variant=report.layout.variant,
        direction=report.layout.direction,
        safe_box=report.layout.safe_box,
        product_box=report.product_bbox,
        logo_box=report.logo.box,
        cta_button=report.cta_button,
        cta_fill=report.cta_fill,
        lines=lines,
        palette=kit.palette.model_dump(),
        hold_legal=hold_legal,
        read_s=[
            reading_seconds(text, exp.line_breaking, exp) if role in READ_ROLES else 0.0
            for role, text, _ in lines
        ],
    )
    return Layers(captured["backing"], rerender, source)


def rendered_copy(report: FinalRender, variant: CopyVariant) -> CopyVariant:
    """The copy the still was rendered with: the variant, with the legal line as it was drawn (the
    market's AI label included, see disclosure.with_ai_label)."""
    disclaimer = next((b.text for b in report.blocks if b.role == "disclaimer"), None)
    return variant.model_copy(update={"disclaimer": disclaimer})


class MotionResult(BaseModel):
    """One encoded video with its plan, its encoding and the checks read back from the file."""

    file: str
    placement: str
    plan: MotionPlan
    encoding: dict
    checks: list[CheckOutcome]
    poster_matches_layers: bool
    credentials: dict = {}  # what the file's credential declares and whether it verifies


@dataclass(frozen=True)
class SealRequest:
    """What the signer of a motion file needs to declare how it was made (its ingredients)."""

    file: str  # candidate-1/meta-reels.mp4
    candidate: int  # 0-based
    placement: str
    still: str  # the final still it animates (FinalCreatives file name): its ``final`` ingredient
    logo_variant: str  # the brand kit's logo on the end card: its ``logo`` ingredient
    clip: bytes | None  # a generated background clip: its ``clip`` ingredient
    ai_label: str | None  # the visible AI label the video shows (its held legal line)


#: signs one encoded file and verifies the signed bytes: (signed bytes, the verification)
Sealer = Callable[[SealRequest, bytes], tuple[bytes, CredentialResult]]
#: bytes kept free of the byte budget when a signed file has to be encoded again to fit
SEAL_MARGIN = 1024


def make_video(
    placement: MotionPlacement,
    candidate: int,
    raw: Image.Image,
    branded: Image.Image,
    final: Image.Image,
    report: FinalRender,
    copy: CopyVariant,
    kit: BrandKit,
    loc: LocaleText,
    *,
    duration_s: int | None = None,
    preset: str = "veryfast",
    expectations: VideoExpectations | None = None,
    background_clip: bytes | None = None,
    ai_label: str | None = None,
    seal: Sealer | None = None,
) -> tuple[bytes, MotionResult]:
    """Animate, encode (frames streamed into the encoder), sign and check one video of one still.
    ``ai_label``: the visible AI label the still's legal line carries (held on screen). ``seal``:
    signs the encoded file; a signed file over the placement's byte budget is encoded again with
    the credential's size kept free. The checks read the signed file."""
    layers = still_layers(
        branded, report, copy, kit, loc, hold_legal=bool(ai_label), expectations=expectations
    )
    still = np.asarray(final.convert("RGB"))
    matches = bool(np.array_equal(np.asarray(layers.rerender.convert("RGB")), still))
    target = placement.target(duration_s)
    logos = {v: kit.logo_image(v) for v in ("primary", "on_dark", "on_light") if getattr(kit.logo, v)}
    animator = Animator(
        raw,
        branded,
        layers.backing,
        final if matches else layers.rerender,
        logos,
        layers.source,
        timing_for(report.layout.variant, kit.root),
        size=(target.width, target.height),
        fps=target.fps,
        duration_s=target.duration_s,
        background_clip=background_clip,
    )
    data, encoding = encode_video(target, animator.frames, preset=preset, palette_reference=final)
    name = motion_file(placement, candidate)
    credential = None
    if seal is not None:
        request = SealRequest(
            name, candidate, placement.name, report.file, animator.end_logo_variant, background_clip, ai_label
        )
        sealed, credential = seal(request, data)
        if target.max_bytes is not None and len(sealed) > target.max_bytes:
            room = target.max_bytes - (len(sealed) - len(data)) - SEAL_MARGIN
            data, encoding = encode_video(
                replace(target, max_bytes=room), animator.frames, preset=preset, palette_reference=final
            )
            sealed, credential = seal(request, data)
        data = sealed
    checks = evaluate_video(data, target, animator, expectations or VideoExpectations(), credential)
    return data, MotionResult(
        file=name,
        placement=placement.name,
        plan=animator.plan,
        encoding=_encoding(encoding),
        checks=checks,
        poster_matches_layers=matches,
        credentials=_credential_record(credential),
    )


def _credential_record(result: CredentialResult | None) -> dict:
    if result is None:
        return {"signed": False}
    return {
        "signed": result.signed,
        "verified": result.signed and result.passed,
        "problems": result.problems,
        **({"disabled": result.disabled} if result.disabled else {}),
        **{
            k: result.summary[k]
            for k in ("digital_source_type", "test_signed", "ingredients")
            if k in result.summary
        },
    }


def _encoding(report: EncodeReport) -> dict:
    return {
        "container": report.container,
        "bytes": report.bytes,
        "frames": report.frames,
        "attempts": report.attempts,
        **report.quality,
    }


def motion_duration(requested: int | None, placement: MotionPlacement) -> int:
    duration = requested or placement.duration_s
    if duration not in DURATIONS:
        raise ValueError(f"motion duration {duration}s: one of {', '.join(map(str, DURATIONS))} s")
    return duration


def blocking_failures(results: Sequence[MotionResult]) -> list[str]:
    return [
        f"{r.file}: {f.message}"
        for r in results
        for c in r.checks
        if not c.passed
        for f in c.findings
        if f.severity == "ERROR"
    ]


ClipSource = Callable[[str, int, tuple[int, int]], "bytes | None"]


def motion_prompt(image_prompt: str, placement: str, seconds: int) -> str:
    """What a generative video provider is asked for: the candidate's own visual, slowly moving, with
    no text or logos (the brand layers are composited over it, so the checks still hold)."""
    return (
        f"{image_prompt}. A {seconds}-second seamless loop for {placement}: slow camera push-in and "
        "gentle parallax on the product, soft light movement; no text, no logos, no people's faces."
    )


def candidates_to_animate(
    finals: FinalCreatives, settings: MotionSettings, selection: Callable[[], SelectedCreative]
) -> tuple[list[int], str]:
    """Which candidates get motion, or why none does. ``selection()``: the selection the selection
    stage will make from these finals (``unit_work.selection_value``, same inputs), computed only
    when motion is on."""
    if not settings.enabled:
        return [], "motion is disabled in the brief (motion.enabled: false)"
    selected = selection()
    if selected.status == "blocked":
        return [], f"no candidate can be selected: {selected.blocked_reason}"
    if settings.candidates == "all":
        return [r.index for r in selected.ranking if r.compliant and not r.repeats_rejected], ""
    return [selected.best], ""


def motion_value(
    unit: str,
    finals: FinalCreatives,
    raw: ImageCandidates,
    branded: BrandedCandidates,
    copy: LocalizedCopy,
    kit: BrandKit,
    settings: MotionSettings,
    selection: Callable[[], SelectedCreative],
    keys: Sequence[str],
    *,
    preset: str = "veryfast",
    clip_for: ClipSource | None = None,
    provider: str = "offline-animator",
    market_label: str | None = None,
    seal: Sealer | None = None,
) -> tuple[MotionCreatives, dict[str, bytes]]:
    """Stage 6b: a video per animated candidate and motion placement; returns the value and the
    encoded files by name (held as bytes: frames are streamed, only the encoded file is in memory).
    ``selection()``: the pick selected_creative will make (only asked for when a placement plays
    motion and motion is on). ``clip_for(prompt, seconds, (w, h))``: a generated background clip (a video provider), or None
    for the offline push-in. ``market_label``: the visible label the unit's market requires on AI
    imagery (the locale pack's ``ai_label``). ``seal``: signs each file (:data:`Sealer`)."""
    placements = motion_targets(keys, settings)
    value = MotionCreatives(unit=unit, final_generation=finals.stored_generation or "")
    if not placements:
        value.skipped = (
            f"none of the placements {', '.join(keys)} plays motion in the classes "
            f"{', '.join(settings.classes)} (motion.classes)"
        )
        return value, {}
    indices, why = candidates_to_animate(finals, settings, selection)
    value.candidates, value.skipped = indices, why
    loc = LocaleText(copy.language_code, copy.direction, copy.script, copy.line_breaking)
    expectations = VideoExpectations(line_breaking=copy.line_breaking)
    variants = {v.candidate: v for v in copy.variants}
    files: dict[str, bytes] = {}
    for index in indices:
        final = next(c for c in finals.candidates if c.index == index)
        raw_c = next(c for c in raw.candidates if c.index == index)
        branded_c = next(c for c in branded.candidates if c.index == index)
        for placement in placements:
            duration = motion_duration(settings.duration_s, placement)
            value.duration_s = duration
            report = final.renders[placement.key]
            prompt = motion_prompt(raw_c.prompt, placement.name, duration)
            clip = clip_for(prompt, duration, (placement.width, placement.height)) if clip_for else None
            still = finals.credentials.get(report.file, {})
            label = still.get("ai_label")
            # the video's imagery is AI when the still's is, or when a generated clip moves behind it
            is_ai = IPTC + still.get("digital_source_type", "") in AI_SOURCES or clip is not None
            data, result = make_video(
                placement,
                index,
                raw.image(raw_c.renders[placement.key].file),
                branded.image(branded_c.renders[placement.key].file),
                finals.image(report.file),
                report,
                rendered_copy(report, variants[index]),
                kit,
                loc,
                duration_s=duration,
                preset=preset,
                expectations=expectations.model_copy(update={"ai_label": market_label if is_ai else None}),
                background_clip=clip,
                ai_label=label,
                seal=seal,
            )
            files[result.file] = data
            value.files.append(
                MotionFile(
                    candidate=index,
                    placement=placement.name,
                    ratio=placement.key,
                    file=result.file,
                    poster=finals.file_key(report.file),
                    container=placement.container,
                    width=placement.width,
                    height=placement.height,
                    fps=placement.fps,
                    duration_s=float(duration),
                    bytes=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                    provider=provider if clip is not None else "offline-animator",
                    plan=result.plan.model_dump(mode="json"),
                    encoding=result.encoding,
                    checks=[c.model_dump(mode="json") for c in result.checks],
                    passed=not any(not c.passed and c.severity == "ERROR" for c in result.checks),
                    credentials=result.credentials,
                )
            )
    return value, files
