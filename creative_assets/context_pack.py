"""Locale context packs: the locale knowledge base layered with the brand kit and the campaign."""

from __future__ import annotations

from collections.abc import Sequence

from creative_assets.brand_kit import BrandKit, WordRule
from creative_assets.brief import legal_line_for
from creative_assets.locales import LocaleInfo
from creative_assets.stages import LocaleContextPack, TermRuleRecord, UnitBrief


def layered_rules(locale: LocaleInfo, kit: BrandKit, unit: UnitBrief) -> list[TermRuleRecord]:
    """Banned/regulated terms in layer order: global -> language -> market -> brand -> campaign."""
    return campaign_rules(locale, kit, unit.banned_words, unit.campaign_id)


def campaign_rules(
    locale: LocaleInfo, kit: BrandKit, banned_words: Sequence[WordRule], campaign_id: str
) -> list[TermRuleRecord]:
    """:func:`layered_rules` from the brief's fields (the preflight has no UnitBrief yet)."""
    order = {"global": 0, "language": 1, "market": 2}
    locale_rules = sorted(locale.banned_terms, key=lambda r: order.get(r.layer.split(":")[0], 3))  # stable
    rules = [
        TermRuleRecord(term=r.term, reason=r.reason, severity=r.severity, layer=r.layer) for r in locale_rules
    ]
    for rule in [*kit.banned_words, *kit.banned_claims]:
        rules.append(
            TermRuleRecord(
                term=rule.term,
                reason=rule.reason or f"banned by the {kit.display_name} kit",
                severity=rule.severity,
                layer=f"brand:{kit.slug}",
            )
        )
    for rule in banned_words:
        rules.append(
            TermRuleRecord(
                term=rule.term,
                reason=rule.reason or "banned by the campaign brief",
                severity=rule.severity,
                layer=f"campaign:{campaign_id}",
            )
        )
    return rules


def build_context_pack(
    unit: UnitBrief, kit: BrandKit, locale: LocaleInfo, kb_version: str, provider: str
) -> LocaleContextPack:
    legal = legal_line_for(unit.localized, unit.locale, unit.disclaimer, unit.disclaimer_short, kit)
    return LocaleContextPack(
        locale=locale.model_dump(mode="json"),
        brand_display_name=kit.display_name,
        tone_of_voice=kit.tone_of_voice,
        visual_style=kit.visual_style,
        rules=layered_rules(locale, kit, unit),
        disclaimer=legal.text,
        disclaimer_short=legal.short,
        knowledge_base_version=kb_version,
        provider=provider,
    )
