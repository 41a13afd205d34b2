"""A revision never returns the creative a reviewer rejected, and the feedback visibly changes the
result: through the real review flow (ReviewService -> journal -> review sensor -> pipeline run)."""

from __future__ import annotations

import hashlib

import dagster as dg
import numpy as np
import yaml
from PIL import Image

from creative_assets.render.phash import NEAR_DUPLICATE_BITS, hamming, phash
from creative_assets.review.service import ReviewService
from creative_assets.stage_store import read_stage
from creative_assets.units import UnitKey
from creative_assets_tests.helpers import set_products
from creative_assets_tests.pipeline_helpers import pipeline_defs, register, run_range, small_brief
from resources.storage import LocalCreativeStorage
from sensors.review import review_decision_sensor

FEEDBACK = "Cleaner, lighter background please, and try a different layout"


def _ground_luminance(data: bytes) -> float:
    """Mean luminance of the background: a 3% frame along the canvas edges (outside the safe zone,
    where neither text nor logo goes)."""
    import io

    grey = np.asarray(Image.open(io.BytesIO(data)).convert("L"), np.float64)
    m = max(2, round(min(grey.shape) * 0.03))
    frame = np.concatenate([grey[:m].ravel(), grey[-m:].ravel(), grey[:, :m].ravel(), grey[:, -m:].ravel()])
    return float(frame.mean())


def test_revision_moves_away_from_the_rejected_creative(tmp_path):
    brief = small_brief(tmp_path, locales=("en-US",), candidates=3)
    data = yaml.safe_load(brief.read_text())
    data["aspect_ratios"] = ["1:1", "9:16"]
    set_products(data, data["products"][1:])  # the generated product
    brief.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    service = ReviewService(storage)
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        (key,) = register(storage, brief, instance)
        unit = UnitKey.parse(key)
        defs = pipeline_defs(storage)
        assert run_range(defs, instance, key, key).success
        cursor = None
        rejected_files: list[dict[str, bytes]] = []
        for revision in (1, 2):
            before = service.unit(unit)
            shown = before.selected
            rejected_files.append({r: storage.read_bytes(k) for r, k in shown.files.items()})
            old_final = read_stage(storage, unit, "final_creatives")
            old_cand = next(c for c in old_final.candidates if c.index == shown.index)
            event = service.request_changes(unit, "Ana", shown.content_hash, FEEDBACK)
            assert event.phash and event.style == old_cand.style
            assert event.layouts == {r: rep.layout.variant for r, rep in old_cand.renders.items()}

            result = review_decision_sensor(
                dg.build_sensor_context(instance=instance, resources={"storage": storage}, cursor=cursor)
            )
            cursor = result.cursor
            (request,) = result.run_requests
            run = defs.resolve_job_def("creative_pipeline").execute_in_process(
                instance=instance, tags=request.tags
            )
            assert run.success

            after = service.unit(unit)
            assert after.revision == revision and after.status == "needs_review"
            ub = read_stage(storage, unit, "unit_brief")
            assert [r.decision for r in ub.rejected][-1] == event.id and len(ub.rejected) == revision
            # never the rejected pixels, not even nearly: every earlier rejection, at every ratio
            for ratio, key_ in after.selected.files.items():
                data_ = storage.read_bytes(key_)
                new_hash = phash(Image.open(__import__("io").BytesIO(data_)))
                for files in rejected_files:
                    assert hashlib.sha256(data_).digest() != hashlib.sha256(files[ratio]).digest()
                    old_hash = phash(Image.open(__import__("io").BytesIO(files[ratio])))
                    assert hamming(new_hash, old_hash) > NEAR_DUPLICATE_BITS, (revision, ratio)
            # the words it understands changed the result: clean -> studio, lighter -> light ground,
            # different layout -> none of the rejected layouts
            raw = read_stage(storage, unit, "image_candidates")
            combos = {(r.style, ratio, v) for r in ub.rejected for ratio, v in r.layouts.items()}
            if revision == 1:
                assert {c.style for c in raw.candidates} == {"studio"}
            # (by revision 2 studio has been rejected in both 9:16 layouts: the next style takes over)
            assert {c.emphasis for c in raw.candidates} == {0}
            for cand in raw.candidates:
                for ratio, render in cand.renders.items():
                    assert render.layout.variant != event.layouts[ratio], (ratio, render.layout.variant)
                    assert (cand.style, ratio, render.layout.variant) not in combos
            ground = _ground_luminance(storage.read_bytes(after.selected.files["1:1"]))
            assert ground >= 170, "a light ground (brand neutral_light), as asked"
            # the alternates differ from each other too (studio lighting follows the seed)
            shas = {c.content["1:1"] for c in after.candidates}
            assert len(shas) == len(after.candidates)


def test_selection_skips_a_near_copy_of_a_rejected_creative():
    from creative_assets.brand_kit import load_brand_kit
    from creative_assets.scoring import ScoringWeights
    from creative_assets.stages import FinalCandidate, FinalCreatives, RejectedCreative
    from creative_assets.unit_work import selection_value
    from creative_assets_tests.render.test_finals import COPY, _render, plain, stripes

    finals = FinalCreatives(locale="en-US", candidates=[])
    grounds = [plain, stripes]
    for index, ground in enumerate(grounds):
        image, report = _render(ground, COPY)
        name = f"1x1/candidate-{index + 1}.png"
        finals.put_image(name, image)
        finals.candidates.append(
            FinalCandidate(
                index=index,
                seed=index,
                style="studio",
                renders={"1:1": report.model_copy(update={"file": name})},
            )
        )
    kit = load_brand_kit("aurora-beverages")
    unit = UnitKey("c-1", "en-US", "p-1")
    plain_pick = selection_value(unit, finals, kit, ScoringWeights(), "final_creatives")
    best = plain_pick.best
    # the reviewer rejected the best one; its re-encoded, slightly shifted copy still counts as it
    shifted = finals.image(f"1x1/candidate-{best + 1}.png").transform(
        (1080, 1080), Image.Transform.AFFINE, (1, 0, 2, 0, 1, 1)
    )
    rejected = RejectedCreative(decision="d1", phash={"1:1": phash(shifted)})
    again = selection_value(unit, finals, kit, ScoringWeights(), "final_creatives", [rejected])
    assert again.best != best and again.status == "selected"
    assert next(s for s in again.ranking if s.index == best).repeats_rejected
