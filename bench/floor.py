"""The floor: the project's own pipeline functions called directly in one process. No instance, no
run, no events, no metadata or previews; the same files written through the same ``write_stage``.

It mirrors the unit assets step for step (creative_assets/assets/*.py) and, like the IO manager between
steps, reads every stage back from storage before the next one uses it (JPEG stages are lossy), so its
outputs are the same bytes the orchestrated paths write (the benchmark compares them)."""

from __future__ import annotations

from pathlib import Path

from creative_assets.assets.rollup import compliance_table, summarise_campaign
from creative_assets.brief import load_brief
from creative_assets.brief_store import register_brief, require_brief
from creative_assets.checks import unit_verdicts
from creative_assets.compliance import evaluate_creative
from creative_assets.partitions import UnitKey
from creative_assets.render.branding import apply_branding
from creative_assets.render.candidates import plan_candidates, prepare_supplied_product
from creative_assets.render.finals import LocaleText, render_final
from creative_assets.render.fonts import font_for_role
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
    ScoredCandidate,
    SelectedCreative,
    UnitBrief,
    ratio_dir,
)
from resources.brand_kits import BrandKitLibrary
from resources.io_manager import read_stage, stage_prefix, write_stage
from resources.providers import BriefCopyProvider, BuiltinContextProvider, OfflineImageProvider
from resources.storage import LocalCreativeStorage


def run_floor(brief_path: Path, root: Path) -> int:
    """Register the brief, build every unit, write the campaign summary; return the unit count."""
    storage = LocalCreativeStorage(root=str(root))
    loaded = load_brief(brief_path)
    record, _ = register_brief(storage, loaded, Path(brief_path).read_bytes())
    kits = BrandKitLibrary()
    context_provider, image_provider, copy_provider = (
        BuiltinContextProvider(),
        OfflineImageProvider(),
        BriefCopyProvider(),
    )
    cutouts: dict = {}
    units = record.unit_keys()
    for unit in units:
        build_unit(storage, kits, unit, context_provider, image_provider, copy_provider, cutouts)
    campaign = record.campaign_id
    storage.write_text(
        f"campaigns/{campaign}/summary.csv", summarise_campaign(storage, campaign).to_csv(index=False)
    )
    storage.write_text(
        f"campaigns/{campaign}/compliance.csv", compliance_table(storage, campaign).to_csv(index=False)
    )
    return len(units)


def _stored(storage, unit: UnitKey, value):
    """Write a stage and read it back the way the next step's IO manager input does."""
    write_stage(storage, unit, value)
    return read_stage(storage, unit, value.STAGE)


