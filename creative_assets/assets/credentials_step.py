"""Content Credentials inside the ``final_creatives`` step: sign each final as it is encoded, then,
once the step's output is stored, read every final back and verify it (asset checks
``content_credentials`` and ``ai_disclosure``).

Like the compliance checks they are not Dagster-blocking (one broken file would fail the whole
batched step); they block *per unit* instead: each signed final is verified as it is sealed, and
what it declares and whether it verifies is recorded in ``FinalCreatives.credentials`` (``blocked``:
the reasons, or empty). ``selection_value`` never selects a candidate with a blocked file, and a unit
with no candidate left is recorded blocked (credentials required but disabled blocks every file).
So a final whose credential is missing or broken is never selected, approved or delivered. The
read-back check reuses the verification of the same bytes (same SHA-256) and verifies anything else.

Signing happens where the PNG is encoded (the step's ``hold``), so the stored file, the byte copy
in ``selected/`` and the approved delivery all carry the same credential.
"""

from __future__ import annotations

import hashlib

import dagster as dg

from creative_assets import credentials as c2
from creative_assets.brand_kit import BrandKit
from creative_assets.compliance import CHECKS_BY_NAME, UNIT_CHECKS, UnitCredentials
from creative_assets.disclosure import (
    UnitInputs,
    Verdict,
    ai_label_for,
    ingredient_format,
    kit_credit,
    unit_provenance,
    video_provenance,
    with_ai_label,
)
from creative_assets.layout import files_prefix
from creative_assets.motion import SealRequest
from creative_assets.motion_checks import CredentialResult
from creative_assets.stage_store import read_manifest
from creative_assets.stages import (
    BrandedCandidates,
    FinalCreatives,
    ImageCandidates,
    LocaleContextPack,
    LocalizedCopy,
    UnitBrief,
)
from creative_assets.units import UnitKey
from resources.credentials import CredentialsStatus
from resources.storage import CreativeStorage


