"""Sensors and schedules, one module per concern; assembled in creative_assets/definitions.py."""
