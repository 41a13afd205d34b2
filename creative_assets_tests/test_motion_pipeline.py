"""motion_creatives in the asset graph: videos for the placements that play motion, probed from the
stored files; the selection carries them; review shows and approves them with the stills; a
re-materialization withdraws that approval."""

from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
import sys
import textwrap

import dagster as dg
import pytest
import yaml

from creative_assets import credentials as c2
from creative_assets.assets.motion_creatives import motion_creatives
from creative_assets.jobs import unit_stages
from creative_assets.layout import delivery_manifest_key, delivery_motion_key
from creative_assets.motion_checks import VIDEO_CHECKS
from creative_assets.review.service import ReviewService
from creative_assets.stage_store import read_stage
from creative_assets.units import UnitKey
from creative_assets.video_probe import probe
from creative_assets_tests.helpers import set_products
from creative_assets_tests.pipeline_helpers import pipeline_resources, register, run_range, small_brief
from resources.storage import LocalCreativeStorage


@pytest.fixture(scope="module")
def motion_run(tmp_path_factory):
    """One Arabic unit (RTL) at two vertical video placements, one of which (TikTok) needs audio.
    (Display banners' WebP/GIF are covered in test_motion.py: banner stills are not yet compliant
    for this product at 300 px wide, which blocks the unit and so its motion.)"""
    tmp = tmp_path_factory.mktemp("motion")
    storage = LocalCreativeStorage(root=str(tmp / "storage"))
    path = small_brief(tmp, locales=("ar-AE",), candidates=2, motion=True)
    data = yaml.safe_load(path.read_text())
    set_products(data, data["products"][:1])
    data.pop("aspect_ratios", None)
    data["placements"] = ["meta-reels", "tiktok-in-feed"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    with dg.instance_for_test() as instance:
        keys = register(storage, path, instance)
        defs = dg.Definitions(
            assets=unit_stages,
            jobs=[dg.define_asset_job("creative_pipeline", selection=dg.AssetSelection.assets(*unit_stages))],
            resources=pipeline_resources(storage),
            executor=dg.in_process_executor,
        )
        result = run_range(defs, instance, keys[0], keys[-1])
        assert result.success
        yield storage, instance, defs, UnitKey.parse(keys[0]), result


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_every_motion_placement_gets_its_file_probed_from_storage(motion_run):
    storage, _instance, _defs, unit, _result = motion_run
    motion = read_stage(storage, unit, "motion_creatives")
    finals = read_stage(storage, unit, "final_creatives")
    assert motion.final_generation == finals.stored_generation
    names = sorted(f.file.split("/", 1)[1] for f in motion.files)
    assert names == ["meta-reels.mp4", "tiktok-in-feed.mp4"]
    for f in motion.files:
        data = motion.image_bytes_stored(f.file)
        p = probe(data)
        assert f.passed, f.failures()
        assert [c["check"] for c in f.checks] == list(VIDEO_CHECKS)
        assert p.bytes == f.bytes == len(data) and f.sha256 == sha(data)
        assert f.poster.startswith(finals.files_prefix)  # the poster is this generation's still
        report = next(c for c in finals.candidates if c.index == f.candidate).renders[f.ratio]
        assert (p.width, p.height) == (report.width, report.height)
        assert (p.codec, p.pix_fmt, p.fps, p.faststart) == ("h264", "yuv420p", 30.0, True)
        assert p.duration_s == pytest.approx(6.0, abs=1 / 30)
        # a silent AAC track only where the placement requires one
        assert p.audio_codec == ("aac" if f.placement == "tiktok-in-feed" else None)
        # the RTL plan: lines in reading order, the CTA last
        elements = f.plan["elements"]
        assert f.plan["direction"] == "rtl"
        text = [e for e in elements if e["role"] in ("headline", "subline", "disclaimer")]
        cta = next(e for e in elements if e["role"] == "cta")
        assert all(a["first_frame"] <= b["first_frame"] for a, b in itertools.pairwise(text))
        assert cta["first_frame"] > text[-1]["first_frame"]


#: Animates and encodes the stored unit again, the way motion_creatives does, in a fresh interpreter
#: (its own address space: an encoder reading uninitialised memory shows up as other bytes there).
REENCODE = textwrap.dedent(
    """
    import hashlib, json, sys
    from creative_assets.motion import motion_value
    from creative_assets.scoring import ScoringWeights
    from creative_assets.stage_store import read_stage
    from creative_assets.unit_work import selection_value
    from creative_assets.units import UnitKey
    from resources.brand_kits import BrandKitLibrary
    from resources.storage import LocalCreativeStorage

    storage, unit = LocalCreativeStorage(root=sys.argv[1]), UnitKey.parse(sys.argv[2])
    stage = lambda name: read_stage(storage, unit, name)
    brief, finals = stage("unit_brief"), stage("final_creatives")
    kit = BrandKitLibrary().load(brief.brand)
    selected = selection_value(unit, finals, kit, ScoringWeights(), finals.files_prefix, brief.rejected)
    _, files = motion_value(
        str(unit), finals, stage("image_candidates"), stage("branded_candidates"),
        stage("localized_copy"), kit, brief.motion, lambda: selected, brief.aspect_ratios,
    )
    print(json.dumps({name: hashlib.sha256(data).hexdigest() for name, data in files.items()}))
    """
)  # (unsigned: the stored file is compared without its C2PA manifest)


def test_the_same_unit_gives_the_same_video_bytes_in_another_process(motion_run):
    """A video is a function of its unit: animating and encoding it again in a fresh interpreter gives
    the stored bytes (x264's mbtree made 1080-wide files differ from run to run; video_encode.py)."""
    storage, _instance, _defs, unit, _result = motion_run
    motion = read_stage(storage, unit, "motion_creatives")
    again = subprocess.run(
        [sys.executable, "-c", REENCODE, storage.root, str(unit)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    stored = {
        f.file: sha(c2.unsigned_content(motion.image_bytes_stored(f.file), "video/mp4")) for f in motion.files
    }
    assert json.loads(again.stdout.strip().splitlines()[-1]) == stored


def test_video_checks_are_recorded_per_unit(motion_run):
    _storage, instance, _defs, unit, _result = motion_run
    for name in VIDEO_CHECKS:
        key = dg.AssetCheckKey(dg.AssetKey("motion_creatives"), name)
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
        evaluation = record.event.dagster_event.event_specific_data
        assert evaluation.passed, (name, evaluation.description)
        assert evaluation.partition == str(unit)


def test_selection_carries_byte_copies_of_the_chosen_candidates_videos(motion_run):
    storage, _instance, _defs, unit, _result = motion_run
    selected = read_stage(storage, unit, "selected_creative")
    motion = read_stage(storage, unit, "motion_creatives")
    assert motion.candidates == [selected.best]  # by default only the pick is animated
    assert sorted(m.file for m in selected.motion) == ["motion/meta-reels.mp4", "motion/tiktok-in-feed.mp4"]
    for m in selected.motion:
        data = selected.image_bytes_stored(m.file)
        assert sha(data) == m.sha256 == sha(storage.read_bytes(m.source))
        assert m.poster == selected.files[m.ratio]


def test_review_approves_videos_with_the_stills_and_rematerializing_withdraws(motion_run):
    storage, instance, _defs, unit, _result = motion_run
    service = ReviewService(storage)
    view = service.unit(unit)
    best = view.selected
    assert sorted(m["name"] for m in best.motion) == ["meta-reels.mp4", "tiktok-in-feed.mp4"]
    assert best.content["motion/meta-reels.mp4"] == sha(
        storage.read_bytes(best.sources["motion/meta-reels.mp4"])
    )
    service.approve(unit, "Ana Reviewer", best.content_hash)
    manifest = json.loads(storage.read_text(delivery_manifest_key(unit)))
    for m in best.motion:
        delivered = storage.read_bytes(delivery_motion_key(unit, m["name"]))
        assert sha(delivered) == m["sha256"] == manifest["files"][f"motion/{m['name']}"]["sha256"]
    # re-materializing motion_creatives alone takes the approval down, as for the stills
    job = dg.Definitions(
        assets=unit_stages,
        jobs=[dg.define_asset_job("motion_only", selection=dg.AssetSelection.assets(motion_creatives))],
        resources=pipeline_resources(storage),
        executor=dg.in_process_executor,
    ).resolve_job_def("motion_only")
    assert job.execute_in_process(instance=instance, partition_key=str(unit)).success
    assert not storage.exists(delivery_manifest_key(unit))
    assert not storage.exists(delivery_motion_key(unit, "meta-reels.mp4"))
    # the selection still names the videos of the older motion generation: not shown with these stills
    assert service.unit(unit).status == "needs_review"


# -- Content Credentials and the visible AI label on the videos -------------------------------------


def _anchors() -> bytes:
    from pathlib import Path

    from creative_assets.credentials_ca import CAFiles
    from creative_assets_tests.pipeline_helpers import session_test_ca

    return CAFiles(Path(session_test_ca())).ca.read_bytes()


def test_every_video_carries_a_credential_with_its_still_as_ingredient(motion_run):
    storage, _instance, _defs, unit, _result = motion_run
    motion = read_stage(storage, unit, "motion_creatives")
    finals = read_stage(storage, unit, "final_creatives")
    for f in motion.files:
        data = motion.image_bytes_stored(f.file)
        result = c2.verify(data, "video/mp4", None, _anchors(), require_trust=True)
        assert result.passed, result.problems
        cred = result.credential
        still_file = next(c for c in finals.candidates if c.index == f.candidate).renders[f.ratio].file
        still = finals.image_bytes_stored(still_file)
        # the still it animates is an ingredient, by the hash of its stored (signed) bytes, and the
        # still's own credential is carried along: the chain reaches the raw candidate and the logo
        assert cred.ingredient_hashes()["final"] == sha(still)
        assert set(cred.ingredient_hashes()) == {"final", "logo"}
        titles = [m.get("title", "") for m in cred.chain]
        assert len(cred.chain) == 2 and titles[1].endswith(f"_c{f.candidate + 1}"), titles
        assert cred.source_type == c2.IPTC + finals.credentials[still_file]["digital_source_type"]
        work = cred.assertion(c2.WORK_ASSERTION)
        assert (work["ratio"], work["candidate"], work["locale"]) == (f.placement, f.candidate + 1, "ar-AE")
        assert [a["action"] for a in cred.actions] == ["c2pa.created", "c2pa.placed", "c2pa.edited"]
        assert f.credentials["signed"] and f.credentials["verified"] and f.credentials["test_signed"]
        # the signed file is still a streamable MP4 (the manifest box sits before moov)
        assert probe(data).faststart
        # one byte of the coded frames changed: the hash binding fails
        mdat = data.rindex(b"mdat") + 200
        broken = data[:mdat] + bytes([data[mdat] ^ 0xFF]) + data[mdat + 1 :]
        assert not c2.verify(broken, "video/mp4", None, _anchors(), require_trust=True).passed


def test_a_video_whose_credential_breaks_is_refused_at_delivery(motion_run, tmp_path):
    from creative_assets.credentials import CredentialRefused, VerifyPolicy, check_deliverable

    storage, _instance, _defs, unit, _result = motion_run
    motion = read_stage(storage, unit, "motion_creatives")
    data = motion.image_bytes_stored(motion.files[0].file)
    policy = VerifyPolicy(_anchors(), required=True)
    claims = {"campaign": unit.campaign_id, "locale": unit.locale, "product": unit.product_id}
    summary = check_deliverable(data, "x/meta-reels.mp4", True, policy, claims)
    assert summary["verified"] and summary["work"]["ratio"] == motion.files[0].placement
    with pytest.raises(CredentialRefused, match="no C2PA manifest"):  # stripped
        check_deliverable(c2.unsigned_content(data, "video/mp4"), "x/meta-reels.mp4", True, policy, claims)
    at = data.rindex(b"mdat") + 200
    with pytest.raises(CredentialRefused, match="signature/hash"):  # one byte of the frames changed
        check_deliverable(data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :], "x/r.mp4", True, policy, claims)
    with pytest.raises(CredentialRefused, match="product"):
        check_deliverable(data, "x/meta-reels.mp4", True, policy, {**claims, "product": "another"})


def test_ai_imagery_in_china_keeps_the_ai_label_on_screen_and_declares_it(tmp_path):
    """Generated imagery (the OpenAI-compatible server) in a market that requires a visible AI label:
    the video's legal line carries it from the first frame for as long as the imagery is on screen,
    the check reads that back from the file, and the credential declares the label."""
    from creative_assets_tests.openai_server import FakeOpenAI
    from creative_assets_tests.pipeline_helpers import pipeline_defs
    from resources.openai_providers import OpenAIImageProvider, OpenAIResource

    path = small_brief(tmp_path, locales=("zh-CN",), candidates=1, motion=True)
    data = yaml.safe_load(path.read_text())
    set_products(data, data["products"][:1])
    data.pop("aspect_ratios", None)
    data["placements"] = ["meta-reels"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    with FakeOpenAI(api_key="sk-test-motion") as server, dg.instance_for_test() as instance:
        api = OpenAIResource(api_key="sk-test-motion", base_url=server.url, max_retries=0)
        keys = register(storage, path, instance)
        defs = pipeline_defs(storage, image_provider=OpenAIImageProvider(openai=api, storage=storage))
        assert run_range(defs, instance, keys[0], keys[-1]).success
        key = dg.AssetCheckKey(dg.AssetKey("motion_creatives"), "video_ai_disclosure")
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
        evaluation = record.event.dagster_event.event_specific_data
    unit = UnitKey.parse(keys[0])
    assert evaluation.passed, evaluation.description
    motion = read_stage(storage, unit, "motion_creatives")
    (f,) = motion.files
    outcome = next(c for c in f.checks if c["check"] == "video_ai_disclosure")
    assert outcome["passed"] and f.passed, f.failures()
    assert f.plan["legal_held"]
    legal = [e for e in f.plan["elements"] if e["role"] == "disclaimer"]
    assert legal and "".join(e["text"] for e in legal).startswith("AI生成")
    assert all(e["first_frame"] == 0 and e["last_frame"] == f.plan["imagery_frames"] for e in legal)
    assert outcome["figures"]["labelled_frames"] == outcome["figures"]["imagery_frames"] > 100
    cred = c2.verify(motion.image_bytes_stored(f.file), "video/mp4", None, _anchors(), True).credential
    assert cred.assertion(c2.WORK_ASSERTION)["ai_label"] == "AI生成"
    assert cred.source_type in (c2.TRAINED, c2.COMPOSITE_WITH_TRAINED)
    assert "AI生成" in cred.actions[-1]["description"]
