"""Campaign briefs: the user-facing contract.

A brief is YAML or JSON. :func:`load_brief` validates it completely (schema, locales, brand kit,
product images) and raises :class:`~creative_assets.errors.BriefError` listing *every* problem with
the file name and the field path, so a user fixes a brief in one pass.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import json
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal

from PIL import Image
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    ValidationError,
    field_validator,
)

from creative_assets.brand_kit import BrandKit, ShortLegal, WordRule, load_brand_kit
from creative_assets.brief_parse import decode_brief_bytes, parse_document
from creative_assets.errors import BriefError, problems_from_validation_error
from creative_assets.input_policy import (
    MAX_ASSET_BYTES,
    MAX_ASSET_PIXELS,
    MAX_ASSET_REF_CHARS,
    MAX_BANNED_TERMS,
    MAX_BRIEF_BYTES,
    MAX_TERM_CHARS,
    Budget,
    TooLargeError,
    UnsafeFileError,
    character_problem,
    estimate_cost,
    preflight_problems,
    read_regular_file,
    shorten,
    walk_strings,
)
from creative_assets.placements import (
    Placement,
    UnknownPlacementError,
    default_placement_for_ratio,
    get_placement,
)
from creative_assets.slugs import SLUG_MAX, SLUG_PATTERN, slug_problem
from creative_assets.term_skeleton import term_folds_to_something
from creative_assets.vocabulary import Problem

#: Aspect ratios we render, with their default output size in pixels.
#: Smallest shorter side of an output size. Measured (issue 11): at 256 and 320 px every creative
#: fails the logo check (the kits' minimum logo width does not fit with its clear space) and text
#: legibility (minimum type sizes); at 360-380 px some candidates still fail legibility; from 400 px
#: every bundled locale and ratio passes.
MIN_OUTPUT_SIDE = 400

DEFAULT_SIZES: dict[str, tuple[int, int]] = {
    "1:1": (1080, 1080),
    "4:5": (1080, 1350),
    "9:16": (1080, 1920),
    "16:9": (1920, 1080),
}
AspectRatio = Literal["1:1", "4:5", "9:16", "16:9"]

#: Product images: MAX_ASSET_PIXELS / MAX_ASSET_BYTES (input_policy) bound memory and refuse
#: decompression bombs; the real format must be the one the extension names.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}

Slug = Annotated[
    str,
    StringConstraints(min_length=1, max_length=SLUG_MAX),
    Field(json_schema_extra={"pattern": SLUG_PATTERN, "minLength": 2}),
]
#: Checked against the locale knowledge base after parsing, so errors can suggest the right tag.
LocaleTag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=16)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=140)]
AssetRef = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ASSET_REF_CHARS)]
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def _iso_date(value: object) -> object:
    """Dates are ISO calendar dates (``2026-06-01``): a date and time, or another format, is refused
    rather than coerced (mixing the two used to crash the date comparison)."""
    if isinstance(value, datetime):
        raise ValueError("must be a date like 2026-06-01, not a date and time")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError("is not a calendar date") from None
    raise ValueError("must be a date written like 2026-06-01")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: A price or promo badge: a few words at most (it is set on one or two lines in a small slot).
BadgeText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=24)]


class LocalizedText(_Strict):
    """Per-locale copy supplied by the brief author. Anything omitted falls back to the source text."""

    message: ShortText | None = None
    cta: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] | None = None
    disclaimer: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    disclaimer_short: ShortLegal | None = Field(
        None, description="This locale's approved short form of its disclaimer (see disclaimer_short)."
    )
    badges: dict[str, BadgeText] = Field(
        default_factory=dict,
        max_length=50,
        description="Product id -> this locale's badge (price or promo); see products[].badge.",
    )


@dataclass(frozen=True)
class LegalLine:
    """The legal line a locale prints, its approved short form, and the fields that give them."""

    text: str | None
    short: str | None
    field: str
    short_field: str


def legal_line_for(
    localized: LocalizedText | None,
    tag: str,
    disclaimer: str | None,
    disclaimer_short: str | None,
    kit: BrandKit,
) -> LegalLine:
    """The one rule for which legal line a locale prints: the locale's own ``disclaimer``, else the
    brief's, else the brand kit's ``required_disclaimer``. Its short form comes from the same level
    (a French line's short form is French): ``disclaimer_short`` there, else none."""
    if localized is not None and localized.disclaimer:
        prefix = f"localized_messages.{tag}"
        return LegalLine(
            localized.disclaimer,
            localized.disclaimer_short,
            f"{prefix}.disclaimer",
            f"{prefix}.disclaimer_short",
        )
    if disclaimer:
        return LegalLine(disclaimer, disclaimer_short, "disclaimer", "disclaimer_short")
    where = f"brand kit {kit.slug}: required_disclaimer"
    return LegalLine(
        kit.required_disclaimer,
        kit.required_disclaimer_short if kit.required_disclaimer else None,
        where,
        where + "_short",
    )


def badge_for(localized: LocalizedText | None, product: Product) -> tuple[str | None, bool]:
    """(the badge a product prints in a locale, whether that locale gives its own): the locale's
    ``badges`` entry for the product, else the product's own ``badge`` (None: no badge)."""
    own = localized.badges.get(product.id) if localized else None
    return (own, True) if own else (product.badge, False)


class Product(_Strict):
    """A product in the campaign. ``assets`` are image paths relative to the brief file."""

    id: Slug = Field(description="Slug; becomes part of storage keys and partition keys.")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""
    assets: list[AssetRef] = Field(
        default_factory=list,
        max_length=8,
        description="Product images (PNG/JPEG/WebP), relative to the brief. The first is the hero; "
        "when empty, a hero visual is generated.",
    )
    badge: BadgeText | None = Field(
        None,
        description="A short price or promo ('New', '-20%', '$4.99') in source_locale, set in the "
        "template's badge slot. Not machine-translated (prices and offers are the brand's to word): give "
        "each locale its own in localized_messages.<locale>.badges.<product id>.",
    )
    focus: tuple[Annotated[float, Field(ge=0, le=1)], Annotated[float, Field(ge=0, le=1)]] | None = Field(
        None,
        description="Focal point of the hero image as [x, y], fractions of its width and height from the "
        "top left: where a photo that cannot be cut out is centred when it is shown full-bleed "
        "(default: the centre of the product GrabCut finds).",
    )

    @field_validator("id")
    @classmethod
    def _id_is_slug(cls, value: str) -> str:
        problem = slug_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class CampaignTerm(WordRule):
    """A campaign-level banned term (bounded: the brief is untrusted input)."""

    term: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TERM_CHARS)]
    reason: Annotated[str, StringConstraints(max_length=200)] = ""


