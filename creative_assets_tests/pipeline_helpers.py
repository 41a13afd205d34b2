"""Builders for pipeline tests: a small brief, registered into a temporary storage root."""

from __future__ import annotations

import atexit
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import dagster as dg
import yaml

from creative_assets import credentials as c2
from creative_assets.assets.rollup import campaign_compliance_report, campaign_summary
from creative_assets.brief import load_brief
from creative_assets.brief_store import register_brief
from creative_assets.jobs import campaign_rollup, creative_pipeline, unit_stages
from creative_assets.partitions import campaigns, creative_units
from creative_assets_tests.helpers import SUMMER, is_generation_copy, set_products, without_generations
from resources.brand_kits import BrandKitLibrary
from resources.credentials import ContentCredentials
from resources.io_manager import CreativeIOManager
from resources.providers import BriefCopyProvider, BuiltinContextProvider, OfflineImageProvider
from resources.storage import LocalCreativeStorage
from resources.video_providers import OfflineAnimator


def small_brief(
    tmp_path: Path, locales=("en-US", "ja-JP", "ar-AE"), candidates=2, products=None, motion: bool = False
) -> Path:
    """The summer example cut down: one supplied-image product and one generated product. Motion is
    off unless asked for (``motion=True``): the tests of videos say so; the others need no videos."""
    target = tmp_path / "brief"
    shutil.copytree(SUMMER.parent, target, dirs_exist_ok=True)
    data = yaml.safe_load((target / "brief.yaml").read_text())
    data["locales"] = list(locales)
    data["localized_messages"] = {k: v for k, v in data.get("localized_messages", {}).items() if k in locales}
    supplied = next(p for p in data["products"] if p.get("assets"))
    generated = next(p for p in data["products"] if not p.get("assets"))
    set_products(data, products or [supplied, generated])
    data["candidates"] = candidates
    if not motion:
        data["motion"] = {"enabled": False}
    path = target / "brief.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return path


_TEST_CA: list[str] = []


def session_test_ca() -> str:
    """One test CA per test session (creative-assets credentials init), so every pipeline test signs
    its finals and verifies them like a real run."""
    if not _TEST_CA:
        from creative_assets.credentials_ca import init_test_ca

        folder = Path(tempfile.mkdtemp(prefix="creative-assets-test-ca-"))
        init_test_ca(folder)
        atexit.register(shutil.rmtree, folder, True)
        _TEST_CA.append(str(folder))
    return _TEST_CA[0]


def signing_credentials(**overrides) -> ContentCredentials:
    return ContentCredentials(**{"test_ca_dir": session_test_ca(), **overrides})


def pipeline_resources(storage: LocalCreativeStorage) -> dict:
    return {
        "credentials": signing_credentials(),
        "storage": storage,
        "creative_io_manager": CreativeIOManager(storage=storage),
        "brand_kits": BrandKitLibrary(),
        "context_provider": BuiltinContextProvider(),
        "image_provider": OfflineImageProvider(),
        "copy_provider": BriefCopyProvider(),
        "video_provider": OfflineAnimator(),
    }


def pipeline_defs(storage: LocalCreativeStorage, **overrides) -> dg.Definitions:
    return dg.Definitions(
        assets=[*unit_stages, campaign_summary, campaign_compliance_report],
        jobs=[creative_pipeline, campaign_rollup],
        resources={**pipeline_resources(storage), **overrides},
        executor=dg.in_process_executor,
    )


def register(storage, brief_path: Path, instance: dg.DagsterInstance, preflight: bool = True) -> list[str]:
    record, _ = register_brief(storage, load_brief(brief_path, preflight=preflight), brief_path.read_bytes())
    keys = [str(u) for u in record.unit_keys()]
    instance.add_dynamic_partitions(creative_units.name, keys)
    instance.add_dynamic_partitions(campaigns.name, [record.campaign_id])
    return keys


def run_range(defs: dg.Definitions, instance: dg.DagsterInstance, first: str, last: str, raise_on_error=True):
    return defs.resolve_job_def("creative_pipeline").execute_in_process(
        instance=instance,
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
        raise_on_error=raise_on_error,
    )


def comparable(files: dict[str, bytes], prefix: str) -> dict[str, object]:
    """Unit stage outputs: unsigned images as they are; a signed image (C2PA, issue 17) as its bytes
    without the embedded manifest plus what its credential says apart from the run that signed it
    (the signature, and so the file's raw bytes, differ between runs); manifests without when/which
    run wrote them, a signed file's SHA-256 and size replaced by those of its bytes without the
    manifest (an entry that matches no stored file keeps its hash, and so still has to be equal)."""
    out: dict[str, object] = {}
    signed: dict[str, dict] = {}  # SHA-256 of a signed file as stored -> its entry without the manifest
    for key, data in files.items():
        if key.count("/") < 3:
            continue  # campaign-level roll-ups (summary, compliance report): the CLI writes them too
        if key.endswith("manifest.json"):
            continue  # below, once every signed file is known
        fmt = c2.mime_type(key) if key.endswith(tuple(c2.SIGNED_FORMATS)) else None
        content = c2.unsigned_content(data, fmt) if fmt else data
        if content == data:
            out[without_generations(key)] = data
            continue
        credential = c2.read_credential(data, fmt)
        work = credential.assertion(c2.WORK_ASSERTION)
        assert credential.present and work and work["run_id"], key
        out[without_generations(key)] = {
            "content": content,
            "state": credential.state,
            "work": {**work, "run_id": "<run>"},
            "ingredients": credential.ingredient_hashes(),
        }
        signed[hashlib.sha256(data).hexdigest()] = {
            "sha256": hashlib.sha256(content).hexdigest(),
            "bytes": len(content),
            "signed": True,
        }
    for key, data in files.items():
        if key.count("/") < 3 or not key.endswith("manifest.json"):
            continue
        if is_generation_copy(key):
            continue  # a generation's copy of its manifest: the live manifest is compared
        text = without_generations(data.decode().replace(f"/{prefix}/", "/<prefix>/"))
        manifest = unsigned_refs(json.loads(text), signed)
        out[key] = {k: v for k, v in manifest.items() if k not in ("written_at", "run_id", "generation")}
    for entry in out.values():  # a video's ingredient is its (signed) still
        if isinstance(entry, dict) and "ingredients" in entry:
            entry["ingredients"] = unsigned_refs(entry["ingredients"], signed)
    return out


def unsigned_refs(value, signed: dict[str, dict]):
    """``value`` (JSON) with every reference to a signed file (its SHA-256, with the ``bytes`` beside
    it) replaced by the file's without its manifest."""
    if isinstance(value, dict):
        value = {k: unsigned_refs(v, signed) for k, v in value.items()}
        unsigned = signed.get(value.get("sha256")) if isinstance(value.get("sha256"), str) else None
        if unsigned is not None:
            value["sha256"] = unsigned["sha256"]
            if "bytes" in value:
                value["bytes"] = unsigned["bytes"]
        return value
    if isinstance(value, list):
        return [unsigned_refs(v, signed) for v in value]
    if isinstance(value, str) and value in signed:
        return signed[value]["sha256"]
    return value
