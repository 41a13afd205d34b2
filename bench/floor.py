"""The floor: the project's own pipeline functions called directly in one process. No instance, no
run, no events, no metadata or previews; the same files written through the same ``write_stage``.
Units are built on ``settings.cpu_workers()`` threads, as the pipeline's CPU-bound steps are.

It calls the same per-unit functions as the unit assets (creative_assets/unit_work.py) and, like the IO
manager between steps, reads every stage back from storage before the next one uses it (JPEG stages are lossy), so its
outputs are the same bytes the orchestrated paths write (the benchmark compares them)."""

from __future__ import annotations

from pathlib import Path

from creative_assets import layout
from creative_assets.assets.rollup import compliance_table, summarise_campaign
from creative_assets.brief import load_brief
from creative_assets.brief_store import register_brief, require_brief
from creative_assets.compliance import unit_verdicts
from creative_assets.parallel import in_unit_order
from creative_assets.render.candidates import plan_candidates
from creative_assets.render.fonts import font_for_role
from creative_assets.review.decisions import review_state
from creative_assets.scoring import ScoringWeights
from creative_assets.settings import cpu_workers
from creative_assets.stage_store import read_stage, write_stage
from creative_assets.stages import ImageCandidates
from creative_assets.unit_work import (
    brand_candidates,
    candidate_record,
    final_creatives_value,
    product_input,
    selection_value,
    unit_brief_value,
)
from creative_assets.units import UnitKey
from resources.brand_kits import BrandKitLibrary
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
    # on as many threads as the pipeline's CPU-bound steps use (settings.cpu_workers)
    for _ in in_unit_order(
        units,
        lambda unit: build_unit(
            storage, kits, unit, context_provider, image_provider, copy_provider, cutouts
        ),
        cpu_workers(),
    ):
        pass
    campaign = record.campaign_id
    storage.write_text(
        layout.campaign_file(campaign, "summary.csv"),
        summarise_campaign(storage, campaign).to_csv(index=False),
    )
    storage.write_text(
        layout.campaign_file(campaign, "compliance.csv"),
        compliance_table(storage, campaign).to_csv(index=False),
    )
    return len(units)


def _stored(storage, unit: UnitKey, value):
    """Write a stage and read it back the way the next step's IO manager input does."""
    write_stage(storage, unit, value)
    return read_stage(storage, unit, value.STAGE)


def keep(_name: str, image):
    """The floor holds stage images as they are (the IO manager encodes them when it writes)."""
    return image


def build_unit(storage, kits, unit: UnitKey, context_provider, image_provider, copy_provider, cutouts):
    """One unit through every stage: the functions the assets call (creative_assets/unit_work.py),
    without threads, events, metadata or previews."""
    record = require_brief(storage, unit.campaign_id)
    kit = kits.load(record.brief.brand)
    ub = _stored(storage, unit, unit_brief_value(record, unit, kit, review_state(storage, unit)))
    pack = _stored(storage, unit, context_provider.build(ub, kit))

    product = product_input(storage.read_bytes, ub, cutouts)
    supplied, cut_method, hashes = product.image, product.cut_method, product.hashes
    font = str(font_for_role(kit, "headline", "latin"))
    raw = ImageCandidates(
        provider=image_provider.provider_name,
        model=image_provider.model_name,
        seed_supported=image_provider.supports_seed,
        candidates=[],
        input_hashes=hashes,
    )
    for plan in plan_candidates(ub, pack, kit, supplied):
        draft = image_provider.draw(ub, pack, kit, plan, supplied, font)
        record_ = candidate_record(plan, draft, supplied is not None, cut_method)
        for ratio, render in record_.renders.items():
            raw.put_image(render.file, draft.renders[ratio][0])
        raw.candidates.append(record_)
        raw.calls.extend(draft.calls)
    raw = _stored(storage, unit, raw)

    branded = _stored(storage, unit, brand_candidates(raw, kit, keep))
    copy = _stored(storage, unit, copy_provider.write(ub, pack, branded))
    finals, outcomes = final_creatives_value(unit, branded, copy, pack, kit, keep)
    unit_verdicts(outcomes)
    finals = _stored(storage, unit, finals)

    selected = selection_value(unit, finals, kit, ScoringWeights(), finals.files_prefix)
    selected.final_generation = finals.stored_generation or ""
    best = next(c for c in finals.candidates if c.index == selected.best)
    for ratio, name in selected.files.items():
        selected.put_image(name, finals.image_bytes_stored(best.renders[ratio].file))
    write_stage(storage, unit, selected)