class MotionSettings(_Strict):
    """Motion creatives of the campaign (README "Motion creatives")."""

    enabled: bool = Field(True, description="Render motion for every placement that plays it.")
    duration_s: Literal[6, 10, 15] | None = Field(
        None, description="Length of every video in seconds; default: each placement's own (6 s)."
    )
    classes: list[Literal["square", "portrait", "vertical", "landscape", "banner"]] = Field(
        default_factory=lambda: ["vertical", "banner"],
        max_length=5,
        description="Placement classes that get motion, among the placements that accept it: vertical "
        "video (Reels, Stories, TikTok, Shorts: MP4) and display banners (animated WebP) by default.",
    )
    gif: bool = Field(False, description="Also a GIF for display banners, for buyers that still ask for one.")
    candidates: Literal["selected", "all"] = Field(
        "selected",
        description="'selected': only the candidate the selection will pick (the default, to keep a run's "
        "time in budget); 'all': every candidate, so a reviewer can swap with motion.",
    )


class Brief(_Strict):
    """A campaign brief."""

    campaign_id: Slug = Field(description="Slug; becomes part of storage keys and partition keys.")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    brand: Slug = Field(description="Folder name of a brand kit under brand_kits/.")
    message: ShortText = Field(description="Campaign message (headline) in source_locale.")
    source_locale: LocaleTag = "en-US"
    cta: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] = Field(
        description="Call to action in source_locale."
    )
    audience: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""
    locales: list[LocaleTag] = Field(
        min_length=1, max_length=40, description="Locale tags such as en-US, ja-JP."
    )
    localized_messages: dict[LocaleTag, LocalizedText] = Field(default_factory=dict, max_length=40)
    products: list[Product] = Field(min_length=1, max_length=50)
    candidates: StrictInt = Field(3, ge=1, le=8, description="Image candidates per product x locale.")
    aspect_ratios: list[AspectRatio] = Field(
        default_factory=lambda: ["1:1", "9:16", "16:9"], min_length=1, max_length=4
    )
    placements: list[Annotated[str, StringConstraints(min_length=1, max_length=48)]] | None = Field(
        None,
        min_length=1,
        max_length=24,
        description="Named output targets such as meta-reels or iab-medium-rectangle (README "
        "'Placements'). Without it, each of aspect_ratios maps to its documented default placement.",
    )
    templates: list[Annotated[str, StringConstraints(min_length=1, max_length=48)]] | None = Field(
        None,
        min_length=1,
        max_length=24,
        description="Template names (built-in or the brand kit's templates/) to rotate through; "
        "without it every template serving a placement is in the rotation (docs/TEMPLATES.md).",
    )
    output_sizes: dict[AspectRatio, tuple[StrictInt, StrictInt]] = Field(
        default_factory=dict,
        description="Override the pixel size per ratio, e.g. {'1:1': [1200, 1200]}; the shorter side "
        "must be at least 400 px (smaller creatives cannot pass the logo and legibility checks), "
        "neither side more than 4096 px.",
    )
    disclaimer: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = Field(
        None, description="Legal line printed small on every creative (overrides the brand kit's)."
    )
    disclaimer_short: ShortLegal | None = Field(
        None,
        description="The approved short form of disclaimer ('Terms apply.'): set only where the full "
        "line cannot fit at its minimum size (small banners such as the 320x50 mobile banner).",
    )
    banned_words: list[CampaignTerm] = Field(
        default_factory=list, max_length=MAX_BANNED_TERMS, description="Campaign-level banned terms."
    )
    visual_direction: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""
    seed: StrictInt | None = Field(
        None, ge=0, lt=2**31, description="Base seed; derived from campaign_id if absent."
    )
    motion: MotionSettings = Field(default_factory=MotionSettings)
    start_date: IsoDate | None = Field(None, description="ISO date, e.g. 2026-06-01.")
    end_date: IsoDate | None = Field(None, description="ISO date, e.g. 2026-08-31.")

    @field_validator("campaign_id", "brand")
    @classmethod
    def _slug(cls, value: str) -> str:
        problem = slug_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("banned_words", mode="before")
    @classmethod
    def _strings_are_rules(cls, value: object) -> object:
        if isinstance(value, list):
            return [{"term": v} if isinstance(v, str) else v for v in value]
        return value

    def output_keys(self) -> list[str]:
        """The outputs one candidate is rendered at: the ``placements:`` names, or (the older form)
        the ``aspect_ratios:``, each of which renders its documented default placement."""
        return list(self.placements) if self.placements else list(self.aspect_ratios)

    def size_for(self, ratio: str) -> tuple[int, int]:
        """Pixel size of output key ``ratio`` (a ratio, with ``output_sizes`` overrides, or a placement)."""
        if ratio in DEFAULT_SIZES:
            return tuple(self.output_sizes.get(ratio, DEFAULT_SIZES[ratio]))  # type: ignore[return-value]
        return get_placement(ratio).size

    def placement_specs(self) -> list[Placement]:
        """The placements this brief renders: ``placements:`` when given, else one documented default
        placement per entry of ``aspect_ratios:`` (``creative_assets.placements.RATIO_DEFAULT_PLACEMENTS``)."""
        if self.placements:
            return [get_placement(name) for name in self.placements]
        return [default_placement_for_ratio(ratio) for ratio in self.aspect_ratios]

    def base_seed(self) -> int:
        if self.seed is not None:
            return self.seed
        return int.from_bytes(hashlib.sha256(self.campaign_id.encode()).digest()[:4], "big") & 0x7FFFFFFF


