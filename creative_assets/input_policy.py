"""What a brief may contain: size limits, the character policy, bounded file reads and the cost
preflight. Pure (no Dagster, no resources); documented for brand and legal teams in
``docs/INPUT_POLICY.md`` — keep the two in step.

A brief is untrusted input (agencies and freelancers drop it into a shared bucket). Everything here
is enforced *before* any expensive work: the file size before it is read, the nesting depth and
aliases while it is parsed, every string and list while it is validated, and the estimated provider
calls and spend before anything is registered.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from creative_assets import settings

# -- limits ---------------------------------------------------------------------------------------

#: A brief file (YAML or JSON) larger than this is refused before it is read.
MAX_BRIEF_BYTES = 256 * 1024
#: Containers nested deeper than this are refused while parsing (a brief needs 4 levels).
MAX_NESTING = 16
#: Mapping entries, list items and scalars in one brief, all told.
MAX_NODES = 20_000
#: Product image files: bytes (checked with stat / Content-Length before reading) and pixels.
MAX_ASSET_BYTES = 40 * 1024 * 1024
MAX_ASSET_PIXELS = 50_000_000
#: Units (locales x products) and creatives (units x candidates x ratios) in one brief.
MAX_UNITS = 240
MAX_CREATIVES = 3_000
#: Campaign-level banned terms.
MAX_BANNED_TERMS = 500
MAX_TERM_CHARS = 80
#: Longest asset reference (a relative path).
MAX_ASSET_REF_CHARS = 255
#: Values quoted in error messages are cut to this many characters; one message to this many.
MAX_QUOTED_CHARS = 80
MAX_MESSAGE_CHARS = 500
#: An error report lists at most this many problems (then says how many more there were).
MAX_PROBLEMS = 100


def shorten(value: object, limit: int = MAX_QUOTED_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters, saying how long it really was."""
    if isinstance(value, (str, bytes)) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value):,} characters)"
    text = repr(value)
    if len(text) > limit:
        return text[:limit] + f"… ({len(text):,} characters)"
    return text


