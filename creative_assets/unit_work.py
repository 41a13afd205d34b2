"""One unit's work at each stage, as plain functions (no Dagster).

The unit assets (creative_assets/assets/*.py) call these once per unit and add what belongs to
orchestration: batching, threads for remote providers, metadata and previews. The benchmark's floor
(bench/floor.py) calls the same functions directly, so "the same work, nothing else" is literally
the same code. Each image is passed through ``hold(name, image)`` as it is produced and the stage value
keeps what that returns: the caller decides how to hold images (encoded file bytes in a batched
step, or the pixels as they are) and can take a preview on the way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import Image

from creative_assets.brand_kit import BrandKit
from creative_assets.brief_store import BriefRecord, unit_fingerprint
from creative_assets.compliance import (
    CheckOutcome,
    CreativeContext,
    LogoRules,
    blocks_selection,
    default_font_resolver,
    evaluate_creative,
)
from creative_assets.layout import ratio_dir
from creative_assets.placements import Placement
from creative_assets.render.branding import apply_branding
from creative_assets.render.candidates import CandidatePlan, prepare_supplied_product
from creative_assets.render.export import BudgetError, PlacementExport, export_extension, export_for_placement
from creative_assets.render.finals import LocaleText, render_final
from creative_assets.render.layout import placement_for_key
from creative_assets.render.phash import NEAR_DUPLICATE_BITS, near_duplicate, phash
from creative_assets.render.product_mask import box_footprint, product_visibility
from creative_assets.review.decisions import ReviewState
from creative_assets.scoring import (
    ScoringWeights,
    compliance_signal,
    image_signals,
    rank,
    render_signals,
    weighted_score,
)
from creative_assets.stages import (
    BrandedCandidate,
    BrandedCandidates,
    BrandedRender,
    CandidateRender,
    FinalCandidate,
    FinalCreatives,
    ImageCandidate,
    ImageCandidates,
    LocaleContextPack,
    LocalizedCopy,
    RejectedCreative,
    ScoredCandidate,
    SelectedCreative,
    UnitBrief,
)
from creative_assets.units import UnitKey

Hold = Callable[[str, Image.Image], "Image.Image | bytes"]
#: signs an encoded export: (the PNG final it encodes, the export's name, its bytes) -> signed bytes
SealExport = Callable[[str, str, bytes], bytes]
#: bytes kept free of a placement's budget when a signed export has to be encoded again to fit
SEAL_MARGIN = 1024


def unit_brief_value(record: BriefRecord, unit: UnitKey, kit: BrandKit, review: ReviewState) -> UnitBrief:
    """The live brief sliced to ``unit``, with the revision and feedback of its review log."""
    brief = record.brief
    product = next(p for p in brief.products if p.id == unit.product_id)
    return UnitBrief(
        unit=str(unit),
        campaign_id=brief.campaign_id,
        campaign_name=brief.name,
        brand=brief.brand,
        brand_fingerprint=kit.fingerprint(),
        locale=unit.locale,
        source_locale=brief.source_locale,
        product=product,
        message=brief.message,
        cta=brief.cta,
        localized=brief.localized_messages.get(unit.locale),
        audience=brief.audience,
        disclaimer=brief.disclaimer,
        disclaimer_short=brief.disclaimer_short,
        banned_words=brief.banned_words,
        visual_direction=brief.visual_direction,
        candidates=brief.candidates,
        motion=brief.motion,
        aspect_ratios=brief.output_keys(),
        sizes={r: brief.size_for(r) for r in brief.output_keys()},
        templates=list(brief.templates or []),
        base_seed=brief.base_seed(),
        brief_version=record.version,
        brief_sha=record.sha,
        input_fingerprint=unit_fingerprint(record, unit),
        product_asset_keys=record.asset_keys.get(product.id, []),
        revision=review.revision_requested,
        feedback=review.feedback,
        revision_decision=review.request.id if review.request else None,
        rejected=[
            RejectedCreative(
                decision=e.id,
                candidate=e.candidate,
                content=e.content,
                phash=e.phash,
                style=e.style,
                layouts=e.layouts,
            )
            for e in review.rejected
        ],
    )


@dataclass(frozen=True)
class ProductInput:
    """What the image provider gets for a unit's product, and the input hashes it is recorded with."""

    image: Image.Image | None  # the supplied packshot, cut out; None: the provider generates one
    cut_method: str
    hashes: dict[str, str]