# -- semantic checks -------------------------------------------------------------------------------


def _semantic_problems(data: dict) -> list[Problem]:
    """Checks that need the knowledge base or cross-field context. They run on the raw mapping, so
    they are reported even when other fields fail schema validation (one pass finds everything)."""
    from creative_assets.locales import UnknownLocaleError, get_locale

    problems: list[Problem] = []

    def check_locale(field_name: str, tag: object) -> None:
        if not isinstance(tag, str):
            return
        try:
            get_locale(tag)
        except UnknownLocaleError as exc:
            problems.append(Problem(field_name, str(exc)))

    check_locale("source_locale", data.get("source_locale", "en-US"))
    locales = data.get("locales") if isinstance(data.get("locales"), list) else []
    seen: dict[str, int] = {}
    for i, tag in enumerate(locales):
        if not isinstance(tag, str):
            continue
        if tag in seen:
            problems.append(
                Problem(f"locales[{i}]", f"{tag!r} is listed twice (first at locales[{seen[tag]}])")
            )
        else:
            seen[tag] = i
            check_locale(f"locales[{i}]", tag)
    localized = data.get("localized_messages")
    if isinstance(localized, dict) and locales:
        for tag in localized:
            if tag not in seen:
                problems.append(
                    Problem(
                        f"localized_messages.{tag}",
                        f"{tag!r} is not one of the brief's locales ({', '.join(seen)})",
                    )
                )
    # a short legal form is the short form of the full line at its own level (legal_line_for)
    levels: list[tuple[str, dict]] = [("", data)]
    if isinstance(localized, dict):
        levels += [(f"localized_messages.{t}.", v) for t, v in localized.items() if isinstance(v, dict)]
    for prefix, level in levels:
        if level.get("disclaimer_short") and not level.get("disclaimer"):
            problems.append(
                Problem(
                    f"{prefix}disclaimer_short",
                    f"is the short form of {prefix}disclaimer, which is not given: add the full legal "
                    "line there (the brand kit's own short form is required_disclaimer_short)",
                )
            )
    products = data.get("products") if isinstance(data.get("products"), list) else []
    ids: dict[str, int] = {}
    for i, product in enumerate(products):
        pid = product.get("id") if isinstance(product, dict) else None
        if not isinstance(pid, str):
            continue
        if pid in ids:
            problems.append(
                Problem(f"products[{i}].id", f"duplicate product id {pid!r} (also products[{ids[pid]}])")
            )
        else:
            ids[pid] = i
    if isinstance(localized, dict):
        for tag, loc in localized.items():
            badges = loc.get("badges") if isinstance(loc, dict) else None
            for pid in badges if isinstance(badges, dict) else ():
                if isinstance(pid, str) and pid not in ids:
                    problems.append(
                        Problem(
                            f"localized_messages.{tag}.badges.{pid}",
                            f"{pid!r} is not a product id of this brief ({', '.join(ids) or 'none'})",
                        )
                    )
    ratios = data.get("aspect_ratios")
    if isinstance(ratios, list) and len(set(map(str, ratios))) != len(ratios):
        problems.append(Problem("aspect_ratios", "lists a ratio more than once"))
    names = data.get("placements")
    if isinstance(names, list):
        if "aspect_ratios" in data:
            problems.append(
                Problem(
                    "placements",
                    "give either placements or aspect_ratios, not both (aspect_ratios maps to default "
                    "placements; list those placements instead)",
                )
            )
        first: dict[str, int] = {}
        for i, name in enumerate(names):
            if not isinstance(name, str):
                continue
            if name in first:
                problems.append(
                    Problem(
                        f"placements[{i}]", f"{name!r} is listed twice (first at placements[{first[name]}])"
                    )
                )
                continue
            first[name] = i
            try:
                get_placement(name)
            except UnknownPlacementError as exc:
                problems.append(Problem(f"placements[{i}]", exc.message))
    sizes = data.get("output_sizes")
    for ratio, size in sizes.items() if isinstance(sizes, dict) else []:
        if ratio not in DEFAULT_SIZES or not (isinstance(size, (list, tuple)) and len(size) == 2):
            continue  # the schema reports these
        w, h = size
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (w, h)):
            continue  # strict: the schema refuses 1080.0 and "1080"
        rw, rh = (int(x) for x in ratio.split(":"))
        if min(w, h) < MIN_OUTPUT_SIDE:
            problems.append(
                Problem(
                    f"output_sizes.{ratio}",
                    f"{w}x{h} is too small: the shorter side must be at least {MIN_OUTPUT_SIDE} px "
                    "(below that the logo and text legibility checks fail on every creative)",
                )
            )
        elif max(w, h) > 4096:
            problems.append(Problem(f"output_sizes.{ratio}", f"{w}x{h} exceeds 4096 px per side"))
        elif abs(w / h - rw / rh) > 0.01:
            problems.append(Problem(f"output_sizes.{ratio}", f"{w}x{h} is not a {ratio} size"))
    start, end = (_as_date(data.get(k)) for k in ("start_date", "end_date"))
    if start and end and end < start:
        problems.append(Problem("end_date", "is before start_date"))
    return problems