def clip_message(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    return message if len(message) <= limit else message[:limit] + f"… (cut; {len(message):,} characters)"


# -- character policy -----------------------------------------------------------------------------

#: Bidirectional embedding, override and isolate controls (they reorder text invisibly).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_CONTROL_NAMES = {"\t": "a tab", "\r": "a carriage return", "\x1b": "an ESC (terminal escape sequence)"}


def _is_noncharacter(cp: int) -> bool:
    return 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE


def character_problem(text: str, allow_newlines: bool = True) -> str | None:
    """Why ``text`` may not appear in a brief, or None. Refused: C0 and C1 control characters (line
    feeds are allowed in free text), DEL, bidi embedding/override/isolate controls, unpaired
    surrogates, noncharacters, and text that is empty once normalised but was not empty."""
    for i, ch in enumerate(text):
        cp = ord(ch)
        where = f"at character {i + 1}"
        if ch == "\n" and allow_newlines:
            continue
        if cp < 0x20 or 0x7F <= cp <= 0x9F:
            kind = _CONTROL_NAMES.get(ch) or (
                "a C1 control character" if cp >= 0x7F else "a control character"
            )
            return f"contains {kind} (U+{cp:04X}) {where}; control characters are not allowed in ad copy"
        if ch in BIDI_CONTROLS:
            return (
                f"contains the bidirectional control U+{cp:04X} ({unicodedata.name(ch, '?').lower()}) "
                f"{where}; it reorders text invisibly. The renderer sets direction from the locale"
            )
        if 0xD800 <= cp <= 0xDFFF:
            return f"contains an unpaired surrogate (U+{cp:04X}) {where}; the text is not valid Unicode"
        if _is_noncharacter(cp):
            return f"contains the noncharacter U+{cp:04X} {where}"
    if text.strip() and not normalised(text):
        return "is empty once invisible characters (zero-width spaces, joiners, soft hyphens) are removed"
    return None


def strip_disallowed(text: str) -> str:
    """``text`` without the characters :func:`character_problem` refuses (for generated copy, which
    cannot be sent back to its author): controls except line feed, bidi controls, surrogates,
    noncharacters."""
    return "".join(
        c
        for c in text
        if c == "\n"
        or not (
            ord(c) < 0x20
            or 0x7F <= ord(c) <= 0x9F
            or c in BIDI_CONTROLS
            or 0xD800 <= ord(c) <= 0xDFFF
            or _is_noncharacter(ord(c))
        )
    )


def _default_ignorable(ch: str) -> bool:
    from creative_assets.term_skeleton import is_default_ignorable

    return is_default_ignorable(ch)


def normalised(text: str) -> str:
    """NFKC with default-ignorable code points removed and the ends stripped."""
    return "".join(c for c in unicodedata.normalize("NFKC", text) if not _default_ignorable(c)).strip()


def walk_strings(value: object, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a parsed document, keys included, with its field path (iterative, so any
    depth is safe)."""
    stack: list[tuple[str, object]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where or "(file)", item
        elif isinstance(item, dict):
            for k, v in reversed(list(item.items())):
                child = f"{where}.{k}" if where else str(k)
                if isinstance(k, str):
                    yield (where or "(file)") + f" (key {shorten(k, 40)})", k
                stack.append((child, v))
        elif isinstance(item, list):
            for i in range(len(item) - 1, -1, -1):
                stack.append((f"{where}[{i}]", item[i]))


# -- bounded reads --------------------------------------------------------------------------------


class UnsafeFileError(OSError):
    """A file or object that must not be read (too large, not a regular file, outside the root)."""


class TooLargeError(UnsafeFileError):
    def __init__(self, size: int, limit: int, what: str = "file"):
        self.size, self.limit = size, limit
        super().__init__(f"the {what} is {_mb(size)}; the limit is {_mb(limit)}")


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1024:.0f} KiB"


def read_regular_file(path: str | Path, max_bytes: int, root: str | Path | None = None) -> bytes:
    """Read a regular file of at most ``max_bytes``. Refuses, without reading a byte: FIFOs, devices,
    sockets and folders (opened non-blocking, so a FIFO never blocks); anything whose real path
    (symlinks resolved) lies outside ``root``; anything larger than ``max_bytes`` (by ``fstat``)."""
    path = Path(path)
    if root is not None:
        real_root = Path(os.path.realpath(root))
        real = Path(os.path.realpath(path))
        if real != real_root and not real.is_relative_to(real_root):
            raise UnsafeFileError(f"{path.name} is a symbolic link to a file outside the storage root")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except IsADirectoryError as exc:
        raise UnsafeFileError(f"{path.name} is a folder, not a file") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a FIFO" if stat.S_ISFIFO(info.st_mode) else "not a regular file"
            raise UnsafeFileError(f"{path.name} is {kind}; only regular files are read")
        if info.st_size > max_bytes:
            raise TooLargeError(info.st_size, max_bytes)
        chunks, left = [], max_bytes + 1
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_bytes:  # grew while we read it
            raise TooLargeError(len(data), max_bytes)
        return data
    finally:
        os.close(fd)


# -- cost preflight -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """What one brief may cost: provider calls and money (USD), and the per-call prices used to
    estimate it. From ``CREATIVE_ASSETS_BRIEF_MAX_CALLS``, ``CREATIVE_ASSETS_BRIEF_BUDGET_USD``,
    ``CREATIVE_ASSETS_IMAGE_CALL_USD`` and ``CREATIVE_ASSETS_TEXT_CALL_USD``."""

    max_calls: int = 5_000
    max_usd: float = 200.0
    image_call_usd: float = 0.04
    text_call_usd: float = 0.002
    image_provider: str = "offline"
    text_provider: str = "offline"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Budget:
        env = dict(settings.environment() if env is None else env)
        fields: dict[str, object] = {}
        for name, key, kind in (
            ("max_calls", "CREATIVE_ASSETS_BRIEF_MAX_CALLS", int),
            ("max_usd", "CREATIVE_ASSETS_BRIEF_BUDGET_USD", float),
            ("image_call_usd", "CREATIVE_ASSETS_IMAGE_CALL_USD", float),
            ("text_call_usd", "CREATIVE_ASSETS_TEXT_CALL_USD", float),
        ):
            raw = env.get(key, "").strip()
            if raw:
                try:
                    value = kind(raw)
                except ValueError:
                    raise ValueError(f"{key}={raw!r} is not a number") from None
                if not value >= 0 or value != value:
                    raise ValueError(f"{key}={raw!r} must be zero or more")
                fields[name] = value
        fields["image_provider"] = env.get("CREATIVE_ASSETS_IMAGE_PROVIDER", "").strip().lower() or "offline"
        fields["text_provider"] = env.get("CREATIVE_ASSETS_TEXT_PROVIDER", "").strip().lower() or "offline"
        return cls(**fields)  # type: ignore[arg-type]


@dataclass(frozen=True)
class CostEstimate:
    units: int
    creatives: int
    image_calls: int
    text_calls: int
    usd: float

    @property
    def calls(self) -> int:
        return self.image_calls + self.text_calls


def estimate_cost(locales: int, products: int, candidates: int, ratios: int, budget: Budget) -> CostEstimate:
    """Upper bound of one full run of a brief: a generative image provider draws every candidate at
    every ratio; a generative text provider writes one context pack per unit and translates each
    candidate's copy (offline providers make no calls)."""
    units = locales * products
    creatives = units * candidates * ratios
    image_calls = creatives if budget.image_provider != "offline" else 0
    text_calls = units * (1 + candidates) if budget.text_provider != "offline" else 0
    usd = image_calls * budget.image_call_usd + text_calls * budget.text_call_usd
    return CostEstimate(units, creatives, image_calls, text_calls, round(usd, 2))


def preflight_problems(estimate: CostEstimate, budget: Budget) -> list[tuple[str, str]]:
    """(field, message) for every limit the estimate exceeds."""
    out = []
    if estimate.units > MAX_UNITS:
        out.append(
            (
                "products",
                f"{estimate.units} units (locales x products) is more than the {MAX_UNITS} one brief may "
                "have; split the campaign into several briefs",
            )
        )
    if estimate.creatives > MAX_CREATIVES:
        out.append(
            (
                "candidates",
                f"{estimate.creatives:,} creatives (units x candidates x aspect_ratios) is more than the "
                f"{MAX_CREATIVES:,} one brief may have; use fewer candidates or ratios, or split the brief",
            )
        )
    if estimate.calls > budget.max_calls:
        out.append(
            (
                "(budget)",
                f"needs about {estimate.calls:,} provider calls ({estimate.image_calls:,} image, "
                f"{estimate.text_calls:,} text); the limit per brief is {budget.max_calls:,} "
                "(CREATIVE_ASSETS_BRIEF_MAX_CALLS)",
            )
        )
    if estimate.usd > budget.max_usd:
        out.append(
            (
                "(budget)",
                f"would cost about ${estimate.usd:,.2f} in provider calls; the budget per brief is "
                f"${budget.max_usd:,.2f} (CREATIVE_ASSETS_BRIEF_BUDGET_USD)",
            )
        )
    return out
