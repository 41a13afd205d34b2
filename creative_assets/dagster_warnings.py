"""The Dagster features this project uses on purpose although Dagster marks them beta or preview,
and the one place their warnings are silenced (otherwise every code-location load, run process and
daemon tick prints them, and a daemon log fills with them).

- ``@asset(backfill_policy=...)`` (beta): ``BackfillPolicy.multi_run`` is how UI backfills batch up
  to ``units_per_run`` units per run (README "Dagster UI: launching and backfilling").
- ``AssetCheckSpec(partitions_def=...)`` (preview): the compliance and credential checks are judged
  per creative unit, so each unit's partition shows its own result.
- ``@observable_source_asset`` (beta): briefs, brand kits and the locale knowledge base are observed
  with content-hash data versions, so the UI shows units built from an older input stale
  (``assets/sources.py``).

Only these messages are filtered, by their text: any other beta or preview API still warns, so a
new use is a decision someone makes, not one that slips in. Loaded by ``creative_assets.assets``
(before any asset is defined) and the CLI.
"""

from __future__ import annotations

import warnings

CHOSEN = (
    r"Parameter `backfill_policy` of function `asset` is currently in beta",
    r"Specifying a partitions_def on an AssetCheckSpec is currently in preview",
    r"Function `observable_source_asset` is currently in beta",
)


def silence_chosen_api_warnings() -> None:
    """Ignore the beta/preview warnings of the APIs listed above, and only those."""
    for message in CHOSEN:
        warnings.filterwarnings("ignore", message=message)
