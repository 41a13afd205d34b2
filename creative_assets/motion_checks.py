"""Checks on a motion file, read back from the file itself (never trusted from the encoder settings).

One decoding pass measures every frame (:func:`measure`); each named check in :data:`VIDEO_CHECKS`
then judges the measurements. What a frame *should* show comes from the animator (the still's layers
and the plan's boxes); what it *does* show comes only from the decoded file.

- ``video_format``: container, codec, pixel format, fps, duration, size, bytes, ``+faststart``, the
  audio track where the placement requires one, and looping for animated images, as probed.
- ``video_safe_zones``: in every frame, nothing but the backdrop (the frame without text, CTA and
  logo) outside the placement's safe zone: 16 px tiles outside it may not differ from the backdrop by
  have :data:`SAFE_TILE_SHARE` of their pixels more than :data:`SAFE_PIXEL_DIFF` levels off the
  backdrop: lettering and a logo change many pixels by a lot (they reach 3:1 to 4.5:1 contrast),
  lossy coding changes pixels by a little, even in a cross-fade.
- ``video_reading_time``: every text line is fully shown, in one stretch, for at least its reading
  time (:func:`reading_seconds`).
- ``video_logo_time``: the logo is shown (in its place, or on the end card) for at least
  :data:`MIN_LOGO_S` seconds, or :data:`MIN_LOGO_SHARE` of the video if that is longer.
- ``video_blank_frames``: no frame is black (mean luma under 16) or blank (luma spread under 3).
- ``video_ai_disclosure``: where the market requires a visible AI label on AI imagery, the legal line
  starts with it and is fully shown in every frame that shows the imagery (every frame before the end
  card's cross-fade; the end card is brand colour, logo and CTA only).
- ``video_content_credentials``: the file carries a C2PA manifest that verifies and declares what the
  pipeline did (the caller verifies the signed bytes, ``credentials.verify``, and hands the result
  in: this module imports no C2PA).

Reading-speed rule (documented in README "Motion creatives"): a line needs ``max(1.0 s, words / 3)``
seconds — 3 words per second (180 wpm) is below the ~240 wpm adults read running text at, because
an ad competes with the feed around it — and, in scripts written without spaces (Chinese, Japanese,
Thai), ``max(1.0 s, characters / 7)``: about 7 characters per second. Pure: no Dagster.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from pydantic import BaseModel

from creative_assets.compliance import CheckOutcome, Finding
from creative_assets.render.layout import Box
from creative_assets.video_encode import VideoTarget
from creative_assets.video_probe import VideoProbe, iter_frames, probe

WORDS_PER_S = 3.0
CHARS_PER_S = 7.0
MIN_LINE_S = 1.0
MIN_LOGO_S = 1.5
MIN_LOGO_SHARE = 0.25
SAFE_TILE = 16
SAFE_PIXEL_DIFF = 64
SAFE_TILE_SHARE = 0.15
#: a marked element counts as shown when this share of its pixels is within VISIBLE_TOLERANCE levels
#: of luma of what the still shows there. Luma, because yuv420p keeps one colour sample per 2 x 2
#: pixels: a thin coloured stroke loses its colour, never its lightness, and text reaches 4.5:1
#: contrast (far more than the tolerance) in lightness against what it stands on.
VISIBLE_SHARE = 0.8
VISIBLE_TOLERANCE = 40
BLACK_LUMA = 16.0
BLANK_SPREAD = 3.0


class VideoExpectations(BaseModel):
    """What the unit's locale and brand ask of its videos."""

    line_breaking: str = "spaces"  # spaces | cjk | thai (LocalizedCopy.line_breaking)
    #: the visible label the market requires on this video's (AI) imagery; None: none required
    ai_label: str | None = None
    words_per_s: float = WORDS_PER_S
    chars_per_s: float = CHARS_PER_S
    min_line_s: float = MIN_LINE_S
    min_logo_s: float = MIN_LOGO_S
    min_logo_share: float = MIN_LOGO_SHARE


#: the elements a viewer reads, each of which must stay on screen for its reading time
READ_ROLES = ("headline", "subline", "badge", "disclaimer")