def _template_problems(data: dict, kit: BrandKit) -> list[Problem]:
    """``templates:`` names known templates (built-in or the kit's), and every output of the brief
    has at least one of them that serves its placement."""
    from creative_assets.render.layout import placement_for_key
    from creative_assets.templates import templates_for

    try:
        known = templates_for(Path(kit.root) if kit.root else None)
    except BriefError as exc:
        detail = "; ".join(f"{p.field}: {p.message}" for p in exc.problems[:5])
        return [Problem("brand", f"brand kit template {Path(exc.source).name} is invalid: {detail}")]
    names = data.get("templates")
    if not isinstance(names, list):
        return []
    problems = []
    chosen = []
    for i, name in enumerate(names):
        if not isinstance(name, str):
            continue
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(known)}"
            problems.append(Problem(f"templates[{i}]", f"unknown template {name!r}; {hint}"))
        else:
            chosen.append(known[name])
    if problems or not chosen:
        return problems
    outputs = data.get("placements") or data.get("aspect_ratios") or ["1:1", "9:16", "16:9"]
    for key in outputs if isinstance(outputs, list) else []:
        try:
            placement = placement_for_key(str(key))
        except (KeyError, ValueError):
            continue  # reported by the schema / placement checks
        if not any(t.serves_placement(placement) for t in chosen):
            serving = [n for n, t in known.items() if t.serves_placement(placement)]
            problems.append(
                Problem(
                    "templates",
                    f"none of the named templates serves {placement.name} ({placement.placement_class}); "
                    f"add one of: {', '.join(serving)}",
                )
            )
    return problems


