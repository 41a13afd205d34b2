"""``copy_source`` (advisory): WARN when the creative prints machine-translated or fallback
(source-language) copy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from creative_assets.compliance.outcome import CheckOutcome, Finding, make_outcome

if TYPE_CHECKING:
    from creative_assets.compliance.context import CreativeContext


def check_copy_source(sources: Mapping[str, str], warnings: Sequence[str] = ()) -> CheckOutcome:
    """WARN for each copy field that is machine-translated or the untranslated source text (from the
    localized copy's ``sources`` and warnings), so a reviewer has a native speaker look."""
    findings = []
    for field, source in sources.items():
        if "machine-translated" in source or "untranslated" in source:
            kind = "machine-translated" if "machine-translated" in source else "untranslated fallback"
            findings.append(
                Finding(
                    check="copy_source",
                    severity="WARN",
                    message=f"{field} is {kind} copy ({source}): have a native speaker review it",
                    where=field,
                )
            )
    if any("legal line is printed untranslated" in w for w in warnings) and "disclaimer" not in {
        f.where for f in findings
    }:
        findings.append(
            Finding(
                check="copy_source",
                severity="WARN",
                message="disclaimer is the untranslated legal line: have a native speaker review it",
                where="disclaimer",
            )
        )
    return make_outcome("copy_source", findings, {"fallback_fields": len(findings)})


def run(ctx: CreativeContext) -> CheckOutcome:
    return check_copy_source(ctx.copy_sources, ctx.copy_warnings)
