"""Partitioning: one dynamic partition per creative unit (campaign x locale x product), keyed by
``units.UnitKey`` (key format in creative_assets/units.py and docs/ARCHITECTURE.md).

A second dynamic partitioning, ``campaigns``, keys campaign-level rollups by ``campaign_id``.
"""

from __future__ import annotations

import dagster as dg

creative_units = dg.DynamicPartitionsDefinition(name="creative_units")
campaigns = dg.DynamicPartitionsDefinition(name="campaigns")
