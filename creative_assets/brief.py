"""Campaign briefs: the user-facing contract.

A brief is YAML or JSON. :func:`load_brief` validates it completely (schema, locales, brand kit,
product images) and raises :class:`~creative_assets.errors.BriefError` listing *every* problem with
the file name and the field path, so a user fixes a brief in one pass.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal

import yaml
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from creative_assets.brand_kit import BrandKit, WordRule, load_brand_kit
from creative_assets.errors import BriefError, Problem, problems_from_validation_error
from creative_assets.slugs import slug_problem

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

#: Product images larger than this are refused (decompression-bomb guard and memory bound).
MAX_ASSET_PIXELS = 50_000_000
MAX_ASSET_BYTES = 40 * 1024 * 1024
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")

Slug = Annotated[str, StringConstraints(min_length=1, max_length=64)]
#: Checked against the locale knowledge base after parsing, so errors can suggest the right tag.
LocaleTag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=16)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=140)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalizedText(_Strict):
    """Per-locale copy supplied by the brief author. Anything omitted falls back to the source text."""

    message: ShortText | None = None
    cta: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] | None = None
    disclaimer: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None


class Product(_Strict):
    """A product in the campaign. ``assets`` are image paths relative to the brief file."""

    id: Slug = Field(description="Slug; becomes part of storage keys and partition keys.")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""
    assets: list[str] = Field(
        default_factory=list,
        max_length=8,
        description="Product images (PNG/JPEG/WebP), relative to the brief. The first is the hero; "
        "when empty, a hero visual is generated.",
    )

    @field_validator("id")
    @classmethod
    def _id_is_slug(cls, value: str) -> str:
        problem = slug_problem(value)
        if problem:
            raise ValueError(problem)
        return value


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
    localized_messages: dict[str, LocalizedText] = Field(default_factory=dict)
    products: list[Product] = Field(min_length=1, max_length=50)
    candidates: int = Field(3, ge=1, le=8, description="Image candidates per product x locale.")
    aspect_ratios: list[AspectRatio] = Field(default_factory=lambda: ["1:1", "9:16", "16:9"], min_length=1)
    output_sizes: dict[AspectRatio, tuple[int, int]] = Field(
        default_factory=dict,
        description="Override the pixel size per ratio, e.g. {'1:1': [1200, 1200]}; the shorter side "
        "must be at least 400 px (smaller creatives cannot pass the logo and legibility checks), "
        "neither side more than 4096 px.",
    )
    disclaimer: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = Field(
        None, description="Legal line printed small on every creative (overrides the brand kit's)."
    )
    banned_words: list[WordRule] = Field(default_factory=list, description="Campaign-level banned terms.")
    visual_direction: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""
    seed: int | None = Field(
        None, ge=0, lt=2**31, description="Base seed; derived from campaign_id if absent."
    )
    start_date: date | None = None
    end_date: date | None = None

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

    def size_for(self, ratio: str) -> tuple[int, int]:
        return tuple(self.output_sizes.get(ratio, DEFAULT_SIZES[ratio]))  # type: ignore[return-value]

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
    ratios = data.get("aspect_ratios")
    if isinstance(ratios, list) and len(set(map(str, ratios))) != len(ratios):
        problems.append(Problem("aspect_ratios", "lists a ratio more than once"))
    sizes = data.get("output_sizes")
    for ratio, size in sizes.items() if isinstance(sizes, dict) else []:
        if ratio not in DEFAULT_SIZES or not (isinstance(size, (list, tuple)) and len(size) == 2):
            continue  # the schema reports these
        w, h = size
        if not all(isinstance(v, int) for v in (w, h)):
            continue
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


def _as_date(value: object) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _safe_relative(ref: str) -> PurePosixPath | None:
    """A product-asset reference as a safe relative path, or None if it escapes its folder."""
    if not ref or "\\" in ref or "\x00" in ref:
        return None
    path = PurePosixPath(ref)
    if path.is_absolute() or any(part in ("..", "") for part in path.parts) or ":" in path.parts[0]:
        return None
    return path


def check_image_bytes(data: bytes) -> tuple[int, int, str]:
    """Validate an image payload; return (width, height, format). Raises ValueError with a reason."""
    if len(data) > MAX_ASSET_BYTES:
        raise ValueError(f"is {len(data) / 1e6:.1f} MB; the limit is {MAX_ASSET_BYTES / 1e6:.0f} MB")
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
            if w * h > MAX_ASSET_PIXELS:
                raise ValueError(f"is {w}x{h}; the limit is {MAX_ASSET_PIXELS / 1e6:.0f} megapixels")
            im.verify()
            fmt = im.format or "?"
    except ValueError:
        raise
    except Exception as exc:  # PIL raises many types for corrupt data
        raise ValueError(f"is not a readable image ({exc.__class__.__name__}: {exc})") from exc
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
    """Parse YAML or JSON text into a mapping; raise BriefError naming the file on syntax errors."""
    suffix = Path(source).suffix.lower()
    try:
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise BriefError(
            source, [Problem("(file)", f"not valid JSON: {exc.msg} at line {exc.lineno}")]
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise BriefError(source, [Problem("(file)", f"not valid YAML{where}: {reason}")]) from exc
    if not isinstance(data, dict):
        raise BriefError(source, [Problem("(file)", "must be a mapping of fields, e.g. `campaign_id: ...`")])
    return data


def validate_brief(
    data: dict, source: str, read_asset: AssetReader, brand_kits_root: Path | None = None
) -> LoadedBrief:
    """Validate a parsed brief completely. ``read_asset(ref)`` returns the bytes of a product image
    (relative reference, already checked not to escape) or raises OSError."""
    brief: Brief | None = None
    problems: list[Problem] = []
    try:
        brief = Brief.model_validate(data)
    except ValidationError as exc:
        problems.extend(problems_from_validation_error(exc))
    reported = {p.field for p in problems}
    problems.extend(p for p in _semantic_problems(data) if p.field not in reported)

    kit: BrandKit | None = None
    brand = data.get("brand")
    if isinstance(brand, str) and "brand" not in reported:
        try:
            kit = load_brand_kit(brand, brand_kits_root)
        except BriefError as exc:
            if exc.problems and exc.problems[0].field == "brand":
                problems.append(Problem("brand", exc.problems[0].message))
            else:
                problems.append(Problem("brand", f"brand kit {brand!r} is invalid: {exc.render()}"))

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
            rel = _safe_relative(ref)
            if rel is None:
                problems.append(
                    Problem(
                        where, f"{ref!r} must be a relative path inside the brief's folder (no '..', no '/')"
                    )
                )
                continue
            if rel.suffix.lower() not in IMAGE_SUFFIXES:
                problems.append(Problem(where, f"{ref!r} must be one of {', '.join(IMAGE_SUFFIXES)}"))
                continue
            try:
                data_bytes = read_asset(str(rel))
            except FileNotFoundError as exc:
                problems.append(
                    Problem(where, f"cannot read {ref!r}: {exc.strerror or exc}", "missing_asset")
                )
                continue
            except OSError as exc:
                problems.append(Problem(where, f"cannot read {ref!r}: {exc.strerror or exc}"))
                continue
            try:
                check_image_bytes(data_bytes)
            except ValueError as exc:
                problems.append(Problem(where, f"{ref!r} {exc}"))
                continue
            assets.setdefault(product["id"], []).append((ref, data_bytes))

    if problems or kit is None or brief is None:
        raise BriefError(source, problems)
    return LoadedBrief(brief=brief, source=source, brand_kit=kit, assets=assets)


def load_brief(path: str | Path, brand_kits_root: Path | None = None) -> LoadedBrief:
    """Load and validate a brief file from the local filesystem."""
    path = Path(path)
    if not path.is_file():
        raise BriefError(str(path), [Problem("(file)", "does not exist or is not a file")])
    if path.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise BriefError(str(path), [Problem("(file)", "must be a .yaml, .yml or .json file")])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise BriefError(str(path), [Problem("(file)", f"is not UTF-8 text: {exc}")]) from exc
    base = path.resolve().parent

    def read_local(ref: str) -> bytes:
        target = (base / ref).resolve()
        if not target.is_relative_to(base):
            raise OSError(f"{ref} resolves outside the brief's folder")
        if not target.is_file():
            raise FileNotFoundError(2, f"no such file {target}")
        return target.read_bytes()

    return validate_brief(parse_brief_text(text, str(path)), str(path), read_local, brand_kits_root)


def brief_json_schema() -> dict:
    schema = Brief.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "creative-assets campaign brief"
    return schema
