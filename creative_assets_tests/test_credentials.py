"""Content Credentials (C2PA): every final signed with the test CA, verified read back, truthful about
how it was made, refused for delivery when broken, and kept intact by delivery."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import yaml
from PIL import Image, ImageFilter

from creative_assets import credentials as c2
from creative_assets.brand_kit import load_brand_kit
from creative_assets.credentials_ca import CAFiles, init_test_ca
from creative_assets.disclosure import credentials_verdict
from creative_assets.layout import files_prefix
from creative_assets.partitions import creative_units
from creative_assets.render.encoding import png_bytes
from creative_assets.review.service import ReviewError, ReviewService
from creative_assets.stage_store import read_manifest, read_stage
from creative_assets.units import UnitKey
from creative_assets_tests.helpers import set_products
from creative_assets_tests.pipeline_helpers import (
    pipeline_defs,
    register,
    run_range,
    session_test_ca,
    signing_credentials,
    small_brief,
)
from resources.credentials import ContentCredentials
from resources.storage import LocalCreativeStorage

ROOT = Path(__file__).resolve().parents[1]


def _anchors() -> bytes:
    return CAFiles(Path(session_test_ca())).ca.read_bytes()


def _live_prefix(storage, unit: UnitKey, stage: str) -> str:
    """Where the live generation of a stage keeps its files (named by the stage's manifest)."""
    manifest = read_manifest(storage, unit, stage)
    assert manifest is not None and manifest.get("generation"), (unit, stage)
    return files_prefix(unit, stage, manifest)


def _finals(storage, unit: UnitKey) -> dict[str, bytes]:
    manifest = read_manifest(storage, unit, "final_creatives")
    prefix = files_prefix(unit, "final_creatives", manifest)
    # the signed PNG finals; ``export/`` holds their placement exports (render/export.py, issue 14)
    return {
        name: storage.read_bytes(f"{prefix}/{name}")
        for name in manifest["files"]
        if not name.startswith("export/")
    }


def _latest_checks(instance, check: str) -> dict:
    key = dg.AssetCheckKey(dg.AssetKey("final_creatives"), check)
    out = {}
    for record in instance.event_log_storage.get_asset_check_execution_history(key, limit=100):
        out.setdefault(record.partition, record.event.dagster_event.event_specific_data)
    return out


def one_pixel_changed(data: bytes) -> bytes:
    """The PNG with one pixel changed and every other chunk (the C2PA manifest, the XMP) kept as is:
    only the image data differs, as in an edit that forgets to update the credential."""
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        edited = im.copy()
    x, y = edited.width // 2, edited.height // 2
    r, g, b = edited.getpixel((x, y))[:3]
    edited.putpixel((x, y), ((r + 128) % 256, g, b))
    encoded = png_bytes(edited)
    new_idat = [encoded[s:e] for kind, s, e in c2._png_chunks(encoded) if kind == b"IDAT"]
    chunks = c2._png_chunks(data)
    first = next(i for i, c in enumerate(chunks) if c[0] == b"IDAT")
    before = b"".join(data[s:e] for _, s, e in chunks[:first])
    after = b"".join(data[s:e] for kind, s, e in chunks[first:] if kind != b"IDAT")
    return data[:8] + before + b"".join(new_idat) + after


@pytest.fixture(scope="module")
def signed_run(tmp_path_factory):
    """The summer example cut to en-US, one candidate: a supplied-packshot and a generated product."""
    tmp = tmp_path_factory.mktemp("credentials")
    storage = LocalCreativeStorage(root=str(tmp / "storage"))
    brief = small_brief(tmp, locales=("en-US",), candidates=1)
    with dg.instance_for_test() as instance:
        keys = register(storage, brief, instance)
        result = run_range(pipeline_defs(storage), instance, keys[0], keys[-1])
        assert result.success
        supplied = next(
            UnitKey.parse(k)
            for k in keys
            if read_stage(storage, UnitKey.parse(k), "unit_brief").product_asset_keys
        )
        generated = next(UnitKey.parse(k) for k in keys if UnitKey.parse(k) != supplied)
        yield {
            "storage": storage,
            "keys": keys,
            "instance": instance,
            "result": result,
            "tmp": tmp,
            "supplied": supplied,
            "generated": generated,
        }


def _copy_storage(run, tmp_path) -> LocalCreativeStorage:
    shutil.copytree(run["storage"].root, tmp_path / "copy")
    return LocalCreativeStorage(root=str(tmp_path / "copy"))


def test_every_final_of_the_run_verifies(signed_run):
    storage, instance = signed_run["storage"], signed_run["instance"]
    for key in signed_run["keys"]:
        unit = UnitKey.parse(key)
        finals = _finals(storage, unit)
        assert len(finals) == 3  # 1 candidate x 3 ratios
        for name, data in finals.items():
            result = c2.verify(data, "image/png", None, _anchors(), require_trust=True)
            assert result.passed, (key, name, result.problems)
            assert result.credential.trusted and result.credential.state == "Trusted"
        # selected/ holds byte copies: the same credential
        selected = read_stage(storage, unit, "selected_creative")
        for ratio, name in selected.files.items():
            best = next(s for s in selected.ranking if s.index == selected.best)
            assert storage.read_bytes(selected.file_key(name)) == storage.read_bytes(best.files[ratio])
        check = _latest_checks(instance, "content_credentials")[key]
        assert check.passed, check.description
        assert check.metadata["figures"].data["verified"] == 3


def test_generated_product_declares_a_generative_source_and_a_packshot_creative_does_not(signed_run):
    storage = signed_run["storage"]
    gen = c2.read_credential(_finals(storage, signed_run["generated"])["1x1/candidate-1.png"], "image/png")
    pack = c2.read_credential(_finals(storage, signed_run["supplied"])["1x1/candidate-1.png"], "image/png")
    # the offline compositor draws a missing product without a trained model: algorithmicMedia
    assert gen.source_type == c2.ALGORITHMIC and gen.source_type in c2.GENERATIVE_SOURCES
    created = gen.actions[0]
    assert created["action"] == "c2pa.created"
    assert created["softwareAgent"] == {"name": "offline-compositor", "version": "procedural-v1"}
    assert [a["action"] for a in gen.actions] == ["c2pa.created", "c2pa.placed", "c2pa.edited"]
    # the brand's own packshot: a composite, no generative source anywhere in the manifest
    assert pack.source_type == c2.COMPOSITE
    assert not any(a.get("digitalSourceType") in c2.GENERATIVE_SOURCES for a in pack.actions)
    assert [a["action"] for a in pack.actions] == [
        "c2pa.created",
        "c2pa.placed",
        "c2pa.placed",
        "c2pa.edited",
    ]
    assert all(a["softwareAgent"]["name"] == "creative-assets" for a in pack.actions[1:])
    assert all(a["softwareAgent"]["version"] == c2.project_version() for a in pack.actions[1:])


def test_ingredient_hashes_equal_the_stored_inputs(signed_run):
    storage = signed_run["storage"]
    unit = signed_run["supplied"]
    brief = read_stage(storage, unit, "unit_brief")
    kit = load_brand_kit(brief.brand)
    raw_manifest = json.loads(storage.read_text(f"{unit.storage_prefix}/image_candidates/manifest.json"))
    final = read_stage(storage, unit, "final_creatives")
    for name, data in _finals(storage, unit).items():
        cred = c2.read_credential(data, "image/png")
        hashes = cred.ingredient_hashes()
        assert (
            hashes["packshot"] == hashlib.sha256(storage.read_bytes(brief.product_asset_keys[0])).hexdigest()
        )
        assert hashes["candidate"] == raw_manifest["files"][name.replace(".png", ".jpg")]["sha256"]
        variant = final.candidates[0].renders[name.split("/")[0].replace("x", ":")].logo.variant
        logo = getattr(kit.logo, variant) or kit.logo.primary
        assert hashes["logo"] == hashlib.sha256(kit.path(logo).read_bytes()).hexdigest()
        assert final.credentials[name]["ingredients"] == hashes


def test_claims_test_marking_and_no_key_anywhere(signed_run):
    storage, result = signed_run["storage"], signed_run["result"]
    unit = signed_run["generated"]
    data = _finals(storage, unit)["9x16/candidate-1.png"]
    cred = c2.read_credential(data, "image/png", _anchors())
    work = cred.assertion(c2.WORK_ASSERTION)
    assert work == {
        "campaign": unit.campaign_id,
        "locale": unit.locale,
        "product": unit.product_id,
        "candidate": 1,
        "ratio": "9:16",
        "run_id": result.run_id,
        "brief_version": 1,
        "ai_label": None,
    }
    assert cred.test_signed and "TEST" in cred.manifest["signature_info"]["issuer"]
    assert "TEST-SIGNED" in c2.describe(cred)
    # XMP for tools that read only XMP: digital source type, credit and copyright from the brand kit
    xmp = Image.open(io.BytesIO(data)).info["XML:com.adobe.xmp"]
    assert f'Iptc4xmpExt:DigitalSourceType="{c2.ALGORITHMIC}"' in xmp
    assert 'photoshop:Credit="Aurora Beverages"' in xmp and "© Aurora Beverages" in xmp
    # the private key is in no output, manifest, event or repr
    key_pem = CAFiles(Path(session_test_ca())).key.read_text()
    secret = "".join(key_pem.strip().splitlines()[1:-1])
    assert secret[:40] not in data.decode("latin-1")
    for k in storage.list_keys(unit.storage_prefix):
        if k.endswith(".json"):
            assert secret[:40] not in storage.read_text(k)
    events = "".join(str(e) for e in result.all_events)
    assert secret[:40] not in events and "PRIVATE KEY" not in events
    status = signing_credentials().status()
    assert secret[:40] not in repr(status) and "PRIVATE KEY" not in repr(status)


def test_one_pixel_changed_fails_verification(signed_run, capsys):
    data = _finals(signed_run["storage"], signed_run["supplied"])["1x1/candidate-1.png"]
    tampered = one_pixel_changed(data)

    def others(png: bytes) -> list[bytes]:
        return [png[s:e] for kind, s, e in c2._png_chunks(png) if kind != b"IDAT"]

    assert tampered != data and others(tampered) == others(data)  # only the image data differs
    result = c2.verify(tampered, "image/png", None, _anchors(), require_trust=True)
    assert not result.passed
    assert any("dataHash.mismatch" in p for p in result.problems), result.problems
    stripped = c2.unsigned_content(data, "image/png")
    assert not c2.verify(stripped, "image/png", None, _anchors(), require_trust=False).passed


def test_a_final_broken_after_signing_fails_the_check_and_is_not_selected(signed_run, tmp_path, monkeypatch):
    """Corrupt one final between signing and storage: content_credentials fails (ERROR, blocking the
    unit's selection, contained to the unit): the unit is recorded blocked with no files, so the
    broken final is never selected or offered for delivery."""
    from creative_assets.assets import credentials_step

    storage = _copy_storage(signed_run, tmp_path)
    unit = str(signed_run["supplied"])
    real_sign = c2.sign_file

    def sign_then_corrupt(data, name, *args, **kwargs):
        signed = real_sign(data, name, *args, **kwargs)
        return one_pixel_changed(signed) if name == "16x9/candidate-1.png" else signed

    monkeypatch.setattr(credentials_step.c2, "sign_file", sign_then_corrupt)
    selected_before = storage.read_text(
        f"{signed_run['supplied'].storage_prefix}/selected_creative/manifest.json"
    )
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(creative_units.name, signed_run["keys"])
        defs = pipeline_defs(storage)
        result = dg.materialize(
            defs.assets,
            selection=["final_creatives", "selected_creative"],
            partition_key=unit,
            instance=instance,
            resources=defs.resources,
            raise_on_error=False,
        )
        assert result.success  # contained: a blocked unit does not fail the batched step
        check = _latest_checks(instance, "content_credentials")[unit]
        assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
        assert "16x9/candidate-1.png" in check.description and "dataHash" in check.description
    # the selection is not the broken final: the unit (one candidate) is blocked, with no files
    selected = read_stage(storage, signed_run["supplied"], "selected_creative")
    assert selected.status == "blocked" and selected.files == {}
    assert "content_credentials" in selected.blocked_reason and "dataHash" in selected.blocked_reason
    assert (
        storage.read_text(f"{signed_run['supplied'].storage_prefix}/selected_creative/manifest.json")
        != selected_before
    )
    finals = read_stage(storage, signed_run["supplied"], "final_creatives")
    assert finals.credentials["16x9/candidate-1.png"]["blocked"]
    assert not finals.credentials["1x1/candidate-1.png"]["blocked"]


def test_a_broken_credential_blocks_only_its_unit_in_a_batched_run(signed_run, tmp_path, monkeypatch):
    """Containment (issue 13) for the credential checks: in one batched run, the unit whose final
    breaks after signing is recorded blocked; the other unit of the batch is selected."""
    from creative_assets.assets import credentials_step

    storage = _copy_storage(signed_run, tmp_path)
    supplied, generated = signed_run["supplied"], signed_run["generated"]
    real_sign = c2.sign_file

    def sign_then_corrupt(data, name, prov, *args, **kwargs):
        signed = real_sign(data, name, prov, *args, **kwargs)
        broken = prov.product == supplied.product_id and name.endswith(".png")  # the unit's finals
        return one_pixel_changed(signed) if broken else signed

    monkeypatch.setattr(credentials_step.c2, "sign_file", sign_then_corrupt)
    keys = signed_run["keys"]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(creative_units.name, keys)
        result = run_range(pipeline_defs(storage), instance, keys[0], keys[-1], raise_on_error=False)
        assert result.success
        checks = _latest_checks(instance, "content_credentials")
        assert not checks[str(supplied)].passed and checks[str(generated)].passed
    blocked = read_stage(storage, supplied, "selected_creative")
    assert blocked.status == "blocked" and blocked.files == {}
    assert "content_credentials" in blocked.blocked_reason
    chosen = read_stage(storage, generated, "selected_creative")
    assert chosen.status == "selected" and chosen.files
    for ratio, name in chosen.files.items():
        data = storage.read_bytes(chosen.file_key(name))
        assert c2.verify(data, "image/png", None, _anchors(), require_trust=False).passed, ratio


def _approve(service: ReviewService, unit: UnitKey):
    view = service.unit(unit)
    return service.approve(unit, "Ana Reviewer", view.selected.content_hash)


def test_delivery_keeps_the_credential_intact(signed_run, tmp_path):
    storage = _copy_storage(signed_run, tmp_path)
    unit = signed_run["generated"]
    service = ReviewService(storage, c2.VerifyPolicy(_anchors(), required=False))
    view = service.unit(unit)
    panel = view.selected.credentials["1:1"]
    assert panel["signed"] and panel["live"]["intact"] and panel["live"]["test_signed"]
    assert panel["live"]["digital_source_type"] == "algorithmicMedia"
    event = _approve(service, unit)
    manifest = json.loads(
        storage.read_text(f"approved/{unit.campaign_id}/{unit.locale}/{unit.product_id}/manifest.json")
    )
    # the stills and the placement exports (the files within each placement's byte budget)
    exports = {n for n in event.delivered if n.startswith("export/")}
    assert exports == {f"export/{e}" for e in view.selected.exports} and len(exports) == len(
        view.selected.files
    )
    for name, key in event.delivered.items():
        delivered = storage.read_bytes(key)
        assert delivered == storage.read_bytes(view.selected.sources[name])  # a byte copy
        result = c2.verify(delivered, c2.mime_type(key), None, _anchors(), require_trust=True)
        assert result.passed, result.problems
        assert manifest["files"][name]["content_credentials"]["verified"]
        assert manifest["files"][name]["content_credentials"]["work"]["product"] == unit.product_id
    for name in exports:
        key = event.delivered[name]
        assert "/export/" in key and key.endswith((".jpg", ".webp", ".png"))
        export = view.selected.exports[name.removeprefix("export/")]
        assert len(storage.read_bytes(key)) == export["bytes"]


def test_a_final_with_a_broken_credential_is_not_delivered(signed_run, tmp_path):
    """Even when the stage manifest agrees with the file (so the reviewer's hash check passes), a
    file whose credential does not verify is refused, and nothing is published."""
    storage = _copy_storage(signed_run, tmp_path)
    unit = signed_run["supplied"]
    stage = f"{unit.storage_prefix}/final_creatives"
    prefix = _live_prefix(storage, unit, "final_creatives")  # the live generation's folder
    name = "1x1/candidate-1.png"
    for broken in (one_pixel_changed, lambda d: c2.unsigned_content(d, "image/png")):
        data = broken(storage.read_bytes(f"{prefix}/{name}"))
        storage.write_bytes(f"{prefix}/{name}", data)
        # the live manifest and the generation's own copy both agree with the changed file
        for manifest_key in (f"{stage}/manifest.json", f"{prefix}/manifest.json"):
            manifest = json.loads(storage.read_text(manifest_key))
            manifest["files"][name]["sha256"] = hashlib.sha256(data).hexdigest()
            storage.write_text(manifest_key, json.dumps(manifest))
        service = ReviewService(storage, c2.VerifyPolicy(_anchors()))
        assert not service.unit(unit).selected.credentials["1:1"]["live"]["intact"]
        with pytest.raises(ReviewError, match="Content Credential does not verify") as err:
            _approve(service, unit)
        assert err.value.status == 409
        assert not list(storage.list_keys(f"approved/{unit.campaign_id}/{unit.locale}/{unit.product_id}"))


def test_openai_generated_declares_trained_media_and_china_shows_the_ai_label(tmp_path):
    from creative_assets_tests.openai_server import FakeOpenAI
    from resources.openai_providers import OpenAIImageProvider, OpenAIResource

    path = small_brief(tmp_path, locales=("zh-CN",), candidates=1)
    data = yaml.safe_load(path.read_text())
    data["aspect_ratios"] = ["1:1"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    with FakeOpenAI(api_key="sk-test-c2pa") as server, dg.instance_for_test() as instance:
        api = OpenAIResource(api_key="sk-test-c2pa", base_url=server.url, max_retries=0)
        keys = register(storage, path, instance)
        defs = pipeline_defs(storage, image_provider=OpenAIImageProvider(openai=api, storage=storage))
        result = run_range(defs, instance, keys[0], keys[-1])
        assert result.success
        labels = _latest_checks(instance, "ai_disclosure")
    for key in keys:
        unit = UnitKey.parse(key)
        supplied = bool(read_stage(storage, unit, "unit_brief").product_asset_keys)
        data = _finals(storage, unit)["1x1/candidate-1.png"]
        result = c2.verify(data, "image/png", None, _anchors(), require_trust=True)
        assert result.passed, result.problems
        cred = result.credential
        assert cred.source_type == (c2.COMPOSITE_WITH_TRAINED if supplied else c2.TRAINED)
        assert cred.actions[0]["softwareAgent"] == {"name": "openai-images", "version": "gpt-image-1"}
        assert cred.assertion(c2.WORK_ASSERTION)["ai_label"] == "AI生成"
        report = read_stage(storage, unit, "final_creatives").candidates[0].renders["1:1"]
        legal = next(b for b in report.blocks if b.role == "disclaimer")
        assert legal.text.startswith("AI生成") and legal.fits
        assert labels[key].passed and labels[key].metadata["figures"].data["labelled"] == 1


def test_disabled_credentials_are_said_clearly_and_are_an_error_in_production(monkeypatch, tmp_path):
    monkeypatch.setattr(c2, "AVAILABLE", False)
    monkeypatch.setattr(c2, "UNAVAILABLE_REASON", "c2pa-python is not importable: no wheel")
    auto = ContentCredentials(test_ca_dir=session_test_ca()).status()
    assert auto.key is None and not auto.required and "not importable" in auto.disabled
    verdict = credentials_verdict({}, auto.disabled, auto.required)
    assert not verdict.passed and verdict.severity == "WARN" and "disabled" in verdict.description
    prod = ContentCredentials(mode="required").status()
    verdict = credentials_verdict({}, prod.disabled, prod.required)
    assert verdict.severity == "ERROR" and verdict.description.startswith("configuration error")
    monkeypatch.undo()
    # production refuses the test CA and unconfigured trust
    ca = CAFiles(Path(session_test_ca()))
    test_cert = ContentCredentials(
        mode="required", cert_chain=str(ca.chain), private_key=str(ca.key)
    ).status()
    assert test_cert.key is None and "TEST CA" in test_cert.reason
    assert "no signing certificate" in ContentCredentials(test_ca_dir=str(tmp_path / "none")).status().reason


def test_a_production_run_without_a_certificate_blocks_every_unit_and_selects_nothing(tmp_path):
    path = small_brief(tmp_path, locales=("en-US",), candidates=1)
    data = yaml.safe_load(path.read_text())
    data["aspect_ratios"] = ["1:1"]
    set_products(data, data["products"][:1])
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    storage = LocalCreativeStorage(root=str(tmp_path / "storage"))
    with dg.instance_for_test() as instance:
        keys = register(storage, path, instance)
        defs = pipeline_defs(storage, credentials=ContentCredentials(mode="required"))
        result = run_range(defs, instance, keys[0], keys[-1], raise_on_error=False)
        assert result.success  # contained per unit: every unit is blocked, nothing is selected
        check = _latest_checks(instance, "content_credentials")[keys[0]]
        assert not check.passed and "configuration error" in check.description
    for key in keys:
        selected = read_stage(storage, UnitKey.parse(key), "selected_creative")
        assert selected.status == "blocked" and selected.files == {}
        assert "content_credentials" in selected.blocked_reason
        assert "configuration error" in selected.blocked_reason


def test_the_project_runs_without_the_c2pa_library(tmp_path):
    """A platform without a c2pa wheel: imports work, the definitions load, credentials say disabled."""
    code = (
        "import sys; sys.modules['c2pa'] = None\n"
        "from creative_assets import credentials as c2\n"
        "assert not c2.AVAILABLE, 'c2pa should be blocked'\n"
        "from creative_assets.definitions import defs\n"
        "from resources.credentials import ContentCredentials\n"
        "print(ContentCredentials().status().disabled)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DAGSTER_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "c2pa-python is not importable" in out.stdout


def kms_sign(data: bytes) -> bytes:
    """A stand-in for a KMS/HSM signing hook: signs with a key this process never hands to c2pa."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_private_key(CAFiles(Path(session_test_ca())).key.read_bytes(), None)
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def test_signing_through_a_kms_hook_and_the_cli(signed_run, tmp_path, capsys):
    from creative_assets.cli import main

    ca = CAFiles(Path(session_test_ca()))
    status = ContentCredentials(
        cert_chain=str(ca.chain), signing_hook="creative_assets_tests.test_credentials:kms_sign"
    ).status()
    assert status.key is not None and status.key.private_key is None and status.key.test_signed
    data = _finals(signed_run["storage"], signed_run["supplied"])["1x1/candidate-1.png"]
    unsigned = c2.unsigned_content(data, "image/png")
    logo = io.BytesIO()
    Image.new("RGBA", (8, 4), (0, 0, 0, 255)).save(logo, "PNG")
    logo = logo.getvalue()
    ingredient = c2.Ingredient("logo", "logo: l.png", "image/png", c2.sha256(logo), "l.png")
    prov = c2.Provenance(
        "c",
        "en-US",
        "p",
        1,
        "1:1",
        "run",
        1,
        "offline-compositor",
        "procedural-v1",
        "generated",
        "generated:can",
        (ingredient,),
        text_overlay=False,
    )
    resigned = c2.sign_file(unsigned, "x.png", prov, status.key, {"logo": logo}, "Credit", "© Brand")
    assert c2.verify(resigned, "image/png", prov, _anchors(), require_trust=True).passed
    # JPEG finals are signed the same way (XMP in APP1 after JFIF, the manifest in APP11)
    jpeg = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(jpeg, "JPEG", quality=90)
    signed_jpeg = c2.sign_file(
        jpeg.getvalue(), "x.jpg", prov, status.key, {"logo": logo}, "Credit", "© Brand"
    )
    assert c2.verify(signed_jpeg, "image/jpeg", prov, _anchors(), require_trust=True).passed
    assert "DigitalSourceType" in Image.open(io.BytesIO(signed_jpeg)).info["xmp"].decode()
    assert c2.unsigned_content(signed_jpeg, "image/jpeg") != signed_jpeg
    assert not c2.read_credential(c2.unsigned_content(signed_jpeg, "image/jpeg"), "image/jpeg").present
    # the CLI: a fresh test CA, and a readable manifest chain
    assert main(["credentials", "init", "--dir", str(tmp_path / "ca")]) == 0
    fresh = CAFiles(tmp_path / "ca")
    assert fresh.exists() and (fresh.key.stat().st_mode & 0o777) == 0o600
    assert init_test_ca(tmp_path / "ca")[1] is False  # kept, not replaced
    final = tmp_path / "final.png"
    final.write_bytes(data)
    capsys.readouterr()
    assert main(["credentials", "show", str(final), "--trust-anchors", str(ca.ca)]) == 0
    out = capsys.readouterr().out
    assert "c2pa.created [composite]" in out and "TEST-SIGNED" in out and "Trusted" in out
    final.write_bytes(one_pixel_changed(data))
    assert main(["credentials", "show", str(final), "--trust-anchors", str(ca.ca)]) == 1
    assert "BROKEN" in capsys.readouterr().out


def test_a_credential_that_misdeclares_what_was_done_fails_verification(signed_run):
    """The check compares the declaration with the pipeline's record: a packshot declaration on a
    generated product, a wrong ingredient hash or another run id are each caught."""
    import dataclasses

    storage, unit = signed_run["storage"], signed_run["supplied"]
    data = _finals(storage, unit)["1x1/candidate-1.png"]
    status = signing_credentials().status()
    cred = c2.read_credential(data, "image/png")
    work = cred.assertion(c2.WORK_ASSERTION)
    hashes = cred.ingredient_hashes()
    ingredients = tuple(c2.Ingredient(role, role, "image/png", sha, "") for role, sha in hashes.items())
    truth = c2.Provenance(
        work["campaign"],
        work["locale"],
        work["product"],
        1,
        "1:1",
        work["run_id"],
        1,
        "offline-compositor",
        "procedural-v1",
        "supplied",
        "supplied:alpha",
        ingredients,
    )
    assert c2.verify(data, "image/png", truth, status.trust_anchors, True).passed
    lies = {
        "generative": dataclasses.replace(truth, product_source="generated"),
        "ingredient packshot": dataclasses.replace(
            truth,
            ingredients=tuple(
                dataclasses.replace(i, sha256="0" * 64) if i.role == "packshot" else i for i in ingredients
            ),
        ),
        "claims differ": dataclasses.replace(truth, run_id="another-run"),
        "AI label": dataclasses.replace(truth, ai_label="AI生成"),
    }
    for expected_problem, record in lies.items():
        problems = c2.verify(data, "image/png", record, status.trust_anchors, True).problems
        assert any(expected_problem in p for p in problems), (expected_problem, problems)


def test_ai_label_only_for_ai_imagery_in_markets_that_require_one():
    from types import SimpleNamespace

    from creative_assets.disclosure import ai_label_for
    from creative_assets.locales import get_locale

    zh = SimpleNamespace(locale=get_locale("zh-CN").model_dump(mode="json"))
    de = SimpleNamespace(locale=get_locale("de-DE").model_dump(mode="json"))
    ai = SimpleNamespace(provider="openai-images", candidates=[SimpleNamespace(source="generated")])
    drawn = SimpleNamespace(provider="offline-compositor", candidates=[SimpleNamespace(source="generated")])
    edited = SimpleNamespace(provider="openai-images", candidates=[SimpleNamespace(source="supplied")])
    assert ai_label_for(zh, ai) == "AI生成" and ai_label_for(zh, edited) == "AI生成"
    assert ai_label_for(zh, drawn) is None  # procedural drawing is not AI
    assert ai_label_for(de, ai) is None  # no visible label required there (the credential marks it)
    assert get_locale("ko-KR").ai_label == "AI 생성"
    assert any("AI" in note for note in get_locale("zh-CN").legal_notes)


def test_review_app_shows_a_content_credentials_panel(signed_run, tmp_path):
    from starlette.testclient import TestClient

    from creative_assets.identity.config import IdentitySettings
    from creative_assets.identity.store import IdentityStore
    from creative_assets.review.app import create_app

    storage = _copy_storage(signed_run, tmp_path)
    unit = signed_run["supplied"]
    identity = IdentityStore.open(f"sqlite:///{tmp_path / 'identity.sqlite'}")
    identity.add_user("ana@example.com", password="panel-test-password", is_admin=True)
    app = create_app(
        storage, identity, IdentitySettings(db_url="unused"), credentials=c2.VerifyPolicy(_anchors())
    )
    client = TestClient(app, follow_redirects=False)
    r = client.post(
        "/login", data={"login": "ana@example.com", "password": "panel-test-password", "next": "/"}
    )
    assert r.status_code == 303
    page = client.get(f"/units/{unit}").text
    panel = page[page.index("<h2>Content Credentials</h2>") : page.index('id="credentials"') + 6000]
    assert panel.count("TEST-SIGNED") == 3 and panel.count(">valid<") == 3 and panel.count(">trusted<") == 3
    assert "composite" in panel and "c2pa.created, c2pa.placed, c2pa.placed, c2pa.edited" in panel
    key = f"{_live_prefix(storage, unit, 'final_creatives')}/1x1/candidate-1.png"
    storage.write_bytes(key, one_pixel_changed(storage.read_bytes(key)))
    page = client.get(f"/units/{unit}").text
    assert ">broken<" in page and "dataHash.mismatch" in page


def test_an_ai_made_packshot_is_not_laundered_into_a_brand_photo(signed_run):
    """A brand may supply a "packshot" that a model made: its own credential says so, and the final
    then declares AI imagery (and gets the visible label where one is required)."""
    from types import SimpleNamespace

    from creative_assets.disclosure import ai_label_for, declared_source
    from creative_assets.locales import get_locale

    key = signing_credentials().status().key
    data = _finals(signed_run["storage"], signed_run["generated"])["1x1/candidate-1.png"]
    ai_made = c2.Provenance(
        "c",
        "en-US",
        "p",
        1,
        "1:1",
        "r",
        1,
        "openai-images",
        "gpt-image-1",
        "generated",
        "model:generate",
        (),
        text_overlay=False,
    )
    packshot = c2.sign_file(c2.unsigned_content(data, "image/png"), "p.png", ai_made, key, {}, "C", "©")
    assert declared_source(packshot, "assets/p.png") == c2.TRAINED
    assert declared_source(c2.unsigned_content(data, "image/png"), "p.png") is None
    assert c2.source_type("offline-compositor", "supplied", c2.TRAINED) == c2.COMPOSITE_WITH_TRAINED
    assert c2.source_type("offline-compositor", "supplied", None) == c2.COMPOSITE
    zh = SimpleNamespace(locale=get_locale("zh-CN").model_dump(mode="json"))
    offline = SimpleNamespace(provider="offline-compositor", candidates=[SimpleNamespace(source="supplied")])
    assert ai_label_for(zh, offline, c2.TRAINED) == "AI生成" and ai_label_for(zh, offline) is None


def test_every_placement_export_is_signed_within_its_budget(signed_run):
    """The export of each final (JPEG/WebP within the placement's byte budget) carries the final's
    credential; the bytes the credential adds are counted against the budget."""
    storage = signed_run["storage"]
    for key in signed_run["keys"]:
        unit = UnitKey.parse(key)
        finals = read_stage(storage, unit, "final_creatives")
        for cand in finals.candidates:
            for ratio, render in cand.renders.items():
                export = render.export
                data = finals.image_bytes_stored(export.file)
                result = c2.verify(data, c2.mime_type(export.file), None, _anchors(), require_trust=True)
                assert result.passed, (export.file, result.problems)
                work = result.credential.assertion(c2.WORK_ASSERTION)
                assert (work["ratio"], work["candidate"]) == (ratio, cand.index + 1)
                assert export.bytes == len(data) <= export.max_bytes and export.credential_bytes > 1000
                assert finals.credentials[render.file]["export_verified"] is True
        selected = read_stage(storage, unit, "selected_creative")
        best = next(c for c in finals.candidates if c.index == selected.best)
        for ratio, name in selected.exports.items():
            assert selected.image_bytes_stored(name) == finals.image_bytes_stored(
                best.renders[ratio].export.file
            )


def test_a_signed_export_over_its_budget_is_encoded_again_to_fit():
    """The credential's bytes are kept free of the budget: quality drops (never below the measured
    minimum) instead of the signed file going over."""
    from creative_assets.placements import get_placement
    from creative_assets.render.export import export_for_placement
    from creative_assets.unit_work import placement_export

    rng = np.random.default_rng(4)
    image = Image.fromarray(rng.integers(90, 160, (250, 300, 3), dtype=np.uint8)).filter(
        ImageFilter.GaussianBlur(2)
    )
    unsigned, record = export_for_placement(image, get_placement("iab-medium-rectangle"))
    placement = get_placement("iab-medium-rectangle").model_copy(update={"max_bytes": len(unsigned) + 2000})

    def seal(final: str, name: str, data: bytes) -> bytes:
        assert final == "iab-medium-rectangle/candidate-1.png" and name.startswith(
            "export/iab-medium-rectangle/"
        )
        return data + bytes(6000)  # what a manifest adds (after the JPEG's end: still decodable)

    name, data, export = placement_export(image, placement, "iab-medium-rectangle", 0, seal)
    assert name == export.file and len(data) <= placement.max_bytes and export.bytes == len(data)
    assert export.credential_bytes == 6000 and export.quality < record.quality
    assert export.max_bytes == placement.max_bytes and export.psnr_db >= export.min_psnr_db
