"""Stage 3: N image candidates per unit, each drawn at every ratio."""

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
from PIL import Image

from creative_assets.assets.common import (
    call_metadata,
    contact_sheet,
    file_links,
    for_each_unit,
    stage_asset_kwargs,
    thumbnail,
)
from creative_assets.feedback import interpret_feedback
from creative_assets.render.candidates import plan_candidates
from creative_assets.render.fonts import font_for_role
from creative_assets.stages import (
    ImageCandidates,
    LocaleContextPack,
    UnitBrief,
    encode_image,
)
from creative_assets.unit_work import candidate_file, candidate_record, product_input
from creative_assets.units import UnitKey
from resources.brand_kits import BrandKitLibrary
from resources.providers import ImageProvider
from resources.storage import CreativeStorage


@dg.asset(**stage_asset_kwargs("image_candidates", "6", {"pillow", "python"}, pool="image_generation"))
def image_candidates(
    context: dg.AssetExecutionContext,
    unit_brief: dict[str, UnitBrief],
    locale_context_pack: dict[str, LocaleContextPack],
    image_provider: ImageProvider,
    brand_kits: BrandKitLibrary,
    storage: CreativeStorage,
) -> dict[str, ImageCandidates]:
    """Candidate visuals: the supplied product image cut out and staged, or a generated hero product,
    on brand-palette scenes; visibly different per candidate, deterministic per seed."""
    cutouts: dict[str, tuple[Image.Image, str]] = {}  # one decode per product image per step

    def prepare(unit: UnitKey):
        brief = unit_brief[str(unit)]
        pack = locale_context_pack[str(unit)]
        kit = brand_kits.load(brief.brand)
        supplied = product_input(storage.read_bytes, brief, cutouts)
        product, cut_method, hashes = supplied.image, supplied.cut_method, supplied.hashes
        font = str(font_for_role(kit, "headline", "latin"))
        return brief, pack, kit, product, cut_method, hashes, font, plan_candidates(brief, pack, kit, product)

    def draw(prepared, plan):
        brief, pack, kit, product, _, _, font, _ = prepared
        started = time.perf_counter()
        draft = image_provider.draw(brief, pack, kit, plan, product, font)
        # encoded here, in the drawing thread: with a remote provider this overlaps other requests
        files = {
            ratio: encode_image(image, candidate_file(ratio, plan.index, "jpg"))
            for ratio, (image, _bbox) in draft.renders.items()
        }
        return draft, files, round(time.perf_counter() - started, 3)

    # Remote providers: every candidate of every unit in the step at once, up to the request limit,
    # so the provider's pool stays full across units (OpenAIResource caps the requests in flight).
    prepared: dict[str, tuple] = {}
    drafted: dict[str, list] = {}
    if image_provider.parallelism > 1:
        prepared = {key: prepare(UnitKey.parse(key)) for key in context.partition_keys}
        jobs = [(key, plan) for key, prep in prepared.items() for plan in prep[-1]]
        with ThreadPoolExecutor(max_workers=image_provider.parallelism) as pool:
            results = list(pool.map(lambda job: draw(prepared[job[0]], job[1]), jobs))
        for (key, _), result in zip(jobs, results, strict=True):
            drafted.setdefault(key, []).append(result)

    def build(unit: UnitKey):
        prep = prepared.pop(str(unit), None) or prepare(unit)
        brief, _, _, product, cut_method, hashes, _, plans = prep
        drafts = drafted.pop(str(unit), None) or [draw(prep, plan) for plan in plans]
        candidates, timings = [], {}
        value = ImageCandidates(
            provider=image_provider.provider_name,
            model=image_provider.model_name,
            seed_supported=image_provider.supports_seed,
            candidates=[],
            input_hashes=hashes,
        )

        calls = []
        first_ratio = brief.aspect_ratios[0]
        previews = []
        for plan, (draft, files, seconds) in zip(plans, drafts, strict=True):
            timings[f"candidate_{plan.index + 1}_s"] = seconds
            calls.extend(draft.calls)
            record = candidate_record(plan, draft, product is not None, cut_method)
            for ratio, render in record.renders.items():
                value.put_image(render.file, files[ratio])
            previews.append(draft.renders[first_ratio][0])
            candidates.append(record)
        value.candidates = candidates
        value.calls = calls
        preview = contact_sheet(previews)
        return value, {
            "provider": value.provider,
            "model": value.model,
            "seeds": dg.MetadataValue.json({f"candidate-{c.index + 1}": c.seed for c in candidates}),
            "seed_supported": value.seed_supported
            if value.seed_supported
            else "no: the provider takes no seed; seeds select each candidate's prompt variation",
            "styles": ", ".join(c.style for c in candidates),
            "product_source": candidates[0].source if candidates else "",
            "product_method": candidates[0].method if candidates else "",
            "prompts": dg.MetadataValue.json({f"candidate-{c.index + 1}": c.prompt for c in candidates}),
            "input_hashes": dg.MetadataValue.json(hashes),
            **(
                {
                    "revision": brief.revision,
                    "revision_feedback": brief.feedback or "",
                    "feedback_read_as": interpret_feedback(brief.feedback).describe(),
                }
                if brief.revision
                else {}
            ),
            **file_links(
                storage,
                unit,
                "image_candidates",
                candidates[0].renders[first_ratio].file,
                "first_candidate",
                value.generation,
            ),
            "preview": thumbnail(preview, 480),
            **timings,
            **call_metadata(calls),
            "output_sha256": hashlib.sha256(value.model_dump_json().encode()).hexdigest()[:16],
        }

    return for_each_unit(context, build)
