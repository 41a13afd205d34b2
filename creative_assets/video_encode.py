"""Encode a stream of RGB frames into a delivery file with PyAV (the FFmpeg libraries its wheels ship;
never a subprocess to a system ffmpeg).

Frames are pulled one at a time from a factory and pushed straight into the encoder, so a video is
never held as frames in memory: only the encoded bytes are. Three containers:

- ``mp4``: H.264 (libx264), yuv420p, constant frame rate, ``+faststart`` (the ``moov`` atom is moved
  in front of ``mdat`` so a player can start before the file is downloaded), and a silent AAC track
  only when the placement requires audio;
- ``webp``: animated WebP (libwebp_anim), looping forever;
- ``gif``: GIF with one palette per file, taken from a reference frame (the poster still), looping.

Each target may carry a byte budget: the file is encoded again at lower quality (higher CRF, lower
WebP quality, fewer GIF colours) until it fits, and :class:`BudgetError` says so when it cannot.
Pure: no Dagster, no storage.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

import av
import numpy as np
from PIL import Image

Container = Literal["mp4", "webp", "gif"]
FrameSource = Callable[[], Iterable[np.ndarray]]
VideoFrameSource = np.ndarray | av.VideoFrame  # RGB frames, or frames already in the codec's format

#: quality ladders tried in order until the file fits its byte budget
#: (x264 without mbtree, see _encode_mp4: CRF 26 there measured a higher PSNR than CRF 23 with it,
#: 36.0 against 35.9 dB on a Reels creative, at 1.25x the bytes)
MP4_CRF_LADDER = (26, 29, 32, 35, 38)
WEBP_QUALITY_LADDER = (75, 60, 45, 30, 20)
GIF_COLOURS_LADDER = (256, 128, 64, 32)
AUDIO_RATE = 48_000


class BudgetError(ValueError):
    """The video does not fit its byte budget even at the lowest quality tried."""


@dataclass(frozen=True)
class VideoTarget:
    """What one motion file must be: a placement's motion requirements resolved to numbers."""

    container: Container
    width: int
    height: int
    fps: int
    duration_s: float
    max_bytes: int | None = None
    audio: bool = False  # a silent AAC track (mp4 only), for placements that refuse silent files
    loops: int = 0  # animated images: how many times it plays (0: forever)

    @property
    def frames(self) -> int:
        return round(self.duration_s * self.fps)

    @property
    def suffix(self) -> str:
        return self.container

    @property
    def codec(self) -> str:
        """The codec name a probe reports for this container's video stream."""
        return {"mp4": "h264", "webp": "webp", "gif": "gif"}[self.container]

    @property
    def pix_fmt(self) -> str | None:
        """The pixel format a probe must read back (None: not defined by the container)."""
        return "yuv420p" if self.container == "mp4" else None


@dataclass
class EncodeReport:
    """How a file was encoded (for the manifest; the checks read the file itself)."""

    container: Container
    bytes: int
    frames: int
    attempts: int
    quality: dict[str, int] = field(default_factory=dict)


def encode_video(
    target: VideoTarget,
    frames: FrameSource,
    *,
    preset: str = "veryfast",
    threads: int = 1,
    palette_reference: Image.Image | None = None,
) -> tuple[bytes, EncodeReport]:
    """Encode the frames ``frames()`` yields (``H x W x 3`` uint8 RGB, exactly ``target.frames`` of
    them) into ``target.container``; re-encodes from a fresh ``frames()`` at lower quality while the
    result is over ``target.max_bytes``. ``threads`` bounds the encoder's threads (the step's CPU
    budget is the stills' one: by default one core)."""
    if target.container == "gif" and 100 % target.fps:
        raise ValueError(f"{target.fps} fps: GIF frame delays are in 1/100 s, so the rate must divide 100")
    if target.width % 2 or target.height % 2:
        raise ValueError(f"{target.width}x{target.height}: H.264 yuv420p needs even dimensions")
    if target.container == "mp4":
        ladder: tuple[int, ...] = MP4_CRF_LADDER
    elif target.container == "webp":
        ladder = WEBP_QUALITY_LADDER
    else:
        ladder = GIF_COLOURS_LADDER
    sizes = []
    for attempt, quality in enumerate(ladder, 1):
        if target.container == "mp4":
            data, count = _encode_mp4(target, frames(), preset, threads, quality)
            knob = "crf"
        elif target.container == "webp":
            data, count = _encode_webp(target, frames(), threads, quality)
            knob = "quality"
        else:
            data, count = _encode_gif(target, frames(), palette_reference, quality)
            knob = "colours"
        if count != target.frames:
            raise ValueError(f"the animation gave {count} frames, {target.frames} expected")
        sizes.append(len(data))
        if target.max_bytes is None or len(data) <= target.max_bytes:
            return data, EncodeReport(target.container, len(data), count, attempt, {knob: quality})
    raise BudgetError(
        f"{target.container} {target.width}x{target.height} {target.duration_s:g}s does not fit "
        f"{target.max_bytes} bytes: {min(sizes)} bytes at the lowest quality tried"
    )


