"""What a check says about one creative: its findings and measured figures (pure).

Figures are oriented so that *lower is worse* wherever a natural measure allows it (contrast, score,
width, share, margin, size), because campaign roll-ups keep the minimum across creatives; the
exceptions are listed in :data:`creative_assets.compliance.verdicts.HIGHER_IS_WORSE`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel

from creative_assets.vocabulary import Box, Severity


class Finding(BaseModel):
    """One problem: which check, how bad, what/where/why in words, and where (element) for filtering."""

    check: str
    severity: Severity
    message: str
    where: str = ""


class CheckOutcome(BaseModel):
    check: str
    passed: bool  # no findings
    severity: Severity  # worst finding's severity ("WARN" when passed)
    findings: list[Finding]
    figures: dict[str, float]


def make_outcome(check: str, findings: list[Finding], figures: dict[str, float]) -> CheckOutcome:
    severity: Severity = "ERROR" if any(f.severity == "ERROR" for f in findings) else "WARN"
    return CheckOutcome(
        check=check,
        passed=not findings,
        severity=severity,
        findings=findings,
        figures={k: round(float(v), 4) for k, v in figures.items()},
    )


def named_boxes(boxes: Sequence[Box] | Mapping[str, Box], prefix: str = "text") -> dict[str, Box]:
    if isinstance(boxes, Mapping):
        return dict(boxes)
    return {f"{prefix} {i + 1}": tuple(b) for i, b in enumerate(boxes)}  # type: ignore[misc]
