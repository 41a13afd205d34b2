"""Where the brief inbox lives and how much one sensor tick may do."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from creative_assets.layout import INBOX_PREFIX, REJECTED_PREFIX


class BriefInbox(dg.ConfigurableResource):
    """Settings of the brief inbox (prefixes are inside the ``storage`` root/bucket)."""

    prefix: str = Field(INBOX_PREFIX, description="Drop briefs (and their images) under this prefix.")
    rejected_prefix: str = Field(REJECTED_PREFIX, description="Invalid briefs land here beside error.json.")
    max_briefs_per_tick: int = Field(
        50,
        ge=1,
        le=2000,
        description="Briefs decided (accepted or rejected) per sensor tick; briefs still waiting for "
        "their images do not count.",
    )
    tick_budget_seconds: float = Field(
        30.0, gt=0, le=50, description="Stop ingesting after this long; the rest waits for the next tick."
    )
    upload_grace_seconds: float = Field(
        120.0,
        ge=0,
        le=3600,
        description="A brief whose images are missing waits this long for them to arrive.",
    )
