"""Platform placements: the named output targets a creative is rendered for, held as data.

A **placement** is one output target, such as ``meta-reels`` or ``iab-medium-rectangle``. Its spec
lives in a YAML file under ``creative_assets/placement_specs/`` (one file per platform, each naming
its ``source``), never in code:

- ``size``: pixel width and height (``aspect`` and ``aspect_label`` are derived from it);
- ``class``: ``square``, ``portrait``, ``vertical``, ``landscape`` or ``banner``; templates declare
  which classes they serve, and the product-share minimum is set per class
  (:data:`PRODUCT_SHARE_MIN`);
- ``safe_area``: the fraction of the canvas, per edge, that the platform's own UI covers; text,
  logo, CTA and the product stay inside the rest (:meth:`Placement.safe_box`);
- ``max_bytes``: the file-size budget of one exported image;
- ``formats``: accepted still-image formats, in order of preference (``jpeg``, ``png``, ``webp``);
- ``accepts_motion``: whether the placement takes a motion (video / animated) variant;
- ``file_pattern``: how the exported file is named (:meth:`Placement.file_name`).

A brief lists ``placements:`` by name. A brief that lists only ``aspect_ratios:`` (the older form)
gets one documented default placement per ratio (:data:`RATIO_DEFAULT_PLACEMENTS`), so the quick
start keeps rendering three creatives per candidate, not one per platform.

Pure module: reads its data files, imports no Dagster and no ``resources``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError, model_validator

from creative_assets.errors import BriefError, Problem, problems_from_validation_error

SPEC_DIR = Path(__file__).with_name("placement_specs")

PlacementClass = Literal["square", "portrait", "vertical", "landscape", "banner"]
PLACEMENT_CLASSES: tuple[PlacementClass, ...] = ("square", "portrait", "vertical", "landscape", "banner")
ImageFormat = Literal["jpeg", "png", "webp"]
FORMAT_EXTENSIONS: dict[str, str] = {"jpeg": "jpg", "png": "png", "webp": "webp"}

#: Fields a file pattern may use. ``{ext}`` is the extension of the format the export chose.
FILE_PATTERN_FIELDS = ("campaign", "locale", "product", "placement", "candidate", "ext")
DEFAULT_FILE_PATTERN = "{campaign}_{locale}_{product}_{placement}_{candidate}.{ext}"

#: Minimum share of the canvas the product's *visible* pixels must cover, per placement class
#: (docs/TEMPLATES.md "Product first"). Vertical placements: 12%, even with Reels' small safe area
#: (a full-height product column gives a slim can 13-14%). Square, portrait and landscape: 8%, what a
#: slim can reaches in a template that gives it the full safe height or a 60% band (measured on the
#: example packshots with scripts/contact_sheet.py). Banners are mostly copy: 3%.
PRODUCT_SHARE_MIN: dict[str, float] = {
    "square": 0.06,
    "portrait": 0.06,
    "vertical": 0.12,
    "landscape": 0.08,
    "banner": 0.03,
}

#: The placement each legacy ``aspect_ratios:`` entry maps to (README "Placements").
RATIO_DEFAULT_PLACEMENTS: dict[str, str] = {
    "1:1": "meta-feed-square",
    "4:5": "meta-feed-portrait",
    "9:16": "meta-reels",
    "16:9": "youtube-instream",
}

Fraction = Annotated[float, Field(ge=0.0, lt=0.5)]
Box = tuple[int, int, int, int]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SafeArea(_Strict):
    """Fractions of the canvas, per edge, covered by the platform's UI."""

    top: Fraction
    bottom: Fraction
    left: Fraction
    right: Fraction

    def box(self, width: int, height: int) -> Box:
        """The safe area in pixels, ``(x0, y0, x1, y1)``."""
        return (
            round(width * self.left),
            round(height * self.top),
            round(width * (1 - self.right)),
            round(height * (1 - self.bottom)),
        )

    def mirrored(self) -> SafeArea:
        """The same area with left and right swapped (what a mirrored layout must respect)."""
        return self.model_copy(update={"left": self.right, "right": self.left})


