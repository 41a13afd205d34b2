"""AI disclosure for one unit's finals: what each final's credential declares (from the stage values
that made it), the visible AI label a market requires, and the two per-unit check verdicts
(``content_credentials``, ``ai_disclosure``). Pure: no Dagster; the finals asset calls it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from creative_assets.brand_kit import BrandKit
from creative_assets.credentials import (
    AI_SOURCES,
    IPTC,
    Ingredient,
    Provenance,
    Verification,
    mime_type,
    read_credential,
    sha256,
    source_type,
)
from creative_assets.stage_registry import IMAGE_CANDIDATES
from creative_assets.stages import (
    BrandedCandidates,
    FinalCreatives,
    ImageCandidates,
    LocaleContextPack,
    LocalizedCopy,
    UnitBrief,
)

LABEL_SEPARATOR = " · "


def final_name(ratio: str, index: int) -> str:
    return f"{ratio.replace(':', 'x')}/candidate-{index + 1}.png"


@dataclass
class UnitInputs:
    """A unit's ingredient bytes, read once per unit, and their SHA-256."""

    packshot: tuple[str, bytes] | None  # storage key, bytes
    raw: dict[str, bytes]  # raw file name -> the stored JPEG bytes
    logos: dict[str, tuple[str, bytes]]  # logo variant -> kit file name, bytes
    hashes: dict[str, str] = field(default_factory=dict)  # ingredient key -> sha256
    #: what the packshot's own C2PA credential declares (a brand may supply AI-made "packshots")
    packshot_source: str | None = None

    def __post_init__(self):
        if self.packshot:
            self.hashes[self.packshot[0]] = sha256(self.packshot[1])
            self.packshot_source = declared_source(self.packshot[1], self.packshot[0])
        for name, data in self.raw.items():
            self.hashes[f"{IMAGE_CANDIDATES}/{name}"] = sha256(data)
        for name, data in self.logos.values():
            self.hashes[name] = sha256(data)

    def bytes_of(self, ingredient: Ingredient) -> bytes:
        """The bytes an ingredient was hashed from."""
        if ingredient.role == "packshot":
            return self.packshot[1]
        if ingredient.role == "candidate":
            return self.raw[ingredient.key.removeprefix(f"{IMAGE_CANDIDATES}/")]
        return next(data for name, data in self.logos.values() if name == ingredient.key)


def declared_source(data: bytes, name: str) -> str | None:
    """The digital source type an input's own Content Credential declares (None: it has none)."""
    try:
        fmt = mime_type(name.lower())
    except ValueError:
        return None
    cred = read_credential(data, fmt)
    return cred.source_type if cred.present and not cred.integrity_failures else None


def ai_label_for(
    pack: LocaleContextPack, raw: ImageCandidates, packshot_source: str | None = None
) -> str | None:
    """The visible label the unit's market requires on AI imagery (knowledge base ``ai_label``),
    when the unit's imagery is AI (not for the brand's photos or purely algorithmic drawing)."""
    label = pack.locale.get("ai_label")
    if not label:
        return None
    ai = any(source_type(raw.provider, c.source, packshot_source) in AI_SOURCES for c in raw.candidates)
    return label if ai else None


def with_ai_label(copy: LocalizedCopy, label: str | None) -> LocalizedCopy:
    """The copy with ``label`` leading the legal line (the template's legal slot) of every variant,
    and its short form."""
    if not label:
        return copy

    def labelled(line: str | None) -> str:
        return label + (LABEL_SEPARATOR + line if line else "")

    variants = [
        v.model_copy(
            update={
                "disclaimer": labelled(v.disclaimer),
                "disclaimer_short": labelled(v.disclaimer_short) if v.disclaimer_short else None,
            }
        )
        for v in copy.variants
    ]
    return copy.model_copy(update={"variants": variants})


def unit_provenance(
    brief: UnitBrief,
    raw: ImageCandidates,
    branded: BrandedCandidates,
    inputs: UnitInputs,
    run_id: str,
    ai_label: str | None,
) -> dict[str, Provenance]:
    """final file name -> what its credential declares."""
    by_index = {c.index: c for c in raw.candidates}
    out = {}
    for cand in branded.candidates:
        source = by_index[cand.index]
        for ratio, render in cand.renders.items():
            raw_file = source.renders[ratio].file
            ingredients = []
            if inputs.packshot is not None and source.source == "supplied":
                key = inputs.packshot[0]
                ingredients.append(
                    Ingredient(
                        "packshot",
                        f"packshot: {key.rsplit('/', 1)[-1]}",
                        ingredient_format(key),
                        inputs.hashes[key],
                        key,
                    )
                )
            ingredients.append(
                Ingredient(
                    "candidate",
                    f"candidate: {IMAGE_CANDIDATES}/{raw_file}",
                    "image/jpeg",
                    inputs.hashes[f"{IMAGE_CANDIDATES}/{raw_file}"],
                    f"{IMAGE_CANDIDATES}/{raw_file}",
                )
            )
            logo_name = inputs.logos[render.logo.variant][0]
            ingredients.append(
                Ingredient(
                    "logo",
                    f"logo: {logo_name}",
                    ingredient_format(logo_name),
                    inputs.hashes[logo_name],
                    logo_name,
                )
            )
            out[final_name(ratio, cand.index)] = Provenance(
                campaign=brief.campaign_id,
                locale=brief.locale,
                product=brief.product.id,
                candidate=cand.index + 1,
                ratio=ratio,
                run_id=run_id,
                brief_version=brief.brief_version,
                provider=raw.provider,
                model=raw.model,
                product_source=source.source,
                method=source.method,
                ingredients=tuple(ingredients),
                ai_label=ai_label,
                packshot_source=inputs.packshot_source if source.source == "supplied" else None,
            )
    return out