class UnitSigning:
    """One unit's credentials: what each final declares, and signing as the files are encoded."""

    def __init__(
        self,
        unit: UnitKey,
        brief: UnitBrief,
        raw: ImageCandidates,
        branded: BrandedCandidates,
        pack: LocaleContextPack,
        kit: BrandKit,
        storage: CreativeStorage,
        status: CredentialsStatus,
        run_id: str,
    ):
        self.unit, self.status = unit, status
        packshot = None
        if brief.product_asset_keys and any(c.source == "supplied" for c in raw.candidates):
            packshot = (brief.product_asset_keys[0], storage.read_bytes(brief.product_asset_keys[0]))
        files = {r.file for c in raw.candidates for r in c.renders.values()}
        variants = {r.logo.variant for c in branded.candidates for r in c.renders.values()}
        logos = {}
        for variant in variants:
            name = getattr(kit.logo, variant) or kit.logo.primary
            logos[variant] = (name, kit.path(name).read_bytes())
        self.inputs = UnitInputs(packshot, {f: raw.image_bytes(f) for f in files}, logos)
        self.ai_label = ai_label_for(pack, raw, self.inputs.packshot_source)
        self.provenance = unit_provenance(brief, raw, branded, self.inputs, run_id, self.ai_label)
        self.credit, self.copyright = kit_credit(kit)
        self.disclosure: Verdict | None = None
        self.finals: FinalCreatives | None = None
        #: file -> (SHA-256 of the sealed bytes, their verification)
        self.verified: dict[str, tuple[str, c2.Verification]] = {}
        #: final PNG -> the name of its placement export (signed with the same declaration)
        self.exports: dict[str, str] = {}

    def copy(self, copy: LocalizedCopy) -> LocalizedCopy:
        """The unit's copy with the market's visible AI label leading the legal line, if required."""
        return with_ai_label(copy, self.ai_label)

    def seal(self, name: str, data: bytes) -> bytes:
        """Sign one encoded final (unchanged when credentials are disabled)."""
        key = self.status.key
        if key is None:
            return data
        prov = self.provenance[name]
        parts = {i.role: self.inputs.bytes_of(i) for i in prov.ingredients}
        sealed = c2.sign_file(data, name, prov, key, parts, self.credit, self.copyright)
        self.verified[name] = (hashlib.sha256(sealed).hexdigest(), self.verify(name, sealed))
        return sealed

    def seal_export(self, final: str, name: str, data: bytes) -> bytes:
        """Sign the placement export ``name`` of the final ``final`` (JPEG, WebP or PNG): the same
        imagery, so the same declaration; verified at once (a failing export blocks its final)."""
        key = self.status.key
        self.exports[final] = name
        if key is None:
            return data
        prov = self.provenance[final]
        parts = {i.role: self.inputs.bytes_of(i) for i in prov.ingredients}
        sealed = c2.sign_file(data, name, prov, key, parts, self.credit, self.copyright)
        self.verified[name] = (hashlib.sha256(sealed).hexdigest(), self.verify(name, sealed, final))
        return sealed

    def verify(self, name: str, data: bytes, final: str | None = None) -> c2.Verification:
        return c2.verify(
            data,
            c2.mime_type(name),
            self.provenance[final or name],
            self.status.trust_anchors,
            require_trust=self.status.required,
        )

    def verification(self, name: str, data: bytes) -> c2.Verification:
        """The verification of ``data`` (read back from storage): the one made when it was sealed if
        these are the same bytes, else a new one."""
        digest, result = self.verified.get(name, ("", None))
        if result is not None and hashlib.sha256(data).hexdigest() == digest:
            return result
        return self.verify(name, data)

    def checked(self, verifications: dict[str, c2.Verification] | None = None) -> UnitCredentials:
        """What the unit-scope checks judge (after :meth:`finish`), with the read-back verifications."""
        if self.finals is None:
            raise RuntimeError("UnitSigning.finish has not run")
        return UnitCredentials(
            provenance=self.provenance,
            finals=self.finals,
            verifications=verifications or {},
            disabled=self.status.disabled,
            required=self.status.required,
        )

    def describe(self) -> str:
        """One line for the materialization's metadata."""
        if self.status.key is None:
            return f"disabled: {self.status.reason}"
        kinds = sorted({p.source_type.removeprefix(c2.IPTC) for p in self.provenance.values()})
        test = "TEST-signed" if self.status.key.test_signed else "signed"
        label = f"; visible AI label {self.ai_label!r}" if self.ai_label else ""
        return f"{test} C2PA, digital source type {', '.join(kinds)}{label}"

    def finish(self, value: FinalCreatives) -> None:
        """Record what each final declares in the manifest, whether it verifies, and judge the visible
        AI label; a file that fails either is ``blocked`` (never selected)."""
        signed = self.status.key is not None
        value.credentials = {
            name: {
                "signed": signed,
                "test_signed": signed and self.status.key.test_signed,
                "digital_source_type": prov.source_type.removeprefix(c2.IPTC),
                "generator": f"{prov.provider} {prov.model}",
                "ai_label": prov.ai_label,
                "ingredients": {i.role: i.sha256 for i in prov.ingredients},
            }
            for name, prov in self.provenance.items()
        }
        #: the unit's manifest without pixels, for the unit-scope checks after the step's output is stored
        self.finals = FinalCreatives.model_validate(value.model_dump())
        self.disclosure = CHECKS_BY_NAME["ai_disclosure"].function(self.checked())
        unlabelled = {f["file"]: f["problem"] for f in self.disclosure.failing}
        for name, record in value.credentials.items():
            reasons = []
            if self.status.disabled is not None and self.status.required:
                reasons.append(
                    f"content_credentials: configuration error: required but disabled ({self.status.disabled})"
                )
            elif signed:
                result = self.verified.get(name, ("", None))[1]
                record["verified"] = bool(result and result.passed)
                if result is None:
                    reasons.append("content_credentials: the final was not signed")
                elif not result.passed:
                    reasons.append(
                        f"content_credentials: {result.problems[0] if result.problems else 'fails'}"
                    )
                export = self.exports.get(name)
                exported = self.verified.get(export, ("", None))[1] if export else None
                if export:
                    record["export_verified"] = bool(exported and exported.passed)
                if export and (exported is None or not exported.passed):
                    why = exported.problems[0] if exported and exported.problems else "not signed"
                    reasons.append(f"content_credentials: export {export}: {why}")
            if name in unlabelled:
                reasons.append(f"ai_disclosure: {unlabelled[name]}")
            record["blocked"] = reasons  # "<check>: <why>" each; empty: selectable
        self.inputs = None  # the ingredient bytes are not needed past signing (batched steps)


