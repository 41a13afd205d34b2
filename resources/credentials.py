"""The Content Credentials signer: which certificate signs the finals, and how strictly they are verified.

Configured through ``EnvVar``s (README "Content Credentials"), resolved at run time:

=================================  ===============================================================
``CREATIVE_ASSETS_CREDENTIALS``    ``auto`` (default): sign when a certificate (or the test CA) is
                                   there, else run with credentials disabled (checks WARN);
                                   ``required``: production, anything short of a CA-issued
                                   certificate is a configuration error (checks ERROR);
                                   ``off``: never sign
``..._C2PA_CERT_CHAIN``            PEM file: signing certificate first, then intermediates
``..._C2PA_PRIVATE_KEY``           PEM file of the private key (or use the hook below)
``..._C2PA_SIGNING_HOOK``          ``module:function`` taking the bytes to sign and returning the
                                   signature, for a KMS or HSM (the key never enters this process)
``..._C2PA_ALGORITHM``             es256 (default), es384, es512, ps256, ps384, ps512, ed25519
``..._C2PA_TSA_URL``               RFC 3161 timestamp authority (recommended in production)
``..._C2PA_TRUST_ANCHORS``         PEM roots the verifier trusts (your CA's root, or the C2PA
                                   trust list); in ``required`` mode every signer must chain to one
``..._C2PA_TEST_CA``               folder of the test CA (default ``var/credentials``)
=================================  ===============================================================

Key material is read when signing starts and never logged, put in metadata or returned in errors.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from pydantic import Field

from creative_assets import credentials
from creative_assets.credentials import SigningKey, VerifyPolicy

MODES = ("auto", "required", "off")
ALGORITHMS = ("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519")


@dataclass(frozen=True)
class CredentialsStatus:
    """What a step signs with: ``key`` (None: disabled, ``reason`` says why) and how it verifies."""

    key: SigningKey | None
    required: bool
    reason: str = ""
    trust_anchors: bytes | None = None

    @property
    def disabled(self) -> str | None:
        return None if self.key is not None else self.reason


class ContentCredentials(dg.ConfigurableResource):
    """Signs every final creative with a C2PA manifest (``creative_assets/credentials.py``)."""

    mode: str = Field("auto", description="auto | required (production) | off")
    cert_chain: str = Field("", description="PEM file: signing certificate first, then intermediates.")
    private_key: str = Field("", description="PEM file of the signing key (not needed with signing_hook).")
    signing_hook: str = Field("", description="module:function(bytes) -> signature, for a KMS/HSM.")
    algorithm: str = Field("es256", description="es256 | es384 | es512 | ps256 | ps384 | ps512 | ed25519")
    tsa_url: str = Field("", description="RFC 3161 timestamp authority URL (optional; use it in production).")
    trust_anchors: str = Field("", description="PEM file of trusted roots for verification.")
    test_ca_dir: str = Field("", description="Folder of the test CA from `creative-assets credentials init`.")

    def verify_policy(self) -> VerifyPolicy:
        """What a reader of finals needs (the review app): trusted roots and strictness, no key."""
        required = (self.mode or "").strip().lower() == "required"
        anchors = _read(self.trust_anchors) if self.trust_anchors else None
        if anchors is None and not self.cert_chain and self.test_ca_dir and not required:
            anchors = _read(str(Path(self.test_ca_dir) / "test-ca.pem"))
        return VerifyPolicy(anchors, required)

    def status(self) -> CredentialsStatus:
        """Resolve the configuration. Never raises for a missing certificate in ``auto`` mode; in
        ``required`` mode the problem is returned as the reason (the checks report it as ERROR)."""
        mode = (self.mode or "auto").strip().lower()
        if mode not in MODES:
            return CredentialsStatus(
                None, True, f"CREATIVE_ASSETS_CREDENTIALS={mode!r} is not one of {MODES}"
            )
        required = mode == "required"
        if mode == "off":
            return CredentialsStatus(None, False, "switched off (CREATIVE_ASSETS_CREDENTIALS=off)")
        if not credentials.AVAILABLE:
            return CredentialsStatus(None, required, credentials.UNAVAILABLE_REASON)
        alg = (self.algorithm or "es256").strip().lower()
        if alg not in ALGORITHMS:
            return CredentialsStatus(
                None, required, f"algorithm {alg!r} is not one of {', '.join(ALGORITHMS)}"
            )
        anchors = _read(self.trust_anchors) if self.trust_anchors else None
        if self.cert_chain:
            chain = _read(self.cert_chain)
            if chain is None:
                return CredentialsStatus(
                    None, required, f"certificate chain {self.cert_chain} is not readable"
                )
            sign = None
            key = None
            if self.signing_hook:
                try:
                    module, _, name = self.signing_hook.partition(":")
                    sign = getattr(importlib.import_module(module), name)
                except (ImportError, AttributeError, ValueError) as exc:
                    return CredentialsStatus(None, required, f"signing hook {self.signing_hook!r}: {exc}")
            else:
                key = _read(self.private_key) if self.private_key else None
                if key is None:
                    return CredentialsStatus(
                        None,
                        required,
                        "a certificate chain is set but no readable private key or signing hook",
                    )
            test = _is_test(chain)
            if required and test:
                return CredentialsStatus(None, True, "the configured certificate is the local TEST CA")
            if required and anchors is None:
                return CredentialsStatus(
                    None, True, "no trust anchors configured (CREATIVE_ASSETS_C2PA_TRUST_ANCHORS)"
                )
            signing = SigningKey(chain, alg, key, sign, self.tsa_url or None, test, anchors)
            return CredentialsStatus(signing, required, "", anchors)
        if required:
            return CredentialsStatus(
                None, True, "no signing certificate configured (CREATIVE_ASSETS_C2PA_CERT_CHAIN)"
            )
        from creative_assets.credentials_ca import CAFiles

        ca = CAFiles(Path(self.test_ca_dir)) if self.test_ca_dir else None
        if ca is None or not ca.exists():
            return CredentialsStatus(
                None,
                False,
                "no signing certificate: run `creative-assets credentials init` for a test CA, or configure "
                "CREATIVE_ASSETS_C2PA_CERT_CHAIN and _PRIVATE_KEY (README 'Content Credentials')",
            )
        ca_pem = ca.ca.read_bytes()
        signing = SigningKey(
            ca.chain.read_bytes(), "es256", ca.key.read_bytes(), None, self.tsa_url or None, True, ca_pem
        )
        return CredentialsStatus(signing, False, "", ca_pem)


def _read(path: str) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except OSError:
        return None


def _is_test(chain: bytes) -> bool:
    try:
        from creative_assets.credentials_ca import is_test_certificate

        return is_test_certificate(chain)
    except Exception:  # cryptography missing or an unparsable chain: c2pa will judge the chain
        return False


def build_credentials() -> ContentCredentials:
    """The signer as the environment configures it (definitions.py and the review app)."""
    from creative_assets.settings import default_credentials_dir
    from resources.env import env_or_default

    return ContentCredentials(
        mode=env_or_default("CREATIVE_ASSETS_CREDENTIALS", "auto"),
        cert_chain=env_or_default("CREATIVE_ASSETS_C2PA_CERT_CHAIN", ""),
        private_key=env_or_default("CREATIVE_ASSETS_C2PA_PRIVATE_KEY", ""),
        signing_hook=env_or_default("CREATIVE_ASSETS_C2PA_SIGNING_HOOK", ""),
        algorithm=env_or_default("CREATIVE_ASSETS_C2PA_ALGORITHM", "es256"),
        tsa_url=env_or_default("CREATIVE_ASSETS_C2PA_TSA_URL", ""),
        trust_anchors=env_or_default("CREATIVE_ASSETS_C2PA_TRUST_ANCHORS", ""),
        test_ca_dir=env_or_default("CREATIVE_ASSETS_C2PA_TEST_CA", default_credentials_dir()),
    )
