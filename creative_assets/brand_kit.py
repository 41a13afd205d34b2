"""Brand kits: the brand's identity and rules, loaded from ``brand_kits/<brand>/brand.yaml``.

A kit is a folder holding ``brand.yaml`` and the files it names (logos, optional fonts).
Paths inside ``brand.yaml`` are relative to the kit folder. See README "Brand kits".
"""

from __future__ import annotations

import functools
import hashlib
from enum import Enum
from pathlib import Path
from typing import Annotated, Literal, get_args

import yaml
from PIL import Image
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from creative_assets import settings
from creative_assets.errors import BriefError, problems_from_validation_error
from creative_assets.input_policy import MAX_BRIEF_BYTES, TooLargeError, read_regular_file, shorten
from creative_assets.review.approvals import ApprovalPolicy
from creative_assets.slugs import SLUG_PATTERN
from creative_assets.templates import TEMPLATE_SUFFIXES
from creative_assets.term_skeleton import term_folds_to_something
from creative_assets.vocabulary import Problem, ScriptKey, Severity

HEX_COLOUR = r"^#[0-9A-Fa-f]{6}$"

#: Where brand kits live unless ``CREATIVE_ASSETS_BRAND_KITS`` points elsewhere.
DEFAULT_BRAND_KITS_DIR = Path(__file__).resolve().parent.parent / "brand_kits"

#: the approved short form of a legal line, for placements too small for the full one
ShortLegal = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LogoFiles(_Strict):
    """Logo artwork. PNG with an alpha channel. ``on_dark``/``on_light`` are optional variants."""

    primary: str = Field(description="Full-colour logo, PNG with transparency.")
    on_dark: str | None = Field(None, description="Variant for dark backgrounds (usually white/light).")
    on_light: str | None = Field(None, description="Variant for light backgrounds (usually dark).")


class Palette(_Strict):
    """Brand colours as ``#RRGGBB``."""

    primary: str = Field(pattern=HEX_COLOUR)
    secondary: str = Field(pattern=HEX_COLOUR)
    accent: str = Field(pattern=HEX_COLOUR)
    neutral_light: str = Field("#FFFFFF", pattern=HEX_COLOUR, description="Light background/neutral.")
    neutral_dark: str = Field("#111111", pattern=HEX_COLOUR, description="Dark background/neutral.")
    text_on_light: str = Field("#111111", pattern=HEX_COLOUR, description="Text colour on light grounds.")
    text_on_dark: str = Field("#FFFFFF", pattern=HEX_COLOUR, description="Text colour on dark grounds.")

    def brand_colours(self) -> list[str]:
        """The distinctive colours (used for palette-fit measurements)."""
        return [self.primary, self.secondary, self.accent]

    def all_colours(self) -> list[str]:
        return [
            self.primary,
            self.secondary,
            self.accent,
            self.neutral_light,
            self.neutral_dark,
            self.text_on_light,
            self.text_on_dark,
        ]


#: script keys a kit's font roles may name: the vocabulary's scripts, ``cjk`` for all CJK scripts at
#: once and ``default`` for any other
SCRIPT_KEYS = ("default", "cjk", *get_args(ScriptKey))


class FontRole(_Strict):
    """Font files for one typographic role, with per-script fallbacks.

    ``default`` is used for any script without its own entry. Values are file names looked up in the
    kit folder first, then in the bundled font folder, then in system font folders.
    """

    default: str
    latin: str | None = None
    cyrillic: str | None = None
    greek: str | None = None
    arabic: str | None = None
    hebrew: str | None = None
    cjk: str | None = None
    japanese: str | None = None
    chinese_simplified: str | None = None
    chinese_traditional: str | None = None
    korean: str | None = None
    thai: str | None = None
    lao: str | None = None
    khmer: str | None = None
    myanmar: str | None = None
    devanagari: str | None = None


class Fonts(_Strict):
    headline: FontRole
    body: FontRole
    cta: FontRole | None = Field(None, description="Defaults to the headline role.")


class Corner(str, Enum):
    top_left = "top-left"
    top_right = "top-right"
    bottom_left = "bottom-left"
    bottom_right = "bottom-right"