class Placement(_Strict):
    """One output target (see the module docstring for every field)."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=48)]
    label: Annotated[str, Field(min_length=1, max_length=80)]
    platform: Annotated[str, Field(pattern=r"^[a-z0-9-]+$", max_length=32)]
    size: tuple[StrictInt, StrictInt]
    placement_class: PlacementClass = Field(alias="class")
    safe_area: SafeArea
    safe_area_note: str = ""
    max_bytes: Annotated[StrictInt, Field(ge=10_000)]
    formats: Annotated[list[ImageFormat], Field(min_length=1, max_length=3)]
    accepts_motion: StrictBool
    file_pattern: str = DEFAULT_FILE_PATTERN
    #: where the spec comes from: the ``source`` of the data file it was loaded from
    source: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Placement:
        w, h = self.size
        if not (50 <= w <= 4096 and 50 <= h <= 4096):
            raise ValueError(f"size {w}x{h}: each side must be 50-4096 px")
        if len(set(self.formats)) != len(self.formats):
            raise ValueError("formats lists a format twice")
        sa = self.safe_area
        if sa.left + sa.right >= 0.8 or sa.top + sa.bottom >= 0.8:
            raise ValueError("safe_area leaves less than 20% of the canvas in one direction")
        try:
            self.file_pattern.format(**dict.fromkeys(FILE_PATTERN_FIELDS, "x"))
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"file_pattern {self.file_pattern!r} uses an unknown field {exc}; "
                f"allowed: {', '.join('{' + f + '}' for f in FILE_PATTERN_FIELDS)}"
            ) from None
        if "{ext}" not in self.file_pattern or "{placement}" not in self.file_pattern:
            raise ValueError("file_pattern must contain {placement} and {ext}")
        return self

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]

    @property
    def aspect(self) -> float:
        return self.width / self.height

    @property
    def aspect_label(self) -> str:
        """``9:16``, ``1.91:1``, ``2:3``: the reduced ratio, or the usual name of a near one."""
        for label, value in _ASPECT_NAMES.items():
            if abs(self.aspect - value) / value < 0.01:
                return label
        g = math.gcd(self.width, self.height)
        return f"{self.width // g}:{self.height // g}"

    @property
    def short_side(self) -> int:
        return min(self.size)

    def safe_box(self, direction: Literal["ltr", "rtl"] = "ltr") -> Box:
        """The safe area in pixels. Platform UI does not mirror for right-to-left locales, so
        ``direction`` does not change the box; it is accepted to make that explicit at call sites."""
        del direction
        return self.safe_area.box(self.width, self.height)

    def extension(self, fmt: str) -> str:
        return FORMAT_EXTENSIONS[fmt]

    def file_name(self, *, campaign: str, locale: str, product: str, candidate: int | str, fmt: str) -> str:
        """The exported file's name, from ``file_pattern``."""
        if fmt not in self.formats:
            raise ValueError(f"{self.name} does not accept {fmt}; it accepts {', '.join(self.formats)}")
        return self.file_pattern.format(
            campaign=campaign,
            locale=locale,
            product=product,
            placement=self.name,
            candidate=candidate,
            ext=self.extension(fmt),
        )


_ASPECT_NAMES = {"1:1": 1.0, "4:5": 0.8, "9:16": 9 / 16, "16:9": 16 / 9, "1.91:1": 1.91, "2:3": 2 / 3}


class _SpecFile(_Strict):
    source: Annotated[str, Field(min_length=8)]
    placements: Annotated[list[dict], Field(min_length=1)]


class UnknownPlacementError(KeyError):
    """A placement name that no spec file defines; the message suggests the nearest names."""

    def __init__(self, name: str, known: Iterable[str]):
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(known)}"
        self.name = name
        self.message = f"unknown placement {name!r}; {hint}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def load_placement_file(path: Path) -> list[Placement]:
    """The placements of one spec file. Raises :class:`BriefError` naming the file and each field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BriefError(str(path), [Problem("(file)", f"cannot read: {exc}")]) from None
    try:
        spec = _SpecFile.model_validate(raw if isinstance(raw, dict) else {})
    except ValidationError as exc:
        raise BriefError(str(path), problems_from_validation_error(exc)) from None
    out: list[Placement] = []
    problems: list[Problem] = []
    for i, entry in enumerate(spec.placements):
        try:
            out.append(Placement.model_validate({**entry, "source": spec.source}))
        except ValidationError as exc:
            for p in problems_from_validation_error(exc):
                field = f"placements[{i}]" + ("" if p.field == "(file)" else f".{p.field}")
                problems.append(Problem(field, p.message))
    if problems:
        raise BriefError(str(path), problems)
    return out


def load_placements(folder: Path | None = None) -> dict[str, Placement]:
    """Every placement defined in ``folder`` (default: the shipped specs), by name, in file order."""
    folder = folder or SPEC_DIR
    if folder == SPEC_DIR:
        return dict(_shipped())
    return _load(folder)


#: Spec files load in this order (then any others alphabetically), so listings start with the
#: social placements and end with display.
_FILE_ORDER = ("meta", "tiktok", "youtube", "linkedin", "pinterest", "x", "iab")


def _load(folder: Path) -> dict[str, Placement]:
    out: dict[str, Placement] = {}
    rank = {stem: i for i, stem in enumerate(_FILE_ORDER)}
    for path in sorted(folder.glob("*.yaml"), key=lambda p: (rank.get(p.stem, len(rank)), p.name)):
        for placement in load_placement_file(path):
            if placement.name in out:
                raise BriefError(
                    str(path), [Problem("placements", f"{placement.name!r} is also defined in another file")]
                )
            out[placement.name] = placement
    return out


@cache
def _shipped() -> tuple[tuple[str, Placement], ...]:
    return tuple(_load(SPEC_DIR).items())


def placement_names() -> list[str]:
    return [name for name, _ in _shipped()]


def get_placement(name: str) -> Placement:
    """The shipped placement called ``name``; :class:`UnknownPlacementError` otherwise."""
    found = dict(_shipped())
    if name not in found:
        raise UnknownPlacementError(name, found)
    return found[name]


def placements_of_class(placement_class: str) -> list[Placement]:
    return [p for _, p in _shipped() if p.placement_class == placement_class]


def default_placement_for_ratio(ratio: str) -> Placement:
    """The documented default placement of a legacy ``aspect_ratios:`` entry."""
    if ratio not in RATIO_DEFAULT_PLACEMENTS:
        raise ValueError(
            f"no default placement for ratio {ratio!r}; known: {', '.join(RATIO_DEFAULT_PLACEMENTS)}"
        )
    return get_placement(RATIO_DEFAULT_PLACEMENTS[ratio])


def product_share_min(placement: Placement) -> float:
    """The minimum visible product share of the canvas for ``placement`` (by its class)."""
    return PRODUCT_SHARE_MIN[placement.placement_class]
