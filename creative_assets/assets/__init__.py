"""Software-defined assets, one module per pipeline stage."""

from creative_assets.dagster_warnings import silence_chosen_api_warnings

silence_chosen_api_warnings()  # before any asset is defined: the APIs chosen on purpose (see there)