class LogoPlacement(_Strict):
    """Logo placement rules."""

    preferred_corner: Corner = Corner.top_left
    mirror_for_rtl: bool = Field(True, description="Swap left/right corners for right-to-left locales.")
    min_width_ratio: float = Field(
        0.14, gt=0, le=0.5, description="Minimum logo width as a fraction of the canvas's short side."
    )
    min_width_px: int = Field(120, ge=16, description="Absolute minimum logo width in pixels.")
    max_width_ratio: float = Field(
        0.30, gt=0, le=0.6, description="Maximum logo width (short-side fraction)."
    )
    clear_space: float = Field(
        0.25, ge=0, le=2, description="Clear space around the logo, as a fraction of the logo's height."
    )
    allow_plate: bool = Field(
        True,
        description="May the logo sit on a neutral backing plate when no variant reads on the image? "
        "Brands that forbid plates get a compliance failure instead.",
    )

    @model_validator(mode="after")
    def _min_below_max(self) -> LogoPlacement:
        if self.min_width_ratio > self.max_width_ratio:
            raise ValueError("min_width_ratio must not exceed max_width_ratio")
        return self

    def layout_arguments(self) -> dict[str, object]:
        """These rules as the logo keyword arguments of ``render.layout.plan_layout`` (the one
        translation, used by the renderer, preflight and the template preview)."""
        return {
            "logo_corner": self.preferred_corner.value,
            "logo_min_ratio": self.min_width_ratio,
            "logo_max_ratio": self.max_width_ratio,
            "logo_min_px": self.min_width_px,
            "clear_space": self.clear_space,
            "mirror_logo_for_rtl": self.mirror_for_rtl,
            "logo_allow_plate": self.allow_plate,
        }


class WordRule(_Strict):
    """A banned word or claim, with the reason and whether it blocks delivery."""

    term: str = Field(min_length=1)
    reason: str = ""
    severity: Severity = "WARN"


class ProductImagery(_Strict):
    """How supplied product photos may be used."""

    max_upscale: float = Field(
        1.5,
        ge=1.0,
        le=8.0,
        description="Largest factor a supplied product image may be enlarged by in any creative "
        "(placed pixels per source pixel); beyond it the preflight and the source_resolution check "
        "flag the image as too small.",
    )


class BrandKit(_Strict):
    """A brand kit (``brand_kits/<slug>/brand.yaml``)."""

    slug: str = Field(pattern=SLUG_PATTERN, description="Folder name of the kit.")
    display_name: str = Field(min_length=1)
    tagline: str | None = None
    logo: LogoFiles
    palette: Palette
    fonts: Fonts
    tone_of_voice: str = Field("", description="How the brand speaks; fed to copy providers.")
    visual_style: str = Field("", description="Photography/illustration direction; fed to image providers.")
    banned_words: list[WordRule] = Field(default_factory=list)
    banned_claims: list[WordRule] = Field(default_factory=list)
    required_disclaimer: str | None = Field(None, description="Short legal line printed on every creative.")
    required_disclaimer_short: ShortLegal | None = Field(
        None,
        description="The legal team's approved short form of required_disclaimer ('Terms apply.'), set "
        "only where the full line cannot fit at its minimum size (small banners).",
    )
    logo_placement: LogoPlacement = LogoPlacement()
    cta_style: Literal["pill", "rounded", "square"] = "pill"
    product_imagery: ProductImagery = ProductImagery()
    credit: str | None = Field(
        None, description="XMP photoshop:Credit of every final (default: display_name)."
    )
    copyright: str | None = Field(
        None, description="XMP dc:rights of every final (default: '© display_name')."
    )
    approvals: ApprovalPolicy = Field(
        default_factory=ApprovalPolicy,
        description="Approval stages a unit needs before delivery (README 'Teams, roles and approvals').",
    )

    #: Absolute path of the kit folder (set by the loader, not part of the YAML).
    root: str = Field("", exclude=True)

    @field_validator("banned_words", "banned_claims", mode="before")
    @classmethod
    def _strings_are_rules(cls, value: object) -> object:
        if isinstance(value, list):
            return [{"term": v} if isinstance(v, str) else v for v in value]
        return value

    def path(self, name: str) -> Path:
        return Path(self.root) / name

    def logo_image(self, variant: Literal["primary", "on_dark", "on_light"] = "primary") -> Image.Image:
        """The logo as RGBA (a private copy); falls back to the primary artwork when a variant is absent."""
        path = self.path(getattr(self.logo, variant) or self.logo.primary)
        return _decode_logo(str(path), path.stat().st_mtime_ns).copy()

    def logo_image_fitted(
        self, variant: Literal["primary", "on_dark", "on_light"], box_w: int, box_h: int
    ) -> Image.Image:
        """The logo scaled (Lanczos) to fit ``box_w x box_h``, aspect kept (a private copy): resampled
        once per artwork version and box, since every creative of a ratio places it at one size."""
        path = self.path(getattr(self.logo, variant) or self.logo.primary)
        return _fitted_logo(str(path), path.stat().st_mtime_ns, box_w, box_h).copy()

    def fingerprint(self) -> str:
        """Hash of brand.yaml, every file it references and the kit's own templates (``templates/``,
        layouts and motion): changes when the kit changes, so its units are regenerated. The
        approval stages are not part of it: they change who signs off, not the pixels."""
        h = hashlib.sha256()
        h.update(self.model_dump_json(exclude={"root", "approvals"}).encode())
        for name in sorted({n for n in self.logo.model_dump().values() if n}):
            h.update(self.path(name).read_bytes())
        templates = self.path("templates")
        if self.root and templates.is_dir():
            for path in sorted(p for p in templates.rglob("*") if p.suffix in TEMPLATE_SUFFIXES):
                try:  # with the template loader's limits; a file it refuses, it reports by name
                    data = read_regular_file(path, MAX_BRIEF_BYTES)
                except (OSError, TooLargeError):
                    continue
                h.update(path.relative_to(templates).as_posix().encode() + b"\0" + data)
        return h.hexdigest()[:16]


