"""Motion creatives, pure layer: encoder and probe (codec, fps, duration, faststart, budgets), the
animator, and the per-frame video checks on good and bad fixtures. Small canvases, short files."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from creative_assets.motion_checks import CredentialResult, VideoExpectations, evaluate_video, reading_seconds
from creative_assets.render.fonts import BUNDLED_FONTS_DIR
from creative_assets.render.motion import Animator, MotionSource, MotionTiming, ease, timing_for
from creative_assets.video_encode import BudgetError, VideoTarget, encode_video
from creative_assets.video_probe import is_faststart, iter_frames, probe, top_level_atoms
from creative_assets_tests.helpers import PALETTE

W, H = 270, 480  # a 9:16 canvas small enough to keep the suite fast
SAFE = (16, 68, 238, 384)  # top 14%, bottom 20%, left 6%, right 12%


def moving_frames(target: VideoTarget):
    def frames():
        for i in range(target.frames):
            frame = np.zeros((target.height, target.width, 3), np.uint8)
            frame[..., 0] = np.linspace(30, 220, target.width, dtype=np.uint8)[None, :]
            frame[..., 2] = 90
            x = (i * 4) % target.width
            frame[:, x : x + 12] = (250, 250, 250)
            yield frame

    return frames


# -- encoder and probe -----------------------------------------------------------------------------


def test_mp4_is_h264_yuv420p_30fps_faststart_with_the_requested_duration():
    target = VideoTarget("mp4", 128, 224, 30, 1.0, max_bytes=2_000_000)
    data, report = encode_video(target, moving_frames(target))
    p = probe(data)
    assert (p.container, p.codec, p.pix_fmt) == ("mp4", "h264", "yuv420p")
    assert (p.width, p.height, p.fps, p.frames) == (128, 224, 30.0, 30)
    assert p.duration_s == pytest.approx(1.0, abs=1 / 30)
    assert p.faststart is True
    kinds = [k for k, _, _ in top_level_atoms(data)]
    assert kinds.index("moov") < kinds.index("mdat")
    assert p.audio_codec is None and report.bytes == len(data) <= 2_000_000


def test_silent_aac_track_only_where_required():
    target = VideoTarget("mp4", 64, 64, 30, 1.0, audio=True)
    data, _ = encode_video(target, moving_frames(target))
    p = probe(data)
    assert p.audio_codec == "aac" and p.audio_channels == 2
    with av.open(io.BytesIO(data)) as c:
        samples = np.concatenate([f.to_ndarray().ravel() for f in c.decode(c.streams.audio[0])])
    assert np.abs(samples).max() == 0  # silent
    assert samples.size >= 48_000  # as long as the video (2 channels x 48 kHz x 1 s, planar)


def test_a_file_written_without_faststart_is_detected():
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:  # no movflags: moov goes last
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 20, np.uint8), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    assert is_faststart(buf.getvalue()) is False
    assert probe(buf.getvalue()).faststart is False


def test_animated_webp_and_gif_loop_as_asked_and_fit_the_budget():
    for container in ("webp", "gif"):
        target = VideoTarget(container, 120, 100, 10, 2.0, max_bytes=150_000, loops=2)
        data, _report = encode_video(target, moving_frames(target), palette_reference=None)
        p = probe(data)
        assert (p.container, p.codec, p.width, p.height, p.frames) == (container, container, 120, 100, 20)
        assert p.fps == pytest.approx(10, abs=0.01) and p.duration_s == pytest.approx(2.0, abs=0.1)
        assert p.loops == 2 and len(data) <= 150_000
        assert len(list(iter_frames(data))) == 20


def test_budget_steps_down_quality_then_refuses():
    target = VideoTarget("mp4", 256, 256, 30, 1.0)
    noisy = np.random.default_rng(1)

    def frames():
        for _ in range(target.frames):
            yield noisy.integers(0, 255, (256, 256, 3), dtype=np.uint8)

    big, _first = encode_video(target, frames)
    fitted, report = encode_video(
        VideoTarget("mp4", 256, 256, 30, 1.0, max_bytes=int(len(big) * 0.7)), frames
    )
    assert report.attempts > 1 and len(fitted) <= len(big) * 0.7
    with pytest.raises(BudgetError, match="does not fit 1000 bytes"):
        encode_video(VideoTarget("mp4", 256, 256, 30, 1.0, max_bytes=1000), frames)


def test_gif_rate_must_divide_100():
    with pytest.raises(ValueError, match="divide 100"):
        encode_video(VideoTarget("gif", 64, 64, 15, 1.0), moving_frames(VideoTarget("gif", 64, 64, 15, 1.0)))


# -- animator + checks -----------------------------------------------------------------------------


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(BUNDLED_FONTS_DIR / "NotoSans-Bold.ttf"), size)


def still_fixture(
    lines=("Stay bright", "all summer"),
    line_top=SAFE[1] + 150,
    direction="ltr",
    logo=True,
    legal: str | None = None,
    hold_legal: bool = False,
    legal_bottom: int | None = None,
    legal_x: int | None = None,
):
    """raw / branded / backing / final layers of a small still: a product block, a logo mark in the
    safe zone's top-left, text lines, a legal line (``legal``) and a CTA button; returns the layers
    and the MotionSource."""
    raw = Image.new("RGB", (W, H), PALETTE["primary"])
    draw = ImageDraw.Draw(raw)
    for y in range(H):  # a soft gradient background (a blank check must not trip on it)
        draw.line([(0, y), (W, y)], fill=(11 + y // 8, 93, 107))
    product_box = (150, 120, 230, 300)
    draw.rounded_rectangle(product_box, 12, fill=(242, 193, 78))
    branded = raw.copy()
    logo_box = (SAFE[0] + 4, SAFE[1] + 4, SAFE[0] + 64, SAFE[1] + 24)
    logo_image = Image.new("RGBA", (60, 20), (0, 0, 0, 0))
    ImageDraw.Draw(logo_image).rounded_rectangle((0, 0, 59, 19), 5, fill=(255, 255, 255, 255))
    if logo:
        branded.paste(logo_image, logo_box[:2], logo_image)
    backing = branded.copy()
    final = backing.copy()
    d = ImageDraw.Draw(final)
    font = _font(22)
    boxes = []
    y = line_top
    for text in lines:
        x0, y0, x1, y1 = d.textbbox((0, 0), text, font=font)
        x = SAFE[0] + 6 if direction == "ltr" else SAFE[2] - 6 - (x1 - x0)
        d.text((x - x0, y - y0), text, font=font, fill=(255, 255, 255))
        boxes.append(("headline", text, (x, y, x + (x1 - x0), y + (y1 - y0))))
        y += (y1 - y0) + 8
    if legal:
        small = _font(12)
        x0, y0, x1, y1 = d.textbbox((0, 0), legal, font=small)
        x = SAFE[0] + 6 if legal_x is None else legal_x
        y = SAFE[3] - 60 if legal_bottom is None else legal_bottom - (y1 - y0)
        d.text((x - x0, y - y0), legal, font=small, fill=(255, 255, 255))
        boxes.append(("disclaimer", legal, (x, y, x + (x1 - x0), y + (y1 - y0))))
    button = (SAFE[0] + 6, SAFE[3] - 40, SAFE[0] + 106, SAFE[3] - 10)
    d.rounded_rectangle(button, 12, fill=(242, 107, 78))
    d.text((button[0] + 14, button[1] + 4), "Shop now", font=_font(16), fill=(17, 17, 17))
    source = MotionSource(
        variant="text-top",
        direction=direction,
        safe_box=SAFE,
        product_box=product_box,
        logo_box=logo_box,
        cta_button=button,
        cta_fill="#F26B4E",
        lines=boxes,
        palette=PALETTE,
        hold_legal=hold_legal,
    )
    logos = {"primary": logo_image if logo else Image.new("RGBA", (60, 20), (0, 0, 0, 0))}
    return raw, branded, backing, final, logos, source


def animate(fixture, *, timing: MotionTiming | None = None, fps=10, duration=6.0, container="mp4"):
    raw, branded, backing, final, logos, source = fixture
    animator = Animator(
        raw,
        branded,
        backing,
        final,
        logos,
        source,
        timing or timing_for("text-top"),
        size=(W, H),
        fps=fps,
        duration_s=duration,
    )
    target = VideoTarget(container, W, H, fps, duration, max_bytes=5_000_000)
    data, _ = encode_video(target, animator.frames, palette_reference=final)
    return data, target, animator


#: what a signer hands the checks for a file whose credential verified (the signing itself is
#: tested in test_credentials and, end to end, in test_motion_pipeline)
VERIFIED = CredentialResult(signed=True, passed=True)


def outcomes(data, target, animator, credential=VERIFIED, **exp):
    checks = evaluate_video(data, target, animator, VideoExpectations(**exp), credential)
    return {c.check: c for c in checks}


@pytest.fixture(scope="module")
def good():
    fixture = still_fixture()
    return fixture, *animate(fixture)


def test_good_video_passes_every_check(good):
    _fixture, data, target, animator = good
    results = outcomes(data, target, animator)
    assert all(c.passed for c in results.values()), {
        k: [f.message for f in c.findings] for k, c in results.items()
    }
    assert results["video_logo_time"].figures["logo_seconds"] >= 1.5


def test_the_settled_frame_is_the_still_and_the_loop_closes(good):
    fixture, data, _target, animator = good
    final = np.asarray(fixture[3])
    settled = animator.plan.elements[-3].last_frame - 1  # the last frame before the end card
    assert np.array_equal(animator.frame(settled), final)  # exactly the poster still's pixels
    assert not np.array_equal(animator.frame(0), final)  # the product is still pushing in
    decoded = list(iter_frames(data))
    assert np.abs(decoded[settled].astype(int) - final.astype(int)).mean() < 4  # what the file shows
    # the last frames blend the end card into the first frame: the file loops without a jump
    card_frame = decoded[animator.plan.end_card_frame]
    gap = lambda a, b: np.abs(a.astype(int) - b.astype(int)).mean()  # noqa: E731
    assert gap(decoded[-1], decoded[0]) < 0.7 * gap(card_frame, decoded[0])
    # the end card: the logo on the brand colour
    card = animator.frame(animator.plan.end_card_frame)
    assert tuple(card[2, 2]) == (11, 93, 107)


def test_lines_come_in_reading_order_and_rtl_wipes_from_the_right():
    fixture = still_fixture(direction="rtl")
    raw, branded, backing, final, logos, source = fixture
    animator = Animator(
        raw, branded, backing, final, logos, source, timing_for("text-top"), size=(W, H), fps=30, duration_s=6
    )
    lines = [e for e in animator.plan.elements if e.role == "headline"]
    assert [e.text for e in lines] == ["Stay bright", "all summer"]
    assert lines[0].first_frame < lines[1].first_frame
    cta = next(e for e in animator.plan.elements if e.role == "cta")
    assert cta.first_frame > lines[-1].first_frame  # the CTA lands last
    # halfway through the first line's wipe, its right half is in and its left half is not yet
    tm = animator.timing
    mid = round((tm.text.start + tm.text.enter / 2) * animator.frames_total)
    frame, still, before = animator.frame(mid), np.asarray(final), np.asarray(backing)
    x0, y0, x1, y1 = source.lines[0][2]
    cx = (x0 + x1) // 2
    right_in = np.abs(frame[y0:y1, cx:x1].astype(int) - before[y0:y1, cx:x1].astype(int)).mean()
    left_in = np.abs(frame[y0:y1, x0:cx].astype(int) - before[y0:y1, x0:cx].astype(int)).mean()
    assert right_in > 2 * left_in
    del still


def test_text_outside_the_safe_zone_fails_safe_zones():
    bad = still_fixture(line_top=20)  # the headline in the top band the platform UI covers
    data, target, animator = animate(bad)
    # the checks judge against the placement's safe zone, not the (wrong) plan's own boxes
    results = outcomes(data, target, animator)
    assert not results["video_safe_zones"].passed
    assert results["video_safe_zones"].severity == "ERROR"
    assert "outside the safe zone" in results["video_safe_zones"].findings[0].message


def test_a_line_on_the_safe_areas_bottom_edge_rises_into_place_from_inside_it():
    # a legal line standing on the bottom of the safe area (hero-stack at Reels): its rise into place
    # must not start below the safe area, where the platform draws its own buttons
    fixture = still_fixture(legal="T&Cs apply", legal_bottom=SAFE[3], legal_x=SAFE[0] + 120)
    timing = timing_for("text-top")
    timing = timing.model_copy(update={"text": timing.text.model_copy(update={"rise": 0.1})})  # 27 px
    data, target, animator = animate(fixture, timing=timing)
    assert animator.line_rises[-1] == 0 and animator.line_rises[0] > 0
    results = outcomes(data, target, animator)
    assert results["video_safe_zones"].passed, [f.message for f in results["video_safe_zones"].findings]


def test_a_line_too_long_for_its_time_on_screen_fails_reading_time(good):
    long_line = "Stay bright all summer with the lightest sparkling citrus water in town today"
    fixture = still_fixture(lines=(long_line[:26], long_line))
    # the same 6 s loop; its second line has 13 words = 4.33 s at 3 words/s, on screen for ~3.7 s
    data, target, animator = animate(fixture)
    results = outcomes(data, target, animator)
    assert not results["video_reading_time"].passed
    assert "reading it takes 4.33 s" in results["video_reading_time"].findings[0].message
    # and the good fixture's lines pass with margin
    _, gdata, gtarget, ganimator = good
    assert outcomes(gdata, gtarget, ganimator)["video_reading_time"].figures["min_reading_margin_s"] > 1


def test_a_line_the_reveal_would_cut_short_is_held_from_the_first_frame_and_reads():
    # the same long line, now with the reading times the pipeline hands the animator (still_layers):
    # revealed in turn it would show ~3.7 s of the 4.33 s it needs, so it is on from the first frame
    long_line = "Stay bright all summer with the lightest sparkling citrus water in town today"
    raw, branded, backing, final, logos, source = still_fixture(lines=(long_line[:26], long_line))
    need = [reading_seconds(text, "spaces") for _, text, _ in source.lines]
    source = source.model_copy(update={"read_s": need})
    data, target, animator = animate((raw, branded, backing, final, logos, source))
    first, second = [e for e in animator.plan.elements if e.role == "headline"]
    assert second.first_frame == 0 and first.first_frame > 0  # only the line that needs it is held
    assert not animator.plan.legal_held  # a headline, not the legal line
    results = outcomes(data, target, animator)
    assert results["video_reading_time"].passed, [f.message for f in results["video_reading_time"].findings]
    # a line longer than the whole imagery can show is still caught: held, it is still too short
    endless = " ".join(["word"] * 20)  # 6.67 s at 3 words/s, in a 6 s loop
    raw, branded, backing, final, logos, source = still_fixture(lines=("Stay bright", endless))
    source = source.model_copy(update={"read_s": [reading_seconds(t, "spaces") for _, t, _ in source.lines]})
    data, target, animator = animate((raw, branded, backing, final, logos, source))
    assert not outcomes(data, target, animator)["video_reading_time"].passed


def test_reading_speed_rule_words_and_characters():
    assert reading_seconds("Stay bright", "spaces") == 1.0  # the 1 s floor
    assert reading_seconds("one two three four five six", "spaces") == 2.0  # 3 words/s
    assert reading_seconds("この夏は、ずっと輝いて", "cjk") == pytest.approx(11 / 7, abs=1e-3)  # 7 chars/s


def test_no_logo_fails_logo_time():
    fixture = still_fixture(logo=False)
    data, target, animator = animate(fixture)
    results = outcomes(data, target, animator)
    assert not results["video_logo_time"].passed
    assert results["video_logo_time"].figures["logo_seconds"] == 0


def test_black_end_card_fails_blank_frames():
    fixture = still_fixture(logo=False)
    raw, branded, backing, final, logos, source = fixture
    dark = source.model_copy(update={"palette": {**PALETTE, "neutral_dark": "#000000"}})
    base = timing_for("text-top")
    timing = base.model_copy(
        update={"end_card": base.end_card.model_copy(update={"background": "neutral_dark"})}
    )
    data, target, animator = animate((raw, branded, backing, final, logos, dark), timing=timing)
    results = outcomes(data, target, animator)
    assert not results["video_blank_frames"].passed
    assert "black or blank" in results["video_blank_frames"].findings[0].message


def test_format_check_reads_the_file_not_the_settings(good):
    _fixture, data, _target, animator = good
    wrong = VideoTarget("mp4", W, H, 30, 10.0, max_bytes=1000, audio=True)
    results = outcomes(data, wrong, animator)
    messages = " ".join(f.message for f in results["video_format"].findings)
    assert "10 fps, the placement needs 30" in messages
    assert "6 s long, the placement needs 10 s" in messages
    assert "over the placement's budget of 1000" in messages
    assert "requires an audio track" in messages


def test_gif_of_the_good_fixture_passes_too():
    fixture = still_fixture()
    data, target, animator = animate(fixture, container="gif")
    results = outcomes(data, target, animator)
    assert all(c.passed for c in results.values()), {
        k: [f.message for f in c.findings] for k, c in results.items()
    }


def test_timing_is_data_per_template():
    top, bottom = timing_for("text-top"), timing_for("text-bottom")
    assert top.product.scale_from == 1.12 and bottom.product.scale_from == 1.10
    assert timing_for("banner-strip").text.rise == 0.0
    assert timing_for("no-such-template") == top  # a template without its own file: the default
    assert ease("ease-out-cubic", 0.5) == pytest.approx(0.875)
    with pytest.raises(ValueError):
        top.model_copy(update={"cta": top.cta.model_copy(update={"start": 0.95})}).validate_order()


# -- the visible AI label and the credential, as the checks judge them ------------------------------

LABEL = "AI-generated"


def test_a_held_legal_line_shows_the_ai_label_in_every_frame_with_the_imagery():
    fixture = still_fixture(legal=f"{LABEL} · Terms apply", hold_legal=True)
    data, target, animator = animate(fixture)
    legal = next(e for e in animator.plan.elements if e.role == "disclaimer")
    assert legal.first_frame == 0 and legal.last_frame == animator.plan.imagery_frames
    assert animator.plan.legal_held
    # the headline still comes in line by line after it
    headline = next(e for e in animator.plan.elements if e.role == "headline")
    assert headline.first_frame > 0
    results = outcomes(data, target, animator, ai_label=LABEL)
    assert all(c.passed for c in results.values()), {
        k: [f.message for f in c.findings] for k, c in results.items()
    }
    figures = results["video_ai_disclosure"].figures
    assert figures["labelled_frames"] == figures["imagery_frames"] == animator.plan.imagery_frames > 30


def test_an_ai_label_revealed_late_fails_disclosure():
    # the same legal line animated in with the copy: the first frames show the imagery unlabelled
    fixture = still_fixture(legal=f"{LABEL} · Terms apply", hold_legal=False)
    data, target, animator = animate(fixture)
    results = outcomes(data, target, animator, ai_label=LABEL)
    outcome = results["video_ai_disclosure"]
    assert not outcome.passed and outcome.severity == "ERROR"
    assert (
        "not fully shown" in outcome.findings[0].message and "first: frame 0" in outcome.findings[0].message
    )
    # where no label is required the same file passes
    assert outcomes(data, target, animator)["video_ai_disclosure"].passed


def test_a_legal_line_without_the_required_label_fails_disclosure():
    fixture = still_fixture(legal="Terms apply", hold_legal=True)
    data, target, animator = animate(fixture)
    outcome = outcomes(data, target, animator, ai_label=LABEL)["video_ai_disclosure"]
    assert not outcome.passed
    assert "does not show it" in outcome.findings[0].message


def test_credential_results_are_judged(good):
    _fixture, data, target, animator = good

    def judged(result):
        return outcomes(data, target, animator, credential=result)["video_content_credentials"]

    assert judged(VERIFIED).passed
    broken = judged(CredentialResult(True, False, ["signature/hash: assertion.dataHash.mismatch"]))
    assert not broken.passed and broken.severity == "ERROR" and "dataHash" in broken.findings[0].message
    off = judged(CredentialResult(False, False, disabled="switched off"))
    assert not off.passed and off.severity == "WARN"  # delivered, reported
    required = judged(CredentialResult(False, False, disabled="no certificate", required=True))
    assert required.severity == "ERROR" and "required but disabled" in required.findings[0].message
    unsigned = judged(None)
    assert unsigned.severity == "WARN" and "no signer" in unsigned.findings[0].message
