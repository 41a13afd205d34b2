"""The one registry of unit stages. Pure: no Dagster.

A stage has one name: its asset key, its storage folder (``campaigns/<c>/<l>/<p>/<name>/``, layout.py)
and its assets module (``creative_assets/assets/<name>.py``). Its value type is the stage model in
``stages.py`` (``<Model>.STAGE`` is the name). Jobs, regeneration, the review service, the rollup,
the Celery queue routing and the IO manager read the stages from here, in pipeline order.

``legacy_folder`` is the folder a stage was stored in before stage and folder names were unified;
``creative-assets migrate-layout`` (``layout_migration.py``) moves a storage root written then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from creative_assets.stages import (
    BrandedCandidates,
    FinalCreatives,
    ImageCandidates,
    LocaleContextPack,
    LocalizedCopy,
    MotionCreatives,
    SelectedCreative,
    StageValue,
    UnitBrief,
)


@dataclass(frozen=True)
class Stage:
    """One unit stage: its name, the model of its value, which provider it calls (if any), whether it
    draws pixels whatever the provider, whether its work is CPU-bound, and its storage folder before
    the rename."""

    value_type: type[StageValue]
    #: None for a stage added after the rename (it was always stored under its name)
    legacy_folder: str | None
    provider: Literal["image", "text", "video"] | None = None
    renders: bool = False
    #: its per-unit work is CPU-bound (drawing, rendering, checks, scoring): a batched step builds its
    #: units on ``settings.cpu_workers()`` threads (assets/common.for_each_unit)
    cpu_bound: bool = False

    @property
    def name(self) -> str:
        return self.value_type.STAGE


#: Every unit stage, in pipeline order.
STAGES: tuple[Stage, ...] = (
    Stage(UnitBrief, "brief"),
    Stage(LocaleContextPack, "context", provider="text"),
    # offline, the image provider draws here; a remote one is called for the whole batch up front
    Stage(ImageCandidates, "raw", provider="image", cpu_bound=True),
    Stage(BrandedCandidates, "branded", renders=True, cpu_bound=True),
    Stage(LocalizedCopy, "copy", provider="text"),
    Stage(FinalCreatives, "final", renders=True, cpu_bound=True),
    # added after the rename: stored under its own name in either layout, nothing to migrate
    # one unit at a time: two units animating at once took a 24-unit batch with motion from 1179 MB to
    # 1722 MB peak RSS (the 1.5 GiB budget) for 367 -> 214 s (docs/BENCHMARKS.md)
    Stage(MotionCreatives, None, provider="video", renders=True),
    Stage(SelectedCreative, "selected", cpu_bound=True),
)
STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)
BY_NAME: Mapping[str, Stage] = {s.name: s for s in STAGES}
#: legacy storage folder -> stage name
LEGACY_FOLDERS: Mapping[str, str] = {s.legacy_folder: s.name for s in STAGES if s.legacy_folder}

UNIT_BRIEF = UnitBrief.STAGE
LOCALE_CONTEXT_PACK = LocaleContextPack.STAGE
IMAGE_CANDIDATES = ImageCandidates.STAGE
BRANDED_CANDIDATES = BrandedCandidates.STAGE
LOCALIZED_COPY = LocalizedCopy.STAGE
FINAL_CREATIVES = FinalCreatives.STAGE
MOTION_CREATIVES = MotionCreatives.STAGE
SELECTED_CREATIVE = SelectedCreative.STAGE


def stage(name: str) -> Stage:
    """The stage called ``name`` (its asset key's name); KeyError naming the known stages otherwise."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a unit stage (stages: {', '.join(STAGE_NAMES)})") from None


def current_name(name: str) -> str:
    """A stage name as recorded by either layout (a legacy folder name, e.g. in an old approval's
    lineage) -> the stage's name today."""
    return LEGACY_FOLDERS.get(name, name)
