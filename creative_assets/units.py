"""Creative units: one per campaign x locale x product, and the key that names it everywhere.

Key format (reversible, documented in docs/ARCHITECTURE.md)::

    <campaign_id>.<locale>.<product_id>      e.g.  summer-splash-2026.ja-JP.sparkling-citrus

Campaign and product ids are slugs (``[a-z0-9-]``) and locales are ``ll-CC`` tags, so ``.`` never
occurs inside a part and the key splits back unambiguously. Keys never contain ``, | [ ]``, which
Dagster reserves for partition-key lists and multi-partition keys. Pure: the Dagster partitionings
keyed by these units are in ``partitions.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from creative_assets import layout
from creative_assets.slugs import is_locale_tag, is_slug

SEPARATOR = "."


@dataclass(frozen=True, order=True)
class UnitKey:
    """One creative unit. ``str(unit)`` is its partition key."""

    campaign_id: str
    locale: str
    product_id: str

    def __post_init__(self) -> None:
        if not is_slug(self.campaign_id):
            raise ValueError(f"campaign id {self.campaign_id!r} is not a slug")
        if not is_locale_tag(self.locale):
            raise ValueError(f"locale {self.locale!r} is not an ll-CC tag")
        if not is_slug(self.product_id):
            raise ValueError(f"product id {self.product_id!r} is not a slug")

    def __str__(self) -> str:
        return SEPARATOR.join((self.campaign_id, self.locale, self.product_id))

    @property
    def key(self) -> str:
        return str(self)

    @classmethod
    def parse(cls, partition_key: str) -> UnitKey:
        parts = partition_key.split(SEPARATOR)
        if len(parts) != 3:
            raise ValueError(
                f"partition key {partition_key!r} is not <campaign>.<locale>.<product> "
                "(e.g. summer-splash-2026.en-US.sparkling-citrus)"
            )
        return cls(*parts)

    @property
    def storage_prefix(self) -> str:
        """Folder of this unit under the storage root (``layout.unit_prefix``)."""
        return layout.unit_prefix(self)


def unit_keys_for(campaign_id: str, locales: list[str], product_ids: list[str]) -> list[UnitKey]:
    """Every unit of a campaign, locale-major (so a campaign's keys are contiguous when added together)."""
    return [UnitKey(campaign_id, loc, pid) for loc in locales for pid in product_ids]


def contiguous_batches(ordered: list[str], wanted: list[str], size: int) -> list[list[str]]:
    """Split ``wanted`` keys into runs of at most ``size`` that are contiguous in ``ordered``
    (dynamic partition ranges follow insertion order, so a range must not span other keys)."""
    position = {k: i for i, k in enumerate(ordered)}
    keys = sorted(wanted, key=position.__getitem__)
    batches: list[list[str]] = []
    for key in keys:
        if batches and len(batches[-1]) < size and position[key] == position[batches[-1][-1]] + 1:
            batches[-1].append(key)
        else:
            batches.append([key])
    return batches
