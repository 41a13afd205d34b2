"""Localized copy from the brief alone: never invents a translation."""

from __future__ import annotations

from creative_assets.stages import CopyVariant, LocaleContextPack, LocalizedCopy, UnitBrief


def brief_copy(unit: UnitBrief, pack: LocaleContextPack, provider: str = "brief-copy") -> LocalizedCopy:
    """Headline and CTA from ``localized_messages`` for the unit's locale; where the brief gives none,
    the source-locale text is kept and a warning recorded. The sub-line is the product name (brand
    names are not translated). The badge is the locale's ``badges`` entry for the product, else the
    product's own ``badge`` (a price or an offer is never machine-translated). Every candidate gets
    the same copy."""
    loc = unit.localized
    warnings: list[str] = []
    sources: dict[str, str] = {}
    same_language = unit.locale.split("-")[0] == unit.source_locale.split("-")[0]

    def pick(field: str, source_text: str) -> str:
        value = getattr(loc, field) if loc else None
        if value:
            sources[field] = f"brief.localized_messages.{unit.locale}.{field}"
            return value
        if unit.locale == unit.source_locale or same_language:
            sources[field] = f"brief.{field} ({unit.source_locale})"
        else:
            sources[field] = f"brief.{field} ({unit.source_locale}, untranslated)"
            warnings.append(
                f"no {field} for {unit.locale} in localized_messages: using the {unit.source_locale} text "
                f"{source_text!r} untranslated"
            )
        return source_text

    headline = pick("message", unit.message)
    cta = pick("cta", unit.cta)
    sources["subline"] = "brief.products[].name"
    if loc and loc.disclaimer:
        sources["disclaimer"] = f"brief.localized_messages.{unit.locale}.disclaimer"
    elif pack.disclaimer:
        sources["disclaimer"] = "brief.disclaimer or brand kit required_disclaimer"
        if not same_language:
            warnings.append(
                f"no disclaimer for {unit.locale} in localized_messages: the legal line is printed untranslated"
            )
    else:
        sources["disclaimer"] = "none"
    badge = _badge(unit, sources, warnings, same_language)
    variants = [
        CopyVariant(
            candidate=i,
            headline=headline,
            subline=unit.product.name,
            cta=cta,
            disclaimer=pack.disclaimer,
            disclaimer_short=pack.disclaimer_short,
            badge=badge,
        )
        for i in range(unit.candidates)
    ]
    return LocalizedCopy(
        locale=unit.locale,
        language_code=pack.locale["language_code"],
        direction=pack.locale["direction"],
        script=pack.locale["script"],
        line_breaking=pack.locale["line_breaking"],
        provider=provider,
        model="none",
        variants=variants,
        sources=sources,
        warnings=warnings,
    )


def _badge(unit: UnitBrief, sources: dict[str, str], warnings: list[str], same_language: bool) -> str | None:
    badge, own = unit.badge_text()
    if badge is None:
        return None
    if own:
        sources["badge"] = f"brief.localized_messages.{unit.locale}.badges.{unit.product.id}"
    elif same_language:
        sources["badge"] = f"brief.products[].badge ({unit.source_locale})"
    else:
        sources["badge"] = f"brief.products[].badge ({unit.source_locale}, untranslated)"
        warnings.append(
            f"no badge for {unit.locale} in localized_messages.{unit.locale}.badges.{unit.product.id}: "
            f"using the {unit.source_locale} badge {badge!r} untranslated"
        )
    return badge