def reading_seconds(text: str, line_breaking: str, exp: VideoExpectations | None = None) -> float:
    """How long a line must stay on screen to be read (see the module docstring)."""
    exp = exp or VideoExpectations()
    if line_breaking in ("cjk", "thai"):
        units = len([c for c in text if not c.isspace()]) / exp.chars_per_s
    else:
        units = len(text.split()) / exp.words_per_s
    return round(max(exp.min_line_s, units), 3)


@dataclass
class Mark:
    """One element the viewer must see: its own pixels (coordinates and colours) as the still shows
    them."""

    role: str
    text: str
    ys: np.ndarray
    xs: np.ndarray
    values: np.ndarray  # N x 3 uint8
    group: str = ""  # marks of one group count together (the logo, in place or on the end card)

    def sample(self, most: int = 6000) -> Mark:
        """At most ``most`` of its pixels, colours turned to luma (see :data:`VISIBLE_TOLERANCE`)."""
        step = max(1, len(self.ys) // most)
        return Mark(
            self.role, self.text, self.ys[::step], self.xs[::step], _luma(self.values[::step]), self.group
        )


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


@dataclass
class CredentialResult:
    """The verification of a motion file's Content Credential, made by the caller on the signed
    bytes (``signed=False``: credentials were disabled, ``disabled`` says why)."""

    signed: bool
    passed: bool
    problems: list[str] = field(default_factory=list)
    disabled: str | None = None
    required: bool = False
    summary: dict = field(default_factory=dict)


@dataclass
class Evidence:
    """Per-frame measurements of one decoded file."""

    probe: VideoProbe
    fps: float
    #: frames [0, imagery_frames) show the imagery in full (the plan's: the end card follows)
    imagery_frames: int = 0
    credential: CredentialResult | None = None
    shown: dict[int, list[bool]] = field(default_factory=dict)  # mark index -> per frame
    safe_violations: list[tuple[int, Box, float]] = field(default_factory=list)
    dark_frames: list[tuple[int, float, float]] = field(default_factory=list)  # frame, mean, spread
    frames: int = 0


class Reference:
    """What the checks compare the file against (the animator implements it)."""

    plan: object
    safe_box: Box

    def backdrop(self, index: int) -> np.ndarray:  # pragma: no cover - protocol
        raise NotImplementedError

    def backdrop_samples(self, index: int, regions: list[Box]) -> list[np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def marks(self) -> list[Mark]:  # pragma: no cover - protocol
        raise NotImplementedError


def _tile_means(diff: np.ndarray, tile: int) -> np.ndarray:
    H, W = diff.shape
    ty, tx = -(-H // tile), -(-W // tile)
    padded = np.zeros((ty * tile, tx * tile), np.float32)
    padded[:H, :W] = diff
    return padded.reshape(ty, tile, tx, tile).mean(axis=(1, 3))


def unsafe_regions(size: tuple[int, int], safe: Box) -> list[Box]:
    """The pixel regions made of whole 16 px tiles outside the safe box : the bands above and below it, and the strips beside it."""
    W, H = size
    r0, r1 = safe[1] // SAFE_TILE, -(-safe[3] // SAFE_TILE)
    c0, c1 = safe[0] // SAFE_TILE, -(-safe[2] // SAFE_TILE)
    y0, y1, x0, x1 = r0 * SAFE_TILE, min(H, r1 * SAFE_TILE), c0 * SAFE_TILE, min(W, c1 * SAFE_TILE)
    regions = [(0, 0, W, y0), (0, y1, W, H), (0, y0, x0, y1), (x1, y0, W, y1)]
    return [r for r in regions if r[2] > r[0] and r[3] > r[1]]


def _first_bad_tile(
    frame: np.ndarray, samples: list[np.ndarray], regions: list[Box]
) -> tuple[Box, float] | None:
    """The first 16 px tile of ``regions`` where at least :data:`SAFE_TILE_SHARE` of the samples
    (``samples``: every second pixel of every second row of each region's backdrop) differ from the
    frame by more than :data:`SAFE_PIXEL_DIFF` levels in some channel; with that share."""
    for (x0, y0, x1, y1), b in zip(regions, samples, strict=True):
        a = frame[y0:y1:2, x0:x1:2]
        far = (np.maximum(a, b) - np.minimum(a, b)).max(axis=2) > SAFE_PIXEL_DIFF  # no uint8 overflow
        shares = _tile_means(far.astype(np.float32), SAFE_TILE // 2)
        bad = np.argwhere(shares >= SAFE_TILE_SHARE)
        if len(bad):
            ty, tx = (int(v) for v in bad[0])
            tile = (
                x0 + tx * SAFE_TILE,
                y0 + ty * SAFE_TILE,
                x0 + tx * SAFE_TILE + SAFE_TILE,
                y0 + ty * SAFE_TILE + SAFE_TILE,
            )
            return tile, round(float(shares[ty, tx]), 2)
    return None


def measure(data: bytes, reference: Reference, marks: list[Mark]) -> Evidence:
    """Decode every frame once and measure it against the reference: blank/black, each mark's
    visibility, and (outside the safe box only) the difference to the backdrop."""
    info = probe(data, decode=False)
    evidence = Evidence(probe=info, fps=info.fps or 1.0, imagery_frames=reference.plan.imagery_frames)  # type: ignore[attr-defined]
    evidence.shown = {i: [] for i in range(len(marks))}
    sampled = [m.sample() for m in marks]
    regions = None
    frames_planned = reference.plan.frames  # type: ignore[attr-defined]
    for index, frame in enumerate(iter_frames(data)):
        evidence.frames += 1
        luma = frame[::4, ::4].astype(np.float32) @ np.array([0.2126, 0.7152, 0.0722], np.float32)
        mean, spread = float(luma.mean()), float(luma.std())
        if mean < BLACK_LUMA or spread < BLANK_SPREAD:
            evidence.dark_frames.append((index, round(mean, 1), round(spread, 2)))
        H, W = frame.shape[:2]
        for i, mark in enumerate(sampled):
            inside = (mark.ys < H) & (mark.xs < W)
            if not len(mark.ys) or not inside.all():
                evidence.shown[i].append(False)
                continue
            off = np.abs(_luma(frame[mark.ys, mark.xs]) - mark.values)
            evidence.shown[i].append(float((off <= VISIBLE_TOLERANCE).mean()) >= VISIBLE_SHARE)
        if index >= frames_planned:
            continue
        if (reference.plan.width, reference.plan.height) != (W, H):  # type: ignore[attr-defined]
            evidence.safe_violations.append((index, (0, 0, W, H), 255.0))
            continue
        if regions is None:
            regions = unsafe_regions((W, H), reference.safe_box)
        bad = _first_bad_tile(frame, reference.backdrop_samples(index, regions), regions)
        if bad is not None:
            evidence.safe_violations.append((index, *bad))
    # the frame count is the decoded one (the container's own count is metadata)
    evidence.probe = replace(info, frames=evidence.frames)
    return evidence


def _outcome(check: str, findings: list[Finding], figures: dict[str, float]) -> CheckOutcome:
    return CheckOutcome(
        check=check,
        passed=not findings,
        severity="ERROR" if any(f.severity == "ERROR" for f in findings) else "WARN",
        findings=findings,
        figures=figures,
    )


def check_format(
    ev: Evidence, target: VideoTarget, marks: list[Mark], exp: VideoExpectations
) -> CheckOutcome:
    p = ev.probe
    name = "video_format"
    bad: list[str] = []
    if p.container != target.container:
        bad.append(f"container {p.container}, the placement needs {target.container}")
    if p.codec != target.codec:
        bad.append(f"codec {p.codec}, the placement needs {target.codec}")
    if target.pix_fmt and p.pix_fmt != target.pix_fmt:
        bad.append(f"pixel format {p.pix_fmt}, the placement needs {target.pix_fmt}")
    if (p.width, p.height) != (target.width, target.height):
        bad.append(f"{p.width}x{p.height}, the placement needs {target.width}x{target.height}")
    if abs(p.fps - target.fps) > 0.01:
        bad.append(f"{p.fps:g} fps, the placement needs {target.fps}")
    if abs(p.duration_s - target.duration_s) > 1.0 / target.fps + 1e-6:
        bad.append(f"{p.duration_s:g} s long, the placement needs {target.duration_s:g} s")
    if target.max_bytes is not None and p.bytes > target.max_bytes:
        bad.append(f"{p.bytes} bytes, over the placement's budget of {target.max_bytes}")
    if target.container == "mp4" and not p.faststart:
        bad.append(
            "the moov atom is not in front of mdat (no +faststart): players must download it all first"
        )
    if target.audio and p.audio_codec != "aac":
        bad.append(f"the placement requires an audio track (AAC); the file has {p.audio_codec or 'none'}")
    if not target.audio and p.audio_codec is not None:
        bad.append(f"an audio track ({p.audio_codec}) the placement does not take")
    if target.container in ("webp", "gif") and p.loops != target.loops:
        want = "forever" if target.loops == 0 else f"{target.loops} time(s)"
        bad.append(f"the animation declares loop count {p.loops}; the placement needs it to play {want}")
    findings = [Finding(check=name, severity="ERROR", message=m, where="file") for m in bad]
    return _outcome(
        name,
        findings,
        {"bytes": float(p.bytes), "fps": p.fps, "duration_s": p.duration_s, "frames": float(p.frames)},
    )


def _longest_run(flags: list[bool]) -> int:
    best = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


def check_safe_zones(
    ev: Evidence, target: VideoTarget, marks: list[Mark], exp: VideoExpectations
) -> CheckOutcome:
    name = "video_safe_zones"
    findings = []
    if ev.safe_violations:
        frames = sorted({f for f, _, _ in ev.safe_violations})
        first, box, diff = ev.safe_violations[0]
        findings.append(
            Finding(
                check=name,
                severity="ERROR",
                message=(
                    f"{len(frames)} frame(s) show text or logo outside the safe zone (first: frame {first}: "
                    f"{diff:.0%} of the tile at {box} off the backdrop)"
                ),
                where=f"frame {first}",
            )
        )
    return _outcome(
        name, findings, {"frames_outside_safe_zone": float(len({f for f, _, _ in ev.safe_violations}))}
    )


def check_reading_time(
    ev: Evidence, target: VideoTarget, marks: list[Mark], exp: VideoExpectations
) -> CheckOutcome:
    name = "video_reading_time"
    findings = []
    worst = float("inf")
    for i, mark in enumerate(marks):
        if mark.role not in READ_ROLES:
            continue
        shown = _longest_run(ev.shown[i]) / ev.fps
        need = reading_seconds(mark.text, exp.line_breaking, exp)
        worst = min(worst, shown - need)
        if shown + 1e-6 < need:
            findings.append(
                Finding(
                    check=name,
                    severity="ERROR",
                    message=f"{mark.role} line {mark.text!r} is on screen {shown:.2f} s; reading it takes {need:.2f} s",
                    where=mark.role,
                )
            )
    return _outcome(
        name, findings, {"min_reading_margin_s": round(worst, 3) if worst != float("inf") else 0.0}
    )


def check_logo_time(
    ev: Evidence, target: VideoTarget, marks: list[Mark], exp: VideoExpectations
) -> CheckOutcome:
    name = "video_logo_time"
    logo = [i for i, m in enumerate(marks) if m.group == "logo"]
    frames = len(next(iter(ev.shown.values()), []))
    shown = sum(any(ev.shown[i][f] for i in logo) for f in range(frames)) / ev.fps if logo else 0.0
    need = max(exp.min_logo_s, exp.min_logo_share * target.duration_s)
    findings = []
    if shown + 1e-6 < need:
        findings.append(
            Finding(
                check=name,
                severity="ERROR",
                message=f"the logo is shown {shown:.2f} s; at least {need:.2f} s is required",
                where="logo",
            )
        )
    return _outcome(name, findings, {"logo_seconds": round(shown, 3)})


def check_blank_frames(
    ev: Evidence, target: VideoTarget, marks: list[Mark], exp: VideoExpectations
) -> CheckOutcome:
    name = "video_blank_frames"
    findings = []
    if ev.dark_frames:
        first, mean, spread = ev.dark_frames[0]
        findings.append(
            Finding(
                check=name,
                severity="ERROR",
                message=(
                    f"{len(ev.dark_frames)} black or blank frame(s) (first: frame {first}, mean luma {mean:g}, "
                    f"spread {spread:g})"
                ),
                where=f"frame {first}",
            )
        )
    return _outcome(name, findings, {"blank_frames": float(len(ev.dark_frames))})


def _compact(text: str) -> str:
    return "".join(text.split())


def check_ai_disclosure(
    ev: Evidence, target: VideoTarget, marks: list[Mark], exp: VideoExpectations
) -> CheckOutcome:
    name = "video_ai_disclosure"
    if not exp.ai_label:
        return _outcome(name, [], {"labelled_frames": 0.0, "imagery_frames": float(ev.imagery_frames)})
    legal = [i for i, m in enumerate(marks) if m.role == "disclaimer"]
    findings = []
    # lines wrap anywhere (CJK has no spaces): the label must lead the legal line's text
    if not _compact("".join(marks[i].text for i in legal)).startswith(_compact(exp.ai_label)):
        findings.append(
            Finding(
                check=name,
                severity="ERROR",
                message=f"the market requires the label {exp.ai_label!r} on AI imagery; the legal line does not show it",
                where="disclaimer",
            )
        )
    frames = min(ev.imagery_frames, ev.frames)
    unlabelled = [f for f in range(frames) if not all(ev.shown[i][f] for i in legal)] if legal else []
    if legal and unlabelled:
        findings.append(
            Finding(
                check=name,
                severity="ERROR",
                message=(
                    f"the AI label {exp.ai_label!r} is not fully shown in {len(unlabelled)} of the {frames} "
                    f"frames that show the imagery (first: frame {unlabelled[0]})"
                ),
                where=f"frame {unlabelled[0]}",
            )
        )
    labelled = frames - len(unlabelled) if legal else 0
    return _outcome(name, findings, {"labelled_frames": float(labelled), "imagery_frames": float(frames)})


def check_content_credentials(
    ev: Evidence, target: VideoTarget, marks: list[Mark], exp: VideoExpectations
) -> CheckOutcome:
    name = "video_content_credentials"
    result = ev.credential
    if result is None:  # only a caller without a signer (a library use, a test): never the stage
        message, severity = "the file was not signed (no signer given)", "WARN"
    elif not result.signed:
        required = result.required
        message = (
            f"configuration error: content credentials are required but disabled ({result.disabled})"
            if required
            else f"content credentials are disabled: {result.disabled}. The file carries no C2PA manifest"
        )
        severity = "ERROR" if required else "WARN"
    elif not result.passed:
        message, severity = f"the C2PA credential does not verify: {'; '.join(result.problems)}", "ERROR"
    else:
        return _outcome(name, [], {"signed": 1.0, "verified": 1.0})
    finding = Finding(check=name, severity=severity, message=message, where="file")
    signed = float(bool(result and result.signed))
    return _outcome(name, [finding], {"signed": signed, "verified": 0.0})


VideoCheck = Callable[[Evidence, VideoTarget, list[Mark], VideoExpectations], CheckOutcome]

#: every video check by name, in the order they are reported
VIDEO_CHECKS: dict[str, VideoCheck] = {
    "video_format": check_format,
    "video_safe_zones": check_safe_zones,
    "video_reading_time": check_reading_time,
    "video_logo_time": check_logo_time,
    "video_blank_frames": check_blank_frames,
    "video_ai_disclosure": check_ai_disclosure,
    "video_content_credentials": check_content_credentials,
}

DESCRIPTIONS = {
    "video_format": "Container, codec, pixel format, fps, duration, size, bytes and +faststart, probed from the file.",
    "video_safe_zones": "In every frame, no text, CTA or logo outside the placement's safe zone.",
    "video_reading_time": "Every text line stays on screen long enough to read (3 words/s; 7 characters/s in CJK).",
    "video_logo_time": "The logo is shown for at least 1.5 s (or a quarter of the video).",
    "video_blank_frames": "No black or blank frame.",
    "video_ai_disclosure": "Where the market requires it, the visible AI label is on screen in every frame that shows the imagery.",
    "video_content_credentials": "The file carries a C2PA Content Credential that verifies and declares how it was made.",
}


def evaluate_video(
    data: bytes,
    target: VideoTarget,
    reference: Reference,
    exp: VideoExpectations,
    credential: CredentialResult | None = None,
) -> list[CheckOutcome]:
    """Every video check on one file, in :data:`VIDEO_CHECKS` order. ``credential``: the verification
    of ``data``'s Content Credential (None: not verified, which fails ``video_content_credentials``)."""
    marks = reference.marks()
    evidence = measure(data, reference, marks)
    evidence.credential = credential
    return [check(evidence, target, marks, exp) for check in VIDEO_CHECKS.values()]