def product_input(
    read: Callable[[str], bytes], brief: UnitBrief, cutouts: dict[str, tuple[Image.Image, str]]
) -> ProductInput:
    """The unit's supplied product image, cut out once per image and step (``cutouts`` is the cache)."""
    hashes = {"unit_brief": brief.brief_sha[:16], "brand_kit": brief.brand_fingerprint}
    if not brief.product_asset_keys:
        return ProductInput(None, "", hashes)
    key = brief.product_asset_keys[0]
    if key not in cutouts:
        cutouts[key] = prepare_supplied_product(read(key))
    image, cut_method = cutouts[key]
    hashes["product_image"] = key.rsplit("/", 1)[-1].split(".")[0][:16]
    return ProductInput(image, cut_method, hashes)


def candidate_file(ratio: str, index: int, suffix: str) -> str:
    return f"{ratio_dir(ratio)}/candidate-{index + 1}.{suffix}"


def candidate_record(plan: CandidatePlan, draft, supplied: bool, cut_method: str) -> ImageCandidate:
    """The manifest entry of one drawn candidate (``draft``: a resources.providers.CandidateDraft)."""
    renders = {
        ratio: CandidateRender(
            ratio=ratio,
            file=candidate_file(ratio, plan.index, "jpg"),
            width=image.width,
            height=image.height,
            layout=plan.layouts[ratio],
            product_bbox=bbox,
            product=draft.footprints.get(ratio) or box_footprint(image.size, bbox),
        )
        for ratio, (image, bbox) in draft.renders.items()
    }
    return ImageCandidate(
        index=plan.index,
        seed=plan.seed,
        style=plan.style,
        emphasis=plan.emphasis,
        palette=plan.palette.to_dict(),
        source=draft.source,
        method=f"supplied:{cut_method}" if supplied and draft.method == "supplied" else draft.method,
        prompt=draft.prompt,
        renders=renders,
    )


def brand_candidates(raw: ImageCandidates, kit: BrandKit, hold: Hold) -> BrandedCandidates:
    """Stage 4: the logo placed on every candidate at every ratio."""
    value = BrandedCandidates(brand=kit.slug, brand_fingerprint=kit.fingerprint(), candidates=[])
    for cand in raw.candidates:
        renders = {}
        for ratio, render in cand.renders.items():
            image, logo = apply_branding(raw.image(render.file), render.layout, kit)
            value.put_image(render.file, hold(render.file, image))  # same layout as raw/
            renders[ratio] = BrandedRender(
                ratio=ratio,
                file=render.file,
                width=image.width,
                height=image.height,
                layout=render.layout,
                product_bbox=render.product_bbox,
                logo=logo,
                product=render.product,
            )
        value.candidates.append(
            BrandedCandidate(index=cand.index, seed=cand.seed, style=cand.style, renders=renders)
        )
    return value


def brand_palette(kit: BrandKit) -> list[str]:
    return [*kit.palette.brand_colours(), kit.palette.neutral_light, kit.palette.neutral_dark]


def logo_rules(logos: dict, rules, short: int) -> LogoRules:
    """What the logo check looks for on a creative whose short side is ``short``: the kit's minimum
    width (at least ``min_width_px``) up to its maximum share of the short side, which on a small
    banner (300x250: 32 % is 80 px) is below the 140 px minimum the layout still places the logo at,
    so the range reaches the minimum (the logo was not found on banners at all)."""
    min_px = max(rules.min_width_px, round(short * rules.min_width_ratio))
    return LogoRules(
        artwork=logos,
        min_px=min_px,
        max_px=max(round(short * rules.max_width_ratio), min_px),
        clear_space=rules.clear_space,
    )