def _as_date(value: object) -> date | None:
    try:
        return _iso_date(value)  # type: ignore[return-value]
    except ValueError:
        return None  # the schema reports it


def _safe_relative(ref: str) -> PurePosixPath | None:
    """A product-asset reference as a safe relative path, or None if it escapes its folder."""
    if not ref or "\\" in ref or "\x00" in ref:
        return None
    path = PurePosixPath(ref)
    if (
        not path.parts  # "." or "./"
        or path.is_absolute()
        or any(part in ("..", "") for part in path.parts)
        or ":" in path.parts[0]
    ):
        return None
    return path


def check_image_bytes(data: bytes, suffix: str | None = None) -> tuple[int, int, str]:
    """Validate an image payload completely; return (width, height, format). Raises ValueError with a
    reason. The real format must be the one ``suffix`` names (no animated GIF called ``.png``), there
    must be one frame, and every pixel is decoded (a truncated file fails here, not in a run), after
    the size is checked against the pixel limit."""
    if len(data) > MAX_ASSET_BYTES:
        raise ValueError(f"is {len(data) / 1e6:.1f} MB; the limit is {MAX_ASSET_BYTES / 1e6:.0f} MB")
    expected = IMAGE_FORMATS.get((suffix or "").lower())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                fmt = im.format or "?"
                if expected and fmt != expected:
                    raise ValueError(
                        f"is really a {fmt} image, not the {expected} its name says; convert it or rename it"
                    )
                w, h = im.size
                if w * h > MAX_ASSET_PIXELS:
                    raise ValueError(f"is {w}x{h}; the limit is {MAX_ASSET_PIXELS / 1e6:.0f} megapixels")
                if getattr(im, "n_frames", 1) > 1 or getattr(im, "is_animated", False):
                    raise ValueError("is animated (several frames); supply a still image")
                im.load()  # decode every pixel: truncated or corrupt data fails here
    except ValueError:
        raise
    except Exception as exc:  # PIL raises many types for corrupt data
        raise ValueError(f"is not a readable image ({exc.__class__.__name__}: {shorten(str(exc))})") from exc
    if min(w, h) < 64:
        raise ValueError(f"is only {w}x{h}; product images must be at least 64 px on each side")
    return w, h, fmt


AssetReader = Callable[[str], bytes]


@dataclass
class LoadedBrief:
    """A validated brief with its brand kit and product-image bytes, ready to register."""

    brief: Brief
    source: str
    brand_kit: BrandKit
    #: product id -> list of (reference as written, image bytes)
    assets: dict[str, list[tuple[str, bytes]]] = field(default_factory=dict)
    #: preflight WARN findings (creative_assets/preflight.py); ERRORs reject the brief
    warnings: list[Problem] = field(default_factory=list)

    def canonical_json(self) -> str:
        return json.dumps(self.brief.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, indent=2)

    def content_hash(self) -> str:
        """Hash of the brief and every product image: identical inputs give identical hashes."""
        h = hashlib.sha256(self.canonical_json().encode())
        for pid in sorted(self.assets):
            for _ref, data in self.assets[pid]:
                h.update(hashlib.sha256(data).digest())
        return h.hexdigest()