def build_unit(storage, kits, unit: UnitKey, context_provider, image_provider, copy_provider, cutouts):
    record = require_brief(storage, unit.campaign_id)
    brief = record.brief
    product = next(p for p in brief.products if p.id == unit.product_id)
    kit = kits.load(brief.brand)
    ub = UnitBrief(
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
        banned_words=brief.banned_words,
        visual_direction=brief.visual_direction,
        candidates=brief.candidates,
        aspect_ratios=list(brief.aspect_ratios),
        sizes={r: brief.size_for(r) for r in brief.aspect_ratios},
        base_seed=brief.base_seed(),
        brief_version=record.version,
        brief_sha=record.sha,
        product_asset_keys=record.asset_keys.get(product.id, []),
    )
    ub = _stored(storage, unit, ub)

    pack = context_provider.build(ub, kit)
    pack = _stored(storage, unit, pack)

    # image candidates
    supplied, cut_method = None, ""
    hashes = {"unit_brief": ub.brief_sha[:16], "brand_kit": ub.brand_fingerprint}
    if ub.product_asset_keys:
        key = ub.product_asset_keys[0]
        if key not in cutouts:
            cutouts[key] = prepare_supplied_product(storage.read_bytes(key))
        supplied, cut_method = cutouts[key]
        hashes["product_image"] = key.rsplit("/", 1)[-1].split(".")[0][:16]
    font = str(font_for_role(kit, "headline", "latin"))
    raw = ImageCandidates(
        provider=image_provider.provider_name,
        model=image_provider.model_name,
        seed_supported=image_provider.supports_seed,
        candidates=[],
        input_hashes=hashes,
    )
    for plan in plan_candidates(ub, pack, kit):
        draft = image_provider.draw(ub, pack, kit, plan, supplied, font)
        renders = {}
        for ratio, (image, bbox) in draft.renders.items():
            name = f"{ratio_dir(ratio)}/candidate-{plan.index + 1}.jpg"
            raw.put_image(name, image)
            renders[ratio] = CandidateRender(
                ratio=ratio,
                file=name,
                width=image.width,
                height=image.height,
                layout=plan.layouts[ratio],
                product_bbox=bbox,
            )
        raw.candidates.append(
            ImageCandidate(
                index=plan.index,
                seed=plan.seed,
                style=plan.style,
                emphasis=plan.emphasis,
                palette=plan.palette.to_dict(),
                source=draft.source,
                method=f"supplied:{cut_method}"
                if supplied is not None and draft.method == "supplied"
                else draft.method,
                prompt=draft.prompt,
                renders=renders,
            )
        )
        raw.calls.extend(draft.calls)
    raw = _stored(storage, unit, raw)

    # branding
    branded = BrandedCandidates(brand=kit.slug, brand_fingerprint=kit.fingerprint(), candidates=[])
    for cand in raw.candidates:
        renders = {}
        for ratio, render in cand.renders.items():
            image, logo = apply_branding(raw.image(render.file), render.layout, kit)
            branded.put_image(render.file, image)
            renders[ratio] = BrandedRender(
                ratio=ratio,
                file=render.file,
                width=image.width,
                height=image.height,
                layout=render.layout,
                product_bbox=render.product_bbox,
                logo=logo,
            )
        branded.candidates.append(
            BrandedCandidate(index=cand.index, seed=cand.seed, style=cand.style, renders=renders)
        )
    branded = _stored(storage, unit, branded)

    copy = copy_provider.write(ub, pack, branded)
    copy = _stored(storage, unit, copy)

    # finals + compliance
    loc = LocaleText(copy.language_code, copy.direction, copy.script, copy.line_breaking)
    variants = {v.candidate: v for v in copy.variants}
    logos = {v: kit.logo_image(v) for v in ("primary", "on_dark", "on_light") if getattr(kit.logo, v)}
    palette = [*kit.palette.brand_colours(), kit.palette.neutral_light, kit.palette.neutral_dark]
    rules = kit.logo_placement
    finals = FinalCreatives(locale=unit.locale, candidates=[])
    outcomes: dict[int, dict[str, list]] = {}
    for cand in branded.candidates:
        renders = {}
        for ratio, render in cand.renders.items():
            image, report = render_final(
                branded.image(render.file),
                render.layout,
                variants[cand.index],
                kit,
                loc,
                render.logo,
                render.product_bbox,
            )
            short = min(image.size)
            checks = evaluate_creative(
                image,
                report,
                variants[cand.index],
                pack.rules,
                copy.line_breaking,
                copy.direction,
                logos,
                max(rules.min_width_px, round(short * rules.min_width_ratio)),
                round(short * rules.max_width_ratio),
                rules.clear_space,
                palette,
            )
            outcomes.setdefault(cand.index, {})[ratio] = checks
            name = f"{ratio_dir(ratio)}/candidate-{cand.index + 1}.png"
            finals.put_image(name, image)
            renders[ratio] = report.model_copy(
                update={"file": name, "compliance": [c.model_dump(mode="json") for c in checks]}
            )
        finals.candidates.append(
            FinalCandidate(index=cand.index, seed=cand.seed, style=cand.style, renders=renders)
        )
    unit_verdicts(outcomes)
    finals = _stored(storage, unit, finals)

    # selection
    weights = ScoringWeights()
    scores, breakdowns, compliant = {}, {}, {}
    for cand in finals.candidates:
        per_ratio = []
        compliant[cand.index] = True
        for report in cand.renders.values():
            short = min(report.width, report.height)
            head_max = round(short * (0.115 if report.ratio != "16:9" else 0.10))
            per_ratio.append(
                {
                    **render_signals(report, head_max),
                    **image_signals(finals.image(report.file), palette),
                    "compliance": compliance_signal(report.compliance),
                }
            )
            if any(not o["passed"] and o["severity"] == "ERROR" for o in report.compliance):
                compliant[cand.index] = False
        mean = {k: round(sum(s[k] for s in per_ratio) / len(per_ratio), 4) for k in per_ratio[0]}
        breakdowns[cand.index] = mean
        scores[cand.index] = weighted_score(mean, weights)
    order = sorted(rank(scores), key=lambda i: not compliant[i])
    best = order[0]
    by_index = {c.index: c for c in finals.candidates}
    selected = SelectedCreative(unit=str(unit), best=best, files={}, ranking=[], weights=weights.model_dump())
    for position, index in enumerate(order, 1):
        selected.ranking.append(
            ScoredCandidate(
                index=index,
                rank=position,
                score=scores[index],
                compliant=compliant[index],
                breakdown=breakdowns[index],
                files={
                    r: f"{stage_prefix(unit, 'final')}/{rep.file}"
                    for r, rep in by_index[index].renders.items()
                },
            )
        )
    for ratio, report in by_index[best].renders.items():
        name = f"{ratio_dir(ratio)}.png"
        selected.put_image(name, finals.image_bytes(report.file))
        selected.files[ratio] = name
    write_stage(storage, unit, selected)