class MotionSigning:
    """One unit's motion files signed as they are encoded (``motion.Sealer``), and verified: the
    still each animates, the end card's logo and a generated clip are its ingredients, hashed."""

    def __init__(
        self,
        brief: UnitBrief,
        raw: ImageCandidates,
        finals: FinalCreatives,
        kit: BrandKit,
        status: CredentialsStatus,
        run_id: str,
        video_provider: str,
    ):
        self.brief, self.raw, self.finals, self.kit, self.status = brief, raw, finals, kit, status
        self.run_id, self.video_provider = run_id, video_provider
        self.credit, self.copyright = kit_credit(kit)

    def seal(self, request: SealRequest, data: bytes) -> tuple[bytes, CredentialResult]:
        status = self.status
        if status.key is None:
            return data, CredentialResult(False, False, disabled=status.reason, required=status.required)
        still_key = self.finals.file_key(request.still)
        still = self.finals.image_bytes_stored(request.still)
        logo_name = getattr(self.kit.logo, request.logo_variant) or self.kit.logo.primary
        logo = self.kit.path(logo_name).read_bytes()
        parts = {"final": still, "logo": logo}
        ingredients = [
            c2.Ingredient("final", f"final: {request.still}", "image/png", c2.sha256(still), still_key),
            c2.Ingredient(
                "logo", f"logo: {logo_name}", ingredient_format(logo_name), c2.sha256(logo), logo_name
            ),
        ]
        if request.clip is not None:
            parts["clip"] = request.clip
            ingredients.append(
                c2.Ingredient("clip", "clip: generated background", "video/mp4", c2.sha256(request.clip))
            )
        prov = video_provenance(
            self.brief,
            self.raw,
            self.finals.credentials.get(request.still, {}),
            tuple(ingredients),
            candidate=request.candidate,
            placement=request.placement,
            run_id=self.run_id,
            video_provider=self.video_provider,
            version=c2.project_version(),
            ai_label=request.ai_label,
            clip=request.clip is not None,
        )
        sealed = c2.sign_file(data, request.file, prov, status.key, parts, self.credit, self.copyright)
        result = c2.verify(
            sealed, c2.mime_type(request.file), prov, status.trust_anchors, require_trust=status.required
        )
        summary = result.credential.summary()
        return sealed, CredentialResult(
            True, result.passed, result.problems, required=status.required, summary=summary
        )


def credential_verdicts(
    context: dg.AssetExecutionContext,
    storage: CreativeStorage,
    status: CredentialsStatus,
    units: dict[str, UnitSigning],
) -> dict[str, dict[str, Verdict]]:
    """partition key -> the unit-scope checks' verdicts (registry ``scope="unit"``): every stored final
    read back from the generation the IO manager just made live and verified."""
    selected = {key.name for key in context.selected_asset_check_keys}
    out: dict[str, dict[str, Verdict]] = {}
    for partition_key, signing in units.items():
        verifications = {}
        if status.key is not None and "content_credentials" in selected:
            manifest = read_manifest(storage, signing.unit, "final_creatives") or {}
            prefix = files_prefix(signing.unit, "final_creatives", manifest)
            for name in signing.provenance:
                verifications[name] = signing.verification(name, storage.read_bytes(f"{prefix}/{name}"))
        checked = signing.checked(verifications)
        out[partition_key] = {c.name: c.function(checked) for c in UNIT_CHECKS if c.name in selected}
    return out
