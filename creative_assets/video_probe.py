"""Read a motion file back: what the container, streams and frames really are (never the encoder's
settings), and its frames one at a time.

MP4 and GIF are opened with PyAV; animated WebP with Pillow (FFmpeg decodes still WebP only), frame
by frame. ``faststart`` is read from the MP4's top-level atoms: ``moov`` before ``mdat``. Pure.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from PIL import Image


@dataclass(frozen=True)
class VideoProbe:
    container: str  # mp4 | webp | gif | unknown
    codec: str
    pix_fmt: str | None
    width: int
    height: int
    fps: float
    frames: int
    duration_s: float
    bytes: int
    faststart: bool | None  # mp4 only: moov before mdat
    audio_codec: str | None = None
    audio_channels: int = 0
    loops: int | None = None  # webp/gif: the loop count the file declares (0: forever; None: plays once)


def _sniff(data: bytes) -> str:
    if data[4:8] == b"ftyp":
        return "mp4"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return "unknown"


def top_level_atoms(data: bytes) -> list[tuple[str, int, int]]:
    """``(type, offset, size)`` of every top-level ISO BMFF box, in file order."""
    atoms = []
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            if offset + 16 > len(data):
                break
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = len(data) - offset
        if size < 8:
            break
        atoms.append((kind.decode("latin-1"), offset, size))
        offset += size
    return atoms


def is_faststart(data: bytes) -> bool:
    kinds = [kind for kind, _, _ in top_level_atoms(data)]
    return "moov" in kinds and "mdat" in kinds and kinds.index("moov") < kinds.index("mdat")


def probe(data: bytes, *, decode: bool = True) -> VideoProbe:
    """The file's container, codec, pixel format, size, rate, frame count and duration, as decoded
    (``decode=False``: frame count and duration from the container's metadata, for a caller that
    decodes every frame itself)."""
    kind = _sniff(data)
    if kind == "webp":
        return _probe_webp(data)
    with av.open(io.BytesIO(data)) as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        count = 0
        last_end = Fraction(0)
        if not decode:
            count = stream.frames
            if stream.duration is not None and stream.time_base is not None:
                last_end = Fraction(stream.duration) * stream.time_base
            elif container.duration:
                last_end = Fraction(container.duration, 1_000_000)
        for frame in container.decode(stream) if decode else ():
            count += 1
            if frame.pts is not None and frame.time_base is not None:
                end = frame.pts * frame.time_base + (frame.duration or 0) * frame.time_base
                last_end = max(last_end, end)
        rate = stream.average_rate or stream.guessed_rate or 0
        fps = float(rate)
        duration = float(last_end) if last_end else (count / fps if fps else 0.0)
        return VideoProbe(
            container=kind,
            codec=stream.codec_context.name,
            pix_fmt=stream.codec_context.pix_fmt,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            fps=round(fps, 3),
            frames=count,
            duration_s=round(duration, 3),
            bytes=len(data),
            faststart=is_faststart(data) if kind == "mp4" else None,
            audio_codec=audio.codec_context.name if audio is not None else None,
            audio_channels=audio.codec_context.channels if audio is not None else 0,
            loops=_gif_loops(data) if kind == "gif" else None,
        )


def _gif_loops(data: bytes) -> int | None:
    """The NETSCAPE2.0 application extension's loop count (None: the GIF plays once)."""
    marker = data.find(b"NETSCAPE2.0")
    if marker < 0:
        return None
    return int.from_bytes(data[marker + 13 : marker + 15], "little")


def webp_chunks(data: bytes) -> list[tuple[str, bytes]]:
    """``(fourcc, payload)`` of every chunk of a RIFF WebP file, in order."""
    chunks = []
    offset = 12
    while offset + 8 <= len(data):
        kind = data[offset : offset + 4].decode("latin-1")
        size = struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        chunks.append((kind, data[offset + 8 : offset + 8 + size]))
        offset += 8 + size + (size & 1)
    return chunks


def _probe_webp(data: bytes) -> VideoProbe:
    """An animated WebP from its chunks: canvas (VP8X), loop count (ANIM), one ANMF per frame with
    its duration in milliseconds."""
    width = height = 0
    loops = None
    durations = []
    for kind, payload in webp_chunks(data):
        if kind == "VP8X":
            width = int.from_bytes(payload[4:7], "little") + 1
            height = int.from_bytes(payload[7:10], "little") + 1
        elif kind == "ANIM":
            loops = int.from_bytes(payload[4:6], "little")
        elif kind == "ANMF":
            durations.append(int.from_bytes(payload[12:15], "little"))
    if not durations:  # a still WebP
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
        durations = [0]
    duration = sum(durations) / 1000
    return VideoProbe(
        container="webp",
        codec="webp",
        pix_fmt=None,
        width=width,
        height=height,
        fps=round(len(durations) / duration, 3) if duration else 0.0,
        frames=len(durations),
        duration_s=round(duration, 3),
        bytes=len(data),
        faststart=None,
        loops=loops,
    )


def iter_frames(data: bytes) -> Iterator[np.ndarray]:
    """Every frame of the file as ``H x W x 3`` uint8 RGB, decoded one at a time."""
    if _sniff(data) == "webp":
        with Image.open(io.BytesIO(data)) as im:
            for index in range(getattr(im, "n_frames", 1)):
                im.seek(index)
                yield np.asarray(im.convert("RGB"))
        return
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            yield frame.to_ndarray(format="rgb24")