@functools.lru_cache(maxsize=32)
def _decode_logo(path: str, mtime_ns: int) -> Image.Image:
    """Decoded once per file version: every creative of every unit places the same artwork."""
    with Image.open(path) as im:
        return im.convert("RGBA")


@functools.lru_cache(maxsize=256)
def _fitted_logo(path: str, mtime_ns: int, box_w: int, box_h: int) -> Image.Image:
    art = _decode_logo(path, mtime_ns)
    scale = min(box_w / art.width, box_h / art.height)
    size = (max(1, round(art.width * scale)), max(1, round(art.height * scale)))
    return art.resize(size, Image.Resampling.LANCZOS)


def brand_kits_dir() -> Path:
    return Path(settings.get("CREATIVE_ASSETS_BRAND_KITS") or DEFAULT_BRAND_KITS_DIR)


def available_brand_kits(root: Path | None = None) -> list[str]:
    root = root or brand_kits_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "brand.yaml").is_file())


def load_brand_kit(slug: str, root: Path | None = None) -> BrandKit:
    """Load and validate a kit; raises :class:`BriefError` naming the file and field on any problem."""
    root = root or brand_kits_dir()
    folder = root / slug
    path = folder / "brand.yaml"
    if not path.is_file():
        known = ", ".join(available_brand_kits(root)) or "none"
        raise BriefError(
            str(path),
            # the kit folder's location on the server is not the brief author's business
            [Problem("brand", f"no brand kit named {shorten(slug)}; available kits: {known}")],
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise BriefError(str(path), [Problem("(file)", f"not valid YAML: {exc}")]) from exc
    if not isinstance(raw, dict):
        raise BriefError(str(path), [Problem("(file)", "must be a mapping of fields")])
    raw.setdefault("slug", slug)
    try:
        kit = BrandKit.model_validate({**raw, "root": str(folder.resolve())})
    except ValidationError as exc:
        raise BriefError(str(path), problems_from_validation_error(exc)) from exc
    problems: list[Problem] = []
    if kit.slug != slug:
        problems.append(Problem("slug", f"is {kit.slug!r} but the kit folder is {slug!r}; they must match"))
    for field_name in ("banned_words", "banned_claims"):
        for i, rule in enumerate(getattr(kit, field_name)):
            if not term_folds_to_something(rule.term):
                problems.append(
                    Problem(
                        f"{field_name}[{i}]", f"{shorten(rule.term)} folds to nothing; it could never match"
                    )
                )
    for field, name in kit.logo.model_dump().items():
        if not name:
            continue
        file = kit.path(name)
        try:
            with Image.open(file) as im:
                im.load()
                if "A" not in im.getbands() and "transparency" not in im.info:
                    problems.append(
                        Problem(f"logo.{field}", f"{name} has no alpha channel; logos must be RGBA PNG")
                    )
        except (OSError, ValueError) as exc:
            problems.append(Problem(f"logo.{field}", f"cannot read image {file}: {exc}"))
    if problems:
        raise BriefError(str(path), problems)
    return kit
