"""``ai_disclosure`` (unit scope): where the market requires a visible AI label, every final shows it
in its legal line, fitted (``disclosure.disclosure_verdict``)."""

from __future__ import annotations

from creative_assets.compliance.context import UnitCredentials
from creative_assets.disclosure import Verdict, disclosure_verdict


def run(unit: UnitCredentials) -> Verdict:
    return disclosure_verdict(dict(unit.provenance), unit.finals)