def parse_brief_text(text: str, source: str) -> dict:
    """Parse YAML or JSON text (by ``source``'s suffix) into a mapping; raise BriefError naming the
    file, and the line where there is one, on syntax errors, duplicate keys, YAML aliases, excessive
    nesting or size (see :mod:`creative_assets.brief_parse`)."""
    kind = "json" if Path(source).suffix.lower() == ".json" else "yaml"
    return parse_document(text, source, kind)


def _character_problems(data: dict) -> list[Problem]:
    """The character policy (input_policy.character_problem) on every string, keys included."""
    problems: list[Problem] = []
    for where, text in walk_strings(data):
        problem = character_problem(text)
        if problem:
            problems.append(Problem(where, problem))
    return problems


def _term_problems(data: dict) -> list[Problem]:
    """Campaign banned terms that fold to nothing (they could never match anything)."""
    terms = data.get("banned_words")
    problems = []
    for i, entry in enumerate(terms if isinstance(terms, list) else []):
        term = entry.get("term") if isinstance(entry, dict) else entry
        if not isinstance(term, str) or not term:
            continue
        if not term_folds_to_something(term):
            problems.append(
                Problem(
                    f"banned_words[{i}]",
                    f"{shorten(term)} is empty once case, accents, invisible characters and dashes are "
                    "folded away, so it could never match; write the word itself",
                )
            )
    return problems


def _preflight(data: dict, budget: Budget | None) -> list[Problem]:
    """Units, creatives, provider calls and money of one full run, against the limits and budget."""
    locales = data.get("locales")
    products = data.get("products")
    if not isinstance(locales, list) or not isinstance(products, list):
        return []
    candidates = data.get("candidates", 3)
    if not isinstance(candidates, int) or isinstance(candidates, bool) or not 1 <= candidates <= 8:
        candidates = 3  # the schema reports it; estimate with the default
    ratios = data.get("placements") or data.get("aspect_ratios", ["1:1", "9:16", "16:9"])
    n_ratios = min(len(ratios), 24) if isinstance(ratios, list) else 3  # one creative per placement
    try:
        budget = budget or Budget.from_env()
    except ValueError as exc:
        return [Problem("(budget)", f"cannot check the cost of this brief: {exc}")]
    estimate = estimate_cost(len(set(map(repr, locales))), len(products), candidates, n_ratios, budget)
    return [Problem(f, m) for f, m in preflight_problems(estimate, budget)]