def video_provenance(
    brief: UnitBrief,
    raw: ImageCandidates,
    still: dict,
    ingredients: tuple[Ingredient, ...],
    *,
    candidate: int,
    placement: str,
    run_id: str,
    video_provider: str,
    version: str,
    ai_label: str | None,
    clip: bool,
) -> Provenance:
    """What a motion file's credential declares: the still it animates (``still``: that final's
    ``FinalCreatives.credentials`` record) is its ``final`` ingredient, whose own credential keeps the
    still's chain; its imagery is the still's (``still_source``), or a composite with trained media
    when a generated clip moves behind it."""
    source = next(c for c in raw.candidates if c.index == candidate)
    return Provenance(
        campaign=brief.campaign_id,
        locale=brief.locale,
        product=brief.product.id,
        candidate=candidate + 1,
        ratio=placement,
        run_id=run_id,
        brief_version=brief.brief_version,
        provider=video_provider,
        model=version,
        product_source=source.source,
        method=source.method,
        ingredients=ingredients,
        ai_label=ai_label,
        still_source=IPTC + still["digital_source_type"],
        clip_provider=video_provider if clip else None,
    )


def ingredient_format(name: str) -> str:
    """The media type an ingredient file is declared with."""
    try:
        return mime_type(name.lower())
    except ValueError:
        return "application/octet-stream"


def kit_credit(kit: BrandKit) -> tuple[str, str]:
    """(credit, copyright) for XMP, from the brand kit."""
    return kit.credit or kit.display_name, kit.copyright or f"© {kit.display_name}"


# -- per-unit verdicts --------------------------------------------------------------------------------


@dataclass
class Verdict:
    passed: bool
    severity: str  # ERROR | WARN
    description: str
    figures: dict
    failing: list[dict]


def credentials_verdict(results: dict[str, Verification], disabled: str | None, required: bool) -> Verdict:
    """``content_credentials`` for one unit: every final read back verifies."""
    if disabled is not None:
        if required:
            return Verdict(
                False,
                "ERROR",
                f"configuration error: content credentials are required in production but disabled ({disabled})",
                {"required": True},
                [],
            )
        return Verdict(
            False,
            "WARN",
            f"content credentials are disabled: {disabled}. The finals carry no C2PA manifest",
            {"required": False},
            [],
        )
    failing = [{"file": name, "problems": v.problems} for name, v in sorted(results.items()) if not v.passed]
    creds = [v.credential for v in results.values()]
    figures = {
        "finals": len(results),
        "verified": len(results) - len(failing),
        "test_signed": sum(c.test_signed for c in creds),
        "trusted": sum(c.trusted for c in creds),
        "digital_source_types": sorted({(c.source_type or "none").rsplit("/", 1)[-1] for c in creds}),
    }
    if failing:
        first = failing[0]
        return Verdict(
            False,
            "ERROR",
            f"{len(failing)} of {len(results)} finals fail verification, e.g. {first['file']}: "
            f"{first['problems'][0]}",
            figures,
            failing,
        )
    test = " (TEST-SIGNED with the local test CA)" if figures["test_signed"] else ""
    return Verdict(
        True,
        "ERROR",
        f"all {len(results)} finals carry a valid C2PA credential matching what the pipeline did{test}",
        figures,
        [],
    )


def disclosure_verdict(provenance: dict[str, Provenance], finals: FinalCreatives) -> Verdict:
    """``ai_disclosure`` for one unit: where the market requires a visible AI label, every final shows
    it in the legal line, fitted (not clipped)."""
    failing, labelled = [], 0
    reports = {r.file: r for c in finals.candidates for r in c.renders.values()}
    for name, prov in sorted(provenance.items()):
        if not prov.ai_label:
            continue
        labelled += 1
        block = next((b for b in reports[name].blocks if b.role == "disclaimer"), None)
        if block is None or not block.text.startswith(prov.ai_label):
            failing.append({"file": name, "problem": f"the legal line does not show {prov.ai_label!r}"})
        elif not block.fits:
            failing.append({"file": name, "problem": f"the legal line with {prov.ai_label!r} does not fit"})
    label = next((p.ai_label for p in provenance.values() if p.ai_label), None)
    figures = {"finals": len(provenance), "labelled": labelled, "label": label}
    if failing:
        return Verdict(
            False,
            "ERROR",
            f"{len(failing)} finals lack the required AI label: {failing[0]['problem']}",
            figures,
            failing,
        )
    if labelled:
        return Verdict(
            True,
            "ERROR",
            f"visible AI label {label!r} in the legal line of all {labelled} finals",
            figures,
            [],
        )
    return Verdict(
        True,
        "ERROR",
        "no visible AI label required (no AI imagery, or the market requires none)",
        figures,
        [],
    )