def _check_frame(frame: np.ndarray, target: VideoTarget) -> np.ndarray:
    if frame.shape != (target.height, target.width, 3) or frame.dtype != np.uint8:
        raise ValueError(
            f"frame {frame.shape} {frame.dtype}, expected ({target.height}, {target.width}, 3) uint8"
        )
    return frame


def _encode(
    target: VideoTarget,
    container: str,
    container_options: dict[str, str],
    codec: str,
    pix_fmt: str,
    codec_options: dict[str, str],
    frames: Iterable[VideoFrameSource],
    threads: int | None = None,
) -> tuple[bytes, int]:
    """Stream ``frames`` through ``codec`` into a ``container`` file and return its bytes and the frame
    count. Written to a temporary file: ``+faststart`` rewrites the file after the last packet, so the
    muxer needs a real, seekable file. Every frame carries its time base (without one, libx264's rate
    control saw other timestamps from run to run)."""
    fd, path = tempfile.mkstemp(suffix=f".{container}")
    os.close(fd)
    try:
        with av.open(path, "w", format=container, options=container_options) as out:
            video = out.add_stream(codec, rate=target.fps)
            video.width, video.height, video.pix_fmt = target.width, target.height, pix_fmt
            video.codec_context.time_base = Fraction(1, target.fps)
            if threads is not None:
                video.thread_count = threads
            video.options = codec_options
            audio = None
            if target.audio and container == "mp4":  # a silent track only where a platform needs one
                audio = out.add_stream("aac", rate=AUDIO_RATE)
                audio.layout = "stereo"
            count = 0
            for count, frame in enumerate(frames, 1):
                vf = frame if isinstance(frame, av.VideoFrame) else _rgb_frame(frame, target)
                vf.pts, vf.time_base = count - 1, video.codec_context.time_base
                out.mux(video.encode(vf))
            out.mux(video.encode())
            if audio is not None:
                _silence(out, audio, count / target.fps)
        with open(path, "rb") as fh:
            return fh.read(), count
    finally:
        os.unlink(path)


def _rgb_frame(frame: np.ndarray, target: VideoTarget) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(_check_frame(frame, target), format="rgb24")


def _encode_mp4(
    target: VideoTarget, frames: Iterable[np.ndarray], preset: str, threads: int, crf: int
) -> tuple[bytes, int]:
    # g: a keyframe at most 2 s apart (seeking, platform ingest rules). mbtree=0: with x264's
    # macroblock-tree rate control on, the same frames of a 1080-wide Reels creative gave different
    # files from run to run; off, the file is a function of the frames
    # (test_motion_pipeline::test_the_same_unit_gives_the_same_video_bytes_in_another_process)
    options = {
        "preset": preset,
        "crf": str(crf),
        "g": str(2 * target.fps),
        "bf": "2",
        "x264-params": "mbtree=0",
    }
    return _encode(target, "mp4", {"movflags": "+faststart"}, "libx264", "yuv420p", options, frames, threads)


def _silence(out, audio, seconds: float) -> None:
    """A silent track exactly as long as the video (AAC frames of 1024 samples)."""
    total = round(seconds * AUDIO_RATE)
    pts = 0
    while pts < total:
        n = min(1024, total - pts)
        frame = av.AudioFrame.from_ndarray(np.zeros((2, n), np.float32), format="fltp", layout="stereo")
        frame.sample_rate = AUDIO_RATE
        frame.pts = pts
        pts += n
        out.mux(audio.encode(frame))
    out.mux(audio.encode())


def _encode_webp(
    target: VideoTarget, frames: Iterable[np.ndarray], threads: int, quality: int
) -> tuple[bytes, int]:
    options = {"quality": str(quality), "lossless": "0", "compression_level": "4"}
    return _encode(
        target, "webp", {"loop": str(target.loops)}, "libwebp_anim", "yuv420p", options, frames, threads
    )


def _palette(reference: Image.Image | None, first: np.ndarray, colours: int) -> Image.Image:
    source = reference.convert("RGB") if reference is not None else Image.fromarray(first)
    return source.quantize(colors=colours, method=Image.Quantize.MEDIANCUT)


def _encode_gif(
    target: VideoTarget, frames: Iterable[np.ndarray], reference: Image.Image | None, colours: int
) -> tuple[bytes, int]:
    def indexed() -> Iterator[av.VideoFrame]:
        palette_image = argb = None
        for frame in frames:
            frame = _check_frame(frame, target)
            if palette_image is None:
                palette_image = _palette(reference, frame, colours)
                rgb = np.array(palette_image.getpalette()[: 3 * 256], np.uint8).reshape(-1, 3)
                rgb = np.pad(rgb, ((0, 256 - len(rgb)), (0, 0)))
                # PyAV takes the PAL8 palette as A, R, G, B bytes per entry (read back in the tests)
                argb = np.concatenate([np.full((256, 1), 255, np.uint8), rgb], axis=1)
            indices = Image.fromarray(frame).quantize(palette=palette_image, dither=Image.Dither.NONE)
            yield av.VideoFrame.from_ndarray((np.asarray(indices, np.uint8), argb), format="pal8")

    return _encode(target, "gif", {"loop": str(target.loops)}, "gif", "pal8", {}, indexed())