def validate_brief(
    data: dict,
    source: str,
    read_asset: AssetReader,
    brand_kits_root: Path | None = None,
    budget: Budget | None = None,
    preflight: bool = True,
) -> LoadedBrief:
    """Validate a parsed brief completely. ``read_asset(ref)`` returns the bytes of a product image
    (relative reference, already checked not to escape; at most ``MAX_ASSET_BYTES``) or raises
    OSError. ``budget`` defaults to :meth:`Budget.from_env`. Every malformed input becomes a
    :class:`BriefError` naming the field; nothing else escapes for any parsed input. Then, unless
    ``preflight`` is off, run the preflight (creative_assets/preflight.py): ERROR findings reject the
    brief like schema errors, WARN findings are kept in ``LoadedBrief.warnings``."""
    if not isinstance(data, dict):
        raise BriefError(source, [Problem("(file)", "must be a mapping of fields, e.g. `campaign_id: ...`")])
    brief: Brief | None = None
    problems: list[Problem] = _character_problems(data)
    reported = {p.field for p in problems}
    try:
        brief = Brief.model_validate(data)
    except ValidationError as exc:
        problems.extend(p for p in problems_from_validation_error(exc) if p.field not in reported)
    reported = {p.field for p in problems}
    for extra in (_semantic_problems(data), _term_problems(data), _preflight(data, budget)):
        problems.extend(p for p in extra if p.field not in reported)

    kit: BrandKit | None = None
    brand = data.get("brand")
    if isinstance(brand, str) and "brand" not in reported:
        try:
            kit = load_brand_kit(brand, brand_kits_root)
        except BriefError as exc:
            if exc.problems and exc.problems[0].field == "brand":
                problems.append(Problem("brand", exc.problems[0].message))
            else:  # the kit's own problems, without the server's paths
                detail = "; ".join(f"{p.field}: {p.message}" for p in exc.problems[:5])
                problems.append(
                    Problem(
                        "brand", f"brand kit {brand!r} (brand_kits/{brand}/brand.yaml) is invalid: {detail}"
                    )
                )

    if kit is not None:
        problems.extend(_template_problems(data, kit))

    assets: dict[str, list[tuple[str, bytes]]] = {}
    raw_products = data.get("products") if isinstance(data.get("products"), list) else []
    for i, product in enumerate(raw_products):
        refs = product.get("assets") if isinstance(product, dict) else None
        if not isinstance(refs, list) or not isinstance(product.get("id"), str):
            continue
        for j, ref in enumerate(refs):
            if not isinstance(ref, str):
                continue
            where = f"products[{i}].assets[{j}]"
            if where in reported:
                continue  # too long, or characters the policy refuses
            rel = _safe_relative(ref)
            if rel is None:
                problems.append(
                    Problem(
                        where,
                        f"{shorten(ref)} must be a relative path to a file inside the brief's folder "
                        "(no '..', no leading '/', no '\\')",
                    )
                )
                continue
            if rel.suffix.lower() not in IMAGE_SUFFIXES:
                problems.append(Problem(where, f"{shorten(ref)} must be one of {', '.join(IMAGE_SUFFIXES)}"))
                continue
            try:
                data_bytes = read_asset(str(rel))
            except FileNotFoundError as exc:
                problems.append(
                    Problem(where, f"cannot read {shorten(ref)}: {exc.strerror or exc}", "missing_asset")
                )
                continue
            except OSError as exc:
                problems.append(Problem(where, f"cannot read {shorten(ref)}: {exc.strerror or exc}"))
                continue
            try:
                check_image_bytes(data_bytes, rel.suffix)
            except ValueError as exc:
                problems.append(Problem(where, f"{shorten(ref)} {exc}"))
                continue
            assets.setdefault(product["id"], []).append((ref, data_bytes))

    if problems or kit is None or brief is None:
        raise BriefError(source, problems)
    loaded = LoadedBrief(brief=brief, source=source, brand_kit=kit, assets=assets)
    # Preflight (issue 13): what cannot render or may not print is refused here, before any provider
    # call; validate, run and the inbox all come through this function.
    if preflight:
        from creative_assets.preflight import check_brief

        report = check_brief(loaded, (budget or Budget.from_env()).image_provider)
        if report.errors:
            raise BriefError(source, report.errors + report.warnings)
        loaded.warnings = report.warnings
    return loaded


def load_brief(path: str | Path, brand_kits_root: Path | None = None, preflight: bool = True) -> LoadedBrief:
    """Load and validate a brief file from the local filesystem (with the preflight, by default). The
    file and its images are read only if they are regular files within the size limits (checked with
    ``stat`` first); images must resolve (symlinks included) inside the brief's folder."""
    path = Path(path)
    if path.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise BriefError(str(path), [Problem("(file)", "must be a .yaml, .yml or .json file")])
    try:
        data = read_regular_file(path, MAX_BRIEF_BYTES)
    except TooLargeError as exc:
        raise BriefError(
            str(path),
            [
                Problem(
                    "(file)",
                    f"is {exc.size / 1024:,.0f} KiB; a brief may be at most {MAX_BRIEF_BYTES // 1024} KiB",
                )
            ],
        ) from None
    except UnsafeFileError as exc:
        raise BriefError(str(path), [Problem("(file)", str(exc))]) from None
    except FileNotFoundError:
        raise BriefError(str(path), [Problem("(file)", "does not exist")]) from None
    except OSError as exc:
        raise BriefError(str(path), [Problem("(file)", f"cannot be read: {exc.strerror or exc}")]) from None
    text = decode_brief_bytes(data, str(path))
    base = path.resolve().parent

    def read_local(ref: str) -> bytes:
        target = base / ref
        real = target.resolve()
        if not real.is_relative_to(base):
            raise PermissionError(13, f"{ref} resolves outside the brief's folder")
        if not real.exists():
            raise FileNotFoundError(2, f"no such file {ref} beside the brief")
        return read_regular_file(target, MAX_ASSET_BYTES, root=base)

    return validate_brief(
        parse_brief_text(text, str(path)), str(path), read_local, brand_kits_root, preflight=preflight
    )


def brief_json_schema() -> dict:
    schema = Brief.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "creative-assets campaign brief"
    return schema
