"""``content_credentials`` (unit scope): every final read back from storage verifies with the C2PA
reader (signature, trust, hash binding, declared vs done; ``disclosure.credentials_verdict``)."""

from __future__ import annotations

from creative_assets.compliance.context import UnitCredentials
from creative_assets.disclosure import Verdict, credentials_verdict


def run(unit: UnitCredentials) -> Verdict:
    return credentials_verdict(dict(unit.verifications), unit.disabled, unit.required)
