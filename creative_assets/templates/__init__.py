"""Designer templates: a creative's layout as a file (docs/TEMPLATES.md teaches the format).

A template is a YAML or JSON file. The built-in ones live in ``creative_assets/templates/builtin/``;
a brand kit adds or overrides templates in ``brand_kits/<brand>/templates/`` (a kit template with a
built-in's name replaces it for that brand). :func:`template_json_schema` is the JSON Schema
(``creative-assets schema --template``) and :func:`load_template_file` validates one file, raising
:class:`~creative_assets.errors.BriefError` that names the file and every bad field.

A template declares:

- ``serves``: the placement classes it lays out (``square``, ``portrait``, ``vertical``,
  ``landscape``, ``banner``; see ``creative_assets.placements``);
- ``slots``: ``background``, ``product``, ``logo``, ``headline``, ``subline``, ``cta``, ``legal``
  and an optional ``badge``. Every box is ``[x0, y0, x1, y1]`` in fractions of the **content
  area**: the placement's safe area minus the band the logo reserves (at the top when the logo sits
  at the top, at the bottom otherwise; ``frame: safe`` measures a box against the whole safe area
  where it then stays clear of the logo). ``min_height`` / ``max_height`` clamp a box in fractions
  of the canvas's short side, keeping its ``anchor`` edge; ``layer`` orders drawing;
- each slot's allowed ``treatments``: text (``none``, ``gradient`` from the nearest canvas edge,
  ``panel`` in a brand colour, ``knockout``), logo (``variant`` and ``plate``), product
  (``cutout``, ``full-bleed``, ``framed``);
- ``text``: how the copy stacks (``anchor`` of the headline + sub-line group; ``cta: stacked``
  puts the button right under the sub-line, ``fixed`` keeps it in its own slot);
- ``rtl``: mirroring for right-to-left locales (``mirror``, and whether the logo follows the kit).

Layout planning (``creative_assets.render.layout.plan_layout``) executes a template against a
placement; there is no other layout code path. Pure module: imports no Dagster and no ``resources``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from creative_assets.brief_parse import decode_brief_bytes, parse_document
from creative_assets.errors import BriefError, Problem, problems_from_validation_error
from creative_assets.input_policy import MAX_BRIEF_BYTES, TooLargeError, read_regular_file
from creative_assets.placements import Placement, PlacementClass

BUILTIN_DIR = Path(__file__).with_name("builtin")
TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json")
SCHEMA_VERSION = 1

TextTreatment = Literal["none", "gradient", "panel", "knockout"]
ProductTreatment = Literal["cutout", "full-bleed", "framed"]
LogoVariant = Literal["auto", "primary", "on_dark", "on_light"]
Anchor = Literal["top", "bottom", "center"]
Corner = Literal["kit", "top-start", "top-end", "bottom-start", "bottom-end"]
SLOT_NAMES = ("background", "product", "logo", "headline", "subline", "cta", "legal", "badge")
TEXT_SLOTS = ("headline", "subline", "cta", "legal", "badge")

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
ShortFraction = Annotated[float, Field(gt=0.0, le=1.0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Geometry(_Strict):
    box: tuple[Fraction, Fraction, Fraction, Fraction] = Field(
        description="[x0, y0, x1, y1] in fractions of the content area (safe area minus the logo band)."
    )
    min_height: ShortFraction | None = Field(None, description="Fraction of the canvas short side.")
    max_height: ShortFraction | None = Field(None, description="Fraction of the canvas short side.")
    anchor: Anchor = Field("top", description="Edge kept when min/max height clamp the box.")
    frame: Literal["content", "safe"] = Field(
        "content",
        description="content: the box is relative to the content area (safe area minus the logo band); "
        "safe: relative to the whole safe area, used only when the box then stays clear of the logo "
        "(otherwise the content area is used).",
    )
    layer: StrictInt = Field(1, ge=0, le=20, description="Drawing order: higher is drawn later.")

    @field_validator("box")
    @classmethod
    def _ordered(cls, box):
        x0, y0, x1, y1 = box
        if x1 <= x0 or y1 <= y0:
            raise ValueError("must be [x0, y0, x1, y1] with x0 < x1 and y0 < y1")
        return box

    @field_validator("max_height")
    @classmethod
    def _max_not_below_min(cls, value, info):
        low = info.data.get("min_height")
        if value is not None and low is not None and low > value:
            raise ValueError(f"is smaller than min_height ({low})")
        return value


class BackgroundSlot(_Strict):
    layer: StrictInt = Field(0, ge=0, le=20)
    treatments: list[Literal["scene"]] = Field(default_factory=lambda: ["scene"], min_length=1)


class ProductSlot(_Geometry):
    treatments: list[ProductTreatment] = Field(
        default_factory=lambda: ["cutout", "full-bleed"],
        min_length=1,
        description="cutout: the isolated product; full-bleed: the photo cropped around its focal "
        "point; framed: a card (only when listed).",
    )


class LogoSlot(_Strict):
    anchor: Corner = Field("kit", description="kit: the brand kit's preferred corner.")
    variant: LogoVariant = Field("auto", description="auto: the kit variant with the best measured contrast.")
    plate: Literal["never", "if-kit-allows"] = Field(
        "if-kit-allows", description="A backing plate only where the kit allows one and no variant reads."
    )
    reserve: Literal["row", "column"] = Field(
        "row",
        description="row: the logo reserves a band across the safe area (top or bottom); column: a "
        "column at its side (strip banners).",
    )
    layer: StrictInt = Field(5, ge=0, le=20)


class TextSlot(_Geometry):
    treatments: list[TextTreatment] = Field(
        default_factory=lambda: ["none", "gradient", "panel"],
        min_length=1,
        description="Chosen by measured contrast among these, in this order of preference.",
    )
    align: Literal["start", "center"] = "start"
    max_lines: StrictInt | None = Field(None, ge=1, le=8)
    layer: StrictInt = Field(3, ge=0, le=20)
    optional: bool = Field(
        False,
        description="Sub-line only: left out (and reported) when it cannot reach its minimum type size, "
        "instead of failing the creative. The headline, CTA, badge and legal line are never optional.",
    )


class Slots(_Strict):
    background: BackgroundSlot = BackgroundSlot()
    product: ProductSlot
    logo: LogoSlot = LogoSlot()
    headline: TextSlot
    subline: TextSlot
    cta: TextSlot
    legal: TextSlot
    badge: TextSlot | None = None

    @model_validator(mode="after")
    def _only_the_subline_is_optional(self):
        for name in ("headline", "cta", "legal", "badge"):
            slot = getattr(self, name)
            if slot is not None and slot.optional:
                raise ValueError(
                    f"slots.{name}.optional is set, but only the sub-line may be left out: the {name} always is"
                )
        return self


class TextFlow(_Strict):
    anchor: Anchor = Field(
        "top", description="Where the headline + sub-line group sits in the headline slot's box."
    )
    cta: Literal["fixed", "stacked"] = Field(
        "fixed", description="stacked: the CTA button follows the sub-line in the same column."
    )
    without_legal: Literal["keep", "recentre"] = Field(
        "keep",
        description="recentre: a creative with no legal line centres the headline group and a fixed CTA "
        "over the legal slot's height too (strip banners, where the legal line runs under the row).",
    )


class RtlRules(_Strict):
    mirror: bool = Field(True, description="Mirror every slot left-right for right-to-left locales.")
    logo: Literal["kit", "mirror", "keep"] = Field(
        "kit", description="kit: follow the kit's logo_placement.mirror_for_rtl."
    )


class Template(_Strict):
    """One designer template (see the module docstring)."""

    schema_version: Literal[1] = SCHEMA_VERSION
    name: Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=48)]
    description: Annotated[str, Field(max_length=300)] = ""
    serves: Annotated[list[PlacementClass], Field(min_length=1)]
    aspect: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]] | None = Field(
        None, description="[min, max] width/height the template serves within its classes (banners)."
    )
    height_px: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]] | None = Field(
        None,
        description="[min, max] canvas height in px the template serves within its classes and aspect "
        "(small banners such as the 320x50 mobile banner need a layout of their own).",
    )
    text: TextFlow = TextFlow()
    rtl: RtlRules = RtlRules()
    slots: Slots
    #: where the template was loaded from (set by the loader, not written in the file)
    source: str = Field("", exclude=True)

    @model_validator(mode="after")
    def _product_clear_of_text(self):
        product = self.slots.product.box
        if self.aspect is not None and self.aspect[0] >= self.aspect[1]:
            raise ValueError("aspect must be [min, max] with min < max")
        if self.height_px is not None and self.height_px[0] > self.height_px[1]:
            raise ValueError("height_px must be [min, max] with min <= max")
        for name in TEXT_SLOTS:
            slot = getattr(self.slots, name)
            if slot is None or (name == "cta" and self.text.cta == "stacked"):
                continue
            if _overlap(product, slot.box):
                raise ValueError(
                    f"slots.product.box {list(product)} overlaps slots.{name}.box {list(slot.box)}: "
                    "no text may sit on the product"
                )
        return self

    def serves_class(self, placement_class: str) -> bool:
        return placement_class in self.serves

    def serves_placement(self, placement: Placement) -> bool:
        """Whether the template lays out ``placement``: its class, and its aspect and height when
        declared."""
        if not self.serves_class(placement.placement_class):
            return False
        if self.height_px is not None and not self.height_px[0] <= placement.height <= self.height_px[1]:
            return False
        return self.aspect is None or self.aspect[0] <= placement.aspect <= self.aspect[1]


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def template_json_schema() -> dict:
    schema = Template.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "creative-assets template"
    schema.get("properties", {}).pop("source", None)
    return schema


def _read(path: Path) -> object:
    """The file's mapping, read and parsed with the brief's limits (regular files only, size, depth,
    node count: input_policy, brief_parse), so a hostile file is refused, not followed."""
    try:
        data = read_regular_file(path, MAX_BRIEF_BYTES)
    except TooLargeError as exc:
        raise BriefError(
            str(path),
            [Problem("(file)", f"is {exc.size:,} bytes; a template may be at most {MAX_BRIEF_BYTES:,}")],
        ) from None
    except OSError as exc:
        raise BriefError(str(path), [Problem("(file)", f"cannot read: {exc}")]) from None
    text = decode_brief_bytes(data, str(path))
    return parse_document(text, str(path), "json" if path.suffix == ".json" else "yaml")


def load_template_file(path: Path) -> Template:
    """One template file, validated. Raises :class:`BriefError` naming the file and each field."""
    raw = _read(path)
    if not isinstance(raw, dict):
        raise BriefError(str(path), [Problem("(file)", "must be a mapping with name, serves and slots")])
    if "source" in raw:
        raise BriefError(str(path), [Problem("source", "is not a known field")])
    try:
        template = Template.model_validate(raw)
    except ValidationError as exc:
        raise BriefError(str(path), _template_problems(exc)) from None
    if path.stem != template.name:
        raise BriefError(
            str(path), [Problem("name", f"{template.name!r} must match the file name {path.stem!r}")]
        )
    return template.model_copy(update={"source": str(path)})


def _template_problems(exc: ValidationError) -> list[Problem]:
    """Validation problems; an error raised by a whole-template rule names the slot field itself."""
    out = []
    for p in problems_from_validation_error(exc):
        if p.field in ("(file)", "slots") and p.message.startswith("slots."):
            out.append(Problem(p.message.split(" ", 1)[0], p.message))
        else:
            out.append(p)
    return out


def load_template_dir(folder: Path) -> dict[str, Template]:
    """Every template in ``folder`` by name (all files validated; every problem reported)."""
    out: dict[str, Template] = {}
    problems: list[BriefError] = []
    if not folder.is_dir():
        return out
    for path in sorted(p for p in folder.iterdir() if p.suffix in TEMPLATE_SUFFIXES):
        try:
            template = load_template_file(path)
        except BriefError as exc:
            problems.append(exc)
            continue
        if template.name in out:
            problems.append(BriefError(str(path), [Problem("name", f"{template.name!r} is defined twice")]))
        out[template.name] = template
    if problems:
        raise problems[0]
    return dict(sorted(out.items()))


@cache
def builtin_templates() -> dict[str, Template]:
    """The project's built-in templates, in file-name order."""
    return load_template_dir(BUILTIN_DIR)


def templates_for(kit_root: Path | None) -> dict[str, Template]:
    """The templates a brand may use: the built-ins, with the kit's ``templates/`` folder added over
    them (a kit template replaces a built-in of the same name)."""
    out = dict(builtin_templates())
    if kit_root is not None:
        out.update(load_template_dir(Path(kit_root) / "templates"))
    return out


def templates_serving(templates: dict[str, Template], placement: Placement) -> list[str]:
    """Names of the templates that serve ``placement``, in order (the rotation)."""
    return [name for name, t in templates.items() if t.serves_placement(placement)]


def get_template(name: str, kit_root: Path | None = None) -> Template:
    found = templates_for(kit_root)
    if name not in found:
        raise KeyError(f"unknown template {name!r}; known: {', '.join(found)}")
    return found[name]