def placement_export(
    image: Image.Image, placement: Placement, key: str, index: int, seal: SealExport | None = None
) -> tuple[str, bytes | None, PlacementExport | None]:
    """The creative encoded for its placement's byte budget (render/export.py), named
    ``export/<output>/candidate-N.<ext>``, and signed (``seal``) with the credential its PNG carries:
    a signed file over the budget is encoded again with the credential's size kept free. (name,
    None, None) when no format fits at the minimum quality (the ``placement_spec`` check then fails
    the creative). The record's bytes and SHA-256 are the signed file's."""
    png = candidate_file(key, index, "png")

    def encoded(budget: int | None) -> tuple[str, bytes, PlacementExport]:
        data, export = export_for_placement(image, placement, budget)
        name = f"export/{candidate_file(key, index, export_extension(export.format))}"
        return name, (seal(png, name, data) if seal else data), export

    try:
        name, data, export = encoded(None)
        overhead = len(data) - export.bytes
        if len(data) > placement.max_bytes and overhead > 0:
            name, data, export = encoded(placement.max_bytes - overhead - SEAL_MARGIN)
    except BudgetError:
        return "", None, None
    update = {
        "file": name,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "max_bytes": placement.max_bytes,
        "credential_bytes": len(data) - export.bytes,
    }
    return name, data, export.model_copy(update=update)


def final_creatives_value(
    unit: UnitKey,
    branded: BrandedCandidates,
    copy: LocalizedCopy,
    pack: LocaleContextPack,
    kit: BrandKit,
    hold: Hold,
    seal_export: SealExport | None = None,
) -> tuple[FinalCreatives, dict[int, dict[str, dict[str, CheckOutcome]]]]:
    """Stage 6: every candidate rendered with its copy at every ratio and judged by the compliance
    checks on its final pixels. Returns the value and the outcomes (candidate -> ratio -> check name -> outcome)."""
    loc = LocaleText(copy.language_code, copy.direction, copy.script, copy.line_breaking)
    variants = {v.candidate: v for v in copy.variants}
    logos = {v: kit.logo_image(v) for v in ("primary", "on_dark", "on_light") if getattr(kit.logo, v)}
    palette = brand_palette(kit)
    rules = kit.logo_placement
    # the checks resolve font files like the renderer: the kit's own folder first (a kit that ships its
    # own fonts renders with them, so glyph_coverage must find them too)
    fonts = default_font_resolver([kit.root] if kit.root else [])
    value = FinalCreatives(locale=unit.locale, candidates=[])
    outcomes: dict[int, dict[str, dict[str, CheckOutcome]]] = {}
    for cand in branded.candidates:
        renders = {}
        for ratio, render in cand.renders.items():
            before = branded.image(render.file)
            image, report = render_final(
                before,
                render.layout,
                variants[cand.index],
                kit,
                loc,
                render.logo,
                render.product_bbox,
            )
            if render.product is not None:  # what of the placed product the copy and logo leave visible
                report = report.model_copy(
                    update={
                        "product": render.product,
                        "product_visible": product_visibility(
                            render.product, before, image, [render.logo.box]
                        ),
                    }
                )
            short = min(image.size)
            export_name, data, export = placement_export(
                image, placement_for_key(ratio), ratio, cand.index, seal_export
            )
            checks = evaluate_creative(
                CreativeContext(
                    image=image,
                    report=report,
                    copy=variants[cand.index],
                    rules=pack.rules,
                    line_breaking=copy.line_breaking,
                    direction=copy.direction,
                    logo=logo_rules(logos, rules, short),
                    palette_hex=palette,
                    font_resolver=fonts,
                    max_upscale=kit.product_imagery.max_upscale,
                    copy_sources=copy.sources,
                    copy_warnings=copy.warnings,
                    export_data=data,
                    export=export,
                )
            )
            outcomes.setdefault(cand.index, {})[ratio] = checks
            name = candidate_file(ratio, cand.index, "png")
            value.put_image(name, hold(name, image))
            if data is not None:
                value.put_image(export_name, data)
            renders[ratio] = report.model_copy(
                update={
                    "file": name,
                    "export": export,
                    "compliance": [c.model_dump(mode="json") for c in checks.values()],
                }
            )
        value.candidates.append(
            FinalCandidate(index=cand.index, seed=cand.seed, style=cand.style, renders=renders)
        )
    return value, outcomes


