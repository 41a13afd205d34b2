"""Providers: the systems that produce locale context, image candidates and copy.

Each kind of provider is an abstract ``ConfigurableResource``; implementations are picked in
``definitions.py`` from configuration. The offline implementations here are the embedded default:
they need no network and are deterministic for a given seed. (OpenAI-compatible implementations
plug in behind the same interfaces.)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import dagster as dg
from PIL import Image

from creative_assets.brand_kit import BrandKit
from creative_assets.context_pack import build_context_pack
from creative_assets.copywriting import brief_copy
from creative_assets.render.candidates import CandidatePlan, offline_prompt, render_offline_candidate
from creative_assets.render.product_mask import ProductFootprint
from creative_assets.stages import BrandedCandidates, LocaleContextPack, LocalizedCopy, UnitBrief
from creative_assets.vocabulary import Box


@dataclass
class CandidateDraft:
    """What an image provider returns for one candidate."""

    plan: CandidatePlan
    renders: dict[str, tuple[Image.Image, Box]]  # ratio -> (image, product bbox)
    source: str
    method: str
    prompt: str
    calls: list[dict] = field(default_factory=list)  # API accounting, empty for offline drawing
    #: ratio -> the product pixels as placed, with the placement scale (render/product_mask.py);
    #: absent where a model placed the product itself (the layout's product box is recorded as an
    #: estimate then)
    footprints: dict[str, ProductFootprint] = field(default_factory=dict)


class ContextProvider(dg.ConfigurableResource, ABC):
    """Builds the locale context pack for a unit."""

    @property
    @abstractmethod
    def provider_name(self) -> str: ...

    @property
    def parallelism(self) -> int:
        """Units built at once within a step (remote APIs: the request concurrency limit)."""
        return 1

    @abstractmethod
    def build(self, unit: UnitBrief, kit: BrandKit) -> LocaleContextPack: ...


class BuiltinContextProvider(ContextProvider):
    """The built-in locale knowledge base (creative_assets/locales/knowledge.yaml) plus the brand kit."""

    @property
    def provider_name(self) -> str:
        return "builtin-knowledge-base"

    def build(self, unit: UnitBrief, kit: BrandKit) -> LocaleContextPack:
        from creative_assets.locales import get_locale, knowledge_base_version

        return build_context_pack(
            unit, kit, get_locale(unit.locale), knowledge_base_version(), self.provider_name
        )


class ImageProvider(dg.ConfigurableResource, ABC):
    """Draws candidate visuals. ``product`` is the cut-out supplied product image, or None."""

    @property
    @abstractmethod
    def provider_name(self) -> str: ...

    @property
    @abstractmethod
    def model_name(self) -> str: ...

    @property
    def supports_seed(self) -> bool:
        return True

    @property
    def parallelism(self) -> int:
        """Candidates drawn at once within a step (remote APIs: the request concurrency limit)."""
        return 1

    @abstractmethod
    def draw(
        self,
        unit: UnitBrief,
        pack: LocaleContextPack,
        kit: BrandKit,
        plan: CandidatePlan,
        product: Image.Image | None,
        headline_font: str,
    ) -> CandidateDraft: ...


class OfflineImageProvider(ImageProvider):
    """The offline compositor: procedural brand-palette scenes with the supplied product cut out and
    placed, or a generated packshot-style product illustration. Not a generative model."""

    @property
    def provider_name(self) -> str:
        return "offline-compositor"

    @property
    def model_name(self) -> str:
        return "procedural-v1"

    def draw(
        self,
        unit: UnitBrief,
        pack: LocaleContextPack,
        kit: BrandKit,
        plan: CandidatePlan,
        product: Image.Image | None,
        headline_font: str,
    ) -> CandidateDraft:
        renders, source, method, footprints = render_offline_candidate(unit, plan, product, headline_font)
        return CandidateDraft(
            plan=plan,
            renders=renders,
            source=source,
            method=method,
            prompt=offline_prompt(unit, plan, source),
            footprints=footprints,
        )


class CopyProvider(dg.ConfigurableResource, ABC):
    """Writes the short localized copy per candidate."""

    @property
    @abstractmethod
    def provider_name(self) -> str: ...

    @property
    def parallelism(self) -> int:
        """Units written at once within a step (remote APIs: the request concurrency limit)."""
        return 1

    @abstractmethod
    def write(
        self, unit: UnitBrief, pack: LocaleContextPack, branded: BrandedCandidates
    ) -> LocalizedCopy: ...


class BriefCopyProvider(CopyProvider):
    """Copy straight from the brief's ``localized_messages``; never invents a translation."""

    @property
    def provider_name(self) -> str:
        return "brief-copy"

    def write(self, unit: UnitBrief, pack: LocaleContextPack, branded: BrandedCandidates) -> LocalizedCopy:
        return brief_copy(unit, pack, self.provider_name)