def selection_value(
    unit: UnitKey,
    finals: FinalCreatives,
    kit: BrandKit,
    weights: ScoringWeights,
    final_prefix: str,
    rejected: Sequence[RejectedCreative] = (),
) -> SelectedCreative:
    """Stage 7: every candidate scored on measured signals (mean over its ratios); compliant
    candidates ranked first; the best one's files named ``<ratio>.png`` (the caller copies the bytes).
    Compliant means no ERROR finding of a blocking compliance check (product_share included) and no
    file whose Content Credential is blocked (``finals.credentials[file]["blocked"]``).

    A candidate whose pixels at any ratio equal or nearly equal (perceptual hash, render/phash.py)
    a creative a reviewer rejected is never selected; if no compliant, new candidate is left the
    unit is blocked (no files) and says why."""
    palette = brand_palette(kit)
    scores, breakdowns, compliant, repeats, hashes = {}, {}, {}, {}, {}
    for cand in finals.candidates:
        per_ratio = []
        compliant[cand.index] = True
        hashes[cand.index] = {}
        for report in cand.renders.values():
            short = min(report.width, report.height)
            head_max = round(short * (0.115 if report.layout.placement_class != "landscape" else 0.10))
            image = finals.image(report.file)
            hashes[cand.index][report.ratio] = phash(image)
            per_ratio.append(
                {
                    **render_signals(report, head_max),
                    **image_signals(image, palette),
                    "compliance": compliance_signal(report.compliance),
                }
            )
            if any(blocks_selection(o) for o in report.compliance):
                compliant[cand.index] = False
            if finals.credentials.get(report.file, {}).get("blocked"):  # content_credentials, ai_disclosure
                compliant[cand.index] = False
        mean = {k: round(sum(s[k] for s in per_ratio) / len(per_ratio), 4) for k in per_ratio[0]}
        breakdowns[cand.index] = mean
        scores[cand.index] = weighted_score(mean, weights)
        repeats[cand.index] = any(
            near_duplicate(h, r.phash[ratio])
            for ratio, h in hashes[cand.index].items()
            for r in rejected
            if ratio in r.phash
        )
    # compliant, new candidates first (ERROR findings and repeats of rejected creatives are never
    # selected)
    order = sorted(rank(scores), key=lambda i: (not compliant[i], repeats[i]))
    by_index = {c.index: c for c in finals.candidates}
    value = SelectedCreative(
        unit=str(unit), best=order[0], files={}, ranking=[], weights=weights.model_dump()
    )
    for position, index in enumerate(order, 1):
        value.ranking.append(
            ScoredCandidate(
                index=index,
                rank=position,
                score=scores[index],
                compliant=compliant[index],
                repeats_rejected=repeats[index],
                phash=hashes[index],
                breakdown=breakdowns[index],
                files={r: f"{final_prefix}/{rep.file}" for r, rep in by_index[index].renders.items()},
            )
        )
    if not any(compliant.values()):
        value.status = "blocked"
        value.blocked_reason = blocked_reason(finals)
        return value  # no files: nothing non-compliant is ever copied to selected/
    if not any(compliant[i] and not repeats[i] for i in compliant):
        value.status = "blocked"
        value.blocked_reason = (
            "every compliant candidate repeats a creative the reviewer rejected (perceptual hash within "
            f"{NEAR_DUPLICATE_BITS} bits): request changes with different feedback, or re-run"
        )
        return value
    value.files = {ratio: f"{ratio_dir(ratio)}.png" for ratio in by_index[order[0]].renders}
    return value


def blocked_reason(finals: FinalCreatives) -> str:
    """Why no candidate of a unit can be selected: the checks with ERROR findings (the compliance
    checks and the Content Credentials ones), how many creatives each blocks, and the first finding
    of each."""
    counts: dict[str, int] = {}
    first: dict[str, str] = {}
    for cand in finals.candidates:
        for report in cand.renders.values():
            for outcome in report.compliance:
                if not blocks_selection(outcome):
                    continue
                counts[outcome["check"]] = counts.get(outcome["check"], 0) + 1
                errors = [f for f in outcome["findings"] if f["severity"] == "ERROR"]
                if errors and outcome["check"] not in first:
                    first[outcome["check"]] = (
                        f"candidate {cand.index + 1} @ {report.ratio}: {errors[0]['message']}"
                    )
    for cand in finals.candidates:  # Content Credentials (credentials_step.UnitSigning.finish)
        for report in cand.renders.values():
            for reason in finals.credentials.get(report.file, {}).get("blocked", []):
                check, _, message = reason.partition(": ")
                counts[check] = counts.get(check, 0) + 1
                first.setdefault(check, f"candidate {cand.index + 1} @ {report.ratio}: {message}")
    total = sum(len(c.renders) for c in finals.candidates)
    parts = [
        f"{check} fails {n} of {total} creatives (e.g. {first.get(check, '')})" for check, n in counts.items()
    ]
    return "no candidate is compliant: " + "; ".join(parts)
